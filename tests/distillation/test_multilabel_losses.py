"""Multi-label terms: the sparse forms equal dense binary cross-entropies."""

import keras
import numpy as np
import tensorflow as tf

from topk_distill.distillation import multilabel_losses

B, N = 5, 7


def _dense_bce(targets, logits):
    return keras.losses.binary_crossentropy(targets, logits, from_logits=True)


def test_soft_term_with_every_class_stored_is_dense_bce(rng):
    # K = N: the teacher's full probability vector at T against the
    # student's sigmoid(s / T), Keras's own BCE (mean over classes).
    temperature = 2.0
    student = tf.constant(rng.normal(0, 3, (B, N)), tf.float32)
    teacher = rng.normal(0, 3, (B, N)).astype("float32")
    ids = np.stack([rng.permutation(N) for _ in range(B)])
    stored = np.take_along_axis(teacher, ids, axis=1)
    soft_p = multilabel_losses.sigmoid_probabilities(
        tf.constant(ids), tf.constant(stored), "logits", temperature)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(student)
        _, soft, _ = multilabel_losses.multilabel_crossentropies(
            student, -tf.ones([B, 1], tf.int32), ids, soft_p,
            tf.zeros([B, N]), temperature)
        dense = _dense_bce(tf.sigmoid(teacher / temperature),
                           student / temperature)
    np.testing.assert_allclose(soft, dense, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tape.gradient(soft, student),
                               tape.gradient(dense, student), atol=1e-6)


def test_hard_and_pseudo_terms_are_dense_bce_of_their_targets(rng):
    student = tf.constant(rng.normal(0, 2, (B, N)), tf.float32)
    labels = np.full((B, 3), -1)
    multi_hot = np.zeros((B, N), "float32")
    for row in range(B):
        chosen = rng.choice(N, 1 + row % 3, replace=False)
        labels[row, :len(chosen)] = chosen
        multi_hot[row, chosen] = 1.0
    ids = np.stack([rng.choice(N, 2, replace=False) for _ in range(B)])
    ids[0, 1] = -1  # padding
    pseudo_p = rng.uniform(0, 1, (B, 2)).astype("float32")
    pseudo_p[0, 1] = 0.0
    dense_pseudo = np.zeros((B, N), "float32")
    for row in range(B):
        for i, p in zip(ids[row], pseudo_p[row]):
            if i >= 0:
                dense_pseudo[row, i] = p
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(student)
        hard, _, pseudo = multilabel_losses.multilabel_crossentropies(
            student, labels, ids, tf.zeros([B, 2]), pseudo_p, 1.0)
        dense_hard = _dense_bce(multi_hot, student)
        dense_p = _dense_bce(dense_pseudo, student)
    np.testing.assert_allclose(hard, dense_hard, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pseudo, dense_p, rtol=1e-6, atol=1e-6)
    for ours, theirs in ((hard, dense_hard), (pseudo, dense_p)):
        np.testing.assert_allclose(tape.gradient(ours, student),
                                   tape.gradient(theirs, student), atol=1e-6)


def test_extreme_logits_give_finite_terms_and_gradients():
    student = tf.constant([[1e4, -1e4, 0.0], [-3e38, 3e38, 80.0]])
    with tf.GradientTape() as tape:
        tape.watch(student)
        terms = multilabel_losses.multilabel_crossentropies(
            student, tf.constant([[0], [2]]), tf.constant([[0, 1], [1, 2]]),
            tf.constant([[1.0, 0.0], [0.5, 0.5]]),
            tf.constant([[0.0, 1.0], [1.0, 0.0]]), 2.0)
        total = tf.add_n([tf.reduce_sum(t) for t in terms])
    assert np.all(np.isfinite(np.concatenate([t.numpy() for t in terms])))
    assert np.all(np.isfinite(tape.gradient(total, student)))
    # the hard term by hand: the mean over the 3 classes of softplus(-z)
    # for a label, softplus(z) otherwise (softplus(-1e4) = 0, softplus(0)
    # = log 2, softplus(3e38) = 3e38, softplus(-80) = e^-80); computed as
    # the mean softplus less the labels' logits, float32 keeps row 0 (its
    # parts about 3,333) to 1e-3
    np.testing.assert_allclose(terms[0].numpy(), [
        np.log(2.0) / 3, (3e38 + np.exp(-80.0)) / 3], rtol=1e-3)


def test_stored_probabilities_become_sigmoid_targets_at_t():
    p = multilabel_losses.sigmoid_probabilities(
        tf.constant([[0, 1, 2, -1]]), tf.constant([[0.9, 0.5, 0.0, 1.0]]),
        "probabilities", temperature=3.0).numpy()[0]
    logit = np.log(0.9 / 0.1)
    np.testing.assert_allclose(p[:2], [1 / (1 + np.exp(-logit / 3)), 0.5],
                               rtol=1e-6)
    assert 0 <= p[2] < 1e-4 and p[3] == 0.0  # a 0 stays near 0; padding 0
