"""A classifier's SavedModel: written with its serving signatures, loaded
back.

The SavedModel answers with the top-n labels of its class probabilities
(the method's classification step) under TF Serving's conventions:

* `serving_default` (Predict): `text` string [B] -> `top_ids` int32 [B, n],
  `top_labels` string [B, n], `top_scores` float32 [B, n] (probabilities,
  descending);
* `classify` (Classify, method name `tensorflow/serving/classify`):
  `inputs`, serialized `tf.Example`s with a `text` bytes feature ->
  `classes` string [B, n], `scores` float32 [B, n];
* `probabilities`: `text` [B] -> `probabilities` float32 [B, N];
* `logits`: `text` [B] -> `logits` float32 [B, N] (so an exported model can
  serve as a teacher: `preprocess --teacher_signature=logits`).

A multi-label model (`export_saved_model(label_space=MultiLabel(N, t))`)
answers with per-class sigmoid probabilities instead, its Predict
signature adds `top_chosen` bool [B, n] (the answers whose probability
reaches the threshold chosen on validation data), and the threshold is
kept in `assets/multi_label.json`.

That is a text model's; the input follows the model's kind
(`input_kinds`): an image model's signatures take `image_bytes`, the
encoded files' bytes as string [B] (over TF Serving's REST API:
`{"instances": [{"b64": "..."}]}`), and its Classify examples hold them in
an `image` bytes feature; a features model's take `features` float32
[B, D], in a `features` float feature for Classify.

It loads with TensorFlow alone (`tf.saved_model.load`), no import of this
package. SavedModels that tokenize inside with TensorFlow Text ops
(keras-hub's WordPiece tokenizer, as in the encoder teacher) need those ops
registered before they load: `load_saved_model` does it when
tensorflow-text is installed (the `encoder` extra installs it). `call`
feeds a batch of Python inputs to a signature by its own input name.
"""

import os
import re
import statistics
import time

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from topk_distill.inputs import input_kinds
from topk_distill.inputs.label_space import SingleLabel, read_settings

# What turns a label space's logits into its probabilities.
ACTIVATIONS = {"softmax": tf.nn.softmax, "sigmoid": tf.sigmoid}
CLASSIFY_METHOD = "tensorflow/serving/classify"
# A multi-label export's settings (its threshold), in its assets.
# A multi-label classifier's settings (its threshold): in a SavedModel's
# assets, and beside a `.keras` file (`LabelSpace.write_settings`).
MULTI_LABEL_NAME = "multi_label.json"
MULTI_LABEL_FILE = os.path.join("assets", MULTI_LABEL_NAME)
_EXAMPLES = tf.TensorSpec([None], tf.string, name="inputs")


class _Served(tf.Module):
    """The served functions around a Keras classifier (inputs -> logits)."""

    def __init__(self, model, labels, top_n, label_space):
        super().__init__()
        self.model = model
        self.activation = ACTIVATIONS[label_space.activation]
        self.label_space = label_space
        # Random layers' seeds (e.g. an augmentation layer's), which the
        # traced call captures but the SavedModel does not reach through
        # the Keras model; the weights it does reach (not saved twice).
        self.seed_state = [getattr(v, "value", v) for v in model.variables
                           if "seed_generator" in getattr(v, "path", "")]
        self.labels = tf.constant(labels)
        self.top_n = min(top_n, len(labels))
        # A subclassed model's input kind cannot be told: text.
        self.input_kind, self.feature_dim = input_kinds.model_kind(model) or (
            "text", None)
        spec = input_kinds.tensor_spec(self.input_kind, self.feature_dim)
        self.logits = tf.function(self._logits, input_signature=[spec])
        self.probabilities = tf.function(self._probabilities,
                                         input_signature=[spec])
        self.predict = tf.function(self._predict, input_signature=[spec])
        self.classify = tf.function(self._classify,
                                    input_signature=[_EXAMPLES])

    def _logits(self, inputs):
        return {"logits": tf.cast(self.model(inputs, training=False),
                                  tf.float32)}

    def _probabilities(self, inputs):
        logits = self.logits(inputs)["logits"]
        return {"probabilities": self.activation(logits)}

    def _predict(self, inputs):
        scores, ids = tf.math.top_k(
            self.probabilities(inputs)["probabilities"], k=self.top_n)
        return {"top_ids": ids, "top_labels": tf.gather(self.labels, ids),
                "top_scores": scores, **self.label_space.chosen(scores)}

    def _classify(self, inputs):
        spec = (input_kinds.feature_spec(self.input_kind, self.feature_dim)
                if self.input_kind == "features" else
                tf.io.FixedLenFeature([], tf.string, default_value=""))
        name = self.input_kind
        parsed = tf.io.parse_example(inputs, {name: spec})[name]
        answer = self.predict(parsed)
        return {"classes": answer["top_labels"], "scores": answer["top_scores"]}


def export_saved_model(model, path, labels, top_n=5, label_space=None):
    """Writes a SavedModel with Predict, Classify, probabilities and logits
    signatures.

    Args:
        model: a Keras model mapping a string tensor [B] (texts or encoded
            images) or float [B, D] to logits [B, N].
        path: output folder.
        labels: the N class names, in id order (also written to
            `PATH/labels.txt`).
        top_n: how many labels each answer lists.
        label_space: what the logits score (`inputs.label_space`): the
            default, `SingleLabel(N)`, a softmax over the classes; a
            `MultiLabel(N, threshold)`, a sigmoid per class and the
            probability from which a class is chosen (`top_chosen`).

    Returns:
        `path`.

    Examples:
        >>> import os, tempfile
        >>> import tensorflow as tf
        >>> from topk_distill.models import text_models
        >>> names = ["animal", "finance", "food"]
        >>> student = text_models.make_student(["a cat", "the bank"], len(names))
        >>> path = export_saved_model(student, os.path.join(tempfile.mkdtemp(),
        ...                                                 "export"), names,
        ...                           top_n=2)
        >>> served = tf.saved_model.load(path)
        >>> answer = served.signatures["serving_default"](text=tf.constant(["x"]))
        >>> answer["top_labels"].shape, answer["top_scores"].dtype
        (TensorShape([1, 2]), tf.float32)
    """
    label_space = label_space or SingleLabel(len(labels))
    served = _Served(model, labels, top_n, label_space)
    tf.saved_model.save(served, path, signatures={
        "serving_default": served.predict, "classify": served.classify,
        "probabilities": served.probabilities, "logits": served.logits})
    _set_method_name(path, "classify", CLASSIFY_METHOD)
    os.makedirs(os.path.join(path, "assets"), exist_ok=True)
    label_space.write_settings(os.path.join(path, MULTI_LABEL_FILE))
    with open(os.path.join(path, "labels.txt"), "w", encoding="utf-8") as f:
        f.writelines(name + "\n" for name in labels)
    return path


def _set_method_name(path, signature, method_name):
    """Rewrites a signature's method name in saved_model.pb (TF 2 writes
    every signature as Predict; TF Serving's Classify API wants its own)."""
    pb = os.path.join(path, "saved_model.pb")
    saved = saved_model_pb2.SavedModel()
    with open(pb, "rb") as f:
        saved.ParseFromString(f.read())
    for graph in saved.meta_graphs:
        graph.signature_def[signature].method_name = method_name
    with open(pb + ".tmp", "wb") as f:
        f.write(saved.SerializeToString())
    os.replace(pb + ".tmp", pb)


def saved_label_space(path, num_classes):
    """The `LabelSpace` of a saved classifier of `num_classes` classes:
    multi-label, with its threshold, where its settings file says so: a
    SavedModel folder's `MULTI_LABEL_FILE` or, for a `.keras` file,
    `MULTI_LABEL_NAME` beside it (`label_space.read_settings`)."""
    if path.endswith(".keras"):
        return read_settings(os.path.join(
            os.path.dirname(path), MULTI_LABEL_NAME), num_classes)
    return read_settings(os.path.join(path, MULTI_LABEL_FILE), num_classes)


def saved_model_size(path):
    """Bytes on disk of a SavedModel (saved_model.pb, variables/, assets/) or
    of a file."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    parts = [os.path.join(path, "saved_model.pb")]
    for folder in ("variables", "assets"):
        for root, _, files in os.walk(os.path.join(path, folder)):
            parts += [os.path.join(root, name) for name in files]
    return sum(os.path.getsize(part) for part in parts)


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
    (name, spec), = fn.structured_input_signature[1].items()
    return (name,) + input_kinds.model_kind(spec)


def call(fn, batch):
    """Calls a served signature on a batch of Python inputs (texts, image
    bytes or feature vectors), by its own input name; a plain function
    gets them as one tensor."""
    if not hasattr(fn, "structured_input_signature"):
        return fn(input_kinds.as_batch(batch, "text" if isinstance(
            batch[0], (str, bytes)) else "features"))
    name, kind, _ = signature_input(fn)
    return fn(**{name: input_kinds.as_batch(batch, kind)})


def latency_ms(predict_fn, texts, repeats=200):
    """p50 and p99 latency, in ms, of single-example calls of a served
    signature (`predict_fn`) on `texts` (inputs of its kind), in turn."""
    call(predict_fn, texts[:1])
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        call(predict_fn, [texts[i % len(texts)]])
        times.append((time.perf_counter() - start) * 1e3)
    quantiles = statistics.quantiles(times, n=100)
    return quantiles[49], quantiles[98]


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else (
        type(error).__name__)
