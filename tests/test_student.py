import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import write_record_set
from topk_distill import losses, models, records, targets
from topk_distill.student import DistillationStudent

N = 5
TEXTS = ["red fox", "blue sea", "green tree", "red sun", "blue sky",
         "green leaf", "red rose", "blue ice"]


def _student(seed=0):
    keras.utils.set_random_seed(seed)
    return models.make_student(TEXTS, N, max_tokens=50, embedding_dim=4)


def _batch(labels, ids, logits, tail=None):
    batch = {"text": tf.constant(TEXTS[:len(labels)]),
             "label": tf.constant(labels, tf.int64),
             "topk_ids": tf.constant(ids, tf.int64),
             "topk_logits": tf.constant(logits, tf.float32)}
    if tail is not None:
        batch["tail_mass"] = tf.constant(tail, tf.float32)
    return batch


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("alpha, beta, message", [
    (0.5, 0.1, "alpha=0.5; expected 0.5 < alpha < 1"),
    (1.0, 0.1, "alpha=1.0; expected 0.5 < alpha < 1"),
    (0.8, 0.9, "beta=0.9; expected 0 <= beta <= alpha=0.8"),
    (0.8, -0.1, "beta=-0.1"),
])
def test_alpha_beta_ranges(alpha, beta, message):
    with pytest.raises(ValueError, match=message):
        DistillationStudent(_student(), N, alpha=alpha, beta=beta)


def test_strict_false_lifts_the_ranges():
    model = DistillationStudent(_student(), N, alpha=0.3, beta=0.9,
                                strict=False)
    assert (model.alpha, model.beta) == (0.3, 0.9)
    with pytest.raises(ValueError, match="expected 0 <= alpha <= 1"):
        DistillationStudent(_student(), N, alpha=1.5, strict=False)


def test_three_term_loss_matches_numpy():
    model = DistillationStudent(_student(), N, alpha=0.8, beta=0.4,
                                temperature=2.0, soft_scaling="t2")
    batch = _batch([2, 0, -1, -1], [[2, 1], [0, 4], [3, -1], [1, -1]],
                   [[3.0, 1.0], [2.0, -1.0], [np.log(0.7), 0], [0.0, 0]])
    logits = model(batch["text"]).numpy()
    total, terms = model.compute_losses(batch, logits)
    log_p, log_p_t = _log_softmax(logits), _log_softmax(logits / 2.0)
    hard = -(log_p[0, 2] + log_p[1, 0]) / 4
    q0 = np.exp(_log_softmax(np.array([3.0, 1.0]) / 2))
    q1 = np.exp(_log_softmax(np.array([2.0, -1.0]) / 2))
    soft = -4.0 * (q0 @ log_p_t[0, [2, 1]] + q1 @ log_p_t[1, [0, 4]]) / 4
    pseudo = -(log_p[2, 3] + log_p[3, 1]) / 4
    np.testing.assert_allclose(terms["hard_loss"], hard, rtol=1e-5)
    np.testing.assert_allclose(terms["soft_loss"], soft, rtol=1e-5)
    np.testing.assert_allclose(terms["pseudo_loss"], pseudo, rtol=1e-5)
    np.testing.assert_allclose(total, 0.8 * hard + 0.2 * soft + 0.4 * pseudo,
                               rtol=1e-5)


def test_one_kind_batches():
    model = DistillationStudent(_student(), N, alpha=0.9, beta=0.5)
    _, only_labeled = model.compute_losses(
        _batch([1, 2], [[1, 0], [2, 3]], [[1.0, 0.0], [0.5, 0.1]]),
        model(tf.constant(TEXTS[:2])))
    assert only_labeled["pseudo_loss"] == 0 and only_labeled["soft_loss"] > 0
    _, only_unlabeled = model.compute_losses(
        _batch([-1, -1], [[1], [2]], [[0.0], [0.0]]),
        model(tf.constant(TEXTS[:2])))
    assert only_unlabeled["hard_loss"] == 0 == only_unlabeled["soft_loss"]
    assert only_unlabeled["pseudo_loss"] > 0


def test_bucket_tail_needs_tail_mass():
    model = DistillationStudent(_student(), N, tail="bucket")
    batch = _batch([1], [[1, 0]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="--tail_temperature"):
        model.compute_losses(batch, model(batch["text"]))
    batch = _batch([1], [[1, 0]], [[1.0, 0.0]], tail=[0.25])
    _, terms = model.compute_losses(batch, model(batch["text"]))
    assert np.isfinite(terms["soft_loss"])


def test_gradients_reach_only_the_student():
    student = _student()
    model = DistillationStudent(student, N)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    batch = _batch([1, -1], [[1, 0], [2, -1]], [[1.0, 0.0], [0.0, 0.0]])
    before = [w.numpy().copy() for w in student.trainable_weights]
    logs = model.train_on_batch(batch, return_dict=True)
    assert {id(w) for w in model.trainable_weights} == {
        id(w) for w in student.trainable_weights}
    assert any(not np.array_equal(a, w.numpy())
               for a, w in zip(before, student.trainable_weights))
    assert set(logs) == {"loss", "hard_loss", "soft_loss", "pseudo_loss",
                         "top1", "top5"}


def test_fit_on_mixed_records_and_evaluate(tmp_path):
    labeled = write_record_set(str(tmp_path / "lab"), TEXTS[:6],
                               [0, 1, 2, 0, 1, 2],
                               [[i % N, (i + 1) % N] for i in range(6)],
                               [[2.0, 0.0]] * 6, N)
    unlabeled = write_record_set(str(tmp_path / "unl"), TEXTS[6:],
                                 [-1, -1], [[0], [1]], [[0.9], [0.8]], N,
                                 scores_kind="probabilities")
    ds = records.make_distillation_dataset(labeled, unlabeled, batch_size=4,
                                           unlabeled_per_labeled=1.0, seed=0)
    batches = list(ds)
    assert len(batches) == ds.cardinality() == 3
    # Kinds alternate, so each half of a batch (a replica's share) has both.
    assert [b["label"].numpy().tolist()[1::2] for b in batches] == [
        [-1, -1]] * 3
    assert all(min(b["label"].numpy()[0::2]) >= 0 for b in batches)
    assert batches[0]["topk_ids"].shape == (4, 2)
    np.testing.assert_allclose(batches[0]["topk_logits"][1::2, 0],
                               np.log([0.9, 0.8])[[0, 1]] if (
                                   batches[0]["topk_ids"][1, 0] == 0) else
                               np.log([0.8, 0.9]), rtol=1e-6)
    model = DistillationStudent(_student(), N)
    model.compile(optimizer="adam")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    only_unlabeled = records.make_distillation_dataset(None, unlabeled, 2)
    assert model.evaluate(only_unlabeled, return_dict=True,
                          verbose=0)["pseudo_loss"] > 0


def test_tf_data_service_serves_the_same_batches(tmp_path):
    labeled = write_record_set(str(tmp_path / "lab"), TEXTS[:6],
                               [0, 1, 2, 0, 1, 2],
                               [[i % N, (i + 1) % N] for i in range(6)],
                               [[2.0, 0.0]] * 6, N, num_shards=2)
    unlabeled = write_record_set(str(tmp_path / "unl"), TEXTS[6:], [-1, -1],
                                 [[0], [1]], [[0.9], [0.8]], N,
                                 scores_kind="probabilities")
    service = tf.data.experimental.service
    dispatcher = service.DispatchServer()
    workers = [service.WorkerServer(service.WorkerConfig(
        dispatcher.target.split("://")[1])) for _ in range(2)]

    def texts(data_service):
        """(labeled texts, unlabeled texts) of one epoch."""
        ds = records.make_distillation_dataset(
            labeled, unlabeled, batch_size=4, shuffle=False,
            data_service=data_service)
        pairs = [(t, y) for b in ds for t, y in zip(
            b["text"].numpy().tolist(), b["label"].numpy())]
        return (sorted(t for t, y in pairs if y >= 0),
                {t for t, y in pairs if y < 0})

    # Each labeled record once per epoch, split among the service's workers
    # (each batches its share, so there may be more, smaller batches).
    served, local = texts(dispatcher.target), texts(None)
    assert served[0] == local[0] and len(local[0]) == 6
    assert served[1] == local[1] == {t.encode() for t in TEXTS[6:]}
    model = DistillationStudent(_student(), N)
    model.compile(optimizer="adam")
    served = records.make_distillation_dataset(labeled, unlabeled, 4,
                                               data_service=dispatcher.target)
    history = model.fit(served, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    del workers


def test_uneven_mix_is_spread_over_the_batch():
    kinds = tf.gather(["L"] * 6 + ["U"] * 2, records._interleaving(6, 2))
    assert b"".join(kinds.numpy()) == b"LLULLLUL"


def test_validation_without_teacher_scores():
    model = DistillationStudent(_student(), N)
    model.compile(optimizer="adam")
    val = tf.data.Dataset.from_tensors({"text": tf.constant(TEXTS[:3]),
                                        "label": tf.constant([0, 1, 2],
                                                             tf.int64)})
    logs = model.evaluate(val, return_dict=True, verbose=0)
    assert logs["soft_loss"] == 0 and logs["hard_loss"] > 0
    assert 0 <= logs["top1"] <= logs["top5"] <= 1


def test_mixed_precision_keeps_a_float32_finite_loss():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = DistillationStudent(_student(), N)
        batch = _batch([1, -1], [[1, 0], [2, -1]], [[1e4, -1e4], [0.0, 0.0]])
        logits = model(batch["text"])
        assert logits.dtype == tf.float16
        total, _ = model.compute_losses(batch, logits)
        assert total.dtype == tf.float32 and np.isfinite(total.numpy())
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mirrored_strategy_matches_one_device():
    batches = [_batch([i % N, -1, (i + 1) % N, -1],
                      [[i % N, 3], [1, -1], [2, 0], [4, -1]],
                      [[2.0, 1.0], [0.0, 0.0], [1.0, 0.5], [0.0, 0.0]])
               for i in range(3)]
    dataset = tf.data.Dataset.from_tensor_slices(
        {k: tf.concat([b[k] for b in batches], 0) for k in batches[0]}
    ).batch(4)
    initial = _student().get_weights()

    def train(strategy):
        with strategy.scope():
            student = _student()
            student.set_weights(initial)
            model = DistillationStudent(student, N, alpha=0.8, beta=0.5)
            model.compile(optimizer=keras.optimizers.SGD(0.5))
        history = model.fit(dataset, epochs=2, verbose=0, shuffle=False)
        return history.history["loss"], student.get_weights()

    devices = ["/cpu:0", "/cpu:1"]
    assert len(tf.config.list_logical_devices("CPU")) == 2
    one_loss, one_weights = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two_loss, two_weights = train(tf.distribute.MirroredStrategy(devices))
    np.testing.assert_allclose(two_loss, one_loss, atol=1e-5)
    for a, b in zip(one_weights, two_weights):
        np.testing.assert_allclose(a, b, atol=1e-5)
