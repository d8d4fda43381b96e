"""One batch through the teacher: top-K, tail mass, finiteness, records."""

import numpy as np
import pytest
import tensorflow as tf

from topk_distill.preprocessing import scoring
from topk_distill.records import codec
from topk_distill.records.records import RecordSet
from topk_distill.teachers.teacher import Teacher


def _teacher(scores, outputs="logits"):
    table = tf.constant(scores, tf.float32)
    return Teacher(lambda texts, rows: tf.gather(table, rows),
                   scores.shape[1], outputs, {"kind": "test"})


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_top_k_tail_mass_and_float16_shift(rng):
    logits = rng.normal(0, 3, size=(4, 9)).astype(np.float32)
    spec = RecordSet(kind="labeled", num_classes=9, width=3,
                     tail_temperature=2.0)
    serialized, sizes, finite = scoring.score_batch(
        _teacher(logits), tf.constant(["a", "b", "c", "d"]),
        tf.constant([0, 1, 2, -1], tf.int64), spec,
        rows=tf.range(4, dtype=tf.int64))
    got = codec.parse_batch(serialized, spec)
    ids = np.argsort(-logits, axis=1)[:, :3]
    np.testing.assert_array_equal(got["topk_ids"], ids)
    top = np.take_along_axis(logits, ids, 1)
    # float16 logits are stored relative to each example's best.
    np.testing.assert_allclose(got["topk_scores"], top - top[:, :1],
                               atol=2e-3)
    soft = np.exp(_log_softmax(logits / 2.0))
    np.testing.assert_allclose(
        got["tail_mass"], 1 - np.take_along_axis(soft, ids, 1).sum(1),
        rtol=1e-5)
    assert finite.numpy().all() and (sizes.numpy() > 0).all()


def test_probability_teachers_store_either_kind(rng):
    probabilities = rng.dirichlet(np.ones(5), size=2).astype(np.float32)
    teacher = _teacher(probabilities, outputs="probabilities")
    for kind, want in (("probabilities", probabilities.max(1)),
                       ("logits", np.log(probabilities.max(1)))):
        spec = RecordSet(kind="unlabeled", num_classes=5, width=1,
                         score_dtype="float32", scores=kind)
        serialized, _, _ = scoring.score_batch(
            teacher, tf.constant(["a", "b"]), tf.constant([-1, -1], tf.int64),
            spec, rows=tf.range(2, dtype=tf.int64))
        np.testing.assert_allclose(
            codec.parse_batch(serialized, spec)["topk_scores"][:, 0], want,
            rtol=1e-5)


def test_non_finite_scores_are_flagged():
    scores = np.array([[1.0, 2.0], [np.inf, 0.0]], np.float32)
    _, _, finite = scoring.score_batch(
        _teacher(scores), tf.constant(["a", "b"]),
        tf.constant([0, 1], tf.int64), RecordSet(
            kind="labeled", num_classes=2, width=1, score_dtype="float32"),
        rows=tf.range(2, dtype=tf.int64))
    assert finite.numpy().tolist() == [True, False]


def _dense(ids, targets, n):
    out = np.zeros((ids.shape[0], n))
    for row in range(ids.shape[0]):
        valid = ids[row] >= 0
        out[row, ids[row][valid]] += targets[row][valid]
    return out


def test_sampled_targets_average_to_the_dense_target(rng):
    logits = rng.normal(0, 2, size=(1, 12)).astype(np.float32)
    p = np.exp(_log_softmax(logits / 2.0))[0]
    log_p = tf.constant(np.log(p)[None, :], tf.float32)
    draws = 2000  # Examples (texts) drawing from the same p.
    texts = tf.constant([f"text {i}" for i in range(draws)])
    for exact in (0, 3):
        ids, q = scoring.sample_targets(tf.tile(log_p, [draws, 1]), texts,
                                        samples=10, seed=0, exact_top=exact)
        dense = _dense(ids.numpy(), q.numpy(), 12)
        np.testing.assert_allclose(dense.sum(1), 1.0, rtol=1e-5)
        # The mean of 2000 targets of 10 draws: within 4 standard errors.
        sigma = np.sqrt(p * (1 - p) / (10 * draws))
        assert np.all(np.abs(dense.mean(0) - p) < 4 * sigma + 1e-6), (
            exact, dense.mean(0) - p)
    # The k kept exactly are the k best, with their probabilities.
    ids, q = scoring.sample_targets(log_p, tf.constant(["x"]), 10, 0, 3)
    best = np.argsort(-p)[:3]
    np.testing.assert_array_equal(ids.numpy()[0, :3], best)
    np.testing.assert_allclose(q.numpy()[0, :3], p[best], rtol=1e-5)
    assert not set(ids.numpy()[0, 3:]) & set(best)


def test_draws_depend_on_the_text_and_seed_not_the_batch(rng):
    log_p = tf.math.log_softmax(tf.constant(
        rng.normal(0, 1, size=(3, 50)), tf.float32))
    texts = tf.constant(["a", "b", "c"])
    ids, q = scoring.sample_targets(log_p, texts, samples=20, seed=5)
    alone, alone_q = scoring.sample_targets(log_p[1:2], texts[1:2], 20, 5)
    np.testing.assert_array_equal(ids[1:2], alone)
    np.testing.assert_array_equal(q[1:2], alone_q)
    other, _ = scoring.sample_targets(log_p, texts, samples=20, seed=6)
    assert not np.array_equal(ids, other)
    # Distinct ids, counts in 1/S steps summing to 1.
    for row, row_q in zip(ids.numpy(), q.numpy()):
        drawn = row[row >= 0]
        assert len(set(drawn)) == len(drawn)
        np.testing.assert_allclose(row_q[row >= 0] * 20,
                                   np.round(row_q[row >= 0] * 20), atol=1e-5)
        np.testing.assert_allclose(row_q.sum(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("n, k, block", [(1000, 20, 16), (997, 7, 10),
                                         (300, 30, 8), (64, 5, 4)])
def test_blocked_top_k_equals_tf_top_k_ties_included(rng, n, k, block):
    # Few distinct values: many ties, which must still come out lower id
    # first, as tf.math.top_k gives them; -inf and a constant row too.
    assert n > k * block  # so scoring.top_k selects in blocks
    x = rng.integers(-3, 4, size=(16, n)).astype(np.float32)
    x[0] = 1.0
    x[1, : n // 2] = -np.inf
    expected = tf.math.top_k(x, k=k)
    values, ids = scoring.top_k(tf.constant(x), k, block=block,
                                min_classes=0)
    np.testing.assert_array_equal(ids, expected.indices)
    np.testing.assert_array_equal(values, expected.values)
