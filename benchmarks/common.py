"""What the benchmark scripts share: the code version results are cached
by, the cache itself, and paired rounds of two timings.

* `code_version(modules, scripts)`: a hash of the package modules a run
  goes through and of the scripts that drive it.
* `Results`: a JSON file of runs, each under its settings and the code
  version that made it; a run of other code is made again, never reused.
* `paired(first, second, rounds)`: two timings alternated in rounds, the
  median of their ratios with the min and max (the machine is shared and
  noisy: never a ratio of two separate medians).

Latency itself is the package's: `topk_distill.models.saved_model.
latency_ms`, what `evaluate` reports.
"""

import glob
import hashlib
import os
import statistics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "topk_distill")


def code_version(modules, scripts=()):
    """A hash of the package `modules` (a module's name anywhere in the
    package, or a stage folder's) and of the `scripts` files, in order.

    Raises:
        FileNotFoundError: a module the package does not have.
    """
    digest = hashlib.sha256()
    paths = []
    for m in modules:
        found = sorted(glob.glob(os.path.join(PACKAGE, "**", f"{m}.py"),
                                 recursive=True) +
                       glob.glob(os.path.join(PACKAGE, m, "*.py")))
        if not found:
            raise FileNotFoundError(f"no module {m!r} in {PACKAGE}")
        paths += found
    for path in paths + list(scripts):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


class Results:
    """Runs' results in one JSON file, each under `settings|version`.

    Args:
        path: the JSON file (created on the first result).
        version: the code version (`code_version`) of this run.

    Example:

    ```python
    results = Results(os.path.join(work, "runs.json"), version)
    row = results.get_or_run((name, seed), lambda: train_and_test(...))
    print(results.mine())  # {key: row} of this version
    ```
    """

    def __init__(self, path, version):
        from topk_distill.utils import json_files

        self._json = json_files
        self.path, self.version = path, version
        self.data = json_files.read_json(path) or {}

    def key(self, settings):
        """`"a|b|...|version"` of a tuple of settings."""
        return "|".join(str(s) for s in tuple(settings) + (self.version,))

    def get_or_run(self, settings, run):
        """The cached result of `settings` at this version, or `run()`'s,
        written at once (over what other processes wrote meanwhile)."""
        key = self.key(settings)
        if key not in self.data:
            value = run()
            self.data = dict(self._json.read_json(self.path) or {},
                             **self.data)
            self.data[key] = value
            self.save()
        return self.data[key]

    def save(self):
        self._json.write_json(self.path, self.data)

    def mine(self):
        """`{key: result}` of this code version."""
        return {k: v for k, v in self.data.items()
                if k.endswith(f"|{self.version}")}


def paired(first, second, rounds):
    """`first()` and `second()` (each returning a time) alternated in
    `rounds` rounds, the order flipped every other round.

    Returns:
        `(median, min, max)` of `first / second` over the rounds, and the
        two lists of times.

    Example:
    >>> ratio, _, _ = paired(lambda: 2.0, lambda: 1.0, 3)
    >>> ratio
    (2.0, 2.0, 2.0)
    """
    a, b = [], []
    for round_ in range(rounds):
        if round_ % 2:
            b.append(second())
            a.append(first())
        else:
            a.append(first())
            b.append(second())
    ratios = [x / y for x, y in zip(a, b)]
    return (statistics.median(ratios), min(ratios), max(ratios)), a, b
