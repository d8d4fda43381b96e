"""The `topk-distill` command line: `topk-distill COMMAND [--flags]`.

Each command is a module in `topk_distill.commands` that declares its absl
flags at module top on its own `FlagValues` and has a `main(argv)`. Only the
chosen command's module is imported, and TensorFlow only inside its `main`,
so `--help` answers at once.
"""

import importlib
import sys

from absl import flags

COMMANDS = {
    "demo": "Run the method end to end on the bundled WordNet data.",
    "teacher": "Train a teacher (reference, or encoder + head) on a labeled file.",
    "preprocess": "Run a teacher once; write its top-K records.",
    "train": "Train the student from top-K records (or hard labels only).",
    "export": "Export a model: SavedModel top-n signatures, TFLite.",
    "classify": "Print the top-n labels of texts from an exported model.",
    "evaluate": "Accuracy (P@k) and speed of an exported model on a test set.",
}

USAGE = "usage: topk-distill COMMAND [--flags]   (topk-distill COMMAND --help)"


def main(argv):
    """Runs `topk-distill` with `argv` (program name first); returns exit code.

    Example:
    >>> main(["topk-distill", "preprocess", "--help"])
    """
    if len(argv) < 2 or argv[1] in ("-h", "--help", "--helpfull", "help"):
        print(_overview())
        return 0 if len(argv) >= 2 else 2
    name = argv[1]
    if name not in COMMANDS:
        print(f"topk-distill: unknown command {name!r}\n\n{_overview()}",
              file=sys.stderr)
        return 2
    command = importlib.import_module(f"topk_distill.commands.{name}")
    try:
        args = parse_flags(command, [f"topk-distill {name}"] + argv[2:])
    except SystemExit as e:
        return e.code
    try:
        return command.main(args) or 0
    except (ValueError, OSError) as e:
        print(f"topk-distill {name}: error: {e}", file=sys.stderr)
        return 1


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
        return fv(argv)
    except flags.Error as e:
        print(f"{argv[0]}: error: {e}\n(see {argv[0]} --help)", file=sys.stderr)
        raise SystemExit(2) from None


def invocation(command):
    """Returns the command line that set `command.FLAGS`, for metadata."""
    fv = command.FLAGS
    name = command.__name__.rsplit(".", 1)[-1]
    return ["topk-distill", name] + [
        f"--{flag}={fv[flag].serialize().split('=', 1)[-1]}"
        for flag in fv if fv[flag].present and len(flag) > 1]


def _overview():
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return USAGE + "\n\ncommands:\n" + "\n".join(lines)


def run():
    """Console-script entry point."""
    sys.exit(main(sys.argv))
