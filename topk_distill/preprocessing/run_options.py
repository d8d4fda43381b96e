"""How one preprocessing run reads its input and treats what is already
at its output: `PreprocessOptions`. None of it changes the records' bytes
(what they keep is `records.record_plan.RecordSettings`)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class PreprocessOptions:
    """The run's options, beside its `RecordSettings`.

    Args:
        batch_size: examples per teacher call (the records do not depend
            on it).
        data_dir: the TFDS data folder, for `tfds:` inputs.
        skip_unknown_labels: leave out examples whose label is not in the
            labels file (counted as `skipped_unknown_labels`) instead of
            refusing the input.
        resume: continue an interrupted run: shards already complete (with
            their final names) are kept and their examples not run again.
            The run must be the same (teacher, labels file, input, K/H,
            scores, shards...): `PREFIX.run.json`, written when a run
            starts and removed when it ends, is compared with it.
        overwrite: remove a record set already at the output first
            (without it, or `resume`, an existing set is refused).
        command: the command line, stored in the metadata.

    Examples:
        >>> PreprocessOptions(batch_size=0)
        Traceback (most recent call last):
        ...
        ValueError: batch_size=0; expected a positive integer
    """

    batch_size: int = 256
    data_dir: str = None
    skip_unknown_labels: bool = False
    resume: bool = False
    overwrite: bool = False
    command: list = None

    def __post_init__(self):
        if isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size!r}; expected a "
                             "positive integer")
