"""The metrics of ranked answers against their definitions, computed the
slow way or by hand."""

import numpy as np
import pytest

from topk_distill.utils import metrics

M, N = 40, 12


def _data(rng):
    probabilities = rng.uniform(0, 1, (M, N))
    order = np.argsort(-probabilities, axis=1)
    labels = np.full((M, 4), -1)
    sets = []
    for row in range(M):
        chosen = rng.choice(N, rng.integers(1, 5), replace=False)
        labels[row, :len(chosen)] = chosen
        sets.append(set(chosen.tolist()))
    return (order, np.take_along_axis(probabilities, order, 1), labels,
            sets, probabilities)


def test_ranking_metrics_follow_their_definitions(rng):
    top_ids, _, labels, sets, _ = _data(rng)
    for k in (1, 3, 5):
        p, r, ndcg = [], [], []
        for row, truth in enumerate(sets):
            top = top_ids[row, :k].tolist()
            hits = [c in truth for c in top]
            p.append(sum(hits) / k)
            r.append(sum(hits) / len(truth))
            dcg = sum(h / np.log2(i + 2) for i, h in enumerate(hits))
            ideal = sum(1 / np.log2(i + 2) for i in range(min(k, len(truth))))
            ndcg.append(dcg / ideal)
        assert np.isclose(metrics.precision_at_k(top_ids, labels, k),
                          np.mean(p))
        assert np.isclose(metrics.recall_at_k(top_ids, labels, k), np.mean(r))
        assert np.isclose(metrics.ndcg_at_k(top_ids, labels, k),
                          np.mean(ndcg))


def test_f1_scores_equal_those_of_dense_predictions(rng):
    top_ids, top_p, labels, sets, dense = _data(rng)
    truth = np.zeros((M, N), bool)
    for row, chosen in enumerate(sets):
        truth[row, list(chosen)] = True
    for threshold in (0.3, 0.5, 0.8):
        predicted = dense >= threshold
        tp = (predicted & truth).sum(0)
        micro = 2 * tp.sum() / (predicted.sum() + truth.sum())
        seen = (predicted.sum(0) + truth.sum(0)) > 0
        macro = np.mean(2 * tp[seen] /
                        (predicted.sum(0) + truth.sum(0))[seen])
        ours = metrics.f1_scores(top_ids, top_p, labels, threshold, N)
        np.testing.assert_allclose(ours, (micro, macro))
        # Served top-5 only: answers below the 5th count as not chosen.
        cut = metrics.f1_scores(top_ids[:, :5], top_p[:, :5], labels,
                                threshold, N)
        kept = predicted & (dense >= np.sort(dense, 1)[:, -5:-4])
        tp = (kept & truth).sum()
        assert np.isclose(cut[0], 2 * tp / (kept.sum() + truth.sum()))


def _micro_f1(top_ids, top_p, sets, threshold):
    """Micro-F1 counted answer by answer, from the label sets."""
    tp = predicted = 0
    for row, truth in enumerate(sets):
        for answer, p in zip(top_ids[row], top_p[row]):
            if p >= threshold:
                predicted += 1
                tp += int(answer) in truth
    return 2 * tp / (predicted + sum(map(len, sets)))


def test_best_threshold_is_the_best_of_its_candidates(rng):
    top_ids, top_p, labels, sets, _ = _data(rng)
    candidates = np.linspace(0.1, 0.9, 9)
    threshold, best = metrics.best_threshold(top_ids, top_p, labels, N,
                                             candidates)
    scores = [_micro_f1(top_ids, top_p, sets, t) for t in candidates]
    assert best == pytest.approx(max(scores)) and threshold in candidates
    first_best = np.flatnonzero(np.isclose(scores, max(scores)))[0]
    assert threshold == candidates[first_best]  # ties: the lowest
    report = metrics.multilabel_report(top_ids, top_p, labels, threshold, N,
                                       ks=(1, 5, 50))
    assert sorted(report) == sorted(
        ["p@1", "ndcg@1", "recall@1", "p@5", "ndcg@5", "recall@5",
         "micro_f1", "macro_f1", "threshold"])  # no @50: 12 answers served
    assert report["micro_f1"] == best


def test_top_k_accuracy_by_hand():
    # 6 classes, answers best first; the true class is 1st, 2nd, 3rd, 4th,
    # 6th, or 1st.
    answers = np.array([[0, 1, 2, 3, 4, 5], [5, 1, 0, 2, 3, 4],
                        [4, 3, 2, 1, 0, 5], [1, 2, 0, 3, 4, 5],
                        [0, 1, 2, 3, 5, 4], [3, 0, 1, 2, 4, 5]])
    labels = np.array([0, 1, 2, 3, 4, 3])
    got = [metrics.top_k_accuracy(answers, labels, k) for k in (1, 2, 3, 5)]
    assert got == [2 / 6, 3 / 6, 4 / 6, 5 / 6]
    # Per class: 0: 1/1, 1: 0/1, 2: 0/1, 3: 1/2, 4: 0/1.
    assert metrics.macro_precision_at_1(answers, labels) == pytest.approx(
        (1 + 0 + 0 + 0.5 + 0) / 5)


def test_expected_calibration_error_by_hand():
    # Two bins used: [0.8, 0.867) holds 0.8 and 0.85 (1 of 2 right), the
    # last holds 0.95 and 0.99 (2 of 2 right).
    probabilities = np.array([[0.8, 0.2], [0.15, 0.85], [0.95, 0.05],
                              [0.01, 0.99]])
    labels = np.array([0, 0, 0, 1])
    want = (2 * abs(0.5 - 0.825) + 2 * abs(1.0 - 0.97)) / 4
    assert metrics.expected_calibration_error(
        probabilities, labels, bins=15) == pytest.approx(want)
    assert metrics.expected_calibration_error(
        np.eye(3), np.arange(3)) == 0.0
