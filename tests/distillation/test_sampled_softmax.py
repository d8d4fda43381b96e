"""The sampled-softmax step: exact with every class, consistent as S grows,
sparse in its updates, the same on 2 replicas as on 1 device."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from topk_distill.distillation import lazy_adam, sampled_softmax
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.distillation.student import DistillationStudent
from topk_distill.inputs.label_space import MultiLabel
from topk_distill.models import class_vectors, text_models

D, N = 6, 40


def _student(seed=0, num_classes=N):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((D,), name="features"),
                             keras.layers.Dense(D, activation="tanh"),
                             class_vectors.ClassVectors(num_classes,
                                                        name="logits")])


def _batch(rng, rows=8, width=3, num_classes=N):
    labels = rng.integers(0, num_classes, rows)
    labels[1::2] = -1  # every other row unlabeled
    ids = np.stack([rng.choice(num_classes, width, replace=False)
                    for _ in range(rows)])
    ids[1::2, width - 1] = -1  # padding
    return {"features": tf.constant(rng.normal(size=(rows, D)), tf.float32),
            "label": tf.constant(labels, tf.int64),
            "topk_ids": tf.constant(ids, tf.int64),
            "topk_logits": tf.constant(rng.normal(0, 2, (rows, width)),
                                       tf.float32)}


def test_every_class_as_candidate_gives_the_full_softmax_terms(rng):
    batch = _batch(rng)
    full = DistillationStudent(
        _student(), N, loss=LossConfig(alpha=0.7, beta=0.4, temperature=2.0))
    every = DistillationStudent(
        full.student, N, loss=LossConfig(alpha=0.7, beta=0.4, temperature=2.0),
        sampled_classes=0)
    _assert_same_terms_and_gradients(full, every, batch)


def _assert_same_terms_and_gradients(full, every, batch):
    """The full step's terms and gradients, and those of the sampled one
    with every class as a candidate (same student), are equal."""
    weights = full.student.trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        total, terms = full.compute_losses(batch,
                                           full.student(batch["features"]))
        sampled_total, sampled_terms = every.compute_sampled_losses(
            batch, every._features(batch["features"]), tf.constant([1, 2]))
    for name, value in terms.items():
        np.testing.assert_allclose(float(sampled_terms[name]), float(value),
                                   rtol=1e-6, err_msg=name)
    for a, b in zip(tape.gradient(sampled_total, weights),
                    tape.gradient(total, weights)):
        np.testing.assert_allclose(tf.convert_to_tensor(a), b, rtol=1e-5,
                                   atol=1e-7)


def test_sampled_normaliser_is_unbiased_and_its_log_consistent(rng):
    # One row's logits over N = 2,000 classes and 3 positives; the draws'
    # estimate of sum(exp z) over 400 seeds (a fixed set) against the exact
    # one, and the hard term's bias falling as S grows.
    num_classes = 2000
    z = tf.constant(rng.normal(0, 1.5, (1, num_classes)), tf.float32)
    label = tf.constant([7])
    ids = tf.constant([[7, 11, 1500]])
    exact = float(tf.reduce_logsumexp(z))
    full_hard = exact - float(z[0, 7])
    spreads = []
    for samples in (20, 200, 2000):
        normalisers, hards = [], []
        for seed in range(400):
            candidates, log_w, positives = sampled_softmax.draw_candidates(
                label, ids, num_classes, samples, tf.constant([seed, 1]))
            hard, _, _ = sampled_softmax.sampled_crossentropies(
                tf.gather(z, candidates, axis=1), log_w, positives, label,
                ids, tf.zeros([1, 3]), tf.zeros([1, 3]), 1.0)
            hards.append(float(hard[0]))
            normalisers.append(np.exp(float(hard[0]) + float(z[0, 7])))
        # E[Z_hat] = Z: within 4 standard errors of the mean.
        mean, sem = np.mean(normalisers), np.std(normalisers) / 20
        assert abs(mean - np.exp(exact)) < 4 * sem + 1e-6 * np.exp(exact)
        # The hard term: its mean within 4 standard errors plus 0.5% of the
        # full one (log Z_hat's Jensen bias, about Var/2, shrinks as 1/S).
        assert abs(np.mean(hards) - full_hard) < (
            4 * np.std(hards) / 20 + 0.005 * full_hard), samples
        spreads.append(np.std(hards))
    assert spreads[2] < spreads[1] < spreads[0]  # as 1/sqrt(S)


def test_a_label_frequency_proposal_is_unbiased_and_steadier(rng):
    # Skewed labels, and a student whose mass sits where the labels are
    # frequent: the normaliser estimated from draws by label frequency is
    # unbiased (within 4 standard errors over 300 seeds) and varies less
    # than that of uniform draws.
    num_classes = 3000
    counts = rng.zipf(1.5, num_classes).clip(max=1000)
    z = tf.constant(np.log(counts)[None] + rng.normal(0, 0.3, (1, num_classes)),
                    tf.float32)
    exact = np.exp(float(tf.reduce_logsumexp(z)))
    label, ids = tf.constant([5]), tf.constant([[5, 9]])
    spreads = {}
    for name, proposal in (("uniform", None),
                           ("labels", sampled_softmax.Proposal(counts))):
        estimates = []
        for seed in range(300):
            candidates, log_w, positives = sampled_softmax.draw_candidates(
                label, ids, num_classes, 100, tf.constant([seed, 2]),
                proposal)
            hard, _, _ = sampled_softmax.sampled_crossentropies(
                tf.gather(z, candidates, axis=1), log_w, positives, label,
                ids, tf.zeros([1, 2]), tf.zeros([1, 2]), 1.0)
            estimates.append(np.exp(float(hard[0]) + float(z[0, 5])))
        mean, sem = np.mean(estimates), np.std(estimates) / np.sqrt(300)
        assert abs(mean - exact) < 4 * sem, name
        spreads[name] = np.std(estimates)
    assert spreads["labels"] < 0.5 * spreads["uniform"]


def test_proposal_mixes_uniform_and_frequency_and_refuses_bad_counts():
    proposal = sampled_softmax.Proposal([3, 1, 0, 0], uniform_share=0.2)
    np.testing.assert_allclose(np.exp(proposal.log_q.numpy()),
                               [0.05 + 0.6, 0.05 + 0.2, 0.05, 0.05],
                               rtol=1e-6)
    draws, log_q = proposal.draw(20_000, tf.constant([1, 1]))
    shares = np.bincount(draws.numpy(), minlength=4) / 20_000
    np.testing.assert_allclose(shares, [0.65, 0.25, 0.05, 0.05], atol=0.015)
    np.testing.assert_array_equal(log_q, tf.gather(proposal.log_q, draws))
    for counts in ([0, 0], [-1, 2], [[1, 2]]):
        with pytest.raises(ValueError, match="counts must be"):
            sampled_softmax.Proposal(counts)
    with pytest.raises(ValueError, match="uniform_share=0"):
        sampled_softmax.Proposal([1, 2], uniform_share=0)
    with pytest.raises(ValueError, match="proposal over 4 classes"):
        DistillationStudent(_student(), N, sampled_classes=4,
                            proposal=proposal)


@pytest.mark.parametrize("static_shapes", [False, True])
def test_accidental_hits_are_left_out(static_shapes):
    candidates, log_w, positives = sampled_softmax.draw_candidates(
        tf.constant([0, 1]), tf.constant([[0, 2], [1, 3]]), 5, 200,
        tf.constant([3, 4]), static_shapes=static_shapes)
    if static_shapes:  # each positive counted once: its first entry
        assert positives.numpy().tolist() == [0, 0, 1, 1, 2, 3]
        assert log_w.numpy()[:6].tolist() == [0, -np.inf, 0, -np.inf, 0, 0]
    else:
        assert positives.numpy().tolist() == [0, 1, 2, 3]
        assert log_w.numpy()[:4].tolist() == [0, 0, 0, 0]
    negatives = candidates.numpy()[len(positives):]
    log_w = log_w.numpy()[len(positives):]
    hit = negatives < 4
    assert hit.any() and (~hit).any()
    assert np.all(np.isneginf(log_w[hit]))
    np.testing.assert_allclose(log_w[~hit], -np.log(200 / 5))


def test_a_sampled_step_moves_only_the_rows_it_used(rng):
    student = _student()
    model = DistillationStudent(student, N, sampled_classes=4)
    model.compile()  # "adam": LazyAdam with sampled classes
    assert isinstance(model.optimizer, lazy_adam.LazyAdam)
    head = student.get_layer("logits")
    batch = _batch(rng, rows=4, width=2)
    # The gradient of the class rows is sparse.
    with tf.GradientTape() as tape:
        total, _ = model.compute_sampled_losses(
            batch, model._features(batch["features"]), tf.constant([0, 9]))
    assert isinstance(tape.gradient(total, head.vectors), tf.IndexedSlices)
    before = head.vectors.numpy().copy()
    model.train_on_batch(batch)
    candidates, _, _ = sampled_softmax.draw_candidates(
        batch["label"], batch["topk_ids"], N, 4,
        tf.constant([0, 0x5A5]))  # the first step's draw
    used = np.zeros(N, bool)
    used[candidates.numpy()] = True
    assert 0 < used.sum() < N
    after = head.vectors.numpy()
    assert np.array_equal(after[~used], before[~used])  # bit for bit
    assert not np.any(np.all(after[used] == before[used], axis=1))
    index = model.optimizer._get_variable_index(head.vectors)
    for slot in (model.optimizer._momentums[index],
                 model.optimizer._velocities[index]):
        assert not slot.numpy()[~used].any()
        assert np.all(slot.numpy()[used].any(axis=1))


def test_lazy_adam_is_adam_on_dense_gradients():
    values = np.arange(6, dtype="float32").reshape(3, 2)
    results = []
    for optimizer in (keras.optimizers.Adam(0.1), lazy_adam.LazyAdam(0.1)):
        variable = keras.Variable(values)
        for step in range(3):
            optimizer.apply_gradients([(tf.constant(values * (step + 1)),
                                        variable)])
        results.append(variable.numpy())
    np.testing.assert_array_equal(results[0], results[1])


def test_lazy_adam_row_update_is_adam_on_that_row():
    # A row's lazy update equals Adam's on a table of that row alone.
    lazy_table = keras.Variable(np.ones((3, 2), "float32"))
    row = keras.Variable(np.ones((1, 2), "float32"))
    lazy, dense = lazy_adam.LazyAdam(0.05), keras.optimizers.Adam(0.05)
    for step in range(4):
        g = np.array([[0.5, -1.0]], "float32") * (step + 1)
        lazy.apply_gradients([(tf.IndexedSlices(
            tf.constant(g), tf.constant([1]), tf.constant([3, 2])),
            lazy_table)])
        dense.apply_gradients([(tf.constant(g), row)])
    np.testing.assert_allclose(lazy_table.numpy()[1], row.numpy()[0],
                               rtol=1e-5)  # the same formula, reordered
    np.testing.assert_array_equal(lazy_table.numpy()[[0, 2]], 1.0)


def test_lazy_adam_sums_a_row_named_twice():
    # Row 1 named twice (as a sampled step names a class drawn twice) moves
    # as it would with its gradients summed into one entry.
    tables, optimizers = [], []
    for indices, values in (([1, 3, 1], [[0.5, 1.0], [2.0, 2.0], [0.25, -3.0]]),
                            ([1, 3], [[0.75, -2.0], [2.0, 2.0]])):
        table = keras.Variable(np.ones((4, 2), "float32"))
        optimizer = lazy_adam.LazyAdam(0.1)
        for _ in range(3):
            optimizer.apply_gradients([(tf.IndexedSlices(
                tf.constant(values, tf.float32), tf.constant(indices),
                tf.constant([4, 2])), table)])
        tables.append(table.numpy())
        optimizers.append(optimizer)
    np.testing.assert_allclose(tables[0], tables[1], rtol=1e-6)
    assert np.array_equal(tables[0][[0, 2]], np.ones((2, 2)))


def test_a_sampled_step_compiles_with_xla_to_the_same_step(rng):
    # Keras compiles the step with XLA where a GPU is seen (jit_compile=
    # "auto"): the same draws, losses and weights as without it.
    batch = _batch(rng, rows=6)
    runs = []
    for jit in (False, True):
        model = DistillationStudent(
            _student(), N,
            loss=LossConfig(alpha=0.8, beta=0.5, temperature=2.0),
            sampled_classes=8)
        model.compile(jit_compile=jit)
        losses = [model.train_on_batch(batch, return_dict=True)["loss"]
                  for _ in range(3)]
        runs.append((losses, model.student.get_weights()))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sampled_student_needs_class_vectors_and_exports_all_classes():
    plain = keras.Sequential([keras.Input((D,)), keras.layers.Dense(N)])
    with pytest.raises(ValueError, match="needs a student whose last layer "
                       "is a ClassVectors"):
        DistillationStudent(plain, N, sampled_classes=8)
    with pytest.raises(ValueError, match="bucket"):
        DistillationStudent(
            _student(), N, loss=LossConfig(tail="bucket"), sampled_classes=8)
    student = text_models.make_student(["a cat", "a dog"], 3,
                                       class_vectors=True)
    assert isinstance(student.get_layer("logits"),
                      class_vectors.ClassVectors)
    assert student(tf.constant(["a cat"])).shape == (1, 3)


def test_two_replicas_equal_one_device_with_every_class(rng):
    batches = [_batch(rng, rows=4) for _ in range(3)]
    dataset = tf.data.Dataset.from_tensor_slices(
        {k: tf.concat([b[k] for b in batches], 0) for k in batches[0]}
    ).batch(4)
    initial = _student().get_weights()

    class SeenAdam(lazy_adam.LazyAdam):
        """LazyAdam, noting the class rows' gradient type it is given."""
        seen = set()

        def update_step(self, gradient, variable, learning_rate):
            if variable.shape[0] == N:
                self.seen.add(type(gradient).__name__)
            return super().update_step(gradient, variable, learning_rate)

    def train(strategy, sampled):
        SeenAdam.seen = set()
        with strategy.scope():
            student = _student()
            student.set_weights(initial)
            model = DistillationStudent(student, N, sampled_classes=sampled)
            model.compile(optimizer=SeenAdam(0.1))
        history = model.fit(dataset, epochs=2, verbose=0, shuffle=False)
        return history.history["loss"], student.get_weights()

    def mirrored():
        # Reduced on one device, not by collective ops: their instance keys
        # are the process's, and a later test's strategy (test_student)
        # would meet this model's shapes under the same keys.
        return tf.distribute.MirroredStrategy(
            ["/cpu:0", "/cpu:1"],
            cross_device_ops=tf.distribute.ReductionToOneDevice())

    assert len(tf.config.list_logical_devices("CPU")) == 2
    one_loss, one_weights = train(tf.distribute.OneDeviceStrategy("/cpu:0"),
                                  0)
    # The replicas' rows are gathered (each row once per replica: LazyAdam
    # merges them), and the update is the one device's.
    two_loss, two_weights = train(mirrored(), 0)
    assert SeenAdam.seen == {"IndexedSlices"}
    np.testing.assert_allclose(two_loss, one_loss, atol=1e-5)
    for a, b in zip(one_weights, two_weights):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # With drawn negatives it trains on 2 replicas too, still sparse.
    loss, _ = train(mirrored(), 8)
    assert np.all(np.isfinite(loss))
    assert SeenAdam.seen == {"IndexedSlices"}



def _multi_label_batch(rng, rows=6, width=3):
    batch = _batch(rng, rows, width)
    labels = np.full((rows, 2), -1)
    for row in range(0, rows, 2):  # the labeled rows: one or two labels
        labels[row, :1 + row % 2 + (row // 2) % 2] = rng.choice(
            N, 1 + (row // 2) % 2, replace=False)
    batch["labels"] = tf.constant(labels, tf.int64)
    batch["label"] = batch["labels"][:, 0]
    return batch


def test_multi_label_terms_with_every_class_are_the_full_ones(rng):
    from topk_distill.distillation import multilabel_losses

    batch = _multi_label_batch(rng)
    every = DistillationStudent(
        _student(), MultiLabel(N),
        loss=LossConfig(alpha=0.7, beta=0.4, temperature=2.0),
        sampled_classes=0)
    full = DistillationStudent(
        every.student, MultiLabel(N),
        loss=LossConfig(alpha=0.7, beta=0.4, temperature=2.0))
    _assert_same_terms_and_gradients(full, every, batch)
    # its targets: the batch's, as the full step takes them
    labels, ids, soft, pseudo = multilabel_losses.batch_targets(batch, 2.0)
    assert labels.shape == (6, 2) and soft.shape == pseudo.shape == (6, 3)


def test_multi_label_negatives_are_estimated_without_bias(rng):
    # sum_c softplus(z_c) over N = 2,000 classes from 100 uniform draws and
    # 3 positives: the mean of 300 seeds' estimates within 4 standard
    # errors of the exact sum.
    num_classes = 2000
    z = tf.constant(rng.normal(-2, 2, (1, num_classes)), tf.float32)
    labels, ids = tf.constant([[7, -1]]), tf.constant([[7, 11, 1500]])
    exact = float(tf.reduce_sum(tf.nn.softplus(z)))
    estimates = []
    for seed in range(300):
        candidates, log_w, positives = sampled_softmax.draw_candidates(
            labels, ids, num_classes, 100, tf.constant([seed, 3]))
        hard, _, _ = sampled_softmax.sampled_binary_crossentropies(
            tf.gather(z, candidates, axis=1), log_w, positives,
            (labels, ids, tf.zeros([1, 3]), tf.zeros([1, 3])), 1.0,
            num_classes)
        estimates.append(num_classes * float(hard[0]) + float(z[0, 7]))
    mean, sem = np.mean(estimates), np.std(estimates) / np.sqrt(300)
    assert abs(mean - exact) < 4 * sem
    assert np.std(estimates) > 0  # the draws vary: a real estimate


def test_a_multi_label_sampled_step_moves_only_the_rows_it_used(rng):
    student = _student()
    model = DistillationStudent(student, MultiLabel(N), sampled_classes=4)
    model.compile()
    batch = _multi_label_batch(rng, rows=4, width=2)
    before = student.get_layer("logits").vectors.numpy().copy()
    logs = model.train_on_batch(batch, return_dict=True)
    assert np.isfinite(logs["loss"]) and "top1" not in logs
    candidates, _, _ = sampled_softmax.draw_candidates(
        batch["labels"], batch["topk_ids"], N, 4, tf.constant([0, 0x5A5]))
    used = np.zeros(N, bool)
    used[candidates.numpy()] = True
    after = student.get_layer("logits").vectors.numpy()
    assert 0 < used.sum() < N
    assert np.array_equal(after[~used], before[~used])
    assert not np.any(np.all(after[used] == before[used], axis=1))
