"""Evaluate a classifier: accuracy at k and speed, from its answers.

Works on any exported SavedModel (teacher or student alike): accuracy comes
from its `probabilities` signature, speed from its `serving_default`
(Predict) signature, the one a server calls.
"""

import time

import numpy as np

from topk_distill.distillation import multilabel_metrics
from topk_distill.inputs import labels_file
from topk_distill.models import saved_model
from topk_distill.serving import classification


def precision_at_k(top_ids, labels, k):
    """Fraction of examples whose true label is among their first k answers.

    For single-label data this is top-k accuracy; P@1 is accuracy.

    Args:
        top_ids: int [M, n >= k], answers best first.
        labels: int [M] true class ids.
        k: how many answers count.

    Returns:
        A float in [0, 1].

    Example:
    >>> precision_at_k(np.array([[2, 0], [1, 2]]), np.array([0, 1]), k=1)
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

    Example:
    >>> import numpy as np
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


def throughput(predict_fn, texts, batch_size=256, batches=20):
    """Examples per second at `batch_size`, over up to `batches` batches."""
    batch = [texts[i % len(texts)] for i in range(batch_size)]
    saved_model.call(predict_fn, batch)
    start = time.perf_counter()
    for _ in range(batches):
        saved_model.call(predict_fn, batch)
    return batch_size * batches / (time.perf_counter() - start)


def accuracy(answers, labels):
    """P@1, P@3, P@5 and macro P@1 of answers int [M, >=5] (best first)."""
    return {"p@1": precision_at_k(answers, labels, 1),
            "p@3": precision_at_k(answers, labels, 3),
            "p@5": precision_at_k(answers, labels, 5),
            "macro_p@1": macro_precision_at_1(answers, labels)}


def speed(path, texts, latency_repeats=200, throughput_batches=20):
    """Latency p50/p99 (ms, batch 1), throughput (batch 256), size on disk."""
    predict = saved_model.load_saved_model(path).signatures["serving_default"]
    p50, p99 = saved_model.latency_ms(predict, texts, latency_repeats)
    return {"latency_p50_ms": p50, "latency_p99_ms": p99,
            "throughput_per_s": throughput(predict, texts,
                                           batches=throughput_batches),
            "size_bytes": saved_model.saved_model_size(path)}


def evaluate(path, texts, labels, latency_repeats=200, throughput_batches=20,
             input_kind=None):
    """Accuracy and speed of an exported SavedModel on a labeled test set.

    Args:
        path: a SavedModel written by `export_saved_model`.
        texts: test inputs: texts (str or bytes), image bytes or feature
            vectors, as the export takes them.
        labels: their true class ids.
        latency_repeats: single-example calls timed.
        throughput_batches: batches of 256 timed.
        input_kind: what the test examples are (`inputs.describe`); if
            given, an export taking another kind is refused.

    Returns:
        A dict: `examples`, `p@1`, `p@3`, `p@5`, `macro_p@1`,
        `latency_p50_ms`, `latency_p99_ms`, `throughput_per_s` (batch 256),
        `size_bytes` (the SavedModel on disk). For a multi-label export
        (`labels` then tuples of class ids), `p@k`, `ndcg@k` and
        `recall@k` (k = 1, 3, 5), `micro_f1` and `macro_f1` at its
        threshold (`multilabel_metrics.multilabel_report`) instead of the
        P@k and macro P@1.

    Example:

    ```python
    evaluate("export/student", texts, labels)["p@1"]  # e.g. 0.374
    ```
    """
    served = saved_model.load_saved_model(path)
    if input_kind:
        check_kind(path, served, input_kind)
    threshold = saved_model.multi_label_threshold(path)
    num_classes = _num_classes(served)
    if threshold is None:
        answers = classification.top_ids(served.signatures["probabilities"],
                                         texts, k=min(5, num_classes))
        scores = accuracy(answers, np.asarray(labels))
    else:
        # The answers the threshold was chosen on (training's)
        answers, probabilities = classification.top_ids(
            served.signatures["probabilities"], texts,
            k=min(multilabel_metrics.ANSWERS, num_classes),
            with_probabilities=True)
        scores = multilabel_metrics.multilabel_report(
            answers, probabilities, labels_file.padded(labels),
            threshold, num_classes)
    return dict(scores, examples=len(texts),
                **speed(path, texts, latency_repeats, throughput_batches))


def check_kind(path, served, found):
    """Refuses test inputs of another kind (`input_kinds`) than the export
    takes (images for a text model, texts for an image model...).

    Raises:
        ValueError: naming the export and both kinds.
    """
    _, takes, _ = saved_model.signature_input(
        served.signatures["probabilities"])
    if found != takes:
        raise ValueError(f"{path} takes {takes} inputs, but the test "
                         f"examples are {found}; expected a test input "
                         f"of {takes}")


def _num_classes(served):
    return served.signatures["probabilities"].structured_outputs[
        "probabilities"].shape[-1]


def format_table(rows, multi_label=False):
    """Formats `(name, evaluate() result)` rows as a text table; a figure a
    row lacks shows as n/a (`multi_label`: the multi-label columns).

    Example:
    >>> table = format_table([("student", {"p@1": 0.5, "size_bytes": 2e6})])
    >>> print(table.splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
    model  P@1  P@3  P@5  mP@1  p50 ms  p99 ms  ex/s@256  MB
    >>> print(table.splitlines()[2])  # doctest: +NORMALIZE_WHITESPACE
    student  0.500  n/a  n/a  n/a  n/a  n/a  n/a  2.00
    """
    columns = [("P@1", "p@1", 6, ".3f", 1), ("P@3", "p@3", 6, ".3f", 1),
               ("P@5", "p@5", 6, ".3f", 1)] + ([
                   ("nDCG@5", "ndcg@5", 7, ".3f", 1),
                   ("miF1", "micro_f1", 6, ".3f", 1),
                   ("maF1", "macro_f1", 6, ".3f", 1)] if multi_label else [
                   ("mP@1", "macro_p@1", 6, ".3f", 1)]) + [
               ("p50 ms", "latency_p50_ms", 7, ".2f", 1),
               ("p99 ms", "latency_p99_ms", 7, ".2f", 1),
               ("ex/s@256", "throughput_per_s", 9, ".0f", 1),
               ("MB", "size_bytes", 8, ".2f", 1e-6)]
    header = f"{'model':<28}" + "".join(f" {title:>{width}}" for title, _,
                                        width, _, _ in columns)
    lines = [header, "-" * len(header)]
    for name, result in rows:
        cells = [f"{result[key] * scale:{width}{form}}" if key in result else
                 f"{'n/a':>{width}}" for _, key, width, form, scale in columns]
        lines.append(f"{name[-28:]:<28} " + " ".join(cells))
    return "\n".join(lines)
