"""The record codec: batches of tensors <-> serialized `tf.train.Example`s.

Both directions run in the TensorFlow graph, so `preprocess` serializes
whole batches in one `tf.function` and the reader parses whole batches at
once.
The features are those `records` describes. Stored scores mean one thing
to every reader: `as_logits` is the one rule that turns probabilities into
log-space.
"""

import functools

import numpy as np
import tensorflow as tf
from google.protobuf import message, unknown_fields

from topk_distill.inputs import input_kinds
from topk_distill.records import packing
from topk_distill.records.records import RecordFormatError


def serialize_batch(inputs, label, ids, scores, record_set, tail_mass=None):
    """Serializes a batch of records, in the graph (tf.function or tf.data).

    Args:
        inputs: the examples' inputs, of the set's `input_kind`: string [B]
            (text or encoded images) or float [B, D] (features).
        label: int64 tensor [B]: true class ids, -1 when unlabeled.
        ids: int tensor [B, W] of class ids (-1 pads a record with fewer),
            or `None` for dense records (scores of all N classes in class
            order).
        scores: float tensor [B, W] (or [B, N] when dense), of the set's
            kind (`record_set.scores`).
        record_set: the set's `RecordSet`: its `score_dtype` (`"float16"`,
            clipped to float16's range and packed little-endian into one
            bytes value; `"float32"`; `"q8"`, see `packing`), score kind,
            N and W (`width`).
        tail_mass: optional float [B]: the teacher's probability mass outside
            its top-K at the set's `tail_temperature`.

    Returns:
        `(records, teacher_bytes)`: string [B] serialized `tf.train.Example`s
        and int32 [B], the bytes each record spends on the teacher's output
        (its `topk_ids`, `topk_scores`, `t` and `tail_mass` entries).

    Example:
    >>> import tensorflow as tf
    >>> from topk_distill.records.records import RecordSet
    >>> spec = RecordSet(kind="labeled", num_classes=9, width=2)
    >>> records, sizes = serialize_batch(
    ...     tf.constant(["a text"]), tf.constant([7], tf.int64),
    ...     ids=tf.constant([[7, 2]]), scores=tf.constant([[3.5, 1.0]]),
    ...     record_set=spec)
    >>> example = tf.train.Example.FromString(records[0].numpy())
    >>> list(example.features.feature["topk_ids"].int64_list.value)
    [7, 2]
    >>> int(sizes[0])  # Bytes of its teacher entries, framing included.
    45
    """
    dtype = record_set.score_dtype
    teacher = []
    if dtype == "q8":
        teacher.append(_entry("t", _feature(
            "bytes_list", "BytesList", _packed_targets(
                ids, scores, record_set)[:, None])))
    else:
        if ids is not None:
            teacher.append(_entry("topk_ids", _feature(
                "int64_list", "Int64List", tf.cast(ids, tf.int64))))
        if dtype == "float16":
            teacher.append(_entry("topk_scores", _feature(
                "bytes_list", "BytesList", _packed_float16(scores)[:, None])))
        else:
            teacher.append(_entry("topk_scores", _feature(
                "float_list", "FloatList", tf.cast(scores, tf.float32))))
    if tail_mass is not None:
        teacher.append(_entry("tail_mass", _feature(
            "float_list", "FloatList",
            tf.cast(tail_mass, tf.float32)[:, None])))
    kind = record_set.input_kind
    entries = [_entry(kind, _feature(
                   "float_list", "FloatList", tf.cast(inputs, tf.float32))
                   if kind == "features" else _feature(
                   "bytes_list", "BytesList", inputs[:, None])),
               _entry("label", _feature("int64_list", "Int64List",
                                        tf.cast(label, tf.int64)[:, None]))]
    features = _message("tensorflow.Features",
                        feature=tf.stack(entries + teacher, axis=1))
    example = _message("tensorflow.Example", features=features[:, None])
    return example, tf.add_n([_field_size(entry) for entry in teacher])


def parse_batch(serialized, record_set):
    """Parses a batch of serialized records into a dict of dense tensors.

    Args:
        serialized: string tensor [B].
        record_set: the set's `RecordSet` (its K, dtype, density, tail).

    Returns:
        `{"text": string[B], "label": int64[B], "topk_ids": int64[B, K],
        "topk_scores": float32[B, K]}` (the input under its kind's name:
        `"image"`: string[B], `"features"`: float32[B, D]; ids -1 and
        scores 0 where a record stores fewer than K classes), plus
        `"tail_mass": float32[B]` when the set was written with a tail
        temperature. `"q8"` sets give their ids ascending and their logits
        relative to the example's largest (probabilities as they were).

    Example:
    >>> import tensorflow as tf
    >>> from topk_distill.records.records import RecordSet
    >>> spec = RecordSet(kind="labeled", num_classes=9, width=2)
    >>> records, _ = serialize_batch(tf.constant(["a"]),
    ...                              tf.constant([7], tf.int64),
    ...                              tf.constant([[7, 2]]),
    ...                              tf.constant([[0.0, -1.5]]), spec)
    >>> parse_batch(records, spec)["topk_scores"].numpy().tolist()
    [[0.0, -1.5]]
    """
    k, dense = record_set.width, record_set.dense
    dtype = record_set.score_dtype
    batch = tf.io.parse_example(serialized, feature_spec(record_set))
    if dtype == "q8":
        ids, values = packing.unpack(batch.pop("t"), record_set.num_classes,
                                     k)
        if record_set.scores == "probabilities":
            values = tf.where(ids >= 0, tf.exp(values), 0.0)
        batch.update(topk_ids=ids, topk_scores=values)
        return batch
    if dtype == "float16":
        bits = tf.io.decode_raw(batch["topk_scores"], tf.uint16,
                                fixed_length=2 * k)
        batch["topk_scores"] = tf.cast(tf.bitcast(bits, tf.float16),
                                       tf.float32)
    if dense:
        batch["topk_ids"] = tf.broadcast_to(
            tf.range(k, dtype=tf.int64), tf.shape(batch["topk_scores"]))
    return batch


def relative_to_best(scores, record_set):
    """Scores as a set stores them: float16 logits shifted so each
    example's best is 0, where float16 is most precise (a per-example
    shift leaves the softmax unchanged); anything else as it is.

    Example:
    >>> from topk_distill.records.records import RecordSet
    >>> spec = RecordSet(kind="labeled", num_classes=9, width=2)
    >>> relative_to_best(tf.constant([[3.0, 1.5]]), spec).numpy().tolist()
    [[0.0, -1.5]]
    """
    if record_set.scores == "logits" and record_set.score_dtype == "float16":
        return scores - tf.reduce_max(scores, axis=-1, keepdims=True)
    return scores


def feature_spec(record_set):
    """A record's features, as `tf.io.parse_example` reads them: one spec
    per record set (its input kind, score dtype, density and tail).

    Example:
    >>> from topk_distill.records.records import RecordSet
    >>> sorted(feature_spec(RecordSet(kind="labeled", num_classes=9,
    ...                                width=2)))
    ['label', 'text', 'topk_ids', 'topk_scores']
    """
    return dict(_feature_spec(*_layout(record_set)))


def _layout(record_set):
    """What a set's feature spec depends on, as a hashable key."""
    return (record_set.input_kind, record_set.feature_dim,
            record_set.score_dtype, record_set.width, record_set.dense,
            bool(record_set.tail_temperature))


@functools.lru_cache(maxsize=64)
def _feature_spec(input_kind, feature_dim, score_dtype, k, dense, tail):
    spec = {input_kind: input_kinds.feature_spec(input_kind, feature_dim),
            "label": tf.io.FixedLenFeature([], tf.int64)}
    if score_dtype == "q8":
        spec["t"] = tf.io.FixedLenFeature([], tf.string)
    else:
        spec["topk_scores"] = (
            tf.io.FixedLenFeature([], tf.string) if score_dtype == "float16"
            else tf.io.FixedLenFeature([k], tf.float32))
        if not dense:
            spec["topk_ids"] = tf.io.FixedLenFeature([k], tf.int64)
    if tail:
        spec["tail_mass"] = tf.io.FixedLenFeature([], tf.float32)
    return tuple(spec.items())


_LISTS = {tf.string: "bytes_list", tf.int64: "int64_list",
          tf.float32: "float_list"}


@functools.lru_cache(maxsize=64)
def _expected_features(layout):
    """(name, list kind, length) of each feature a set's records need (the
    reader checks every record against them: computed once per set)."""
    return tuple((name, _LISTS[s.dtype], int(np.prod(s.shape)))
                 for name, s in _feature_spec(*layout))


def _spec_problem(feature, record_set):
    """The first feature the set's spec needs that the record lacks or
    holds in another type or length, as a message; `None` if all fit."""
    for name, kind, size in _expected_features(_layout(record_set)):
        entry = feature[name] if name in feature else None
        found = entry.WhichOneof("kind") if entry is not None else None
        count = len(getattr(entry, found).value) if found else 0
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


def as_logits(scores, score_kind):
    """Stored scores in log-space: probabilities p become log p.

    log p equals the logits up to a per-example constant, which softmax
    ignores, so every reader treats both score kinds alike. Zero probabilities
    become log of float32's smallest normal number, not -inf.

    Args:
        scores: float tensor.
        score_kind: `"logits"` (returned as is) or `"probabilities"`
            (`RecordSet.scores`).

    Returns:
        float32 log-space scores.

    Example:
    >>> import tensorflow as tf
    >>> logits = as_logits(tf.constant([1.0, 0.0]), "probabilities")
    >>> [round(float(x), 2) for x in logits]
    [0.0, -87.34]
    """
    scores = tf.cast(scores, tf.float32)
    if score_kind == "logits":
        return scores
    return tf.math.log(tf.maximum(scores, np.finfo(np.float32).tiny))


def check_record(record, where="record", record_set=None):
    """Refuses bytes that are not a well-formed record.

    Python's protobuf parser checks them safely; TensorFlow's C++
    `parse_example` can crash the process on some malformed messages (a
    fuzzer found one), so the reader checks every record before TensorFlow
    parses it. With `record_set`, every feature its spec (`feature_spec`)
    needs must be there in its type and length, so that what passes parses.
    A record whose `topk_ids` repeat a class (no top-K does) is refused
    too.

    Args:
        record: serialized bytes.
        where: names the record in the error.
        record_set: the set's `RecordSet`; with it, a `"q8"` record's
            packed targets are checked too (`packing.check`).

    Raises:
        RecordFormatError: naming `where`.

    Example:
    >>> check_record(b"not a record", "shard-0: record 3")
    Traceback (most recent call last):
    ...
    topk_distill.records.records.RecordFormatError: shard-0: record 3: not a valid tf.train.Example (corrupt record)
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


def _message(message_type, **fields):
    """Encodes one protobuf message per row; each field is a [B, n] tensor."""
    names = sorted(fields)
    values = [fields[name] for name in names]
    rows = tf.shape(values[0])[0]
    sizes = tf.stack([tf.fill([rows], tf.shape(v)[1]) for v in values], 1)
    return tf.io.encode_proto(sizes, values, names, message_type)


def _feature(kind, list_type, values):
    inner = _message(f"tensorflow.{list_type}", value=values)
    return _message("tensorflow.Feature", **{kind: inner[:, None]})


def _entry(key, feature):
    keys = tf.fill([tf.shape(feature)[0], 1], key)
    return _message("tensorflow.Features.FeatureEntry", key=keys,
                    value=feature[:, None])


def _field_size(message):
    """Bytes a length-delimited field holding `message` takes: tag + varint
    length + the message itself."""
    length = tf.strings.length(message)
    varint = 1 + sum(tf.cast(length >= 1 << (7 * i), tf.int32)
                     for i in range(1, 4))
    return 1 + varint + length


_BYTES = [bytes([i]) for i in range(256)]


def _packed_float16(scores):
    limit = np.finfo(np.float16).max
    half = tf.cast(tf.clip_by_value(tf.cast(scores, tf.float32), -limit,
                                    limit), tf.float16)
    octets = tf.reshape(tf.bitcast(half, tf.uint8), [tf.shape(half)[0], -1])
    return tf.strings.reduce_join(tf.gather(_BYTES, tf.cast(octets, tf.int32)),
                                  axis=1)


def _packed_targets(ids, scores, record_set):
    """The `"q8"` payload of each record (see `packing`): values in
    log-space at most 0 (logits relative to the example's largest)."""
    valid = ids >= 0
    values = as_logits(scores, record_set.scores)
    if record_set.scores == "logits":
        best = tf.reduce_max(tf.where(valid, values, -np.inf), axis=1,
                             keepdims=True)
        values = values - best
    values = tf.where(valid, values, 0.0)
    num_classes, width = record_set.num_classes, record_set.width
    payload = tf.numpy_function(
        lambda i, v: packing.pack(i, v, num_classes, width),
        [tf.cast(ids, tf.int64), values], tf.string, stateful=False)
    return tf.ensure_shape(payload, [None])
