"""A multi-label student: sigmoid terms from multi-label record sets."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import write_record_set
from topk_distill.distillation import mixer, multilabel_losses
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.distillation.student import DistillationStudent
from topk_distill.inputs.label_space import MultiLabel
from topk_distill.models import text_models
from topk_distill.records import codec
from topk_distill.records.records import RecordFormatError

N = 6
TEXTS = ["red fruit", "green fruit", "red car", "fast car", "red fast fruit",
         "green car"]
LABELS = [[0, 1], [1], [0, 2], [2, 3], [0, 1, 3], [2]]


def _sets(tmp_path, scores_kind="logits"):
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 2, (len(TEXTS), 3))
    if scores_kind == "probabilities":
        scores = 1 / (1 + np.exp(-scores))
    labeled = write_record_set(
        str(tmp_path / "lab"), TEXTS, LABELS,
        [[row[0], (row[0] + 1) % N, (row[0] + 2) % N] for row in LABELS], scores.tolist(),
        N, scores_kind=scores_kind)
    unlabeled = write_record_set(
        str(tmp_path / "unl"), ["red", "car"], [[], []], [[0, 1], [2, -1]],
        [[0.9, 0.6], [0.8, 0.0]], N, scores_kind="probabilities")
    return labeled, unlabeled


def test_a_multi_label_student_learns_its_labels(tmp_path):
    labeled, unlabeled = _sets(tmp_path)
    data = mixer.make_distillation_dataset(labeled, unlabeled, batch_size=4,
                                           unlabeled_per_labeled=0.5, seed=0)
    batch = next(iter(data))
    assert batch["labels"].shape[1] == 3 and "label" in batch
    keras.utils.set_random_seed(0)
    student = text_models.make_student(tf.constant(TEXTS), N,
                                       embedding_dim=16)
    model = DistillationStudent(
        student, MultiLabel(N),
        loss=LossConfig(alpha=0.9, beta=0.5, temperature=2.0))
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(data, epochs=30, verbose=0)
    assert sorted(history.history) == ["hard_loss", "loss", "pseudo_loss",
                                       "soft_loss", "top1"]
    losses = history.history["hard_loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["top1"][-1] == 1.0  # best class always a label
    probabilities = tf.sigmoid(student(tf.constant(["red fast fruit"])))[0]
    assert set(np.flatnonzero(probabilities.numpy() > 0.5)) == {0, 1, 3}


def test_batches_and_students_of_other_kinds_are_refused(tmp_path):
    labeled, unlabeled = _sets(tmp_path)
    single = write_record_set(str(tmp_path / "single"), ["a"], [-1], [[1]],
                              [[0.9]], N, scores_kind="probabilities")
    with pytest.raises(RecordFormatError, match=r"single-\*: single-label "
                       r"records; the labeled set .*lab-\* is multi-label"):
        mixer.make_distillation_dataset(labeled, single)
    student = text_models.make_student(tf.constant(TEXTS), N)
    batch = next(iter(mixer.make_distillation_dataset(labeled)))
    with pytest.raises(ValueError, match="a batch of multi-label examples "
                       r"for a single-label student \(SingleLabel\(6\)\)"):
        DistillationStudent(student, N).compute_losses(
            batch, student(batch["text"]))
    with pytest.raises(ValueError, match="no tail='bucket'"):
        DistillationStudent(
            student, MultiLabel(N), loss=LossConfig(tail="bucket"))


def test_stored_sigmoid_probabilities_read_as_their_logits(tmp_path):
    labeled, _ = _sets(tmp_path, "probabilities")
    batch = next(iter(mixer.make_distillation_dataset(labeled, shuffle=False,
                                                      batch_size=6)))
    rng = np.random.default_rng(0)
    expected = rng.normal(0, 2, (len(TEXTS), 3))  # the logits written
    np.testing.assert_allclose(batch["topk_logits"].numpy(), expected,
                               rtol=1e-4, atol=1e-4)
    p = codec.as_logits(tf.constant([0.5, 0.0, 1.0]), "probabilities",
                        "sigmoid").numpy()
    assert p[0] == 0.0 and np.isfinite(p).all() and p[1] < -80 < 80 < p[2]


def test_soft_and_pseudo_targets_of_a_batch():
    batch = {"labels": tf.constant([[1, -1], [-1, -1]]),
             "topk_ids": tf.constant([[1, 2], [0, -1]]),
             "topk_logits": tf.constant([[0.0, 2.0], [4.0, 0.0]])}
    logits = tf.zeros([2, 3])
    hard, soft, pseudo = multilabel_losses.batch_crossentropies(
        batch, logits, 2.0)
    # Row 0 (labeled): soft targets sigmoid(0/2), sigmoid(2/2); row 1
    # (unlabeled): pseudo target sigmoid(4) on class 0; at s = 0 every
    # class's BCE is log 2 whatever its target.
    np.testing.assert_allclose(soft, [np.log(2), np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(pseudo, [np.log(2), np.log(2)], rtol=1e-6)
    # s_2 = 2 toward row 0's soft target sigmoid(1) on class 2: its BCE
    # there, softplus(1) - sigmoid(1), is below log 2; row 1 unchanged.
    logits = tf.constant([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    _, soft, pseudo = multilabel_losses.batch_crossentropies(
        batch, logits, 2.0)
    sig = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(
        soft[0], (2 * np.log(2) + np.log1p(np.e) - sig) / 3, rtol=1e-6)
    assert float(pseudo[1]) == pytest.approx(np.log(2))
