"""Writing a record set: one run, from its plan to its metadata.

Every writer of record sets (`preprocess`, the Beam pipeline,
`RecordSetWriter`, `copy_records`) writes through a `RecordSetOutput`:

    with RecordSetOutput(prefix, plan, resume=..., overwrite=...) as writer:
        for record in serialized_records:
            writer.write(record)
    record_set = writer.record_set

Opening it makes the prefix ready: a set already there is refused (or, with
`overwrite`, removed), `resume` finds where an interrupted run of the same
plan stopped, and the run's plan is written (`PREFIX.run.json`). Shards are
written whole before they are named (`shards.ShardWriter`). The metadata,
`PREFIX.meta.json`, is written last, when every shard is complete; on an
error this run's files are removed. The plan is a `RecordSet` without
shards: `record_plan.plan` makes one from plain settings.
"""

import dataclasses
import datetime
import os
import sys

import tensorflow as tf

from topk_distill.records import file_names, shards
from topk_distill.utils import json_files

# The metadata fields a run's plan does not fix.
_RUN_FIELDS = ("shards", "command", "created")


class RecordSetOutput:
    """A record set being written: prepared, written shard by shard, finished.

    Args:
        prefix: where the set goes (`PREFIX-NNNNN-of-NNNNN.tfrecord[.gz]`,
            `PREFIX.meta.json`).
        plan: the `RecordSet` to write, `num_examples` counted (its shards,
            `command` and `created` are filled in by `finish`).
        resume: continue an interrupted run of the same plan: shards already
            complete and readable are kept and not written again
            (`first_shard`); a different earlier run is refused.
        overwrite: remove a record set already at `prefix` first.
        command: the command line kept in the metadata, or `None`.
        keep_interrupted: on an exception other than a `ValueError` or a
            TensorFlow error (e.g. `KeyboardInterrupt`), keep the shards
            written so far and the plan, for `resume`; otherwise every
            exception removes this run's files.

    Raises:
        ValueError: a record set is already at `prefix` (without `resume` or
            `overwrite`), or `resume` finds another run's files.
        OSError: `prefix` cannot be written.

    Examples:
        >>> import os, tempfile
        >>> from topk_distill.records.records import RecordSet
        >>> plan = RecordSet(kind="labeled", num_classes=3, width=2,
        ...                  num_examples=3, num_shards=2)
        >>> prefix = os.path.join(tempfile.mkdtemp(), "train")
        >>> with RecordSetOutput(prefix, plan) as writer:
        ...     for record in [b"a", b"b", b"c"]:
        ...         writer.write(record)
        >>> [shard.examples for shard in writer.record_set.shards]
        [1, 2]
        >>> sorted(os.listdir(os.path.dirname(prefix)))[-1]
        'train.meta.json'
    """

    def __init__(self, prefix, plan, resume=False, overwrite=False,
                 command=None, keep_interrupted=False):
        self.prefix = prefix
        self.plan = plan
        self.command = command
        self.record_set = None
        self._keep_interrupted = keep_interrupted
        found = file_names.existing_files(prefix)
        if found and overwrite:
            shards.remove_files(prefix)
        elif found and not resume:
            raise ValueError(
                f"--output={prefix}: a record set is already there "
                f"({os.path.basename(found[0])}, {len(found)} files); pass "
                "--overwrite to replace it, or --resume to continue an "
                "interrupted run")
        self.first_shard = self._resume_from() if resume else 0
        try:
            tf.io.gfile.makedirs(os.path.dirname(os.path.abspath(prefix)))
            json_files.write_json(file_names.run_path(prefix),
                                  plan.to_json())
        except (OSError, tf.errors.OpError) as e:
            raise OSError(f"--output={prefix}: cannot write there "
                          f"({str(e).splitlines()[0]})") from None
        self.writer = None

    @property
    def first_example(self):
        """The first example this run writes (0, or where `resume` starts)."""
        return shards.shard_bounds(self.plan.num_examples,
                                   self.plan.num_shards)[self.first_shard]

    def __enter__(self):
        self.writer = shards.ShardWriter(
            self.prefix, self.plan.num_examples, self.plan.num_shards,
            self.plan.compression, first_shard=self.first_shard).__enter__()
        return self

    def write(self, record):
        """Appends one serialized record (see `shards.ShardWriter.write`)."""
        self.writer.write(record)

    def __exit__(self, exc_type, exc, traceback):
        try:
            self.writer.__exit__(exc_type, exc, traceback)
        except ValueError:  # fewer records than announced
            self.abort()
            raise
        if exc_type is None:
            self.finish(self.writer.shards())
        elif not self._keep_interrupted or issubclass(
                exc_type, (ValueError, tf.errors.OpError)):
            self.abort()
        return False

    def finish(self, written_shards, **fields):
        """Writes `PREFIX.meta.json` once every shard is complete, and
        removes the run's plan.

        Args:
            written_shards: the `records.Shard`s, in order.
            **fields: metadata fields only known at the end (e.g. the
                examples a Beam pipeline counted).

        Returns:
            The `RecordSet` written (also in `record_set`).
        """
        self.record_set = dataclasses.replace(
            self.plan, shards=tuple(written_shards),
            command=None if self.command is None else tuple(self.command),
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(),
            **fields).write(self.prefix)
        self._remove(file_names.run_path(self.prefix))
        return self.record_set

    def abort(self):
        """Removes the shards this run wrote (finished or `.tmp`); the plan
        too unless an earlier run's shards stay for `resume`."""
        for index in range(self.first_shard, self.plan.num_shards):
            path = self.plan.shard_path(index, self.prefix)
            self._remove(path)
            self._remove(path + ".tmp")
        if self.first_shard == 0:
            self._remove(file_names.run_path(self.prefix))

    @staticmethod
    def _remove(path):
        if tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)

    def _resume_from(self):
        """Returns the first shard an interrupted run left incomplete.

        Raises:
            ValueError: if the interrupted run differs from this one.
        """
        prefix, plan = self.prefix, self.plan
        previous = json_files.read_json(file_names.run_path(prefix)) or (
            json_files.read_json(file_names.metadata_path(prefix)))
        if previous is None:
            return 0
        wanted = plan.to_json()
        different = sorted(key for key in wanted if key not in _RUN_FIELDS
                           and previous.get(key) != wanted[key])
        if different:
            raise ValueError(
                f"--resume: {prefix} was written by another run (its "
                f"{', '.join(different)} differ); use a new --output or "
                "remove the old files")
        first = 0
        while first < plan.num_shards and tf.io.gfile.exists(
                plan.shard_path(first, prefix)):
            first += 1
        # A finished shard is trusted only if all its records read back,
        # each framed and CRC-checked by TFRecord: a truncated or damaged
        # one is written again, from it on.
        bounds = shards.shard_bounds(plan.num_examples, plan.num_shards)
        for index in range(first):
            path = plan.shard_path(index, prefix)
            expected = bounds[index + 1] - bounds[index]
            readable = shards.count_readable(path, plan.compression)
            if readable != expected:
                print(f"--resume: {path} holds {readable} readable records "
                      f"of {expected} (damaged or cut short); writing it "
                      "again", file=sys.stderr)
                return index
        return first


def copy_records(record_set, prefix, count=None, rows=None):
    """Writes some records of a set as a record set of its own: the first
    `count`, or those at `rows` (replacing a set already at `prefix`).

    Args:
        record_set: the source `RecordSet`.
        prefix: where the copy goes (one shard).
        count: how many records from the start (at most the set's).
        rows: instead of `count`, the positions of the records to keep, in
            the set's order (e.g. a random part of it, ascending).

    Returns:
        The copy's `RecordSet`.
    """
    compression = file_names.tf_compression(record_set.compression)
    source = tf.data.TFRecordDataset(record_set.files(), compression)
    if rows is None:
        count = min(count, record_set.num_examples)
        chosen = source.take(count)
    else:
        wanted = set(int(row) for row in rows)
        count = len(wanted)
        chosen = (record for position, record in enumerate(source)
                  if position in wanted)
    plan = dataclasses.replace(record_set, num_examples=count, num_shards=1,
                               shards=(), command=None, created=None)
    with RecordSetOutput(prefix, plan, overwrite=True) as writer:
        for record in chosen:
            writer.write(record.numpy())
    return writer.record_set
