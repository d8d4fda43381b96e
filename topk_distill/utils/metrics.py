"""Metrics of a classifier's ranked answers against true labels.

Every function takes the answers as a model serves them (ids best first,
with their probabilities), never a dense [M, N] matrix, so they hold at
any N.

Single-label (true labels int [M]): top-k accuracy, macro P@1 and the
expected calibration error of the top answer.

Several labels per example (true labels int [M, L], -1 padding a row with
fewer: `MultiLabel.label_array`): the extreme-classification ones (Bhatia et
al., the Extreme Classification Repository), P@k (the share of true
labels among the first k answers), nDCG@k and recall@k; and the
thresholded ones, micro- and macro-F1 of the classes whose probability
reaches a threshold chosen on validation data (`best_threshold`).
Training picks its threshold with them, `evaluate` reports them.
"""

import numpy as np

def top_k_accuracy(top_ids, labels, k):
    """Top-k accuracy: the share of examples whose true label is among
    their first k answers (single-label; at k=1 it equals P@1).

    Args:
        top_ids: int [M, n >= k], answers best first.
        labels: int [M] true class ids.
        k: how many answers count.

    Returns:
        A float in [0, 1].

    Examples:
        >>> top_k_accuracy(np.array([[2, 0], [1, 2]]), np.array([0, 1]), k=1)
        0.5
    """
    return float(np.mean(np.any(top_ids[:, :k] == labels[:, None], axis=1)))


def expected_calibration_error(probabilities, labels, bins=15):
    """Expected calibration error of the top answer's probability.

    Examples are binned by their top probability (`bins` equal-width bins
    over [0, 1]); ECE is the examples-weighted mean, over bins, of
    |accuracy - mean confidence|.

    Args:
        probabilities: float [M, N].
        labels: int [M] true class ids.
        bins: how many bins.

    Returns:
        A float in [0, 1].

    Examples:
        >>> probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4]])
        >>> round(expected_calibration_error(probabilities, np.array([0, 1, 0])),
        ...       4)  # bin 0.9: |0.5 - 0.9| * 2/3; bin 0.6: |1 - 0.6| * 1/3
        0.4
    """
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        inside = which == b
        total += inside.sum() * abs(correct[inside].mean() -
                                    confidence[inside].mean())
    return float(total / len(confidence))


def macro_precision_at_1(top_ids, labels):
    """P@1 computed per true class, then averaged over the classes present."""
    hits = top_ids[:, 0] == labels
    return float(np.mean([hits[labels == c].mean() for c in np.unique(labels)]))

# How many of each example's best answers the thresholded metrics see:
# training chooses its threshold on them, `evaluate` measures at it on them.
ANSWERS = 20


def _hits(top_ids, labels, k):
    """bool [M, k]: whether each of the first k answers is a true label."""
    top = np.asarray(top_ids)[:, :k]
    labels = np.asarray(labels)
    return np.any((top[:, :, None] == labels[:, None, :]) &
                  (labels[:, None, :] >= 0), axis=2)


def _counts(labels):
    return np.sum(np.asarray(labels) >= 0, axis=1)


def precision_at_k(top_ids, labels, k):
    """P@k: the mean share of true labels among each example's first k.

    Args:
        top_ids: int [M, n >= k], answers best first.
        labels: int [M, L] true classes (-1 = padding).
        k: how many answers count.

    Returns:
        A float in [0, 1].

    Examples:
        >>> precision_at_k(np.array([[2, 0, 5], [1, 2, 3]]),
        ...                np.array([[0, 2], [4, -1]]), k=2)
        0.5
    """
    return float(np.mean(np.sum(_hits(top_ids, labels, k), axis=1) / k))


def recall_at_k(top_ids, labels, k):
    """recall@k: the mean share of each example's true labels in its first
    k answers.

    Examples:
        >>> recall_at_k(np.array([[2, 0, 5], [1, 2, 3]]),
        ...             np.array([[0, 2], [3, -1]]), k=2)
        0.5
    """
    counts = np.maximum(_counts(labels), 1)
    return float(np.mean(np.sum(_hits(top_ids, labels, k), axis=1) / counts))


def ndcg_at_k(top_ids, labels, k):
    """nDCG@k: each example's discounted hits in its first k answers
    (1 / log2(rank + 1)), over the best its label count allows.

    Examples:
        >>> round(ndcg_at_k(np.array([[5, 0]]), np.array([[0, -1]]), k=2), 4)
        0.6309
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = _hits(top_ids, labels, k) @ discounts
    ideal = np.cumsum(discounts)[np.clip(_counts(labels), 1, k) - 1]
    return float(np.mean(gains / ideal))


def f1_scores(top_ids, probabilities, labels, threshold, num_classes):
    """Micro- and macro-F1 of the answers whose probability reaches
    `threshold`.

    The answers outside each example's served top-n count as below it
    (exact when the n-th probability is below the threshold).

    Args:
        top_ids: int [M, n] answers best first.
        probabilities: float [M, n] their probabilities.
        labels: int [M, L] true classes (-1 = padding).
        threshold: a probability.
        num_classes: N (macro-F1 averages over the classes that are a
            true label or an answer at least once).

    Returns:
        `(micro_f1, macro_f1)`.

    Examples:
        >>> f1_scores(np.array([[0, 1], [1, 0]]), np.array([[0.9, 0.6],
        ...           [0.8, 0.1]]), np.array([[0, -1], [1, 0]]), 0.5, 3)
        (0.6666666666666666, 0.6666666666666666)

        (2 of 3 answers above 0.5 are right, 2 of 3 labels are found.)
    """
    top_ids = np.asarray(top_ids)
    chosen = np.asarray(probabilities) >= threshold
    hits = _hits(top_ids, labels, top_ids.shape[1]) & chosen
    true_positive = np.bincount(top_ids[hits], minlength=num_classes)
    predicted = np.bincount(top_ids[chosen], minlength=num_classes)
    labels = np.asarray(labels)
    actual = np.bincount(labels[labels >= 0], minlength=num_classes)
    micro = 2 * true_positive.sum() / max(predicted.sum() + actual.sum(), 1)
    seen = (predicted + actual) > 0
    macro = np.mean(2 * true_positive[seen] / (predicted + actual)[seen]) \
        if seen.any() else 0.0
    return float(micro), float(macro)


def best_threshold(top_ids, probabilities, labels, num_classes,
                   candidates=np.linspace(0.05, 0.95, 19)):
    """The threshold of best micro-F1 on (validation) answers.

    Args:
        top_ids: as `f1_scores`.
        probabilities: as `f1_scores`.
        labels: as `f1_scores`.
        num_classes: as `f1_scores`.
        candidates: the thresholds tried.

    Returns:
        `(threshold, micro_f1 there)`; ties go to the lowest threshold.

    Examples:
        >>> best_threshold(np.array([[0, 1]]), np.array([[0.9, 0.4]]),
        ...                np.array([[0, 1]]), 2, candidates=[0.3, 0.5])
        (0.3, 1.0)
    """
    scores = [f1_scores(top_ids, probabilities, labels, t, num_classes)[0]
              for t in candidates]
    best = int(np.argmax(scores))
    return float(candidates[best]), scores[best]


def multilabel_report(top_ids, probabilities, labels, threshold,
                      num_classes, ks=(1, 3, 5)):
    """Every metric above, as a dict: `p@k`, `ndcg@k`, `recall@k` for each
    k in `ks` (at most the answers served), `micro_f1`, `macro_f1` and the
    `threshold` they were measured at."""
    report = {}
    for k in ks:
        if k <= np.shape(top_ids)[1]:
            report[f"p@{k}"] = precision_at_k(top_ids, labels, k)
            report[f"ndcg@{k}"] = ndcg_at_k(top_ids, labels, k)
            report[f"recall@{k}"] = recall_at_k(top_ids, labels, k)
    report["micro_f1"], report["macro_f1"] = f1_scores(
        top_ids, probabilities, labels, threshold, num_classes)
    report["threshold"] = float(threshold)
    return report
