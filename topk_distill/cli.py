"""The `topk-distill` command line: `topk-distill COMMAND [--flags]`.

Each command is a module in `topk_distill.commands` that declares its absl
flags at module top on its own `FlagValues` and has a `main(argv)`. Only the
chosen command's module is imported, and TensorFlow only inside its `main`,
so `--help` answers at once.
"""

import importlib
import math
import os
import re
import sys
import tempfile

from absl import flags

COMMANDS = {
    "demo": "Run the method end to end on the bundled WordNet data.",
    "teacher": "Train a teacher (reference, or encoder + head) on a labeled file.",
    "preprocess": "Run a teacher once; write its top-K records.",
    "student-init": "Start a student's word vectors from the teacher's encoder.",
    "train": "Train the student from top-K records (or hard labels only).",
    "export": "Export a model: SavedModel top-n signatures, TFLite.",
    "classify": "Print the top-n labels of texts from an exported model.",
    "evaluate": "Accuracy (P@k) and speed of an exported model on a test set.",
}

# What a rerun does after Ctrl-C, by command.
INTERRUPTED = {
    "preprocess": "rerun the same command with --resume to continue",
    "train": "rerun the same command: its backup folder (default "
             "OUTPUT/backup) resumes it",
    "teacher": "rerun the same command to start again",
}

USAGE = "usage: topk-distill COMMAND [--flags]   (topk-distill COMMAND --help)"


def main(argv):
    """Runs `topk-distill` with `argv` (program name first); returns exit code.

    Every error a user can cause ends in one line on stderr,
    `topk-distill COMMAND: error: ...`, and exit status 1 (2 for a bad
    flag or command).

    Examples:
        >>> main(["topk-distill", "nonsense"])  # doctest: +ELLIPSIS
        2
    """
    if len(argv) < 2 or argv[1] in ("-h", "--help", "--helpfull", "help"):
        print(_overview())
        return 0 if len(argv) >= 2 else 2
    name = argv[1]
    if name not in COMMANDS:
        print(f"topk-distill: unknown command {name!r}\n\n{_overview()}",
              file=sys.stderr)
        return 2
    command = command_module(name)
    try:
        args = parse_flags(command, [f"topk-distill {name}"] + argv[2:])
    except SystemExit as e:
        return e.code
    try:
        quiet_tensorflow()
        return command.main(args) or 0
    except _user_errors() as e:
        message = _own_suggestions(_one_line(e), command.FLAGS)
        print(f"topk-distill {name}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"topk-distill {name}: interrupted; "
              f"{INTERRUPTED.get(name, 'nothing was finished')}",
              file=sys.stderr)
        return 130


def quiet_tensorflow(environ=os.environ):
    """Imports TensorFlow with its C++ start-up lines held back.

    TensorFlow's native libraries print lines on loading ("All log messages
    before absl::InitializeLog() ...", "Could not find cuda drivers", oneDNN
    notes) that `TF_CPP_MIN_LOG_LEVEL` does not silence, and later INFO to
    ERROR lines ("failed call to cuInit" on every CPU machine) that it
    does. So a command's stderr holds its own messages only, TensorFlow's
    file descriptor 2 is pointed at a temporary file while it loads (shown
    if the import fails) and `TF_CPP_MIN_LOG_LEVEL` is 3 unless set.
    `TOPK_DISTILL_TF_LOGS=1` leaves both alone.
    """
    if environ.get("TOPK_DISTILL_TF_LOGS") == "1" or (
            "tensorflow" in sys.modules):
        return
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def command_module(name):
    """The module of command `name` (`student-init` -> `student_init`)."""
    return importlib.import_module(
        f"topk_distill.commands.{name.replace('-', '_')}")


def _user_errors():
    """The exceptions bad input raises: ours (ValueError, OSError), a missing
    extra (ImportError) and TensorFlow's own, if it is loaded."""
    errors = (ValueError, OSError, ImportError)
    tf = sys.modules.get("tensorflow")
    errors_module = getattr(tf, "errors", None)
    return errors + ((errors_module.OpError,) if errors_module else ())


def _one_line(error):
    """An error's message on one line: TensorFlow wraps it in the graph's
    function and op names, and appends more of them on further lines."""
    reason = {FileNotFoundError: "no such file or directory",
              IsADirectoryError: "a folder; expected a file",
              NotADirectoryError: "not a folder",
              PermissionError: "permission denied"}.get(type(error))
    if reason and getattr(error, "filename", None):
        return f"{error.filename}: {reason}"
    message = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in message.strip().splitlines()]
    if not lines:
        return type(error).__name__
    return re.sub(r"^\{\{function_node [^}]*\}\}\s*(Error in user-defined "
                  r"function passed to .*?transformation with iterator: "
                  r"\S+: )?", "", lines[0])


def _own_suggestions(message, fv):
    """`message` without the suggestions ("(or pass --FLAG)", "(pass
    strict=False ...)") that name no flag of the command printing it: the
    library's messages serve its Python API and every command.

    Examples:
        >>> from absl import flags
        >>> fv = flags.FlagValues()
        >>> _ = flags.DEFINE_bool("unlabeled", False, "", flag_values=fv)
        >>> _own_suggestions("x.tsv:3: label 'cow' is not in the labels file "
        ...                  "(or pass --skip_unknown_labels)", fv)
        "x.tsv:3: label 'cow' is not in the labels file"
        >>> _own_suggestions("x.tsv:4: no label (or pass --unlabeled)", fv)
        'x.tsv:4: no label (or pass --unlabeled)'
    """
    def keep(match):
        flag = match.group(1)
        return match.group(0) if flag.startswith("--") and (
            flag[2:] in fv) else ""

    return re.sub(r" \((?:or )?pass (--\w+|\w+=\w+)[^)]*\)", keep,
                  message)


def parse_flags(command, argv):
    """Parses `argv` into `command.FLAGS`; `--help`/`--helpfull` print help.

    Returns:
        The positional arguments (program name first).

    Raises:
        SystemExit: 0 after printing help, 2 on a bad flag.
    """
    fv = command.FLAGS
    fv.unparse_flags()
    if "--help" in argv or "-h" in argv or "--helpfull" in argv:
        text = (fv.get_help() if "--helpfull" in argv else
                fv.module_help(command.__name__))
        print(f"usage: {argv[0]} [--flags]\n\n{command.__doc__.strip()}\n\n"
              f"flags:\n{text}")
        raise SystemExit(0)
    try:
        args = fv(argv)
        _check_finite(fv)
        return args
    except flags.Error as e:
        print(f"{argv[0]}: error: {e}\n(see {argv[0]} --help)", file=sys.stderr)
        raise SystemExit(2) from None


def _check_finite(fv):
    """Refuses an infinite or NaN value of any float flag (absl's bounds
    let `inf` and `nan` through)."""
    for name in fv:
        flag = fv[name]
        if (isinstance(flag.value, float) and len(name) > 1
                and not math.isfinite(flag.value)):
            raise flags.IllegalFlagValueError(
                f"--{name}={flag.value}: expected a finite number")


def _overview():
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return USAGE + "\n\ncommands:\n" + "\n".join(lines)


def run():
    """Console-script entry point."""
    sys.exit(main(sys.argv))
