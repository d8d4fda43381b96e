"""The distillation loss terms, in log-space.

The three-term distillation loss is

    L = a * CE(true label, s) + (1 - a) * softCE_T(teacher top-K, s)
        + b * CE(pseudo label, s on unlabeled)

`DistillationStudent` computes the three terms per row with
`row_crossentropies` (fused, sparse targets, custom gradient);
`SoftTargetCrossentropy` is the soft term on dense targets, as a Keras loss
(the "bucket" tail's soft term, and for models of one's own).
"""

import keras
import tensorflow as tf

from topk_distill.distillation import loss_config, targets


def soft_target_crossentropy(y_true, y_pred, temperature=1.0,
                             scaling=loss_config.LossConfig.soft_scaling):
    """Cross-entropy of soft targets against the student's softmax at T.

    `-sum_j y_true[j] * log softmax(y_pred / T)[j]`, times `1/T` (the
    method's factor, the default) or `T**2` (Hinton et al. 2015,
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

    Examples:
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


def row_crossentropies(logits, labels, ids, soft_probabilities,
                       pseudo_probabilities, temperature):
    """The three terms' per-row cross-entropies, fused, without [B, N] targets.

    Each target sits on a few classes (the label; the K stored classes), so
    `-sum_j y[j] log softmax(z / T)[j] = sum_k y[k] (logsumexp(z / T) -
    z[id_k] / T)`. Forward: one `exp` pass over the student's logits z (the
    T=2 softmax is its square root: no second `exp`), two sums, gathers of
    the stored classes. Backward (a custom gradient, as TensorFlow's fused
    softmax cross-entropy kernels do): `softmax(z / T) * sum(y) / T` minus
    the targets, scattered at their classes; the softmaxes kept from the
    forward pass.

    Args:
        logits: float32 [B, N] student logits z.
        labels: int [B] true classes (anything in range where unused).
        ids: int [B, K] stored class ids (-1 = padding).
        soft_probabilities: float32 [B, K] soft targets at `temperature`
            (0 at padding and where unused), e.g.
            `targets.topk_probabilities(ids, scores / T)`.
        pseudo_probabilities: float32 [B, K] pseudo targets at T=1.
        temperature: T > 0 (a Python number).

    Returns:
        `(hard, soft, pseudo)`, float32 [B] each: `logsumexp(z) - z[label]`;
        the soft targets' cross-entropy against softmax(z / T) (unscaled);
        the pseudo targets' against softmax(z).

    Examples:
        >>> import tensorflow as tf
        >>> hard, soft, pseudo = row_crossentropies(
        ...     tf.zeros([1, 4]), tf.constant([2]), tf.constant([[1, 3]]),
        ...     tf.constant([[0.5, 0.5]]), tf.constant([[1.0, 0.0]]), 2.0)
        >>> [round(float(t[0]), 4) for t in (hard, soft, pseudo)]  # log 4
        [1.3863, 1.3863, 1.3863]
    """
    logits = tf.cast(logits, tf.float32)
    fused = (_compiled_crossentropies
             if (logits.shape[-1] or 0) >= XLA_MIN_CLASSES else
             _fused_crossentropies)
    return fused(logits, tf.cast(labels, tf.int32),
                 tf.maximum(tf.cast(ids, tf.int32), 0),
                 tf.cast(soft_probabilities, tf.float32),
                 tf.cast(pseudo_probabilities, tf.float32),
                 float(temperature))


# From this many classes on, XLA compiles the fused terms: faster at large
# N, slower at small (measured: BENCHMARKS.md, "One training step, before
# and after"). The rest of a step (a string-input student) is not
# compilable, so only this part is.
XLA_MIN_CLASSES = 20_000


def _fused_crossentropies(logits, labels, ids, soft_probabilities,
                          pseudo_probabilities, temperature):
    @tf.custom_gradient
    def fused(z):
        top = tf.stop_gradient(tf.reduce_max(z, axis=-1))
        shifted = z - top[:, None]
        e1 = tf.exp(shifted)
        s1 = tf.reduce_sum(e1, axis=-1)
        lse1 = top + tf.math.log(s1)
        if temperature == 1.0:
            et, st, lset = e1, s1, lse1
        else:
            et = (tf.sqrt(e1) if temperature == 2.0 else
                  tf.exp(shifted / temperature))
            st = tf.reduce_sum(et, axis=-1)
            lset = top / temperature + tf.math.log(st)
        at_label = tf.gather(z, labels[:, None], batch_dims=1)[:, 0]
        at_ids = tf.gather(z, ids, batch_dims=1)
        hard = lse1 - at_label
        soft = tf.reduce_sum(soft_probabilities * (
            lset[:, None] - at_ids / temperature), axis=-1)
        pseudo = tf.reduce_sum(pseudo_probabilities * (
            lse1[:, None] - at_ids), axis=-1)

        def grad(d_hard, d_soft, d_pseudo):
            soft_weight = d_soft * tf.reduce_sum(soft_probabilities, -1)
            one = d_hard + d_pseudo * tf.reduce_sum(pseudo_probabilities, -1)
            dense = (one / s1)[:, None] * e1
            dense += (soft_weight / (temperature * st))[:, None] * et
            rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None],
                                   tf.shape(ids))
            at = tf.concat([tf.stack([rows, ids], -1), tf.stack(
                [rows[:, 0], labels], -1)[:, None]], axis=1)
            sparse = tf.concat([
                d_soft[:, None] * soft_probabilities / temperature +
                d_pseudo[:, None] * pseudo_probabilities, d_hard[:, None]],
                axis=1)
            return tf.tensor_scatter_nd_sub(dense, at, sparse)

        return (hard, soft, pseudo), grad

    return fused(logits)


_compiled_crossentropies = tf.function(
    _fused_crossentropies, jit_compile=True, reduce_retracing=True)


@keras.saving.register_keras_serializable(package="topk_distill")
class SoftTargetCrossentropy(keras.losses.Loss):
    """Soft-target cross-entropy at temperature T, as a Keras loss.

    Args:
        temperature: T > 0.
        scaling: `"inverse_t"` (the method's 1/T, the default) or
            `"t2"` (Hinton's T²).
        reduction: Keras reduction; the default `"sum_over_batch_size"`
            also scales for tf.distribute.
        name: loss name.

    Examples:
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


def batch_mean(per_row, rows):
    """The mean over the batch of `per_row` where `rows` holds (0 elsewhere),
    divided by the replica count as Keras losses are under tf.distribute.

    Examples:
        >>> float(batch_mean(tf.constant([2.0, 9.0]), tf.constant([True, False])))
        1.0
    """
    size = tf.maximum(tf.cast(tf.shape(per_row)[0], tf.float32), 1.0)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return tf.reduce_sum(tf.where(rows, per_row, 0.0)) / (size * replicas)


def bucket_soft_loss(loss, batch, logits, num_classes):
    """The soft term with the "bucket" tail: dense [rows, N + 1] targets
    (`targets.soft_targets` with the batch's `tail_mass`; the tail's
    log-sum-exp runs over the classes outside each row's top-K), on the
    labeled rows, as a mean over the whole batch (other rows 0).

    Args:
        loss: a `SoftTargetCrossentropy` (its temperature and scaling).
        batch: `label`, `topk_ids`, `topk_logits` and `tail_mass` (records
            written with a tail temperature equal to the loss's, checked on
            their metadata before any step: `LossConfig.check_records`).
        logits: float [B, N] student logits.
        num_classes: N.

    Raises:
        ValueError: the batch has no `tail_mass`.
    """
    if "tail_mass" not in batch:
        raise ValueError("tail='bucket' needs records written with "
                         "--tail_temperature (no tail_mass found)")
    labeled = batch["label"] >= 0
    rows = tf.where(labeled)[:, 0]
    share = tf.reduce_mean(tf.cast(labeled, tf.float32))
    dense = targets.soft_targets(
        tf.gather(batch["topk_ids"], rows),
        tf.gather(batch["topk_logits"], rows), num_classes,
        loss.temperature, tf.gather(batch["tail_mass"], rows))
    # With no rows, a Keras loss returns an empty tensor; its sum is 0.
    return share * tf.reduce_sum(loss(dense, tf.gather(logits, rows)))
