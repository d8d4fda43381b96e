"""Classify inputs with a loaded SavedModel: the top-n labels of its class
probabilities (the method's classification step)."""

import numpy as np

from topk_distill.models import saved_model


def classify(model, texts, top_n=None, batch_size=256):
    """Answers the top-n labels and probabilities of each input.

    Args:
        model: an exported SavedModel (a path or a loaded one).
        texts: str or bytes texts, or what the export takes instead
            (image bytes, feature vectors).
        top_n: labels per text (default: as many as the export answers;
            a multi-label export's: those at or above its threshold).
        batch_size: texts per call.

    Returns:
        A list with one `(labels, scores)` pair per text: class names and
        their probabilities, best first.

    Raises:
        ValueError: `top_n` exceeds what the export answers.

    Examples:

        ```python
        classify("export/student", ["a river in Europe"], top_n=2)
        # [(['river.n.01', 'stream.n.01'], [0.41, 0.12])]
        ```
    """
    served = (saved_model.load_saved_model(model) if isinstance(model, str)
              else model)
    predict = served.signatures["serving_default"]
    answered = predict.structured_outputs["top_labels"].shape[-1]
    if top_n is not None and answered is not None and top_n > answered:
        where = model if isinstance(model, str) else getattr(
            model, "export_path", "the export")
        classes = _num_classes(served)
        if classes is not None and answered >= classes:
            raise ValueError(f"top_n={top_n}, but {where} has {classes} "
                             f"classes; expected top_n <= {classes}")
        raise ValueError(f"top_n={top_n}, but {where} answers {answered} "
                         "labels; export again with a larger --top_n")
    answers = []
    for start in range(0, len(texts), batch_size):
        out = saved_model.call(predict, texts[start:start + batch_size])
        labels = out["top_labels"].numpy()[:, :top_n]
        scores = out["top_scores"].numpy()[:, :top_n]
        chosen = (out["top_chosen"].numpy() if "top_chosen" in out and
                  top_n is None else np.ones(labels.shape, bool))
        answers += [([name.decode("utf-8") for name in names[keep]],
                     [float(v) for v in values[keep]])
                    for names, values, keep in zip(labels, scores, chosen)]
    return answers


def top_ids(probabilities_fn, texts, k, batch_size=256,
            with_probabilities=False):
    """Runs a `probabilities` signature over inputs in batches.

    Returns:
        int [M, k]: each input's k most probable class ids, best first
        (with `with_probabilities`, also float [M, k]: theirs).
    """
    answers, values = [], []
    for start in range(0, len(texts), batch_size):
        probabilities = saved_model.call(probabilities_fn, texts[
            start:start + batch_size])["probabilities"].numpy()
        best = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(probabilities, best, 1),
                           axis=1, kind="stable")
        answers.append(np.take_along_axis(best, order, 1))
        values.append(np.take_along_axis(probabilities, answers[-1], 1))
    if with_probabilities:
        return np.concatenate(answers), np.concatenate(values)
    return np.concatenate(answers)


def _num_classes(served):
    """N, from an export's `probabilities` signature (all N scores), or
    `None` when it has none."""
    probabilities = served.signatures.get("probabilities")
    if probabilities is None:
        return None
    output, = probabilities.structured_outputs.values()
    return output.shape[-1]
