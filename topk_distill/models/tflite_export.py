"""TFLite export: the model with its top-n answer, for phones."""

import tempfile

import keras
import tensorflow as tf

from topk_distill.inputs import input_kinds


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

    The encoder student (`encoder_students`) has the token-id variant only:
    int32 [1, L] WordPiece ids, `[CLS] ... [SEP]` as its tokenizer makes
    them (the WordPieces in `PATH.vocab.txt`), any L; its tokenizer's TF
    Text ops are in no TFLite runtime.

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

    Examples:

        ```python
        export_tflite(student, "student_ids.tflite", token_ids=True)
        runner = tf.lite.Interpreter("student_ids.tflite").get_signature_runner()
        runner(token_ids=token_ids)  # {"top_ids": ..., "top_scores": ...}
        ```
    """
    from topk_distill.models import encoder_students

    kind, feature_dim = input_kinds.model_kind(model) or ("text", None)
    builtin = token_ids or kind == "features"
    encoder = encoder_students.is_encoder_student(model)
    if encoder and not token_ids:
        raise ValueError(f"{model.name}: an encoder student's WordPiece "
                         "tokenizer runs TF Text ops, which TFLite (even "
                         "with the Flex delegate) lacks; export its token-id "
                         "variant (token_ids=True, --tflite_token_ids)")
    if encoder:
        model, vocabulary = encoder_students.token_id_model(model)
        _write_vocabulary(path, vocabulary)
        spec = tf.TensorSpec([1, None], tf.int32, name="token_ids")
    elif token_ids and kind == "image":
        model = _after_decoding(model)
        spec = tf.TensorSpec([1] + list(model.inputs[0].shape[1:]),
                             tf.float32, name="pixels")
    elif token_ids and kind == "text":
        model, vocabulary = _after_vectorization(model)
        _write_vocabulary(path, vocabulary)
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


def _write_vocabulary(path, vocabulary):
    """The token-id variant's vocabulary beside it: `PATH.vocab.txt`, one
    token per line, line i is id i."""
    with open(path + ".vocab.txt", "w", encoding="utf-8") as f:
        f.writelines(token + "\n" for token in vocabulary)


def _after_decoding(model):
    """An image model without its `ImageDecoder`: pixels in."""
    from topk_distill.models import image_models

    layers = [layer for layer in model.layers
              if isinstance(layer, image_models.ImageDecoder)]
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
