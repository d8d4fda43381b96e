"""Summaries of repeated benchmark runs (seeds), shared by the tables."""

import statistics


def summarize(found, mean_keys, median_keys=()):
    """Each `mean_keys` value as (mean, standard deviation; 0 for one run),
    each `median_keys` value as its median, and "seeds": the run count.

    Example:
    >>> runs = [{"p": 1.0, "t": 5}, {"p": 3.0, "t": 1}, {"p": 2.0, "t": 2}]
    >>> summarize(runs, ["p"], ["t"])
    {'p': (2.0, 1.0), 't': 2, 'seeds': 3}
    """
    row = {key: (statistics.mean(r[key] for r in found),
                 statistics.stdev(r[key] for r in found)
                 if len(found) > 1 else 0.0) for key in mean_keys}
    row.update({key: statistics.median(r[key] for r in found)
                for key in median_keys})
    row["seeds"] = len(found)
    return row
