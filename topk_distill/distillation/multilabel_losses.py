"""The three terms for examples with one or more labels: per-class sigmoids.

A multi-label student scores each class on its own (sigmoid of its logit
s_c), and each term is a binary cross-entropy averaged over the N classes,
as `keras.losses.binary_crossentropy` averages it:

    BCE(y, s) = mean_c [ -y_c log sigmoid(s_c) - (1 - y_c) log(1 - sigmoid(s_c)) ]
              = mean_c softplus(s_c) - mean_c y_c s_c

The second form needs the targets only where they are not 0: a row's
labels (hard term), the teacher's stored classes (soft and pseudo terms).
So no dense [B, N] target is built; the classes outside a record's stored
K count as negatives (teacher probability 0), as a top-K record says
nothing more of them.

* hard: y = 1 on the row's true labels;
* soft: at temperature T, y_k = sigmoid(z_k / T) of the teacher's stored
  logits z_k, against sigmoid(s / T), times the soft factor (1/T or T^2,
  as `LossConfig` says);
* pseudo: y_h = the teacher's stored probabilities on an unlabeled row.

`softplus` is computed stably (`tf.nn.softplus`): extreme logits give no
NaN.
"""

import numpy as np
import tensorflow as tf


def sigmoid_probabilities(ids, scores, score_kind, temperature=1.0):
    """A teacher's per-class probabilities on its stored classes, at T.

    Args:
        ids: int [B, K] stored class ids (-1 = padding).
        scores: float [B, K] stored scores: sigmoid logits, or
            probabilities.
        score_kind: `"logits"` or `"probabilities"` (`RecordSet.scores`).
        temperature: T; probabilities p are first turned back into logits
            log p - log(1 - p).

    Returns:
        float32 [B, K]: sigmoid(z / T), 0 at padding.

    Examples:
        >>> import tensorflow as tf
        >>> p = sigmoid_probabilities(tf.constant([[3, -1]]),
        ...                           tf.constant([[0.0, 5.0]]), "logits")
        >>> p.numpy().tolist()
        [[0.5, 0.0]]
        >>> p = sigmoid_probabilities(tf.constant([[3]]), tf.constant([[0.8]]),
        ...                           "probabilities", temperature=2.0)
        >>> round(float(p[0, 0]), 4)  # sigmoid(log(4) / 2) = 2 / 3
        0.6667
    """
    scores = tf.cast(scores, tf.float32)
    if score_kind == "probabilities":
        tiny = np.finfo(np.float32).tiny
        scores = (tf.math.log(tf.maximum(scores, tiny)) -
                  tf.math.log(tf.maximum(1.0 - scores, tiny)))
    return tf.where(ids >= 0, tf.sigmoid(scores / temperature), 0.0)


def multilabel_crossentropies(logits, labels, ids, soft_probabilities,
                              pseudo_probabilities, temperature):
    """The three terms' per-row binary cross-entropies, from [B, N] logits.

    Args:
        logits: float [B, N] student logits.
        labels: int [B, L] each row's true classes (-1 = padding; an
            unlabeled row is all -1).
        ids: int [B, K] stored class ids (-1 = padding).
        soft_probabilities: float32 [B, K] the teacher's probabilities at
            T on the stored classes (`sigmoid_probabilities`; 0 at padding
            and on rows without a soft term).
        pseudo_probabilities: float32 [B, K] the pseudo targets (0 where
            unused).
        temperature: T > 0.

    Returns:
        `(hard, soft, pseudo)`, float32 [B] each: the mean over the N
        classes of each term's binary cross-entropy (the soft one without
        its 1/T or T^2 factor).

    Examples:
        >>> import tensorflow as tf
        >>> hard, soft, pseudo = multilabel_crossentropies(
        ...     tf.zeros([1, 4]), tf.constant([[1, -1]]), tf.constant([[1, 2]]),
        ...     tf.constant([[0.5, 0.5]]), tf.zeros([1, 2]), 1.0)
        >>> round(float(hard[0]), 4), round(float(soft[0]), 4)  # log 2 each
        (0.6931, 0.6931)
    """
    z = tf.cast(logits, tf.float32)
    n = tf.cast(tf.shape(z)[-1], tf.float32)
    mean_softplus = tf.reduce_mean(tf.nn.softplus(z), axis=-1)
    if temperature == 1.0:
        mean_softplus_t = mean_softplus
    else:
        mean_softplus_t = tf.reduce_mean(tf.nn.softplus(z / temperature), -1)
    return combined_terms(
        (mean_softplus, mean_softplus_t),
        lambda classes: tf.gather(z, tf.maximum(classes, 0), batch_dims=1),
        (labels, ids, soft_probabilities, pseudo_probabilities),
        temperature, n)


def combined_terms(means, logits_at, targets, temperature, n):
    """The three terms from their parts: `means`, the mean `softplus` over
    the N classes (and at T); `logits_at(classes)`, the logits at each
    row's classes (int [B, C], -1 padding read as class 0); `targets`,
    `(labels [B, L], ids [B, K], soft, pseudo)` as `batch_targets` makes
    them; `n` is N. (The full terms and the sampled ones,
    `sampled_softmax.sampled_binary_crossentropies`, differ only in how
    they get the means and the logits.)"""
    mean_softplus, mean_softplus_t = means
    labels, ids, soft_probabilities, pseudo_probabilities = targets
    labels = tf.cast(labels, tf.int32)
    at_labels, at_ids = logits_at(labels), logits_at(tf.cast(ids, tf.int32))
    hard = mean_softplus - tf.reduce_sum(
        tf.where(labels >= 0, at_labels, 0.0), -1) / n
    soft = mean_softplus_t - tf.reduce_sum(
        soft_probabilities * at_ids, -1) / (temperature * n)
    pseudo = mean_softplus - tf.reduce_sum(
        pseudo_probabilities * at_ids, -1) / n
    return hard, soft, pseudo


def batch_targets(batch, temperature):
    """A multi-label training batch's targets: `(labels [B, L], ids [B, W],
    soft [B, W], pseudo [B, W])`, the soft targets the teacher's
    sigmoid(z / T) on labeled rows, the pseudo ones its sigmoid(z) on
    unlabeled rows (0 elsewhere; without stored ids, one padding column)."""
    labels = batch["labels"]
    if "topk_ids" not in batch:
        ids = -tf.ones_like(labels[:, :1])
        nothing = tf.zeros(tf.shape(ids))
        return labels, ids, nothing, nothing
    labeled = labels[:, 0] >= 0
    ids, scores = batch["topk_ids"], batch["topk_logits"]
    soft = tf.where(labeled[:, None], sigmoid_probabilities(
        ids, scores, "logits", temperature), 0.0)
    pseudo = tf.where(labeled[:, None], 0.0,
                      sigmoid_probabilities(ids, scores, "logits"))
    return labels, ids, soft, pseudo


def batch_crossentropies(batch, logits, temperature):
    """The three terms' per-row cross-entropies of a multi-label training
    batch (`make_distillation_dataset` of multi-label sets).

    Args:
        batch: `labels` [B, L] (-1 padding; an unlabeled row all -1) and,
            for the soft and pseudo terms, `topk_ids` [B, W] and
            `topk_logits` [B, W] (the teacher's sigmoid logits).
        logits: float [B, N] student logits.
        temperature: T.

    Returns:
        `(hard, soft, pseudo)`, float32 [B] each (`multilabel_crossentropies`;
        soft on labeled rows, pseudo on unlabeled ones, 0 elsewhere).
    """
    return multilabel_crossentropies(logits, *batch_targets(
        batch, temperature), temperature)


def precision_at_1(labels, logits):
    """float32 [B]: 1 where a row's best-scored class is one of its labels.

    Examples:
        >>> precision_at_1(tf.constant([[2, -1], [0, 1]]),
        ...                tf.constant([[0.0, 1.0, 3.0], [0.0, 0.5, 9.0]])).numpy()
        array([1., 0.], dtype=float32)
    """
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.cast(tf.reduce_any(tf.cast(labels, tf.int32) == best[:, None],
                                 axis=-1), tf.float32)
