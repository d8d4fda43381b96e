"""Where a record set's files are: its prefix (from a prefix, shard or
glob), its shards as its metadata lists them."""

import os

from topk_distill.records import file_names
from topk_distill.records.errors import RecordFormatError


def listed_files(record_set):
    """The shard files of a `RecordSet`, as its metadata lists them.

    The metadata's shard list is the truth: a file the source glob
    matches but the list does not name (left by another run) is refused,
    as is a listed shard that is missing.

    Returns:
        The full paths of the set's shards, in order.

    Raises:
        RecordFormatError: naming the file that is extra or missing.
    """
    from tensorflow.io import gfile

    prefix = record_set.prefix
    listed = [os.path.join(os.path.dirname(prefix), s.file)
              for s in record_set.shards]
    pattern = record_set.pattern or prefix + "-*"
    found = {_normal(p) for p in gfile.glob(pattern)
             if file_names.SHARD_RE.match(p)}
    extra = sorted(found - {_normal(p) for p in listed})
    if extra:
        raise RecordFormatError(
            f"{pattern}: {os.path.basename(extra[0])} is not one of the "
            f"{len(listed)} shards {file_names.metadata_path(prefix)} "
            "lists (left by another run?); remove it, or use a narrower "
            "glob")
    for path in listed:
        if _normal(path) in found:
            continue
        if gfile.exists(path):
            raise RecordFormatError(
                f"{pattern}: matches {len(found)} of the {len(listed)} "
                f"shards {file_names.metadata_path(prefix)} lists, not "
                f"{os.path.basename(path)}; a record set is read whole")
        raise RecordFormatError(
            f"{path}: missing; {file_names.metadata_path(prefix)} lists "
            f"it as one of the set's {len(listed)} shards")
    return listed


def prefix_of(path):
    """Returns the prefix of a record set named by a prefix, shard or glob.

    Raises:
        FileNotFoundError: nothing matches `path`.
        RecordFormatError: `path` matches files of several sets.
    """
    match = file_names.SHARD_RE.match(path)
    if match and not file_names.is_glob(path):
        return match["prefix"]
    if not file_names.is_glob(path):
        return path
    from tensorflow.io import gfile

    files = gfile.glob(path)
    if not files:
        raise FileNotFoundError(f"{path}: no record shard matches")
    matches = [file_names.SHARD_RE.match(f) for f in files]
    prefixes = {m["prefix"] if m else f for m, f in zip(matches, files)}
    if len(prefixes) != 1 or not all(matches):
        raise RecordFormatError(
            f"{path}: expected the shards of one record set "
            f"(PREFIX-NNNNN-of-NNNNN.tfrecord[.gz]); it matches "
            f"{sorted(prefixes)}")
    return prefixes.pop()


def _normal(path):
    return path if "://" in path else os.path.abspath(path)
