"""Shard files: written whole before they are named, read back to check them.

`ShardWriter` spreads records over contiguous shards; a shard is written
under `NAME.tmp` and renamed when complete, so a file with a shard's final
name is always whole. `verify_shards` reads every shard of a set once and
checks every record (see `record_check.check_record`) before TensorFlow
parses it.
"""

import os

import tensorflow as tf
from absl import logging

from topk_distill.records import file_names, record_check, records


class ShardWriter:
    """Writes records into contiguous shards, each made whole before it is named.

    Shard `s` of `S` receives examples `[s*n//S, (s+1)*n//S)`. A shard is
    written under `NAME.tmp` and renamed when its last record is in, so a
    shard file with its final name is always complete.

    Args:
        prefix: output prefix; shards are `PREFIX-NNNNN-of-NNNNN.tfrecord`.
        num_examples: how many records will be written.
        num_shards: how many shards to spread them over.
        compression: `"none"` or `"gzip"`.
        first_shard: start at this shard (the ones before are complete),
            with the first record of its range.

    Examples:
        >>> import os, tempfile
        >>> prefix = os.path.join(tempfile.mkdtemp(), "train")
        >>> with ShardWriter(prefix, num_examples=5, num_shards=2) as writer:
        ...     for record in [b"a", b"b", b"c", b"d", b"e"]:
        ...         writer.write(record)
        >>> writer.counts
        [2, 3]
        >>> sorted(os.listdir(os.path.dirname(prefix)))
        ['train-00000-of-00002.tfrecord', 'train-00001-of-00002.tfrecord']
    """

    def __init__(self, prefix, num_examples, num_shards, compression="none",
                 first_shard=0):
        self.prefix = prefix
        self.first_shard = first_shard
        self.num_shards = num_shards
        self.compression = compression
        self.bounds = shard_bounds(num_examples, num_shards)
        self.counts = [b - a for a, b in zip(self.bounds, self.bounds[1:])]
        self._index = first_shard - 1
        self._writer = None
        self._written = self.bounds[first_shard]

    def path(self, index):
        """Returns the final path of shard `index`."""
        return file_names.shard_path(self.prefix, index, self.num_shards,
                                     self.compression)

    def shards(self):
        """The `records.Shard` entries of the finished set."""
        return tuple(records.Shard(os.path.basename(self.path(i)), n)
                     for i, n in enumerate(self.counts))

    def __enter__(self):
        tf.io.gfile.makedirs(os.path.dirname(os.path.abspath(self.prefix)))
        self._next_shard()
        return self

    def write(self, record):
        """Appends one serialized record, moving to the next shard when full."""
        while self._written == self.bounds[self._index + 1]:
            if self._index + 1 == self.num_shards:
                raise ValueError(f"{self.prefix}: more records than the "
                                 f"{self.bounds[-1]} announced")
            self._next_shard()
        self._writer.write(record)
        self._written += 1

    def _next_shard(self):
        """Closes and names the current shard, then opens the next one."""
        if self._writer is not None:
            self._writer.close()
            tf.io.gfile.rename(self.path(self._index) + ".tmp",
                               self.path(self._index), overwrite=True)
        self._index += 1
        self._writer = None
        if self._index < self.num_shards:
            options = file_names.tf_compression(self.compression)
            self._writer = tf.io.TFRecordWriter(
                self.path(self._index) + ".tmp", options)

    def __exit__(self, exc_type, *unused):
        if exc_type is None and self._written == self.bounds[-1]:
            while self._index < self.num_shards:
                self._next_shard()
            return
        if self._writer is not None:
            self._writer.close()  # The unfinished shard keeps its .tmp name.
        if exc_type is None:
            raise ValueError(f"{self.prefix}: {self._written} records written,"
                             f" {self.bounds[-1]} announced")


def shard_bounds(num_examples, num_shards):
    """Shard `s` holds examples `[bounds[s], bounds[s + 1])`."""
    return [s * num_examples // num_shards for s in range(num_shards + 1)]


def _readable_records(path, compression):
    """Yields the records of one shard file that read back whole (TFRecord
    checks each one's length and CRC), up to the first damaged one."""
    try:
        yield from tf.data.TFRecordDataset(
            path, file_names.tf_compression(compression))
    except tf.errors.DataLossError:
        return


def count_readable(path, compression="none"):
    """How many records of one shard file read back whole."""
    return sum(1 for _ in _readable_records(path, compression))


def verify_shards(record_set, files=None):
    """Reads every shard once; counts the readable records of each.

    Every record is also checked (`record_check.check_record`); one that
    is not a well-formed record raises at once, since TensorFlow cannot
    safely skip it.

    Args:
        record_set: a `RecordSet` (or a path to read one from).
        files: the shard files to read (default: the set's, `files()`).

    Returns:
        `{shard path: (readable records, records the metadata announces)}`.

    Raises:
        RecordFormatError: naming a malformed record.
    """
    record_set = records.resolve(record_set)
    files = record_set.files() if files is None else files
    expected = {s.file: s.examples for s in record_set.shards}
    counts = {}
    for path in files:
        readable = 0
        for record in _readable_records(path, record_set.compression):
            record_check.check_record(
                record.numpy(), f"{path}: record {readable}", record_set)
            readable += 1
        counts[path] = (readable, expected.get(os.path.basename(path),
                                               readable))
    return counts


def check_shards(record_set, skip_corrupt=False):
    """Refuses a set with corrupt or truncated shards, or logs what is skipped.

    Args:
        record_set: a `RecordSet`.
        skip_corrupt: log how many records are lost instead of raising.

    Raises:
        RecordFormatError: naming each bad shard and what it holds.
    """
    bad = {path: counts for path, counts in
           verify_shards(record_set).items() if counts[0] != counts[1]}
    if not bad:
        return
    detail = "; ".join(f"{path}: {readable} of {expected} records readable"
                       for path, (readable, expected) in bad.items())
    if not skip_corrupt:
        raise records.RecordFormatError(
            f"corrupt or truncated shards: {detail}. Re-create them (delete "
            "them and run preprocess again with --resume) or read with "
            "skip_corrupt=True")
    skipped = sum(expected - readable for readable, expected in bad.values())
    logging.warning("skipping %d unreadable records: %s", skipped, detail)


def remove_files(prefix):
    """Removes every file of a record set at `prefix` (shards of any count,
    `.tmp` shards, metadata, run plan); returns how many."""
    found = file_names.existing_files(prefix)
    for path in found:
        tf.io.gfile.remove(path)
    return len(found)
