"""Export a trained classifier: SavedModel signatures and TFLite.

The SavedModel answers with the top-n labels of its class probabilities
(the source document's classification step) under TF Serving's conventions:

* `serving_default` (Predict): `text` string [B] -> `top_ids` int32 [B, n],
  `top_labels` string [B, n], `top_scores` float32 [B, n] (probabilities,
  descending);
* `classify` (Classify, method name `tensorflow/serving/classify`):
  `inputs`, serialized `tf.Example`s with a `text` bytes feature ->
  `classes` string [B, n], `scores` float32 [B, n];
* `probabilities`: `text` [B] -> `probabilities` float32 [B, N];
* `logits`: `text` [B] -> `logits` float32 [B, N] (so an exported model can
  serve as a teacher: `preprocess --teacher_signature=logits`).

It loads with TensorFlow alone (`tf.saved_model.load`), no import of this
package.
"""

import os
import tempfile

import keras
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

CLASSIFY_METHOD = "tensorflow/serving/classify"
_TEXT = tf.TensorSpec([None], tf.string, name="text")
_EXAMPLES = tf.TensorSpec([None], tf.string, name="inputs")


class _Served(tf.Module):
    """The served functions around a Keras classifier (string [B] -> logits)."""

    def __init__(self, model, labels, top_n):
        super().__init__()
        self.model = model
        self.labels = tf.constant(labels)
        self.top_n = min(top_n, len(labels))

    @tf.function(input_signature=[_TEXT])
    def logits(self, text):
        return {"logits": tf.cast(self.model(text, training=False),
                                  tf.float32)}

    @tf.function(input_signature=[_TEXT])
    def probabilities(self, text):
        return {"probabilities": tf.nn.softmax(self.logits(text)["logits"])}

    @tf.function(input_signature=[_TEXT])
    def predict(self, text):
        scores, ids = tf.math.top_k(self.probabilities(text)["probabilities"],
                                    k=self.top_n)
        return {"top_ids": ids, "top_labels": tf.gather(self.labels, ids),
                "top_scores": scores}

    @tf.function(input_signature=[_EXAMPLES])
    def classify(self, inputs):
        text = tf.io.parse_example(inputs, {"text": tf.io.FixedLenFeature(
            [], tf.string, default_value="")})["text"]
        answer = self.predict(text)
        return {"classes": answer["top_labels"], "scores": answer["top_scores"]}


def export_saved_model(model, path, labels, top_n=5):
    """Writes a SavedModel with Predict, Classify, probabilities and logits
    signatures.

    Args:
        model: a Keras model mapping a string tensor [B] to logits [B, N].
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

    Two variants:

    * `token_ids=False`: takes the raw text (string [1]); the model's text
      preprocessing (TextVectorization: lowercasing, regex punctuation
      stripping, splitting, vocabulary lookup) needs TensorFlow ops outside
      TFLite's builtins, so this file needs the Flex delegate (TFLite's
      "select TF ops"; the `tensorflow` pip package's
      `tf.lite.Interpreter` includes it).
    * `token_ids=True`: takes token ids (int64 [1, L], the output of the
      model's `TextVectorization` layer, whose vocabulary is written beside
      the file as `PATH.vocab.txt`) and runs with builtin ops only.

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
    if token_ids:
        model, vocabulary = _after_vectorization(model)
        with open(path + ".vocab.txt", "w", encoding="utf-8") as f:
            f.writelines(token + "\n" for token in vocabulary)
        spec = tf.TensorSpec([1, model.inputs[0].shape[1]], tf.int64,
                             name="token_ids")
    else:
        spec = tf.TensorSpec([1], tf.string, name="text")
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
        if not token_ids:
            converter.target_spec.supported_ops.append(
                tf.lite.OpsSet.SELECT_TF_OPS)
        flatbuffer = converter.convert()
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path


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
