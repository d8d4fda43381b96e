import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import dense_softmax, write_record_set
from topk_distill.distillation import mixer, targets
from topk_distill.models import text_models
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.distillation.student import DistillationStudent
from topk_distill.inputs.label_space import SingleLabel

N = 5
TEXTS = ["red fox", "blue sea", "green tree", "red sun", "blue sky",
         "green leaf", "red rose", "blue ice"]


def _student(seed=0):
    keras.utils.set_random_seed(seed)
    return text_models.make_student(TEXTS, N, max_tokens=50, embedding_dim=4)


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


def test_loss_settings_are_checked():
    with pytest.raises(ValueError, match="alpha=0.5; expected 0.5 < alpha"):
        DistillationStudent(
            _student(), N, loss=LossConfig(alpha=0.5, beta=0.1))
    model = DistillationStudent(
        _student(), N, loss=LossConfig(alpha=0.3, beta=0.9, strict=False))
    assert (model.config.alpha, model.config.beta) == (0.3, 0.9)


def test_three_term_loss_matches_numpy():
    model = DistillationStudent(
        _student(), N,
        loss=LossConfig(alpha=0.8, beta=0.4, temperature=2.0,
                        soft_scaling="t2"))
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
    model = DistillationStudent(
        _student(), N, loss=LossConfig(alpha=0.9, beta=0.5))
    _, only_labeled = model.compute_losses(
        _batch([1, 2], [[1, 0], [2, 3]], [[1.0, 0.0], [0.5, 0.1]]),
        model(tf.constant(TEXTS[:2])))
    assert only_labeled["pseudo_loss"] == 0 and only_labeled["soft_loss"] > 0
    _, only_unlabeled = model.compute_losses(
        _batch([-1, -1], [[1], [2]], [[0.0], [0.0]]),
        model(tf.constant(TEXTS[:2])))
    assert only_unlabeled["hard_loss"] == 0 == only_unlabeled["soft_loss"]
    assert only_unlabeled["pseudo_loss"] > 0


def test_bucket_tail_needs_tail_masses():
    model = DistillationStudent(
        _student(), N, loss=LossConfig(tail="bucket", temperature=2.0))
    batch = _batch([1], [[1, 0]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="--tail_temperature"):
        model.compute_losses(batch, model(batch["text"]))
    batch = _batch([1, -1], [[1, 0], [2, -1]], [[1.0, 0.0], [0.0, 0.0]],
                   tail=[0.25, 0.0])
    logits = model(batch["text"]).numpy().astype(np.float64)
    _, terms = model.compute_losses(batch, logits)
    # row 0 (labeled): 0.75 of its mass on ids 1, 0 (softmax of [1, 0] at
    # T=2), 0.25 on the student's mass outside them; a mean over both
    # rows, times 1/T
    z = logits[0] / 2.0
    log_q = z - np.logaddexp.reduce(z)
    p = 0.75 * np.exp([0.5, 0.0]) / np.exp([0.5, 0.0]).sum()
    rest = np.logaddexp.reduce(log_q[2:])
    row = -(p[0] * log_q[1] + p[1] * log_q[0] + 0.25 * rest)
    np.testing.assert_allclose(terms["soft_loss"], row / 2 / 2.0, rtol=1e-5)


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


def test_fit_on_mixed_records_lowers_the_loss_and_evaluates(tmp_path):
    labeled = write_record_set(str(tmp_path / "lab"), TEXTS[:6],
                               [0, 1, 2, 0, 1, 2],
                               [[i % N, (i + 1) % N] for i in range(6)],
                               [[2.0, 0.0]] * 6, N)
    unlabeled = write_record_set(str(tmp_path / "unl"), TEXTS[6:],
                                 [-1, -1], [[0], [1]], [[0.9], [0.8]], N,
                                 scores_kind="probabilities")
    ds = mixer.make_distillation_dataset(labeled, unlabeled, batch_size=4,
                                         seed=0)
    model = DistillationStudent(_student(), N)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(ds, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    only_unlabeled = mixer.make_distillation_dataset(None, unlabeled, batch_size=2)
    logs = model.evaluate(only_unlabeled, return_dict=True, verbose=0)
    assert logs["pseudo_loss"] > 0 and logs["hard_loss"] == 0


def test_validation_without_teacher_scores():
    model = DistillationStudent(_student(), N)
    model.compile(optimizer="adam")
    val = tf.data.Dataset.from_tensors({"text": tf.constant(TEXTS[:3]),
                                        "label": tf.constant([0, 1, 2],
                                                             tf.int64)})
    logs = model.evaluate(val, return_dict=True, verbose=0)
    logits = model(tf.constant(TEXTS[:3])).numpy()
    assert logs["soft_loss"] == 0 and logs["pseudo_loss"] == 0
    np.testing.assert_allclose(logs["hard_loss"], -np.mean(
        _log_softmax(logits)[[0, 1, 2], [0, 1, 2]]), rtol=1e-5)
    assert logs["top1"] == pytest.approx(
        np.mean(logits.argmax(1) == [0, 1, 2]))


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


@pytest.mark.parametrize("compiled", [False, True])
def test_mirrored_strategy_matches_one_device(monkeypatch, compiled):
    from topk_distill.distillation import losses

    monkeypatch.setattr(losses, "XLA_MIN_CLASSES", 0 if compiled else 10**9)
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
            model = DistillationStudent(
                student, N, loss=LossConfig(alpha=0.8, beta=0.5))
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


@settings(max_examples=60, deadline=None)
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
        student = keras.Sequential([keras.Input((1,)), keras.layers.Dense(n)])
        _MODELS[n] = DistillationStudent(student, n).compute_losses
    return _MODELS[n]


@pytest.mark.parametrize("scaling, factor", [("t2", 1.0),
                                             ("inverse_t", 1 / 3.0**3)])
def test_dense_soft_term_has_keras_logits_distillations_gradient(
        rng, scaling, factor):
    # All N classes kept (dense records): the soft term's gradient with
    # respect to the student's logits is keras.distillation's, up to the
    # documented scaling (Keras: T^2; 1/T is T^2 / T^3 of it). Keras 3.15's
    # default loss="kl_divergence" resolves to the function, which its
    # isinstance(KLDivergence) check misses: the KL is then taken on the
    # tempered logits as if they were probabilities. The class is what its
    # documentation describes.
    n, temperature = 7, 3.0
    teacher = tf.constant(rng.normal(0, 3, size=(4, n)), tf.float32)
    student = tf.Variable(rng.normal(0, 3, size=(4, n)).astype(np.float32))
    batch = {"label": tf.constant([0, 1, 2, 3], tf.int64),
             "topk_ids": tf.tile(tf.range(n, dtype=tf.int64)[None], [4, 1]),
             "topk_logits": teacher}
    model = DistillationStudent(
        keras.Sequential([keras.Input((1,)), keras.layers.Dense(n)]), n,
        loss=LossConfig(alpha=0.9, temperature=temperature,
                        soft_scaling=scaling))
    with tf.GradientTape(persistent=True) as tape:
        ours = model.compute_losses(batch, student)[1]["soft_loss"]
        theirs = keras.distillation.LogitsDistillation(
            temperature=temperature, loss=keras.losses.KLDivergence()
        ).compute_loss(teacher, student)
    ours = tf.convert_to_tensor(tape.gradient(ours, student))
    np.testing.assert_allclose(ours, factor * tape.gradient(theirs, student),
                               rtol=1e-4, atol=1e-7)


def _dense_terms(batch, logits, n, temperature, scaling):
    """The three terms from dense [rows, N] targets built in numpy and
    Keras's own cross-entropies (the soft one at logits / T, scaled)."""
    label = batch["label"].numpy()
    labeled, unlabeled = np.where(label >= 0)[0], np.where(label < 0)[0]
    size = len(label)

    def term(loss, rows, y_true):
        if not len(rows):
            return 0.0
        return len(rows) / size * loss(y_true, tf.gather(logits, rows))

    ids, scores = batch["topk_ids"].numpy(), batch["topk_logits"].numpy()
    crossentropy = keras.losses.CategoricalCrossentropy(from_logits=True)
    factor = temperature ** 2 if scaling == "t2" else 1 / temperature
    return {
        "hard_loss": term(keras.losses.SparseCategoricalCrossentropy(
            from_logits=True), labeled, label[labeled]),
        "soft_loss": factor * term(
            lambda y, z: crossentropy(y, z / temperature), labeled,
            dense_softmax(ids[labeled], scores[labeled], n, temperature)),
        "pseudo_loss": term(crossentropy, unlabeled, dense_softmax(
            ids[unlabeled], scores[unlabeled], n))}


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("temperature, scaling, scale", [
    (2.0, "inverse_t", 3.0), (1.0, "t2", 3.0), (4.0, "t2", 1e4)])
def test_sparse_terms_equal_the_dense_keras_losses(rng, monkeypatch,
                                                   compiled, temperature,
                                                   scaling, scale):
    # The step gathers K logits per row instead of scattering dense
    # targets: the same values, to 1e-6 (extreme logits included), with
    # and without XLA (used from losses.XLA_MIN_CLASSES classes on).
    from topk_distill.distillation import losses

    monkeypatch.setattr(losses, "XLA_MIN_CLASSES", 0 if compiled else 10**9)
    n, k, b = 300, 20, 32
    label = np.where(rng.random(b) < 0.6, rng.integers(0, n, b), -1)
    ids = np.stack([rng.choice(n, k, replace=False) for _ in range(b)])
    ids[label < 0, 3:] = -1  # unlabeled rows: top-3 pseudo labels
    ids[0, 10:] = -1  # a labeled row with fewer than K scores
    batch = {"label": tf.constant(label, tf.int64),
             "topk_ids": tf.constant(ids, tf.int64),
             "topk_logits": tf.constant(rng.normal(0, 4, (b, k)),
                                        tf.float32)}
    logits = tf.Variable(rng.normal(0, scale, (b, n)).astype(np.float32))
    model = DistillationStudent(
        keras.Sequential([keras.Input((1,)), keras.layers.Dense(n)]), n,
        loss=LossConfig(alpha=0.7, beta=0.6, temperature=temperature,
                        soft_scaling=scaling))
    with tf.GradientTape(persistent=True) as tape:
        total, ours = model.compute_losses(batch, logits)
        theirs = _dense_terms(batch, logits, n, temperature, scaling)
        dense_total = (0.7 * theirs["hard_loss"] + 0.3 * theirs["soft_loss"]
                       + 0.6 * theirs["pseudo_loss"])
    for name, value in theirs.items():
        np.testing.assert_allclose(float(ours[name]), float(value),
                                   rtol=1e-6, err_msg=name)
    # The fused custom gradient against autodiff of the dense losses.
    np.testing.assert_allclose(tape.gradient(total, logits),
                               tf.convert_to_tensor(
                                   tape.gradient(dense_total, logits)),
                               rtol=1e-5, atol=1e-8)


def test_saved_distillation_student_loads_back_with_its_settings(tmp_path):
    model = DistillationStudent(
        _student(), N,
        loss=LossConfig(alpha=0.3, beta=0.9, temperature=3.0,
                        soft_scaling="t2", strict=False))
    model.compile(optimizer="sgd")
    model.train_on_batch(_batch([1, -1], [[1, 0], [2, -1]],
                                [[2.0, 0.0], [0.0, 0.0]]))
    path = str(tmp_path / "distiller.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, DistillationStudent)
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    assert loaded.config == LossConfig(0.3, 0.9, 3.0, "t2", strict=False)
    assert loaded.label_space == SingleLabel(N)
    texts = tf.constant(TEXTS)
    np.testing.assert_allclose(loaded.student(texts).numpy(),
                               model.student(texts).numpy(), rtol=1e-6)
