"""Using an exported SavedModel: load it, and classify inputs with it.

Inputs are what the export takes (`input_kinds`): texts (str or bytes),
encoded images (bytes) or feature vectors (float lists); `call` feeds a
batch of them to a signature by its own input name.

The method's classification step: feed the texts to the trained
model, sort its class probabilities, answer the labels of the top n. Any
export of `export.export_saved_model` (teacher or student) serves.

SavedModels that tokenize inside with TensorFlow Text ops (keras-hub's
WordPiece tokenizer, as in the encoder teacher) need those ops registered
before they load: `load_saved_model` does it when tensorflow-text is
installed (the `encoder` extra installs it).
"""

import os
import re

import numpy as np


def require_saved_model(path, flag=None):
    """Raises OSError, naming `--flag=path` (or the path), unless `path` is a
    SavedModel folder: checked before any work that needs it."""
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        where = f"--{flag}={path}" if flag else path
        raise OSError(f"{where}: not a SavedModel folder (no saved_model.pb "
                      "in it); expected the folder `topk-distill export` "
                      "writes")


def load_saved_model(path):
    """Loads a SavedModel, with TensorFlow Text's ops registered if present.

    Args:
        path: a SavedModel folder.

    Returns:
        The loaded object (`tf.saved_model.load`), its folder in
        `.export_path` (for messages).

    Raises:
        OSError: naming the folder and what is wrong: no SavedModel there,
            or it uses ops this process does not have.
    """
    try:
        import tensorflow_text  # noqa: F401 (registers its ops)
    except ImportError:
        pass
    import tensorflow as tf

    require_saved_model(path)
    try:
        loaded = tf.saved_model.load(path)
    except tf.errors.NotFoundError as e:
        op = re.search(r"Op type not registered '(\w+)'", str(e))
        if not op:
            raise OSError(f"{path}: cannot load the SavedModel "
                          f"({_first_line(e)})") from None
        raise OSError(f"{path}: the SavedModel uses the op {op[1]}, which "
                      "this TensorFlow does not have (TensorFlow Text's ops "
                      "need `pip install tensorflow-text`)") from None
    except OSError as e:
        raise OSError(f"{path}: not a SavedModel folder ({_first_line(e)})"
                      ) from None
    loaded.export_path = path
    return loaded


def signature_input(fn):
    """A served function's input: `(name, kind, feature_dim)`."""
    from topk_distill import input_kinds

    (name, spec), = fn.structured_input_signature[1].items()
    return (name,) + input_kinds.model_kind(spec)


def call(fn, batch):
    """Calls a served signature on a batch of Python inputs (texts, image
    bytes or feature vectors), by its own input name; a plain function
    gets them as one tensor."""
    from topk_distill import input_kinds

    if not hasattr(fn, "structured_input_signature"):
        return fn(input_kinds.as_batch(batch, "text" if isinstance(
            batch[0], (str, bytes)) else "features"))
    name, kind, _ = signature_input(fn)
    return fn(**{name: input_kinds.as_batch(batch, kind)})


def classify(model, texts, top_n=None, batch_size=256):
    """Answers the top-n labels and probabilities of each input.

    Args:
        model: an exported SavedModel (a path or a loaded one).
        texts: str or bytes texts, or what the export takes instead
            (image bytes, feature vectors).
        top_n: labels per text (default: as many as the export answers).
        batch_size: texts per call.

    Returns:
        A list with one `(labels, scores)` pair per text: class names and
        their probabilities, best first.

    Raises:
        ValueError: `top_n` exceeds what the export answers.

    Example:

    ```python
    classify("export/student", ["a river in Europe"], top_n=2)
    # [(['river.n.01', 'stream.n.01'], [0.41, 0.12])]
    ```
    """
    served = load_saved_model(model) if isinstance(model, str) else model
    predict = served.signatures["serving_default"]
    answered = predict.structured_outputs["top_labels"].shape[-1]
    if top_n is not None and answered is not None and top_n > answered:
        where = model if isinstance(model, str) else getattr(
            model, "export_path", "the export")
        raise ValueError(f"top_n={top_n}, but {where} answers {answered} "
                         "labels; export again with a larger --top_n")
    answers = []
    for start in range(0, len(texts), batch_size):
        out = call(predict, texts[start:start + batch_size])
        labels = out["top_labels"].numpy()[:, :top_n]
        scores = out["top_scores"].numpy()[:, :top_n]
        answers += [([name.decode("utf-8") for name in names],
                     [float(v) for v in values])
                    for names, values in zip(labels, scores)]
    return answers


def top_ids(probabilities_fn, texts, k, batch_size=256):
    """Runs a `probabilities` signature over inputs in batches.

    Returns:
        int [M, k]: each input's k most probable class ids, best first.
    """
    answers = []
    for start in range(0, len(texts), batch_size):
        probabilities = call(probabilities_fn, texts[
            start:start + batch_size])["probabilities"].numpy()
        best = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(probabilities, best, 1),
                           axis=1, kind="stable")
        answers.append(np.take_along_axis(best, order, 1))
    return np.concatenate(answers)


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else (
        type(error).__name__)
