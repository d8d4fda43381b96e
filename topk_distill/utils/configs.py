"""Configs given whole or as keywords: the one rule every function that
takes a config (`FitConfig`, `RecordSettings`, `ReadOptions`...) follows.

A function takes `config=None, **keywords`: the config, or its fields as
keywords, never both; a keyword no config takes is refused by name.
"""

import dataclasses


def config_from(cls, config, keywords, **defaults):
    """`config`, or a `cls` made of the `keywords` that are its fields
    (taken out of `keywords`) over `defaults`.

    Args:
        cls: a config dataclass.
        config: a `cls` given whole, or `None`.
        keywords: a dict of keyword arguments; `cls`'s fields are taken
            out of it, the others left for other configs.
        **defaults: fields whose default differs for this caller.

    Returns:
        A `cls`.

    Raises:
        TypeError: `config` given and some of its fields too.

    Examples:
        >>> @dataclasses.dataclass
        ... class Fit:
        ...     epochs: int = 3
        >>> keywords = {"epochs": 5, "top_k": 20}
        >>> config_from(Fit, None, keywords), keywords
        (Fit(epochs=5), {'top_k': 20})
        >>> config_from(Fit, Fit(), {"epochs": 5})
        Traceback (most recent call last):
        ...
        TypeError: Fit given and epochs: give them one way
    """
    names = {f.name for f in dataclasses.fields(cls)}
    mine = {k: keywords.pop(k) for k in list(keywords) if k in names}
    if config is not None:
        if mine:
            raise TypeError(f"{cls.__name__} given and "
                            f"{', '.join(sorted(mine))}: give them one way")
        return config
    return cls(**{**defaults, **mine})


def refuse_others(keywords):
    """Refuses the keywords no config took.

    Examples:
        >>> refuse_others({"epoch": 3})
        Traceback (most recent call last):
        ...
        TypeError: unexpected settings epoch
    """
    if keywords:
        raise TypeError(f"unexpected settings {', '.join(sorted(keywords))}")
