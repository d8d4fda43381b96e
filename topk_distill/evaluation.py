"""Evaluate a classifier: accuracy at k and speed, from its answers.

Works on any exported SavedModel (teacher or student alike): accuracy comes
from its `probabilities` signature, speed from its `serving_default`
(Predict) signature, the one a server calls.
"""

import statistics
import time

import numpy as np
import tensorflow as tf

from topk_distill import export


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


def macro_precision_at_1(top_ids, labels):
    """P@1 computed per true class, then averaged over the classes present."""
    hits = top_ids[:, 0] == labels
    return float(np.mean([hits[labels == c].mean() for c in np.unique(labels)]))


def top_ids(probabilities_fn, texts, k, batch_size=256):
    """Runs `probabilities_fn` over texts in batches; returns int [M, k]."""
    answers = []
    for start in range(0, len(texts), batch_size):
        probabilities = probabilities_fn(tf.constant(
            texts[start:start + batch_size]))["probabilities"].numpy()
        best = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(probabilities, best, 1),
                           axis=1, kind="stable")
        answers.append(np.take_along_axis(best, order, 1))
    return np.concatenate(answers)


def latency_ms(predict_fn, texts, repeats=200):
    """p50 and p99 latency, in ms, of single-example calls."""
    predict_fn(text=tf.constant(texts[:1]))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        predict_fn(text=tf.constant([texts[i % len(texts)]]))
        times.append((time.perf_counter() - start) * 1e3)
    quantiles = statistics.quantiles(times, n=100)
    return quantiles[49], quantiles[98]


def throughput(predict_fn, texts, batch_size=256, batches=20):
    """Examples per second at `batch_size`, over up to `batches` batches."""
    batch = [texts[i % len(texts)] for i in range(batch_size)]
    predict_fn(text=tf.constant(batch))
    start = time.perf_counter()
    for _ in range(batches):
        predict_fn(text=tf.constant(batch))
    return batch_size * batches / (time.perf_counter() - start)


def accuracy(answers, labels):
    """P@1, P@3, P@5 and macro P@1 of answers int [M, >=5] (best first)."""
    return {"p@1": precision_at_k(answers, labels, 1),
            "p@3": precision_at_k(answers, labels, 3),
            "p@5": precision_at_k(answers, labels, 5),
            "macro_p@1": macro_precision_at_1(answers, labels)}


def speed(path, texts, latency_repeats=200, throughput_batches=20):
    """Latency p50/p99 (ms, batch 1), throughput (batch 256), size on disk."""
    predict = tf.saved_model.load(path).signatures["serving_default"]
    p50, p99 = latency_ms(predict, texts, latency_repeats)
    return {"latency_p50_ms": p50, "latency_p99_ms": p99,
            "throughput_per_s": throughput(predict, texts,
                                           batches=throughput_batches),
            "size_bytes": export.saved_model_size(path)}


def evaluate(path, texts, labels, latency_repeats=200, throughput_batches=20):
    """Accuracy and speed of an exported SavedModel on a labeled test set.

    Args:
        path: a SavedModel written by `export_saved_model`.
        texts: test texts (str or bytes).
        labels: their true class ids.
        latency_repeats: single-example calls timed.
        throughput_batches: batches of 256 timed.

    Returns:
        A dict: `examples`, `p@1`, `p@3`, `p@5`, `macro_p@1`,
        `latency_p50_ms`, `latency_p99_ms`, `throughput_per_s` (batch 256),
        `size_bytes` (the SavedModel on disk).

    Example:
    >>> evaluate("export/student", texts, labels)["p@1"]
    """
    served = tf.saved_model.load(path)
    answers = top_ids(served.signatures["probabilities"], texts,
                      k=min(5, _num_classes(served)))
    return dict(accuracy(answers, np.asarray(labels)), examples=len(texts),
                **speed(path, texts, latency_repeats, throughput_batches))


def _num_classes(served):
    return served.signatures["probabilities"].structured_outputs[
        "probabilities"].shape[-1]
