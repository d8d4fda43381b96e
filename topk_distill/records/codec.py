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

from topk_distill.inputs import input_kinds
from topk_distill.records import packing


def serialize_batch(inputs, label, ids, scores, record_set, tail_mass=None):
    """Serializes a batch of records, in the graph (tf.function or tf.data).

    Args:
        inputs: the examples' inputs, of the set's `input_kind`: string [B]
            (text or encoded images) or float [B, D] (features).
        label: int64 tensor [B]: true class ids, -1 when unlabeled; in a
            multi-label set int [B, L], each row's true class ids (-1
            pads a row with fewer; all -1 when unlabeled).
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

    Examples:
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
                   "bytes_list", "BytesList", inputs[:, None]))]
    entries.append(LABEL_FIELDS[record_set.label_space.kind].entry(label))
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
        Multi-label sets also give `"labels": int64[B, L]` (L the set's
        `max_labels`, -1 padding); their `"label"` is each row's first
        label, or -1 when it has none (unlabeled).

    Examples:
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
    LABEL_FIELDS[record_set.label_space.kind].parse(batch, record_set)
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
    shift leaves the softmax unchanged; not a multi-label set's sigmoids,
    kept as they are); anything else as it is.

    Examples:
        >>> from topk_distill.records.records import RecordSet
        >>> spec = RecordSet(kind="labeled", num_classes=9, width=2)
        >>> relative_to_best(tf.constant([[3.0, 1.5]]), spec).numpy().tolist()
        [[0.0, -1.5]]
    """
    if record_set.scores == "logits" and record_set.score_dtype == \
            "float16" and record_set.label_space.activation == "softmax":
        return scores - tf.reduce_max(scores, axis=-1, keepdims=True)
    return scores


def feature_spec(record_set):
    """A record's features, as `tf.io.parse_example` reads them: one spec
    per record set (its input kind, score dtype, density and tail).

    Examples:
        >>> from topk_distill.records.records import RecordSet
        >>> sorted(feature_spec(RecordSet(kind="labeled", num_classes=9,
        ...                                width=2)))
        ['label', 'text', 'topk_ids', 'topk_scores']
    """
    return dict(feature_spec_items(layout(record_set)))


def layout(record_set):
    """What a set's feature spec depends on, as a hashable key."""
    return (record_set.input_kind, record_set.feature_dim,
            record_set.score_dtype, record_set.width, record_set.dense,
            bool(record_set.tail_temperature), record_set.label_space.kind)


@functools.lru_cache(maxsize=64)
def feature_spec_items(layout):
    """The `(name, tf.io spec)` pairs of a set's records, from its
    `layout` (cached: one per kind of set)."""
    (input_kind, feature_dim, score_dtype, k, dense, tail,
     label_kind) = layout
    spec = {input_kind: input_kinds.feature_spec(input_kind, feature_dim)}
    spec.update(LABEL_FIELDS[label_kind].spec)
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


def as_logits(scores, score_kind, activation="softmax"):
    """Stored scores in log-space: probabilities p become log p.

    log p equals the logits up to a per-example constant, which softmax
    ignores, so every reader treats both score kinds alike. Zero probabilities
    become log of float32's smallest normal number, not -inf. A multi-label
    set's per-class sigmoid probabilities become their sigmoid logits,
    log p - log(1 - p).

    Args:
        scores: float tensor.
        score_kind: `"logits"` (returned as is) or `"probabilities"`
            (`RecordSet.scores`).
        activation: what made the scores: `"softmax"` or `"sigmoid"`
            (per-class ones: `RecordSet.label_space.activation`).

    Returns:
        float32 log-space scores.

    Examples:
        >>> import tensorflow as tf
        >>> logits = as_logits(tf.constant([1.0, 0.0]), "probabilities")
        >>> [round(float(x), 2) for x in logits]
        [0.0, -87.34]
    """
    scores = tf.cast(scores, tf.float32)
    if score_kind == "logits":
        return scores
    return _LOG_SCORES[activation](scores)


def _log(p):
    return tf.math.log(tf.maximum(p, np.finfo(np.float32).tiny))


# Probabilities in log-space, by what made them: log p for a softmax's,
# the log-odds log p - log(1 - p) for a sigmoid's.
_LOG_SCORES = {"softmax": _log, "sigmoid": lambda p: _log(p) - _log(1.0 - p)}


class _SingleLabelField:
    """A single-label record's `label`: one int64, -1 unlabeled."""

    spec = {"label": tf.io.FixedLenFeature([], tf.int64)}

    @staticmethod
    def entry(label):
        return _entry("label", _feature(
            "int64_list", "Int64List", tf.cast(label, tf.int64)[:, None]))

    @staticmethod
    def parse(batch, record_set):
        return batch


class _MultiLabelField:
    """A multi-label record's `labels`: its one or more ids (none:
    unlabeled); parsed as int64 [B, L] (`RecordSet.label_width`, -1
    padding) with `label` each row's first."""

    spec = {"labels": tf.io.RaggedFeature(tf.int64)}

    @staticmethod
    def entry(label):
        # Each row's labels first, then its padding: the row's count of
        # them is the list's length.
        label = tf.cast(label, tf.int64)
        label = tf.gather(label, tf.argsort(tf.cast(label < 0, tf.int32),
                                            axis=1, stable=True),
                          batch_dims=1)
        return _entry("labels", _feature(
            "int64_list", "Int64List", label,
            sizes=tf.reduce_sum(tf.cast(label >= 0, tf.int32), axis=1)))

    @staticmethod
    def parse(batch, record_set):
        labels = batch.pop("labels").to_tensor(
            -1, shape=[None, record_set.label_width])
        batch.update(labels=labels, label=labels[:, 0])
        return batch


# How each kind of label is written in a record and read back.
LABEL_FIELDS = {"single": _SingleLabelField, "multi": _MultiLabelField}


def _message(message_type, sizes=None, **fields):
    """Encodes one protobuf message per row; each field is a [B, n] tensor
    (with `sizes` [B, fields], only each row's first `sizes` values)."""
    names = sorted(fields)
    values = [fields[name] for name in names]
    rows = tf.shape(values[0])[0]
    if sizes is None:
        sizes = tf.stack([tf.fill([rows], tf.shape(v)[1]) for v in values],
                         1)
    return tf.io.encode_proto(sizes, values, names, message_type)


def _feature(kind, list_type, values, sizes=None):
    """A `tf.train.Feature` per row of `values` [B, n] (with `sizes` [B],
    each row's first `sizes` values)."""
    inner = _message(f"tensorflow.{list_type}", value=values,
                     sizes=None if sizes is None else sizes[:, None])
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
