import keras
import numpy as np
import pytest
import tensorflow as tf

from topk_distill.distillation import losses, targets
from topk_distill.distillation.loss_config import LossConfig


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("scaling, factor", [("t2", 4.0), ("inverse_t", 0.5)])
def test_soft_crossentropy_matches_numpy(rng, scaling, factor):
    y_true = rng.dirichlet(np.ones(7), size=4).astype(np.float32)
    logits = rng.normal(0, 3, size=(4, 7)).astype(np.float32)
    got = losses.soft_target_crossentropy(y_true, logits, 2.0, scaling)
    want = -(y_true * _log_softmax(logits / 2.0)).sum(-1) * factor
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_bucket_tail_matches_numpy(rng):
    logits = rng.normal(0, 3, size=(3, 6)).astype(np.float32)
    teacher = rng.normal(0, 3, size=(3, 6)).astype(np.float32)
    ids = np.argsort(-teacher, axis=1)[:, :2]
    q = np.exp(_log_softmax(teacher / 2.0))
    top = np.take_along_axis(q, ids, 1)
    tail = 1 - top.sum(-1)
    y_true = targets.soft_targets(tf.constant(ids),
                                  tf.constant(np.take_along_axis(teacher, ids,
                                                                 1)),
                                  6, 2.0, tf.constant(tail, tf.float32))
    got = losses.soft_target_crossentropy(y_true, logits, 2.0, "t2")
    log_p = _log_softmax(logits / 2.0)
    outside = np.ones_like(log_p, bool)
    np.put_along_axis(outside, ids, False, 1)
    p_rest = np.where(outside, np.exp(log_p), 0).sum(-1)
    want = -((top * np.take_along_axis(log_p, ids, 1)).sum(-1) +
             tail * np.log(p_rest)) * 4.0
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_dense_soft_term_is_keras_kl_divergence_plus_entropy(rng):
    teacher = rng.normal(0, 4, size=(5, 9)).astype(np.float32)
    student = rng.normal(0, 4, size=(5, 9)).astype(np.float32)
    dense = tf.nn.softmax(teacher / 3.0)
    kd = keras.losses.KLDivergence(reduction=None)(dense, tf.nn.softmax(
        student / 3.0)) - tf.reduce_sum(dense * tf.math.log(dense), -1)
    np.testing.assert_allclose(
        losses.soft_target_crossentropy(dense, student, 3.0, "t2"),
        kd * 9.0, rtol=1e-4)


@pytest.mark.parametrize("tail", [False, True])
def test_extreme_logits_give_finite_loss_and_gradients(tail):
    student = tf.Variable([[1e4, -1e4, 0.0, 5e3], [-1e4, -1e4, 1e4, 1e4]])
    ids = tf.constant([[1, 0], [0, 3]])
    teacher = tf.constant([[1e4, -1e4], [-1e4, 1e4]])
    mass = tf.constant([0.3, 0.0]) if tail else None
    y_true = targets.soft_targets(ids, teacher, 4, 2.0, mass)
    with tf.GradientTape() as tape:
        loss = losses.SoftTargetCrossentropy(2.0)(y_true, student)
    gradient = tape.gradient(loss, student)
    assert np.all(np.isfinite(gradient.numpy()))
    # float64 log-space by hand: the teacher's targets are one-hot at these
    # logits; row 0 keeps 0.3 (with the tail) for the student's mass
    # outside class 1, about all of it (class 0 holds it)
    z = np.array([[1e4, -1e4, 0.0, 5e3], [-1e4, -1e4, 1e4, 1e4]]) / 2.0
    log_q = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
    rest = [np.logaddexp.reduce(log_q[0, [0, 2, 3]]), 0.0]
    kept = 0.7 if tail else 1.0
    rows = [-(kept * log_q[0, 1] + (1 - kept) * rest[0]), -log_q[1, 3]]
    np.testing.assert_allclose(loss.numpy(), np.mean(rows) / 2.0,
                               rtol=1e-6)


def test_soft_target_loss_serializes_and_refuses_bad_settings():
    loss = losses.SoftTargetCrossentropy(3.0, "t2")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (again.temperature, again.scaling) == (3.0, "t2")
    with pytest.raises(ValueError, match="temperature=0"):
        losses.SoftTargetCrossentropy(0.0)
    with pytest.raises(ValueError, match="soft_scaling='t'"):
        losses.SoftTargetCrossentropy(1.0, "t")


def test_the_default_scaling_is_the_students(rng):
    # One default everywhere: the function, the Keras loss, the student and
    # the command line all scale by 1/T unless told otherwise.
    y_true = rng.dirichlet(np.ones(4), size=2).astype(np.float32)
    logits = rng.normal(size=(2, 4)).astype(np.float32)
    plain = -(y_true * _log_softmax(logits / 4.0)).sum(-1)
    np.testing.assert_allclose(
        losses.soft_target_crossentropy(y_true, logits, 4.0), plain / 4.0,
        rtol=1e-5)
    assert losses.SoftTargetCrossentropy(4.0).scaling == "inverse_t"
    assert LossConfig().soft_scaling == "inverse_t"
