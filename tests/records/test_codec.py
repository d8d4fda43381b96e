"""The record codec: serialize and parse in the graph, check in Python."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import fuzz_records
from topk_distill.records import codec
from topk_distill.records.records import RecordFormatError, RecordSet


def _spec(k, dense=False, score_dtype="float16", tail=None, n=None,
          scores="logits"):
    return RecordSet(kind="labeled", num_classes=n or max(k, 1000), width=k,
                     dense=dense, score_dtype=score_dtype,
                     tail_temperature=tail, scores=scores)


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
    return k, texts, labels, ids, scores


@settings(max_examples=60, deadline=None)
@given(record_batches(), st.sampled_from(["float16", "float32"]))
def test_round_trip_property(batch, score_dtype):
    k, texts, labels, ids, scores = batch
    spec = _spec(k, score_dtype=score_dtype)
    serialized, teacher_bytes = codec.serialize_batch(
        tf.constant(texts), tf.constant(labels, tf.int64), tf.constant(ids),
        tf.constant(scores), spec)
    got = codec.parse_batch(serialized, spec)
    assert list(got["text"].numpy()) == texts
    np.testing.assert_array_equal(got["label"], labels)
    np.testing.assert_array_equal(got["topk_ids"], ids)
    if score_dtype == "float32":
        np.testing.assert_array_equal(got["topk_scores"], scores)
    else:  # float16 keeps 11 significant bits, within its range.
        limit = np.finfo(np.float16).max
        np.testing.assert_allclose(got["topk_scores"],
                                   np.clip(scores, -limit, limit),
                                   rtol=2**-11, atol=2**-24)
    assert got["topk_scores"].dtype == tf.float32


def test_float16_clips_to_its_range():
    serialized, _ = codec.serialize_batch(
        tf.constant(["t"]), tf.constant([0], tf.int64), tf.constant([[0, 1]]),
        tf.constant([[1e6, -1e6]]), _spec(2))
    got = codec.parse_batch(serialized, _spec(2))
    np.testing.assert_array_equal(got["topk_scores"], [[65504, -65504]])


def test_dense_records_have_no_ids_and_read_with_all_classes():
    scores = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]], np.float32)
    spec = _spec(3, dense=True, score_dtype="float32")
    serialized, _ = codec.serialize_batch(
        tf.constant(["a", "b"]), tf.constant([0, 2], tf.int64), None,
        tf.constant(scores), spec)
    assert "topk_ids" not in tf.train.Example.FromString(
        serialized[0].numpy()).features.feature
    got = codec.parse_batch(serialized, spec)
    np.testing.assert_array_equal(got["topk_ids"], [[0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(got["topk_scores"], scores)


@pytest.mark.parametrize("score_dtype", ["float16", "float32"])
def test_records_are_tf_train_examples_and_bytes_are_counted(score_dtype):
    serialized, teacher_bytes = codec.serialize_batch(
        tf.constant(["hi", "there"]), tf.constant([3, -1], tf.int64),
        tf.constant([[3, 1], [200, 0]]), tf.constant([[2.0, 1.0], [0.5, 0.25]]),
        _spec(2, score_dtype=score_dtype), tail_mass=tf.constant([0.1, 0.2]))
    for i, (ids, scores) in enumerate([([3, 1], [2.0, 1.0]),
                                       ([200, 0], [0.5, 0.25])]):
        feature = tf.train.Example.FromString(
            serialized[i].numpy()).features.feature
        assert list(feature["label"].int64_list.value) == [[3, -1][i]]
        assert list(feature["topk_ids"].int64_list.value) == ids
        if score_dtype == "float32":
            assert list(feature["topk_scores"].float_list.value) == scores
        else:
            packed, = feature["topk_scores"].bytes_list.value
            assert np.frombuffer(packed, "<f2").tolist() == scores
        teacher_only = tf.train.Features(feature={
            key: feature[key] for key in ("topk_ids", "topk_scores",
                                          "tail_mass")})
        assert teacher_bytes[i] == teacher_only.ByteSize()


def test_as_logits_is_log_of_probabilities_and_finite_at_zero():
    got = codec.as_logits(tf.constant([[0.5, 0.25, 0.0]]), "probabilities")
    np.testing.assert_allclose(got[0, :2], np.log([0.5, 0.25]), rtol=1e-6)
    assert np.isfinite(got[0, 2]) and got[0, 2] < -80
    same = tf.constant([[3.0, -2.0]])
    np.testing.assert_array_equal(codec.as_logits(same, "logits"), same)


def test_parser_survives_random_and_mutated_records():
    # Every case must either parse into the declared shapes or be rejected
    # with one of the reader's errors; a crash or another exception fails.
    outcomes = fuzz_records.fuzz(10_000, seed=1)
    # Random bytes are almost all rejected; a third of the cases are byte
    # flips of valid records, some of which still parse.
    assert outcomes["rejected"] > 5_000
    assert outcomes["parsed"] > 100  # The parse path is exercised too.
    assert outcomes["parsed_mutations"] > 0


@pytest.mark.parametrize("kind", ["logits", "probabilities"])
def test_q8_packs_ids_and_8_bit_values(rng, kind):
    n = 4123
    ids = np.stack([rng.choice(n, 20, replace=False) for _ in range(30)])
    ids[3, 15:] = -1  # A record storing fewer classes.
    if kind == "logits":
        scores = rng.normal(0, 3, size=(30, 20)).astype(np.float32)
    else:
        scores = rng.dirichlet(np.ones(20), size=30).astype(np.float32)
    spec = _spec(20, score_dtype="q8", n=n, scores=kind)
    serialized, sizes = codec.serialize_batch(
        tf.constant([f"t{i}" for i in range(30)]), tf.zeros([30], tf.int64),
        tf.constant(ids), tf.constant(scores), spec)
    got = {k: v.numpy() for k, v in codec.parse_batch(serialized,
                                                      spec).items()}
    for row in range(30):
        valid = ids[row] >= 0
        order = np.argsort(ids[row][valid])
        count = valid.sum()
        np.testing.assert_array_equal(got["topk_ids"][row, :count],
                                      ids[row][valid][order])
        assert (got["topk_ids"][row, count:] == -1).all()
        want = scores[row][valid][order]
        if kind == "logits":  # Relative to the best, within 8 bits' step.
            want = want - want.max()
            step = -want.min() / 255
            np.testing.assert_allclose(got["topk_scores"][row, :count], want,
                                       atol=step * 0.51 + 1e-3 * -want.min())
        else:  # Absolute probabilities, within 8 bits of log p.
            step = -np.log(want).min() / 255
            np.testing.assert_allclose(
                np.log(got["topk_scores"][row, :count]), np.log(want),
                atol=step * 0.51 + 2e-3 * -np.log(want).min())
    # 20 of 4,123 ids and values, framing included, within 60 bytes.
    assert sizes.numpy()[np.arange(30) != 3].max() <= 60
