"""How long work shows its progress: a live bar on a terminal, lines in a log.

Keras draws its progress bar with carriage returns whenever it runs on a
POSIX system, even when stdout is a file or a pipe, so `cmd > log` fills
the log with thousands of partial lines. Here a bar is live only on a
terminal; elsewhere `fit` prints one line per epoch and a `Progbar` one
full line every `LOG_SECONDS` (and its last).
"""

import sys

LOG_SECONDS = 30.0


def on_terminal():
    """True when stdout is an interactive terminal."""
    return bool(getattr(sys.stdout, "isatty", None) and sys.stdout.isatty())


def fit_verbose(verbose="auto"):
    """Keras `fit`/`predict` verbosity: `"auto"` is the bar (1) on a
    terminal, one line per epoch (2) otherwise.

    >>> fit_verbose(0)
    0
    """
    if verbose == "auto":
        return 1 if on_terminal() else 2
    return verbose


def progress_bar(total, verbose=1, unit_name="step", stateful_metrics=None):
    """A `keras.utils.Progbar` that, off a terminal, prints whole lines
    `LOG_SECONDS` apart instead of redrawing one.

    Examples:
        >>> bar = progress_bar(10, verbose=0)
        >>> bar.target
        10
    """
    import keras

    bar = keras.utils.Progbar(total, verbose=verbose, unit_name=unit_name,
                              stateful_metrics=stateful_metrics)
    if not on_terminal():
        bar._dynamic_display = False  # Keras assumes a terminal on POSIX
        bar.interval = LOG_SECONDS
    return bar
