"""What a record's input is: text, an encoded image, or a feature vector.

The input kind is a property of a record set (its metadata's `input_kind`,
and `feature_dim` for feature vectors), and each kind has one spelling
everywhere, from the input file to the served model:

* `"text"` (the default; record sets written before kinds existed are
  text): a `text` bytes feature; models take string [B].
* `"image"`: PNG, JPEG, GIF or BMP bytes in an `image` bytes feature,
  decoded inside the models (`image_models.ImageDecoder`), so a served model
  takes the file's bytes: string [B], named `image_bytes` in the
  SavedModel (TF Serving's REST API then takes `{"b64": ...}` values).
* `"features"`: float32[D] in a `features` float feature (e.g. precomputed
  audio or image embeddings); models take float32 [B, D].

Between reading an input and the model, every example travels as one
bytes value, its *payload* (`payload_bytes`): the UTF-8 text, the image
file's bytes, or the D floats as little-endian float32; `model_input`
turns a batch of payloads into what the models take.

Nothing here imports TensorFlow at import time.
"""

import numpy as np

KINDS = ("text", "image", "features")
INPUT_KINDS = KINDS  # The package's public name for them.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
_SERVING_NAMES = {"text": "text", "image": "image_bytes",
                  "features": "features"}


def check(kind, feature_dim=None, where=""):
    """Refuses an unknown kind, or feature vectors without their length.

    Raises:
        ValueError: naming `where` and what was expected.
    """
    if kind not in KINDS:
        raise ValueError(f"{where}input_kind={kind!r}; expected one of "
                         f"{KINDS}")
    if kind == "features" and not (feature_dim or 0) >= 1:
        raise ValueError(f"{where}input_kind='features' needs feature_dim "
                         f">= 1, not {feature_dim!r}")


def serving_name(kind):
    """The served signatures' input name: `text`, `image_bytes` or
    `features`."""
    return _SERVING_NAMES[kind]


def payload_bytes(value):
    """One example's payload: the bytes it travels as (see the module doc).

    Examples:
        >>> payload_bytes("a cat")
        b'a cat'
        >>> len(payload_bytes([0.5, 1.0, 2.0]))  # three float32
        12
    """
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    return np.asarray(value, "<f4").tobytes()


def tensor_spec(kind, feature_dim=None, name=None):
    """The `tf.TensorSpec` of a batch of model inputs of this kind."""
    import tensorflow as tf

    name = name or serving_name(kind)
    if kind == "features":
        return tf.TensorSpec([None, feature_dim], tf.float32, name=name)
    return tf.TensorSpec([None], tf.string, name=name)


def feature_spec(kind, feature_dim=None):
    """The record's input entry, as `tf.io.parse_example` reads it."""
    import tensorflow as tf

    if kind == "features":
        return tf.io.FixedLenFeature([feature_dim], tf.float32)
    return tf.io.FixedLenFeature([], tf.string)


def model_input(payloads, kind, feature_dim=None):
    """A batch of payloads (string [B]) as the models take it: the same
    strings for text and images, float32 [B, D] for feature vectors."""
    import tensorflow as tf

    if kind != "features":
        return payloads
    values = tf.io.decode_raw(payloads, tf.float32)
    return tf.ensure_shape(values, [None, feature_dim])


def as_batch(values, kind):
    """Python inputs (str, bytes or float lists) as one model-input tensor."""
    import tensorflow as tf

    if kind == "features":
        return tf.constant(np.asarray(values, np.float32))
    return tf.constant([payload_bytes(v) for v in values])


def batch_input(batch):
    """The model input in a parsed batch: `(kind, tensor)`.

    Raises:
        KeyError: the batch holds none of the kinds.
    """
    for kind in KINDS:
        if kind in batch:
            return kind, batch[kind]
    raise KeyError(f"a batch with {sorted(batch)}; expected one of {KINDS}")


def model_kind(model):
    """The input kind a Keras model (or served function) takes: float
    inputs are `features` (D = their last dimension), string inputs named
    `image...` are `image`, other string inputs `text`.

    Args:
        model: a Keras model, or a `tf.TensorSpec` of its input.

    Returns:
        `(kind, feature_dim or None)`, or `None` for a model without a
        symbolic input (a subclassed one), whose kind cannot be told.

    Examples:
        >>> import keras
        >>> model_kind(keras.Input(shape=(8,), name="features"))
        ('features', 8)
    """
    try:
        spec = model.inputs[0] if hasattr(model, "inputs") else model
        dtype = str(getattr(spec.dtype, "name", spec.dtype))
        shape = spec.shape
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    if dtype != "string":
        return "features", int(shape[-1])
    name = (getattr(spec, "name", None) or "").split(":")[0]
    return ("image" if name.startswith("image") else "text"), None


def kind_name(kind, feature_dim=None):
    """A kind as messages name it: `"image"`, `"features of length 8"`."""
    return f"{kind} of length {feature_dim}" if feature_dim else kind


def check_matches(model_takes, record_kind, where):
    """Refuses a model whose input kind is not the records'.

    Raises:
        ValueError: one line naming `where` and both kinds.
    """
    if model_takes != record_kind:
        raise ValueError(f"{where}: the model takes {model_takes} inputs but "
                         f"the records hold {record_kind} inputs; expected "
                         f"a model made for {record_kind}")
