"""The three terms on a sampled set of classes, for students with huge N.

A full-softmax step computes all N logits of every example. Its targets
sit on a few classes only (an example's label and the teacher's stored
top-K), so a sampled step scores a candidate set per batch instead:

* the batch's positives P: every label and stored id of the batch, each
  counted exactly (weight 1) in every row's normaliser;
* S negatives drawn with replacement from a proposal q over the N classes
  (uniform, or e.g. the label frequencies): draw j stands for
  `exp(z[s_j]) / (S q[s_j])` of the rest of the normaliser, its logit
  corrected by `-log(S q[s_j])` (Bengio & Senécal 2008; Jean et al. 2015;
  TensorFlow's `sampled_softmax_loss` with `subtract_log_q`); draws that
  hit P ("accidental hits") are removed, as P is already exact.

So `sum_{c in P} e^{z_c} + sum_j [s_j not in P] e^{z_{s_j}} / (S q_{s_j})`
is an unbiased estimate of `sum_c e^{z_c}`, and each term's
`logsumexp` over the candidates a consistent one of the full one (its
bias falls as S grows). With `num_sampled=None` the candidates are all N
classes and the terms are exactly the full softmax's.
"""

import math

import tensorflow as tf


def draw_candidates(labels, ids, num_classes, num_sampled, seed,
                    log_proposal=None):
    """The candidate classes of a batch: its positives and S negatives.

    Args:
        labels: int [B] true classes (-1: unlabeled).
        ids: int [B, K] stored class ids (-1: padding).
        num_classes: N.
        num_sampled: S draws, or `None` for every other class (no
            sampling: the full softmax).
        seed: a stateless seed, int32 [2] (e.g. from the step counter).
        log_proposal: float32 [N] log q, or `None` for uniform.

    Returns:
        `(positives, negatives, log_weights)`: int32 [P] the batch's
        labels and stored ids, sorted, each once; int32 [S] the draws;
        float32 [S] their log-weights, `-log(S q)`, or -inf for a draw
        that hits a positive.

    Example:
    >>> import tensorflow as tf
    >>> p, n, w = draw_candidates(tf.constant([3, -1]), tf.constant(
    ...     [[3, 1], [7, -1]]), 10, None, tf.constant([0, 0]))
    >>> p.numpy().tolist(), n.numpy().tolist(), w.numpy().tolist()
    ([1, 3, 7], [0, 2, 4, 5, 6, 8, 9], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """
    labels = tf.cast(labels, tf.int32)
    ids = tf.cast(ids, tf.int32)
    every = tf.concat([labels, tf.reshape(ids, [-1])], 0)
    positives = tf.sort(tf.unique(tf.boolean_mask(every, every >= 0))[0])
    if num_sampled is None:
        everything = tf.range(num_classes)
        rest = tf.boolean_mask(everything, tf.logical_not(
            _isin(everything, positives)))
        return positives, rest, tf.zeros(tf.shape(rest))
    if log_proposal is None:
        draws = tf.random.stateless_uniform(
            [num_sampled], seed, 0, num_classes, dtype=tf.int32)
        log_q = tf.fill([num_sampled], -math.log(num_classes))
    else:
        draws = tf.cast(tf.random.stateless_categorical(
            log_proposal[None], num_sampled, seed)[0], tf.int32)
        log_q = tf.gather(log_proposal, draws)
    log_weights = tf.where(_isin(draws, positives), -math.inf,
                           -(math.log(num_sampled) + log_q))
    return positives, draws, log_weights


def sampled_crossentropies(positive_logits, negative_logits, log_weights,
                           positives, labels, ids, soft_probabilities,
                           pseudo_probabilities, temperature):
    """The three terms' per-row cross-entropies on the candidate classes.

    As `losses.row_crossentropies`, with each `logsumexp` over the
    positives (exact) and the weighted negatives instead of all N classes.

    Args:
        positive_logits: float32 [B, P] student logits of the positives.
        negative_logits: float32 [B, S] those of the negatives.
        log_weights: float32 [S] (`draw_candidates`).
        positives: int32 [P], sorted (`draw_candidates`); every label and
            stored id of the batch is one of them.
        labels: int [B] true classes (anything in range where unused).
        ids: int [B, K] stored class ids (-1 = padding).
        soft_probabilities, pseudo_probabilities: float32 [B, K] targets
            (0 at padding and where unused).
        temperature: T > 0.

    Returns:
        `(hard, soft, pseudo)`, float32 [B] each.
    """
    z_p = tf.cast(positive_logits, tf.float32)
    z_n = tf.cast(negative_logits, tf.float32)
    lse1 = tf.reduce_logsumexp(tf.concat([z_p, z_n + log_weights], -1), -1)
    lset = tf.reduce_logsumexp(tf.concat(
        [z_p / temperature, z_n / temperature + log_weights], -1), -1)
    # Each class's column among the positives (padding: column 0, weight 0).
    at_label = _position(positives, tf.cast(labels, tf.int32)[:, None])
    at_ids = _position(positives, tf.maximum(tf.cast(ids, tf.int32), 0))
    z_label = tf.gather(z_p, at_label, batch_dims=1)[:, 0]
    z_ids = tf.gather(z_p, at_ids, batch_dims=1)
    hard = lse1 - z_label
    soft = tf.reduce_sum(soft_probabilities * (
        lset[:, None] - z_ids / temperature), axis=-1)
    pseudo = tf.reduce_sum(pseudo_probabilities * (lse1[:, None] - z_ids),
                           axis=-1)
    return hard, soft, pseudo


def _position(sorted_set, values):
    """Where each of `values` (any shape) would sit in `sorted_set` [P]."""
    flat = tf.searchsorted(sorted_set, tf.reshape(values, [-1]))
    return tf.reshape(flat, tf.shape(values))


def _isin(values, sorted_set):
    """Whether each value is in `sorted_set` (int32, sorted, maybe empty)."""
    padded = tf.concat([sorted_set, [tf.int32.max]], 0)
    return tf.gather(padded, tf.searchsorted(padded, values)) == values
