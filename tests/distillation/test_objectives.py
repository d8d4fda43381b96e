"""The objectives: each label space's terms against numpy, and the
metrics each logs."""

import numpy as np
import pytest

from topk_distill.distillation import objectives
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs.label_space import MultiLabel, SingleLabel


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _softmax(z):
    return np.exp(_log_softmax(z))


def test_single_label_terms_match_numpy():
    loss = LossConfig(alpha=0.8, beta=0.4, temperature=2.0)
    objective = objectives.objective_for(SingleLabel(4), loss)
    logits = np.array([[1.0, 2.0, 0.0, -1.0], [0.5, 0.0, 3.0, 1.0]])
    batch = {"label": np.array([1, -1]),
             "topk_ids": np.array([[1, 3], [2, 0]]),
             "topk_logits": np.array([[2.0, 0.0], [1.0, 0.0]], "float32")}
    total, terms = objective.weighted(
        batch, *objective.row_terms(batch, logits.astype("float32")))
    # row 0 labeled: CE(1) and the soft term at T=2 on ids 1, 3
    hard = -_log_softmax(logits[0])[1] / 2
    teacher = _softmax(np.array([2.0, 0.0]) / 2)
    soft = -(teacher * _log_softmax(logits[0] / 2)[[1, 3]]).sum() / 2 / 2
    # row 1 unlabeled: the pseudo term on ids 2, 0 (at T=1)
    pseudo = -(_softmax(np.array([1.0, 0.0])) *
               _log_softmax(logits[1])[[2, 0]]).sum() / 2
    np.testing.assert_allclose(
        [terms["hard_loss"], terms["soft_loss"], terms["pseudo_loss"]],
        [hard, soft, pseudo], rtol=1e-5)
    np.testing.assert_allclose(total, 0.8 * hard + 0.2 * soft + 0.4 * pseudo,
                               rtol=1e-5)


def test_multi_label_terms_match_numpy():
    objective = objectives.objective_for(MultiLabel(3),
                                         LossConfig(temperature=1.0))
    logits = np.array([[2.0, -1.0, 0.5]], "float32")
    batch = {"label": np.array([0]), "labels": np.array([[0, 2]])}
    hard, _, _ = objective.row_terms(batch, logits)
    y = np.array([1.0, 0.0, 1.0])
    p = 1 / (1 + np.exp(-logits[0].astype(float)))
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(hard, [expected], rtol=1e-5)


def test_each_space_has_its_metrics_and_refuses_the_other_kind():
    single = objectives.objective_for(SingleLabel(3), LossConfig())
    multi = objectives.objective_for(MultiLabel(3), LossConfig())
    assert [m.name for m in single.metrics()] == ["top1", "top5"]
    assert [m.name for m in multi.metrics()] == ["top1"]
    metrics = multi.metrics()
    multi.update_metrics(metrics, {"label": np.array([2, 0, -1]),
                                   "labels": np.array([[2, -1], [1, -1],
                                                       [-1, -1]])},
                         np.array([[0.0, 1.0, 3.0], [5.0, 1.0, 0.0],
                                   [9.0, 0.0, 0.0]], "float32"))
    assert float(metrics[0].result()) == 0.5  # the unlabeled row weighs 0
    with pytest.raises(ValueError, match="a batch of single-label examples "
                       r"for a multi-label student \(MultiLabel\(3"):
        multi.check({"label": np.array([1])})
    with pytest.raises(ValueError, match="no tail='bucket'"):
        objectives.objective_for(MultiLabel(3), LossConfig(tail="bucket"))
