"""Records checked before TensorFlow parses them.

TensorFlow's C++ `parse_example` can crash the process on some malformed
messages (a fuzzer found one), and refuses a record that lacks a feature
with a message naming no file. So the reader checks every record here
first, in Python's protobuf parser: a record that passes parses.
"""

import functools

import numpy as np
import tensorflow as tf
from google.protobuf import message, unknown_fields

from topk_distill.records import codec, packing
from topk_distill.records.errors import RecordFormatError


def check_record(record, where="record", record_set=None):
    """Refuses bytes that are not a well-formed record.

    Python's protobuf parser checks them safely. With `record_set`, every
    feature its spec (`codec.feature_spec`) needs must be there in its
    type and length, so that what passes parses. A record whose
    `topk_ids` repeat a class (no top-K does) is refused too, as are a
    multi-label record's labels that repeat, fall outside [0, N) or
    exceed the set's `max_labels`.

    Args:
        record: serialized bytes.
        where: names the record in the error.
        record_set: the set's `RecordSet`; with it, a `"q8"` record's
            packed targets are checked too (`packing.check`).

    Raises:
        RecordFormatError: naming `where`.

    Examples:
        >>> check_record(b"not a record", "shard-0: record 3")
        Traceback (most recent call last):
        ...
        topk_distill.records.errors.RecordFormatError: shard-0: record 3: not a valid tf.train.Example (corrupt record)
    """
    try:
        example = tf.train.Example.FromString(record)
    except message.DecodeError:
        raise RecordFormatError(f"{where}: not a valid tf.train.Example "
                                "(corrupt record)") from None
    feature = example.features.feature
    if record_set is not None:
        problem = (_spec_problem(feature, record_set) or
                   _scores_problem(feature, record_set))
        if problem:
            raise RecordFormatError(f"{where}: {problem}")
    if record_set is not None and record_set.score_dtype == "q8":
        payload = feature["t"].bytes_list.value if "t" in feature else []
        problem = ("no packed targets (feature 't')" if len(payload) != 1
                   else packing.check(payload[0], record_set.num_classes,
                                      record_set.width))
        if problem:
            raise RecordFormatError(f"{where}: {problem}")
    if record_set is not None:
        problem = record_set.rules.problem_in(feature, record_set)
        if problem:
            raise RecordFormatError(f"{where}: {problem}")
    if "topk_ids" in feature:
        ids = [i for i in feature["topk_ids"].int64_list.value if i >= 0]
        if len(set(ids)) != len(ids):
            raise RecordFormatError(
                f"{where}: duplicate topk_ids {list(ids)}; expected distinct "
                "class ids (records from another writer?)")
        if record_set is not None and ids and max(ids) >= \
                record_set.num_classes:
            raise RecordFormatError(
                f"{where}: class id {max(ids)}; expected ids below "
                f"N={record_set.num_classes}")


_LISTS = {tf.string: "bytes_list", tf.int64: "int64_list",
          tf.float32: "float_list"}


@functools.lru_cache(maxsize=64)
def _expected_features(layout):
    """(name, list kind, length) of each feature a set's records need (the
    reader checks every record against them: computed once per set)."""
    return tuple((name, _LISTS[s.dtype], int(np.prod(s.shape))
                  if hasattr(s, "shape") else None)
                 for name, s in codec.feature_spec_items(layout))


def _spec_problem(feature, record_set):
    """The first feature the set's spec needs that the record lacks or
    holds in another type or length, as a message; `None` if all fit."""
    for name, kind, size in _expected_features(codec.layout(record_set)):
        entry = feature[name] if name in feature else None
        found = entry.WhichOneof("kind") if entry is not None else None
        count = len(getattr(entry, found).value) if found else 0
        if size is None:  # a multi-label record's labels: any count
            size = count
        if found != kind or count != size:
            return (f"feature {name!r} is {found or 'missing'} of {count}; "
                    f"expected {kind} of {size}")
        # TF's parser refuses fields protobuf's keeps as unknown
        if unknown_fields.UnknownFieldSet(entry) or \
                unknown_fields.UnknownFieldSet(getattr(entry, found)):
            return f"feature {name!r} holds fields no tf.train.Feature has"
    return None


def _scores_problem(feature, record_set):
    """What is wrong with a record's stored scores (not "q8": those are
    `packing.check`'s), or `None`: float16 bytes of another length than
    2K, a NaN or an infinity (no writer stores one)."""
    k = record_set.width
    if record_set.score_dtype == "q8":
        return None
    stored = feature["topk_scores"]
    if record_set.score_dtype == "float16":
        raw = stored.bytes_list.value[0]
        if len(raw) != 2 * k:
            return (f"topk_scores holds {len(raw)} bytes; expected {2 * k} "
                    f"(K={k} float16 scores)")
        scores = np.frombuffer(raw, np.float16)
    else:
        scores = np.asarray(stored.float_list.value)
    if not np.isfinite(scores).all():
        return (f"teacher scores {scores.tolist()}; expected finite "
                "numbers")
    return None
