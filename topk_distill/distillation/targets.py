"""Sparse teacher output -> dense [B, N] targets, built on the fly in a step.

Batches from `make_distillation_dataset` carry, per example, up to W
(class id, teacher score) pairs: `topk_ids` (-1 where padded) and
`topk_logits`. Stored probabilities arrive as log-probabilities, which are
logits up to a per-example constant, so one rule serves both kinds: the
soft target at temperature T is softmax(score / T) over the stored classes
(for probabilities p that is p^(1/T), renormalised).
"""

import tensorflow as tf


def scatter(ids, values, num_classes):
    """Scatters per-example (id, value) pairs into a dense [B, N] tensor.

    Args:
        ids: int [B, W] class ids; negative ids are padding and ignored.
        values: float [B, W].
        num_classes: N.

    Returns:
        float [B, N], zero where no id points.

    Examples:
        >>> scatter(tf.constant([[2, -1]]), tf.constant([[0.5, 9.0]]), 3)
        <tf.Tensor: shape=(1, 3), ... numpy=array([[0. , 0. , 0.5]], ...)>
    """
    ids = tf.cast(ids, tf.int32)
    valid = ids >= 0
    rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None], tf.shape(ids))
    indices = tf.stack([rows, tf.maximum(ids, 0)], axis=-1)
    values = tf.where(valid, values, tf.zeros_like(values))
    return tf.scatter_nd(indices, values, [tf.shape(ids)[0], num_classes])


def topk_probabilities(ids, logits):
    """Softmax over the valid (id >= 0) entries of each row; 0 at padding.

    Args:
        ids: int [B, K] class ids (-1 = padding).
        logits: float [B, K] scores as logits (or log-probabilities).

    Returns:
        float32 [B, K]: each row's valid entries sum to 1 (a row with none
        is all zero).

    Examples:
        >>> topk_probabilities(tf.constant([[4, 1, -1]]),
        ...                    tf.constant([[0.0, 0.0, 9.0]])).numpy().tolist()
        [[0.5, 0.5, 0.0]]
    """
    valid = ids >= 0
    logits = tf.cast(logits, tf.float32)
    masked = tf.where(valid, logits, tf.fill(tf.shape(logits), -1e9))
    return tf.where(valid, tf.nn.softmax(masked, axis=-1), 0.0)


def soft_targets(ids, logits, num_classes, temperature, tail_mass=None):
    """Dense teacher soft targets from its top-K scores.

    Args:
        ids: int [B, K] teacher class ids (-1 = padding).
        logits: float [B, K] teacher scores as logits (or log-probabilities).
        num_classes: N.
        temperature: T.
        tail_mass: `None` renormalises the top-K to sum to 1 (the seed's
            method). A float [B] tensor, the teacher's probability mass
            outside its top-K at temperature T, keeps that mass as an extra
            "rest" column: the result is then [B, N + 1], the top-K entries
            summing to 1 - tail_mass.

    Returns:
        float [B, N] (or [B, N + 1]) targets, each row summing to 1 (rows
        with no valid entry are all zero).
    """
    probabilities = topk_probabilities(
        ids, tf.cast(logits, tf.float32) / temperature)
    if tail_mass is None:
        return scatter(ids, probabilities, num_classes)
    kept = 1.0 - tf.cast(tail_mass, tf.float32)[:, None]
    dense = scatter(ids, probabilities * kept, num_classes)
    return tf.concat([dense, 1.0 - kept], axis=-1)


def pseudo_targets(ids, logits, num_classes):
    """Dense pseudo-label targets from the teacher's top-H scores.

    H=1 gives a one-hot row; H>1 the teacher's distribution renormalised over
    its H classes (softmax of the H logits at temperature 1).

    Args:
        ids: int [B, H] (-1 = padding).
        logits: float [B, H] logits or log-probabilities.
        num_classes: N.

    Returns:
        float [B, N].
    """
    return scatter(ids, topk_probabilities(ids, logits), num_classes)
