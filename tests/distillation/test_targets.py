"""Sparse teacher output -> dense targets."""

import numpy as np
import tensorflow as tf

from topk_distill.distillation import targets


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def test_scatter_ignores_padding():
    got = targets.scatter(tf.constant([[2, -1], [0, 1]]),
                          tf.constant([[0.5, 9.0], [1.0, 2.0]]), 3)
    np.testing.assert_array_equal(got, [[0, 0, 0.5], [1, 2, 0]])


def test_renormalised_top_k_targets():
    ids = tf.constant([[4, 1, -1], [0, 2, 3]])
    logits = tf.constant([[2.0, 0.0, 99.0], [1.0, 1.0, 1.0]])
    got = targets.soft_targets(ids, logits, 5, 2.0).numpy()
    e = np.exp(1.0)
    np.testing.assert_allclose(got[0], [0, 1 / (1 + e), 0, 0, e / (1 + e)],
                               rtol=1e-6)
    np.testing.assert_allclose(got[1], [1 / 3, 0, 1 / 3, 1 / 3, 0], rtol=1e-6)


def test_top_k_equal_to_n_is_the_dense_target(rng):
    teacher = rng.normal(0, 4, size=(5, 9)).astype(np.float32)
    order = np.argsort(-teacher, axis=1)
    sparse = targets.soft_targets(tf.constant(order), tf.constant(
        np.take_along_axis(teacher, order, 1)), 9, 3.0)
    np.testing.assert_allclose(sparse, _softmax(teacher / 3.0), rtol=1e-5,
                               atol=1e-7)


def test_bucket_tail_keeps_the_rest_as_a_column():
    got = targets.soft_targets(tf.constant([[2, 0]]),
                               tf.constant([[1.0, 1.0]]), 4, 1.0,
                               tail_mass=tf.constant([0.2])).numpy()
    np.testing.assert_allclose(got, [[0.4, 0, 0.4, 0, 0.2]], rtol=1e-6)


def test_pseudo_targets_one_hot_and_normalised():
    one = targets.pseudo_targets(tf.constant([[3], [-1]]),
                                 tf.constant([[np.log(0.2)], [0.0]]), 4)
    np.testing.assert_array_equal(one, [[0, 0, 0, 1], [0, 0, 0, 0]])
    two = targets.pseudo_targets(tf.constant([[1, 2]]),
                                 tf.math.log([[0.6, 0.2]]), 4)
    np.testing.assert_allclose(two, [[0, 0.75, 0.25, 0]], rtol=1e-6)
