"""Evaluate a classifier: accuracy at k and speed, from its answers.

Works on any exported SavedModel (teacher or student alike): accuracy comes
from its `probabilities` signature, speed from its `serving_default`
(Predict) signature, the one a server calls.
"""

import time


from topk_distill.inputs.label_space import SingleLabel
from topk_distill.models import saved_model
from topk_distill.serving import classification


def throughput(predict_fn, texts, batch_size=256, batches=20):
    """Examples per second at `batch_size`, over up to `batches` batches."""
    batch = [texts[i % len(texts)] for i in range(batch_size)]
    saved_model.call(predict_fn, batch)
    start = time.perf_counter()
    for _ in range(batches):
        saved_model.call(predict_fn, batch)
    return batch_size * batches / (time.perf_counter() - start)


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
        threshold (`metrics.multilabel_report`) instead of the
        P@k and macro P@1.

    Examples:

        ```python
        evaluate("export/student", texts, labels)["p@1"]  # e.g. 0.374
        ```
    """
    served = saved_model.load_saved_model(path)
    if input_kind:
        check_kind(path, served, input_kind)
    num_classes = _num_classes(served)
    space = saved_model.saved_label_space(path, num_classes)
    answers, probabilities = classification.top_ids(
        served.signatures["probabilities"], texts,
        k=space.answers(), with_probabilities=True)
    scores = space.report(answers, probabilities, labels)
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


# The columns each kind of label adds to `format_table`.
_REPORT_COLUMNS = {"single": [("mP@1", "macro_p@1", 6, ".3f", 1)],
                   "multi": [("nDCG@5", "ndcg@5", 7, ".3f", 1),
                             ("miF1", "micro_f1", 6, ".3f", 1),
                             ("maF1", "macro_f1", 6, ".3f", 1)]}


def format_table(rows, label_space=None):
    """Formats `(name, evaluate() result)` rows as a text table; a figure a
    row lacks shows as n/a (the columns of `label_space`'s report: default
    single-label).

    Examples:
        >>> table = format_table([("student", {"p@1": 0.5, "size_bytes": 2e6})])
        >>> print(table.splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
        model  P@1  P@3  P@5  mP@1  p50 ms  p99 ms  ex/s@256  MB
        >>> print(table.splitlines()[2])  # doctest: +NORMALIZE_WHITESPACE
        student  0.500  n/a  n/a  n/a  n/a  n/a  n/a  2.00
    """
    kind = (label_space or SingleLabel()).kind
    columns = [("P@1", "p@1", 6, ".3f", 1), ("P@3", "p@3", 6, ".3f", 1),
               ("P@5", "p@5", 6, ".3f", 1)] + _REPORT_COLUMNS[kind] + [
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
