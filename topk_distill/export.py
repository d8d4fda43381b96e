"""Export a trained classifier: SavedModel signatures and TFLite.

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

That is a text model's; the input follows the model's kind
(`input_kinds`): an image model's signatures take `image_bytes`, the
encoded files' bytes as string [B] (over TF Serving's REST API:
`{"instances": [{"b64": "..."}]}`), and its Classify examples hold them in
an `image` bytes feature; a features model's take `features` float32
[B, D], in a `features` float feature for Classify.

It loads with TensorFlow alone (`tf.saved_model.load`), no import of this
package.
"""

import os
import tempfile

import keras
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from topk_distill import input_kinds

CLASSIFY_METHOD = "tensorflow/serving/classify"
_EXAMPLES = tf.TensorSpec([None], tf.string, name="inputs")


class _Served(tf.Module):
    """The served functions around a Keras classifier (inputs -> logits)."""

    def __init__(self, model, labels, top_n):
        super().__init__()
        self.model = model
        # Random layers' seeds (e.g. an augmentation layer's), which the
        # traced call captures but the SavedModel does not reach through
        # the Keras model; the weights it does reach (not saved twice).
        self.seed_state = [getattr(v, "value", v) for v in model.variables
                           if "seed_generator" in getattr(v, "path", "")]
        self.labels = tf.constant(labels)
        self.top_n = min(top_n, len(labels))
        # A subclassed model's input kind cannot be told: text.
        self.kind, self.feature_dim = input_kinds.model_kind(model) or (
            "text", None)
        spec = input_kinds.tensor_spec(self.kind, self.feature_dim)
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
        return {"probabilities": tf.nn.softmax(
            self.logits(inputs)["logits"])}

    def _predict(self, inputs):
        scores, ids = tf.math.top_k(
            self.probabilities(inputs)["probabilities"], k=self.top_n)
        return {"top_ids": ids, "top_labels": tf.gather(self.labels, ids),
                "top_scores": scores}

    def _classify(self, inputs):
        spec = (input_kinds.feature_spec(self.kind, self.feature_dim)
                if self.kind == "features" else
                tf.io.FixedLenFeature([], tf.string, default_value=""))
        parsed = tf.io.parse_example(inputs, {self.kind: spec})[self.kind]
        answer = self.predict(parsed)
        return {"classes": answer["top_labels"], "scores": answer["top_scores"]}


def export_saved_model(model, path, labels, top_n=5):
    """Writes a SavedModel with Predict, Classify, probabilities and logits
    signatures.

    Args:
        model: a Keras model mapping a string tensor [B] (texts or encoded
            images) or float [B, D] to logits [B, N].
        path: output folder.
        labels: the N class names, in id order (also written to
            `PATH/labels.txt`).
        top_n: how many labels each answer lists.

    Returns:
        `path`.

    Example:
    >>> import os, tempfile
    >>> import tensorflow as tf
    >>> from topk_distill import models
    >>> names = ["animal", "finance", "food"]
    >>> student = models.make_student(["a cat", "the bank"], len(names))
    >>> path = export_saved_model(student, os.path.join(tempfile.mkdtemp(),
    ...                                                 "export"), names,
    ...                           top_n=2)
    >>> served = tf.saved_model.load(path)
    >>> answer = served.signatures["serving_default"](text=tf.constant(["x"]))
    >>> answer["top_labels"].shape, answer["top_scores"].dtype
    (TensorShape([1, 2]), tf.float32)
    """
    served = _Served(model, labels, top_n)
    tf.saved_model.save(served, path, signatures={
        "serving_default": served.predict, "classify": served.classify,
        "probabilities": served.probabilities, "logits": served.logits})
    _set_method_name(path, "classify", CLASSIFY_METHOD)
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


def export_tflite(model, path, top_n=5, token_ids=False, quantize=False):
    """Converts a classifier to TFLite, answering top-n ids and scores.

    Two variants for a text model:

    * `token_ids=False`: takes the raw text (string [1]); the model's text
      preprocessing (TextVectorization: lowercasing, regex punctuation
      stripping, splitting, vocabulary lookup) needs TensorFlow ops outside
      TFLite's builtins, so this file needs the Flex delegate (TFLite's
      "select TF ops": on Android the `tensorflow-lite-select-tf-ops`
      dependency; the Python `tf.lite.Interpreter` of the `tensorflow`
      2.21 wheel does not link it and refuses to run the file).
    * `token_ids=True`: takes token ids (int64 [1, L], the output of the
      model's `TextVectorization` layer, whose vocabulary is written beside
      the file as `PATH.vocab.txt`) and runs with builtin ops only.

    An image model's are alike: `token_ids=False` takes the encoded image
    (string [1], named `image_bytes`; decoding needs the Flex delegate),
    `token_ids=True` the decoded pixels (float32 [1, size, size, channels]
    in [0, 1], named `pixels`: the output of its `ImageDecoder`), with
    builtin ops only. A features model takes float32 [1, D] (builtin ops)
    either way.

    Args:
        model: a Keras model mapping a string tensor [B] to logits [B, N];
            for `token_ids=True`, a functional model with one
            `TextVectorization` layer right after its input.
        path: the `.tflite` file to write.
        top_n: answers per input.
        token_ids: which variant (see above).
        quantize: post-training dynamic-range quantisation (weights stored
            as int8, about 4x smaller; activations stay float).

    Returns:
        `path`.

    Example:

    ```python
    export_tflite(student, "student_ids.tflite", token_ids=True)
    runner = tf.lite.Interpreter("student_ids.tflite").get_signature_runner()
    runner(token_ids=token_ids)  # {"top_ids": ..., "top_scores": ...}
    ```
    """
    kind, feature_dim = input_kinds.model_kind(model) or ("text", None)
    builtin = token_ids or kind == "features"
    if token_ids and kind == "image":
        model = _after_decoding(model)
        spec = tf.TensorSpec([1] + list(model.inputs[0].shape[1:]),
                             tf.float32, name="pixels")
    elif token_ids and kind == "text":
        model, vocabulary = _after_vectorization(model)
        with open(path + ".vocab.txt", "w", encoding="utf-8") as f:
            f.writelines(token + "\n" for token in vocabulary)
        spec = tf.TensorSpec([1, model.inputs[0].shape[1]], tf.int64,
                             name="token_ids")
    else:
        spec = input_kinds.tensor_spec(kind, feature_dim)
        spec = tf.TensorSpec([1] + spec.shape[1:], spec.dtype, spec.name)
    top_n = min(top_n, model.outputs[0].shape[-1])

    def answer(inputs):
        logits = tf.cast(model(inputs, training=False), tf.float32)
        scores, ids = tf.math.top_k(tf.nn.softmax(logits, axis=-1), k=top_n)
        return {"top_ids": ids, "top_scores": scores}

    # As Keras's own LiteRT export does: ExportArchive (which turns Keras
    # variables into plain tf.Variables the converter can freeze) ->
    # SavedModel -> converter.
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", answer, [spec])
    with tempfile.TemporaryDirectory() as saved:
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if not builtin:
            converter.target_spec.supported_ops.append(
                tf.lite.OpsSet.SELECT_TF_OPS)
        flatbuffer = converter.convert()
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path


def _after_decoding(model):
    """An image model without its `ImageDecoder`: pixels in."""
    from topk_distill import models

    layers = [layer for layer in model.layers
              if isinstance(layer, models.ImageDecoder)]
    if len(layers) != 1:
        raise ValueError(f"{model.name}: the pixels variant needs a "
                         "functional model with one ImageDecoder layer; "
                         f"found {len(layers)}")
    return keras.Model(layers[0].output, model.outputs)


def _after_vectorization(model):
    """Splits off a model's TextVectorization: returns (the rest, vocab)."""
    layers = [layer for layer in model.layers
              if isinstance(layer, keras.layers.TextVectorization)]
    if len(layers) != 1:
        raise ValueError(f"{model.name}: token_ids=True needs a functional "
                         "model with one TextVectorization layer; found "
                         f"{len(layers)}")
    vectorize = layers[0]
    rest = keras.Model(vectorize.output, model.outputs)
    return rest, vectorize.get_vocabulary()


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
