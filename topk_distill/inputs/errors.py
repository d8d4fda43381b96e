"""The error bad input raises: one line naming the file, line and what was
expected."""


class InputError(ValueError):
    """Bad input data; the message names the file, line and what was expected."""
