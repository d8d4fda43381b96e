"""The soft-target loss term, in log-space.

The three-term distillation loss is

    L = a * CE(true label, s) + (1 - a) * softCE_T(teacher top-K, s)
        + b * CE(pseudo label, s on unlabeled)

The two hard terms are Keras's own `SparseCategoricalCrossentropy` and
`CategoricalCrossentropy` (from logits, stable in log-space); the soft term
is `SoftTargetCrossentropy` here.
"""

import keras
import tensorflow as tf

from topk_distill import loss_config


def soft_target_crossentropy(y_true, y_pred, temperature=1.0,
                             scaling=loss_config.LossConfig.soft_scaling):
    """Cross-entropy of soft targets against the student's softmax at T.

    `-sum_j y_true[j] * log softmax(y_pred / T)[j]`, times `1/T` (the
    source document's factor, the default) or `T**2` (Hinton et al. 2015,
    keeps gradient magnitudes independent of T).

    With `N + 1` target columns (the "bucket" tail: see
    `targets.soft_targets`), the last column is the teacher's mass outside
    its top-K, matched against the student's mass outside the same classes
    (those where `y_true > 0`).

    Args:
        y_true: float [B, N] (or [B, N + 1]) targets, rows summing to 1.
        y_pred: float [B, N] student logits.
        temperature: T > 0.
        scaling: `"inverse_t"` or `"t2"`.

    Returns:
        float [B] per-example losses.

    Example:
    >>> import tensorflow as tf
    >>> loss = soft_target_crossentropy(tf.constant([[0.5, 0.5]]),
    ...                                 tf.constant([[0.0, 0.0]]))
    >>> round(float(loss[0]), 4)  # log 2
    0.6931
    >>> loss = soft_target_crossentropy(tf.constant([[0.5, 0.5]]),
    ...                                 tf.constant([[0.0, 0.0]]),
    ...                                 temperature=2.0, scaling="t2")
    >>> round(float(loss[0]), 4)  # 4 log 2
    2.7726
    """
    y_pred = tf.cast(y_pred, tf.float32)
    y_true = tf.cast(y_true, tf.float32)
    num_classes = tf.shape(y_pred)[-1]
    log_p = tf.nn.log_softmax(y_pred / temperature, axis=-1)
    kept = y_true[:, :num_classes]
    loss = -tf.reduce_sum(kept * log_p, axis=-1)
    if y_true.shape[-1] is not None and y_pred.shape[-1] is not None and (
            y_true.shape[-1] == y_pred.shape[-1] + 1):
        # log of the student's mass outside the teacher's classes; -1e9
        # (not -inf) keeps the gradient finite when every class is kept.
        outside = tf.where(kept > 0, tf.fill(tf.shape(log_p), -1e9), log_p)
        loss -= y_true[:, -1] * tf.reduce_logsumexp(outside, axis=-1)
    return loss * loss_config.soft_factor(temperature, scaling)


def sparse_crossentropy(probabilities, picked_logits, log_normalizer):
    """Cross-entropy of targets that sit on a few classes, without [B, N].

    `-sum_j y[j] * log softmax(z)[j]` where `y` is nonzero on K classes
    only: `sum_k p[k] * (logsumexp(z) - z[id_k])`. With the student's
    `log_normalizer = logsumexp(z)` computed once per row, each term costs
    a gather of K logits instead of a dense [B, N] target and log-softmax.

    Args:
        probabilities: float [B, K], the targets' nonzero entries (0 at
            padding), e.g. `targets.topk_probabilities`.
        picked_logits: float [B, K], the student's logits z at those
            classes (anything finite at padding).
        log_normalizer: float [B], `logsumexp(z)` over all N classes.

    Returns:
        float [B] per-example losses (0 for a row with no target).

    Example:
    >>> import tensorflow as tf
    >>> z = tf.constant([[0.0, 0.0, 0.0, 0.0]])
    >>> loss = sparse_crossentropy(tf.constant([[0.5, 0.5]]),
    ...                            tf.gather(z, [[1, 3]], batch_dims=1),
    ...                            tf.reduce_logsumexp(z, axis=-1))
    >>> round(float(loss[0]), 4)  # log 4
    1.3863
    """
    return tf.reduce_sum(
        probabilities * (log_normalizer[:, None] - picked_logits), axis=-1)


@keras.saving.register_keras_serializable(package="topk_distill")
class SoftTargetCrossentropy(keras.losses.Loss):
    """Soft-target cross-entropy at temperature T, as a Keras loss.

    Args:
        temperature: T > 0.
        scaling: `"inverse_t"` (the source document's 1/T, the default) or
            `"t2"` (Hinton's T²).
        reduction: Keras reduction; the default `"sum_over_batch_size"`
            also scales for tf.distribute.
        name: loss name.

    Example:
    >>> import tensorflow as tf
    >>> loss = SoftTargetCrossentropy(temperature=2.0)
    >>> targets = tf.constant([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    >>> logits = tf.constant([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(float(loss(targets, logits)), 4)  # mean of log 3 / 2
    0.5493
    """

    def __init__(self, temperature=1.0,
                 scaling=loss_config.LossConfig.soft_scaling,
                 reduction="sum_over_batch_size", name="soft_crossentropy"):
        super().__init__(name=name, reduction=reduction)
        loss_config.check_temperature(temperature)
        loss_config.check_scaling(scaling)
        self.temperature = temperature
        self.scaling = scaling

    def call(self, y_true, y_pred):
        return soft_target_crossentropy(y_true, y_pred, self.temperature,
                                        self.scaling)

    def get_config(self):
        return dict(super().get_config(), temperature=self.temperature,
                    scaling=self.scaling)
