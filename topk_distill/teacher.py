"""Teachers: whatever turns a batch of raw texts into [B, N] class scores.

Three kinds load from a path:

* `model.keras`: a Keras model taking a string tensor [B];
* a SavedModel directory: one of its signatures, taking a string tensor [B];
* `scores.npy`: precomputed scores of shape [num_examples, N], row-aligned
  with the input file (e.g. from a PyTorch BERT run elsewhere).

Each gives a `Teacher` whose `__call__(texts, rows)` returns float32 [B, N].
`rows` (the examples' positions in the input) only matters for precomputed
scores; models look at the texts alone.
"""

import hashlib
import os

import numpy as np
import tensorflow as tf

OUTPUT_KINDS = ("logits", "probabilities")


class Teacher:
    """A batch of raw texts -> [B, N] scores.

    Args:
        fn: callable `(texts string[B], rows int64[B]) -> float[B, N]`.
        num_classes: N.
        outputs: what `fn` returns: `"logits"` or `"probabilities"`.
        identity: dict naming the teacher (kind, path, content hash); it goes
            into the records' metadata.

    Example:
    >>> teacher = load_teacher("teacher/model.keras")
    >>> teacher(tf.constant(["a text"]), tf.constant([0], tf.int64)).shape
    TensorShape([1, 3000])
    """

    def __init__(self, fn, num_classes, outputs, identity):
        if outputs not in OUTPUT_KINDS:
            raise ValueError(f"outputs={outputs!r}; expected one of "
                             f"{OUTPUT_KINDS}")
        self.fn = fn
        self.num_classes = num_classes
        self.outputs = outputs
        self.identity = identity

    def __call__(self, texts, rows):
        return tf.cast(self.fn(texts, rows), tf.float32)


def load_teacher(path, outputs="logits", signature="serving_default",
                 output_key=None):
    """Loads a teacher from a `.keras` file, SavedModel folder or `.npy` file.

    Args:
        path: where the teacher is.
        outputs: whether it returns `"logits"` or `"probabilities"`.
        signature: SavedModel signature to call.
        output_key: SavedModel output to use when the signature has several.

    Returns:
        A `Teacher`.
    """
    if path.endswith(".npy"):
        return _precomputed_teacher(path, outputs)
    if path.endswith(".keras"):
        return _keras_teacher(path, outputs)
    if tf.io.gfile.exists(os.path.join(path, "saved_model.pb")):
        return _saved_model_teacher(path, outputs, signature, output_key)
    raise ValueError(f"--teacher={path}: expected a .keras file, a SavedModel "
                     "folder (with saved_model.pb) or a .npy score file")


def _identity(kind, path, hashed_file):
    digest = hashlib.sha256()
    with tf.io.gfile.GFile(hashed_file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if "://" not in path:
        path = os.path.abspath(path)
    return {"kind": kind, "path": path,
            "sha256": digest.hexdigest()}


def _keras_teacher(path, outputs):
    import keras

    try:  # A teacher from make_encoder_teacher has keras-hub layers.
        import keras_hub  # noqa: F401 (registers them)
    except ImportError:
        pass
    # The teacher is the user's own model; safe_mode=False also lets an
    # encoder teacher read the vocabulary in its encoder folder.
    model = keras.saving.load_model(path, safe_mode=False)
    teacher = Teacher(lambda texts, rows: model(texts, training=False),
                      int(model(tf.constant(["x"])).shape[-1]), outputs,
                      _identity("keras", path, path))
    teacher.model = model
    return teacher


def _saved_model_teacher(path, outputs, signature, output_key):
    loaded = tf.saved_model.load(path)
    if signature not in loaded.signatures:
        raise ValueError(f"{path}: no signature {signature!r}; it has "
                         f"{sorted(loaded.signatures)}")
    fn = loaded.signatures[signature]
    (input_name, _), = fn.structured_input_signature[1].items()
    output_specs = fn.structured_outputs
    if output_key is None:
        if len(output_specs) != 1:
            raise ValueError(f"{path}: signature {signature!r} has outputs "
                             f"{sorted(output_specs)}; name one with "
                             "--teacher_output_key")
        output_key, = output_specs
    num_classes = output_specs[output_key].shape[-1]

    def call(texts, rows):
        return fn(**{input_name: texts})[output_key]

    teacher = Teacher(call, num_classes, outputs, _identity(
        "saved_model", path, os.path.join(path, "saved_model.pb")))
    teacher.model = loaded  # Keeps the SavedModel's variables alive.
    return teacher


def _precomputed_teacher(path, outputs):
    scores = np.load(path, mmap_mode="r")
    if scores.ndim != 2:
        raise ValueError(f"{path}: scores of shape {scores.shape}; expected "
                         "[num_examples, num_classes]")

    def gather(rows):
        return np.asarray(scores[rows], np.float32)

    def call(texts, rows):
        out = tf.numpy_function(gather, [rows], tf.float32, stateful=False)
        return tf.ensure_shape(out, [None, scores.shape[1]])

    teacher = Teacher(call, scores.shape[1], outputs,
                      _identity("precomputed", path, path))
    teacher.num_rows = scores.shape[0]
    return teacher
