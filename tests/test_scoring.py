"""One batch through the teacher: top-K, tail mass, finiteness, records."""

import numpy as np
import tensorflow as tf

from topk_distill import codec, scoring
from topk_distill.records import RecordSet
from topk_distill.teacher import Teacher


def _teacher(scores, outputs="logits"):
    table = tf.constant(scores, tf.float32)
    return Teacher(lambda texts, rows: tf.gather(table, rows),
                   scores.shape[1], outputs, {"kind": "test"})


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_top_k_tail_mass_and_float16_shift(rng):
    logits = rng.normal(0, 3, size=(4, 9)).astype(np.float32)
    serialized, sizes, finite = scoring.score_batch(
        _teacher(logits), tf.constant(["a", "b", "c", "d"]),
        tf.constant([0, 1, 2, -1], tf.int64), top_k=3, scores="logits",
        score_dtype="float16", tail_temperature=2.0,
        rows=tf.range(4, dtype=tf.int64))
    got = codec.parse_batch(serialized, RecordSet(
        kind="labeled", num_classes=9, top_k=3, tail_temperature=2.0))
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
    spec = RecordSet(kind="unlabeled", num_classes=5, top_k=1,
                     score_dtype="float32")
    for kind, want in (("probabilities", probabilities.max(1)),
                       ("logits", np.log(probabilities.max(1)))):
        serialized, _, _ = scoring.score_batch(
            teacher, tf.constant(["a", "b"]), tf.constant([-1, -1], tf.int64),
            top_k=1, scores=kind, score_dtype="float32",
            rows=tf.range(2, dtype=tf.int64))
        np.testing.assert_allclose(
            codec.parse_batch(serialized, spec)["topk_scores"][:, 0], want,
            rtol=1e-5)


def test_non_finite_scores_are_flagged():
    scores = np.array([[1.0, 2.0], [np.inf, 0.0]], np.float32)
    _, _, finite = scoring.score_batch(
        _teacher(scores), tf.constant(["a", "b"]),
        tf.constant([0, 1], tf.int64), top_k=1, scores="logits",
        score_dtype="float32", rows=tf.range(2, dtype=tf.int64))
    assert finite.numpy().tolist() == [True, False]
