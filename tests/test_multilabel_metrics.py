"""Multi-label metrics against their definitions, computed the slow way."""

import numpy as np

from topk_distill.distillation import multilabel_metrics as metrics

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


def test_best_threshold_is_the_best_of_its_candidates(rng):
    top_ids, top_p, labels, _, _ = _data(rng)
    candidates = np.linspace(0.1, 0.9, 9)
    threshold, best = metrics.best_threshold(top_ids, top_p, labels, N,
                                             candidates)
    scores = [metrics.f1_scores(top_ids, top_p, labels, t, N)[0]
              for t in candidates]
    assert best == max(scores) and threshold in candidates
    assert scores[list(candidates).index(threshold)] == best
    report = metrics.multilabel_report(top_ids, top_p, labels, threshold, N,
                                       ks=(1, 5, 50))
    assert sorted(report) == sorted(
        ["p@1", "ndcg@1", "recall@1", "p@5", "ndcg@5", "recall@5",
         "micro_f1", "macro_f1", "threshold"])  # no @50: 12 answers served
    assert report["micro_f1"] == best
