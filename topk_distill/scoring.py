"""One batch through the teacher: its top-K, serialized as records.

The step `preprocess` runs inside its tf.data pipeline and the Beam
pipeline runs in its DoFn: texts -> teacher scores -> the K best (class id,
score) pairs in the stored kind -> serialized `tf.train.Example`s.
"""

import tensorflow as tf

from topk_distill import codec


def score_batch(teacher, texts, labels, top_k, scores, score_dtype,
                tail_temperature=None, rows=None):
    """Runs the teacher on a batch and serializes its top-K records.

    Args:
        teacher: a `Teacher`.
        texts: string [B].
        labels: int64 [B] class ids (-1 for unlabeled examples).
        top_k: K (or H); 0 keeps all N scores.
        scores, score_dtype, tail_temperature: as in `preprocess`.
        rows: int64 [B] input positions (only precomputed teachers use them).

    Returns:
        `(records string [B], teacher bytes int [B], finite bool [B])`:
        serialized `tf.train.Example`s, the bytes of each spent on teacher
        output, and whether all of each example's scores were finite.
    """
    if rows is None:
        rows = tf.zeros_like(labels)
    raw = teacher(texts, rows)
    values = _convert(raw, teacher.outputs, scores)
    finite = tf.reduce_all(tf.math.is_finite(values), axis=-1)
    ids = tail = None
    if top_k:
        values, ids = tf.math.top_k(values, k=top_k)
    if tail_temperature:
        tail = _tail_mass(_convert(raw, teacher.outputs, "logits"), ids,
                          tail_temperature)
    if scores == "logits" and score_dtype == "float16":
        # Shift so the top logit is 0, where float16 is most precise;
        # softmax is unchanged by a per-example shift.
        values -= tf.reduce_max(values, axis=-1, keepdims=True)
    serialized, teacher_bytes = codec.serialize_batch(
        texts, labels, ids, values, score_dtype, tail)
    return serialized, teacher_bytes, finite


def _tail_mass(logits, ids, temperature):
    """The softmax(logits / T) mass outside the classes `ids`, in log-space."""
    scaled = logits / temperature
    kept = tf.reduce_logsumexp(tf.gather(scaled, ids, batch_dims=1), axis=-1)
    return tf.clip_by_value(-tf.math.expm1(
        kept - tf.reduce_logsumexp(scaled, axis=-1)), 0.0, 1.0)


def _convert(values, have, want):
    """Teacher outputs of kind `have` as kind `want`."""
    if have == want:
        return values
    if want == "probabilities":
        return tf.nn.softmax(values, axis=-1)
    return codec.as_logits(values, have)
