"""One module per `topk-distill` command: absl flags on a FlagValues of its
own, and `main(argv)` that parses nothing, calls the library and prints.

This package's own helpers record how a command was called.
"""


def set_flags(flag_values):
    """`{name: value}` of the flags given on the command line.

    Examples:
        >>> from absl import flags
        >>> fv = flags.FlagValues()
        >>> _ = flags.DEFINE_integer("top_k", 20, "K.", flag_values=fv)
        >>> _ = flags.DEFINE_bool("unlabeled", False, "U.", flag_values=fv)
        >>> _ = fv(["prog", "--unlabeled", "--top_k=5"])
        >>> set_flags(fv)
        {'top_k': 5, 'unlabeled': True}
    """
    return {name: flag_values[name].value for name in sorted(flag_values)
            if flag_values[name].present and len(name) > 1}


def command_line(command, flag_values):
    """The command line that set `flag_values`, for metadata and logs.

    Examples:
        >>> from absl import flags
        >>> fv = flags.FlagValues()
        >>> _ = flags.DEFINE_bool("unlabeled", False, "U.", flag_values=fv)
        >>> _ = fv(["prog", "--unlabeled"])
        >>> command_line("preprocess", fv)
        ['topk-distill', 'preprocess', '--unlabeled=true']
    """
    def text(value):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value))
        return str(value)

    return ["topk-distill", command] + [
        f"--{name}={text(value)}"
        for name, value in set_flags(flag_values).items()]
