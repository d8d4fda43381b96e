"""One batch through the teacher: its targets, serialized as records.

The step `preprocess` runs in two `tf.function`s (`run_teacher`, then
`records_from_scores`, overlapped across batches) and the Beam pipeline
runs in its DoFn (`score_batch`): texts -> teacher scores -> the classes
to keep (the K best, or S draws, or both) with their scores in the stored
kind -> serialized `tf.train.Example`s.

Draws are seeded per example by its text and the set's seed, so a record
does not depend on the batch it ran in: an interrupted run resumed, or the
Beam runner, writes the same bytes.
"""

import tensorflow as tf

from topk_distill.inputs import input_kinds
from topk_distill.models import saved_model
from topk_distill.records import codec

# Draws hash each example's text to uniforms of 24 bits: float32 holds them
# exactly and below 1.
_HASH_BUCKETS = 1 << 24


def score_batch(teacher, texts, labels, record_set, rows=None):
    """Runs the teacher on a batch and serializes the records of its targets.

    `run_teacher` then `records_from_scores`, in one call (the Beam
    pipeline's step); `preprocess` calls the two as separate
    `tf.function`s, the second in a worker thread, so one batch's records
    are made while the teacher runs on the next.

    Args:
        teacher: a `Teacher`.
        texts: string [B]: the examples' payloads (`input_kinds`: texts,
            encoded images, or feature vectors as float32 bytes).
        labels: int64 [B] class ids (-1 for unlabeled examples).
        record_set: the `RecordSet` being written: its targets (`"topk"`,
            `"sampled"`, `"mixed"`), K, S, k, T, seed, score kind and dtype,
            tail temperature.
        rows: int64 [B] input positions (only precomputed teachers use them).

    Returns:
        `(records string [B], teacher bytes int [B], finite bool [B])`:
        serialized `tf.train.Example`s, the bytes of each spent on teacher
        output, and whether all of each example's scores were finite.
    """
    raw = run_teacher(teacher, texts, record_set, rows)
    return records_from_scores(raw, texts, labels, record_set,
                               teacher.outputs)


def run_teacher(teacher, texts, record_set, rows=None):
    """The teacher's scores float [B, N] for a batch of payloads (string
    [B]) of the set's input kind; `rows` as in `score_batch`."""
    if rows is None:
        rows = tf.zeros([tf.shape(texts)[0]], tf.int64)
    return teacher(input_kinds.model_input(texts, record_set.input_kind,
                                           record_set.feature_dim), rows)


def records_from_scores(raw, texts, labels, record_set, outputs):
    """The records of a batch from its teacher scores.

    Args:
        raw: float [B, N]: the teacher's scores.
        texts, labels, record_set: as in `score_batch`.
        outputs: what `raw` holds: `"logits"` or `"probabilities"` (the
            teacher's `outputs`).

    Returns:
        As `score_batch`.
    """
    inputs = input_kinds.model_input(texts, record_set.input_kind,
                                     record_set.feature_dim)
    # `choices.bad_scores`'s rule, in the graph: finite, and probabilities
    # (softmax or sigmoid ones) within [0, 1]
    valid = tf.math.is_finite(raw)
    if outputs == "probabilities":
        valid &= (raw >= 0) & (raw <= 1)
    finite = tf.reduce_all(valid, axis=-1)
    tail = None
    if record_set.targets == "topk":
        ids, values = _top_k(_convert(
            raw, outputs, record_set.scores,
            record_set.label_space.activation), record_set)
        if record_set.tail_temperature:
            tail = _tail_mass(_convert(raw, outputs, "logits"), ids,
                              record_set.tail_temperature)
    else:
        log_p = tf.nn.log_softmax(_convert(raw, outputs, "logits") /
                                  record_set.sampling_temperature, axis=-1)
        ids, values = sample_targets(log_p, texts, record_set.samples,
                                     record_set.seed,
                                     record_set.exact_top or 0)
    serialized, teacher_bytes = codec.serialize_batch(
        inputs, labels, ids, values, record_set, tail)
    return serialized, teacher_bytes, finite


def _top_k(values, record_set):
    """The K best (ids, scores), or all N for a dense set, as the set
    stores them (`codec.relative_to_best`)."""
    ids = None
    if not record_set.dense:
        values, ids = top_k(values, record_set.width)
    return ids, codec.relative_to_best(values, record_set)


# From this many classes on, `top_k` selects in blocks: faster than
# tf.math.top_k at large N, slower at small (measured: BENCHMARKS.md,
# "Preprocessing: storage, and time against the bare teacher").
BLOCKED_MIN_CLASSES = 16_384


def top_k(values, k, block=256, min_classes=None):
    """The k largest values of each row and their ids, as `tf.math.top_k`.

    From `min_classes` (default `BLOCKED_MIN_CLASSES`) columns on, in two
    stages: the maximum of each block of `block` columns (one cheap pass),
    the k blocks with the largest maxima, then the top k of those blocks'
    k * block columns. Exact, ties included: every value in the top k lies
    in a block whose maximum is at least the k-th largest value, there are
    at most k such blocks, ties between blocks go to the lower block, and
    the chosen blocks are taken in column order, so equal values come out
    lower id first, as `tf.math.top_k` gives them.

    Args:
        values: float [B, N].
        k: K <= N.
        block: columns per block.
        min_classes: N from which to select in blocks.

    Returns:
        `(values [B, K], ids int32 [B, K])`, best first.

    Examples:
        >>> import tensorflow as tf
        >>> x = tf.constant([[1.0, 5.0, 3.0, 5.0, 0.0, 4.0]])
        >>> v, i = top_k(x, 3, block=2, min_classes=0)
        >>> v.numpy().tolist(), i.numpy().tolist()
        ([[5.0, 5.0, 4.0]], [[1, 3, 5]])
    """
    n = values.shape[-1]
    limit = BLOCKED_MIN_CLASSES if min_classes is None else min_classes
    if n is None or n < limit or n <= k * block:
        found = tf.math.top_k(values, k=k)
        return found.values, found.indices
    rows = tf.shape(values)[0]
    padded = tf.pad(values, [[0, 0], [0, -n % block]],
                    constant_values=float("-inf"))
    blocks = tf.reshape(padded, [rows, -1, block])
    _, chosen = tf.math.top_k(tf.reduce_max(blocks, axis=-1), k=k)
    chosen = tf.sort(chosen, axis=-1)
    candidates = tf.reshape(tf.gather(blocks, chosen, batch_dims=1),
                            [rows, k * block])
    best, at = tf.math.top_k(candidates, k=k)
    return best, tf.gather(chosen, at // block, batch_dims=1) * block + (
        at % block)


def sample_targets(log_p, texts, samples, seed, exact_top=0):
    """Sampled targets: the k best classes exactly, plus S draws from the
    rest, weighted by the rest's mass; an unbiased estimate of p.

    With `exact_top=0`: S draws from p, each distinct class drawn with its
    share of the draws (count / S). With k > 0: the k most probable
    classes with their probabilities, and S draws from p renormalised over
    the other classes, each weighted by (1 - their mass) * count / S.
    Either way the expected target is p itself.

    Args:
        log_p: float [B, N] log-probabilities (the teacher's at T).
        texts: string [B]: each example's draws are seeded by its text.
        samples: S.
        seed: the set's seed.
        exact_top: k.

    Returns:
        `(ids, targets)`: int [B, k + S] class ids (-1 pads a record that
        drew fewer distinct classes) and float [B, k + S] target
        probabilities (0 there), summing to 1 per example.

    Examples:
        >>> import numpy as np, tensorflow as tf
        >>> log_p = tf.math.log([[0.5, 0.3, 0.2]])
        >>> ids, q = sample_targets(log_p, tf.constant(["a text"]), samples=4,
        ...                         seed=0, exact_top=1)
        >>> int(ids[0, 0]), float(q[0, 0])  # The best class, exactly.
        (0, 0.5)
        >>> round(float(tf.reduce_sum(q)), 6)
        1.0
    """
    log_p = tf.cast(log_p, tf.float32)
    tail = tf.ones_like(log_p[:, 0])
    top_ids = top_p = None
    if exact_top:
        top_lp, top_ids = tf.math.top_k(log_p, k=exact_top)
        top_p = tf.exp(top_lp)
        tail = tf.clip_by_value(-tf.math.expm1(tf.reduce_logsumexp(
            top_lp, axis=-1)), 0.0, 1.0)
        rows = tf.broadcast_to(tf.range(tf.shape(log_p)[0])[:, None],
                               tf.shape(top_ids))
        log_p = tf.tensor_scatter_nd_update(
            log_p, tf.stack([rows, top_ids], axis=-1),
            tf.fill(tf.shape(top_ids), -float("inf")))
    rest = tf.exp(log_p - tf.reduce_logsumexp(log_p, axis=-1, keepdims=True))
    rest = tf.where(tf.math.is_finite(rest), rest, 0.0)
    cdf = tf.math.cumsum(rest, axis=-1)
    draws = tf.searchsorted(cdf, _uniforms(texts, samples, seed) *
                            cdf[:, -1:], side="right")
    draws = tf.minimum(draws, tf.shape(log_p)[1] - 1)
    ids, counts = _distinct(draws)
    targets = tail[:, None] * tf.cast(counts, tf.float32) / samples
    ids = tf.where((counts > 0) & (tail[:, None] > 0), ids, -1)
    targets = tf.where(ids >= 0, targets, 0.0)
    if exact_top:
        ids = tf.concat([top_ids, ids], axis=1)
        targets = tf.concat([top_p, targets], axis=1)
    return ids, targets


def _uniforms(texts, samples, seed):
    """[B, S] uniforms in [0, 1), a function of each text, the draw's index
    and the seed only."""
    shape = [tf.shape(texts)[0], samples]
    keys = tf.strings.join([
        tf.broadcast_to(texts[:, None], shape),
        tf.broadcast_to(tf.strings.as_string(tf.range(samples))[None, :],
                        shape)], separator="\x1f")
    buckets = tf.strings.to_hash_bucket_strong(keys, _HASH_BUCKETS,
                                               key=[int(seed), 0x5eed])
    return (tf.cast(buckets, tf.float32) + 0.5) / _HASH_BUCKETS


def _distinct(draws):
    """The distinct ids of each row of `draws` [B, S] and their counts, both
    [B, S] (ids ascending; unused slots have count 0)."""
    rows, width = tf.shape(draws)[0], tf.shape(draws)[1]
    ordered = tf.sort(draws, axis=1)
    new = tf.concat([tf.ones([rows, 1], tf.bool),
                     ordered[:, 1:] != ordered[:, :-1]], axis=1)
    slot = tf.cumsum(tf.cast(new, tf.int32), axis=1) - 1
    segment = slot + tf.range(rows)[:, None] * width
    counts = tf.math.unsorted_segment_sum(
        tf.ones_like(ordered), segment, rows * width)
    ids = tf.math.unsorted_segment_max(ordered, segment, rows * width)
    return (tf.reshape(tf.where(counts > 0, ids, -1), [rows, width]),
            tf.reshape(counts, [rows, width]))


def _tail_mass(logits, ids, temperature):
    """The softmax(logits / T) mass outside the classes `ids`, in log-space."""
    scaled = logits / temperature
    kept = tf.reduce_logsumexp(tf.gather(scaled, ids, batch_dims=1), axis=-1)
    return tf.clip_by_value(-tf.math.expm1(
        kept - tf.reduce_logsumexp(scaled, axis=-1)), 0.0, 1.0)


def _convert(values, have, want, activation="softmax"):
    """Teacher outputs of kind `have` as kind `want`, of a softmax or of
    per-class sigmoids (`activation`)."""
    if have == want:
        return values
    if want == "probabilities":
        return saved_model.ACTIVATIONS[activation](values)
    return codec.as_logits(values, have, activation)
