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
classes and the terms are exactly the full softmax's. A step compiled with
XLA (Keras's `jit_compile`, on by default where a GPU is seen) takes the
candidates in fixed-size form (`draw_candidates(static_shapes=True)`):
the same terms, the same draws.
"""

import math

import keras
import tensorflow as tf

from topk_distill.distillation import multilabel_losses
from topk_distill.models import class_vectors


def draw_candidates(labels, ids, num_classes, num_sampled, seed,
                    proposal=None, static_shapes=False):
    """The candidate classes of a batch: its positives and S negatives.

    The positives are the batch's labels and stored ids, each class
    counted once. With `static_shapes`, for a step compiled with XLA,
    every shape is fixed by the batch's (B, K) and S: the positives are
    all B * (1 + K) entries, sorted, a class's first entry weighing 1 and
    its repeats and the padding 0 (XLA miscounts a `tf.unique`, whose size
    varies). Without it, they are that `tf.unique`: fewer rows to score
    (on WordNet's batches of 128 rows with K=20, about half).

    Args:
        labels: int [B] true classes (-1: unlabeled), or [B, L] (several
            per example, -1 padding).
        ids: int [B, K] stored class ids (-1: padding).
        num_classes: N.
        num_sampled: S draws, or `None` for every class (no sampling: the
            full softmax).
        seed: a stateless seed, int32 [2] (e.g. from the step counter).
        proposal: a `Proposal` to draw from, or `None` for uniform.
        static_shapes: the fixed-size positives (for XLA).

    Returns:
        `(candidates, log_weights, positives)`: int32 [P + S] the
        positives then the negatives (S draws, or all N classes);
        float32 [P + S] their log-weights: 0 for a positive, `-log(S q)`
        for a draw, -inf for a repeated or padding entry and for a draw
        that hits a positive; int32 [P] the positives, sorted.

    Examples:
        >>> import tensorflow as tf
        >>> labels, ids = tf.constant([3, -1]), tf.constant([[3, 1], [7, -1]])
        >>> c, w, p = draw_candidates(labels, ids, 8, None, tf.constant([0, 0]))
        >>> p.numpy().tolist(), c.numpy().tolist()
        ([1, 3, 7], [1, 3, 7, 0, 1, 2, 3, 4, 5, 6, 7])
        >>> [int(c) for c, w in zip(c.numpy(), w.numpy()) if w == 0]
        [1, 3, 7, 0, 2, 4, 5, 6]
        >>> c, w, p = draw_candidates(labels, ids, 8, None, tf.constant([0, 0]),
        ...                           static_shapes=True)
        >>> p.numpy().tolist()
        [1, 3, 3, 7, 7, 7]
        >>> [int(c) for c, w in zip(c.numpy(), w.numpy()) if w == 0]
        [1, 3, 7, 0, 2, 4, 5, 6]
    """
    every = tf.concat([tf.reshape(tf.cast(labels, tf.int32), [-1]),
                       tf.reshape(tf.cast(ids, tf.int32), [-1])], 0)
    if static_shapes:
        # Padding and unlabeled rows (-1) become repeats of the largest
        # class.
        positives = tf.sort(tf.where(every >= 0, every, tf.reduce_max(every)))
        first = tf.concat([[True], positives[1:] != positives[:-1]], 0)
        positive_weights = tf.where(first & (positives >= 0), 0.0, -math.inf)
    else:
        positives = tf.sort(tf.unique(tf.boolean_mask(every, every >= 0))[0])
        positive_weights = tf.zeros(tf.shape(positives))
    if num_sampled is None:
        draws = tf.range(num_classes)
        log_w = tf.zeros([num_classes])
    elif proposal is None:
        draws = tf.random.stateless_uniform(
            [num_sampled], seed, 0, num_classes, dtype=tf.int32, alg="philox")
        log_w = tf.fill([num_sampled],
                        -math.log(num_sampled) + math.log(num_classes))
    else:
        draws, log_q = proposal.draw(num_sampled, seed)
        log_w = -math.log(num_sampled) - log_q
    draw_weights = tf.where(_isin(draws, positives), -math.inf, log_w)
    return (tf.concat([tf.maximum(positives, 0), draws], 0),
            tf.concat([positive_weights, draw_weights], 0), positives)


class Proposal:
    """A proposal q over N classes that follows the labels' frequencies.

    `q = u / N + (1 - u) * counts / sum(counts)`: a share `u` uniform, so
    that every class can be drawn and no draw's weight `1 / (S q)` exceeds
    `N / (S u)` (a defensive mixture), the rest by how often each class is
    a label. Where labels are skewed, the draws land on the classes the
    student's normaliser is made of, and the estimate's variance falls.

    Args:
        counts: [N] how often each class is a label (`label_counts`).
        uniform_share: u, in (0, 1].

    Examples:
        >>> import tensorflow as tf
        >>> q = Proposal([6, 0, 0, 2], uniform_share=0.5)
        >>> [round(float(x), 4) for x in tf.exp(q.log_q)]
        [0.5, 0.125, 0.125, 0.25]
        >>> draws, log_q = q.draw(1000, tf.constant([0, 0]))
        >>> round(float(tf.reduce_mean(tf.cast(draws == 0, tf.float32))), 1)
        0.5
    """

    def __init__(self, counts, uniform_share=0.5):
        import numpy as np

        counts = np.asarray(counts, np.float64)
        if counts.ndim != 1 or np.any(counts < 0) or not counts.sum() > 0:
            raise ValueError("Proposal: counts must be [N] non-negative "
                             "numbers, not all 0")
        if not 0 < uniform_share <= 1:
            raise ValueError(f"Proposal: uniform_share={uniform_share}; "
                             "expected 0 < u <= 1")
        q = (uniform_share / counts.size +
             (1 - uniform_share) * counts / counts.sum())
        self.num_classes = counts.size
        # Each q by its own log (a float32 difference of the cumulative
        # sum would lose the small ones), the cumulative sum for drawing.
        self.log_q = tf.constant(np.log(q), tf.float32)
        self.cdf = tf.constant(np.cumsum(q) / q.sum(), tf.float32)

    def draw(self, num_sampled, seed):
        """`(draws int32 [S], log q of each float32 [S])`, by inverting the
        cumulative sum at S stateless uniform numbers (`seed`: int32 [2])."""
        u = tf.random.stateless_uniform([num_sampled], seed, alg="philox")
        draws = tf.minimum(tf.searchsorted(self.cdf, u, side="right"),
                           self.num_classes - 1)
        return draws, tf.gather(self.log_q, draws)


def sampled_crossentropies(candidate_logits, log_weights, positives, labels,
                           ids, soft_probabilities, pseudo_probabilities,
                           temperature):
    """The three terms' per-row cross-entropies on the candidate classes.

    As `losses.row_crossentropies`, with each `logsumexp` over the
    weighted candidates (the positives exactly, the draws standing for the
    rest) instead of all N classes.

    Args:
        candidate_logits: float32 [B, P + S] student logits of the
            candidates (`draw_candidates`: the positives first).
        log_weights: float32 [P + S] (`draw_candidates`).
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
    z = tf.cast(candidate_logits, tf.float32)
    lse1 = tf.reduce_logsumexp(z + log_weights, -1)
    lset = tf.reduce_logsumexp(z / temperature + log_weights, -1)
    # Each class's first column among the positives (padding: column 0,
    # weight 0).
    at_label = _position(positives, tf.cast(labels, tf.int32)[:, None])
    at_ids = _position(positives, tf.maximum(tf.cast(ids, tf.int32), 0))
    z_label = tf.gather(z, at_label, batch_dims=1)[:, 0]
    z_ids = tf.gather(z, at_ids, batch_dims=1)
    hard = lse1 - z_label
    soft = tf.reduce_sum(soft_probabilities * (
        lset[:, None] - z_ids / temperature), axis=-1)
    pseudo = tf.reduce_sum(pseudo_probabilities * (lse1[:, None] - z_ids),
                           axis=-1)
    return hard, soft, pseudo


def features_and_head(student, sampled_classes, config):
    """`(features model, ClassVectors layer)` of a student trained on
    sampled classes: its inputs -> the input of its last layer, and that
    layer."""
    head = student.layers[-1] if getattr(student, "layers", None) else None
    if not isinstance(head, class_vectors.ClassVectors):
        raise ValueError(
            f"sampled_classes={sampled_classes} needs a student whose last "
            "layer is a ClassVectors (make_student(..., class_vectors=True)"
            f"); {getattr(student, 'name', student)!r} ends in "
            f"{type(head).__name__}")
    if config.tail == "bucket":
        raise ValueError("sampled_classes and tail='bucket' do not go "
                         "together: the bucket tail needs all N logits")
    if sampled_classes < 0:
        raise ValueError(f"sampled_classes={sampled_classes}; expected S >= 1"
                         " negatives (0: every class, through the same path)")
    return keras.Model(student.inputs, head.input), head


def sampled_binary_crossentropies(candidate_logits, log_weights, positives,
                                  targets, temperature, num_classes):
    """The multi-label terms (`multilabel_losses.multilabel_crossentropies`)
    on the candidate classes.

    Each term is `mean_c softplus(s_c) - (1/N) sum of p * s` over its
    targets' classes; the sum of `softplus` over all N classes is taken
    over the candidates, each weighted by `exp(log_weights)`: 1 for a
    positive, `1 / (S q)` for a draw, 0 for a repeat or a hit. That
    estimate is unbiased (no logarithm over it, unlike the softmax's), and
    exact with every class as a candidate.

    Args:
        candidate_logits, log_weights, positives: as
            `sampled_crossentropies`.
        targets: `(labels, ids, soft, pseudo)` as
            `multilabel_losses.batch_targets` makes them: int [B, L] each
            row's true classes and int [B, K] stored class ids (-1
            padding), float32 [B, K] the teacher's sigmoid targets (0 at
            padding and where unused).
        temperature: T > 0.
        num_classes: N.

    Returns:
        `(hard, soft, pseudo)`, float32 [B] each.
    """
    z = tf.cast(candidate_logits, tf.float32)
    weights = tf.exp(log_weights)
    n = float(num_classes)
    mean_softplus = tf.reduce_sum(weights * tf.nn.softplus(z), -1) / n
    mean_softplus_t = tf.reduce_sum(
        weights * tf.nn.softplus(z / temperature), -1) / n
    return multilabel_losses.combined_terms(
        (mean_softplus, mean_softplus_t),
        lambda classes: tf.gather(z, _position(
            positives, tf.maximum(classes, 0)), batch_dims=1),
        targets, temperature, n)


def _position(sorted_set, values):
    """Where each of `values` (any shape) would sit in `sorted_set` [P]."""
    flat = tf.searchsorted(sorted_set, tf.reshape(values, [-1]))
    return tf.reshape(flat, tf.shape(values))


def _isin(values, sorted_set):
    """Whether each value is in `sorted_set` (int32, sorted)."""
    padded = tf.concat([sorted_set, [tf.int32.max]], 0)
    return tf.gather(padded, tf.searchsorted(padded, values)) == values
