"""Property and fuzz tests: record round trip, loss, parser."""

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import fuzz_records
from topk_distill import records, targets
from topk_distill.student import DistillationStudent

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def record_batches(draw):
    n = draw(st.integers(1, 300))
    k = draw(st.integers(1, n))
    b = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ids = np.stack([rng.choice(n, k, replace=False) for _ in range(b)])
    scale = draw(st.sampled_from([1.0, 1e4, 1e30]))
    scores = (rng.normal(size=(b, k)) * scale).astype(np.float32)
    labels = rng.integers(-1, n, b)
    texts = [bytes(rng.integers(0, 256, rng.integers(0, 30), dtype=np.uint8))
             for _ in range(b)]
    return n, k, texts, labels, ids, scores


@SETTINGS
@given(record_batches(), st.sampled_from(["float16", "float32"]))
def test_record_round_trip(batch, score_dtype):
    n, k, texts, labels, ids, scores = batch
    serialized, teacher_bytes = records.serialize_batch(
        tf.constant(texts), tf.constant(labels, tf.int64), tf.constant(ids),
        tf.constant(scores), score_dtype)
    got = records.parse_batch(serialized, {
        "top_k": k, "dense": False, "score_dtype": score_dtype})
    assert list(got["text"].numpy()) == texts
    np.testing.assert_array_equal(got["label"], labels)
    np.testing.assert_array_equal(got["topk_ids"], ids)
    if score_dtype == "float32":
        np.testing.assert_array_equal(got["topk_scores"], scores)
    else:
        limit = np.finfo(np.float16).max
        np.testing.assert_allclose(got["topk_scores"],
                                   np.clip(scores, -limit, limit),
                                   rtol=2**-11, atol=2**-24)
    assert np.all(teacher_bytes.numpy() > 0)


@SETTINGS
@given(st.integers(2, 60), st.integers(1, 10), st.integers(1, 10),
       st.integers(1, 16), st.sampled_from([1.0, 100.0, 1e4]),
       st.integers(0, 2**32 - 1))
def test_loss_is_finite_and_targets_are_distributions(n, k, h, b, scale,
                                                      seed):
    k, h = min(k, n), min(h, n)
    rng = np.random.default_rng(seed)
    width = max(k, h)
    labels = rng.integers(-1, n, b)
    ids = np.full((b, width), -1)
    for i, label in enumerate(labels):
        count = k if label >= 0 else h
        ids[i, :count] = rng.choice(n, count, replace=False)
    logits = (rng.normal(size=(b, width)) * scale).astype(np.float32)
    soft = targets.soft_targets(tf.constant(ids), tf.constant(logits), n, 2.0)
    np.testing.assert_allclose(tf.reduce_sum(soft, -1), 1.0, rtol=1e-5)
    student_logits = tf.constant(rng.normal(size=(b, n)) * scale, tf.float32)
    batch = {"label": tf.constant(labels, tf.int64),
             "topk_ids": tf.constant(ids), "topk_logits": tf.constant(logits)}
    total, terms = _losses(n)(batch, student_logits)
    assert np.isfinite(total.numpy()) and total.numpy() >= 0
    for value in terms.values():
        assert np.isfinite(value.numpy()) and value.numpy() >= 0


_MODELS = {}


def _losses(n):
    """One DistillationStudent per N (its student is never called)."""
    if n not in _MODELS:
        import keras

        student = keras.Sequential([keras.Input((1,)), keras.layers.Dense(n)])
        _MODELS[n] = DistillationStudent(student, n).compute_losses
    return _MODELS[n]


def test_parser_survives_10000_random_and_mutated_records():
    parsed, rejected = fuzz_records.fuzz(10_000, seed=1)
    assert parsed + rejected == 10_000
    assert rejected > 5_000 and parsed > 0
