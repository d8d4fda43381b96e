"""Teachers: whatever turns a batch of raw inputs into [B, N] class scores.

Inputs are texts, encoded images or feature vectors (`input_kinds`); a
model teacher knows which it takes (`Teacher.input_kind`), and `preprocess`
refuses an input of another kind. Five kinds of teacher load from a path:

* `model.keras`: a Keras model taking a string tensor [B] (or float [B, D]);
* a SavedModel directory: one of its signatures, taking a string tensor [B]
  (or float [B, D])
  (by default `logits` when it has one, as exports of this package do,
  else `serving_default`);
* `scores.npy`: precomputed scores of shape [num_examples, N], row-aligned
  with the input file (e.g. from a PyTorch BERT run elsewhere);
* the folder `topk-distill teacher --output=DIR` wrote: its `teacher.keras`
  or `saved_model/`;
* a fine-tuned Hugging Face classifier folder (`config.json`,
  `model.safetensors`, tokenizer files; BERT or DistilBERT), built in Keras
  by `hf_teacher` (its `id2label` written as `labels.txt` when the folder
  has none; a config whose `problem_type` is
  `multi_label_classification` makes a multi-label teacher of sigmoid
  logits).

Each gives a `Teacher` whose `__call__(texts, rows)` returns float32 [B, N]:
a softmax's logits or probabilities, or for a multi-label teacher
(`outputs="sigmoid_logits"` or `"sigmoid_probabilities"`) per-class
sigmoid ones.
`rows` (the examples' positions in the input) only matters for precomputed
scores; models look at the texts alone. A `labels.txt` in the teacher's
folder (or beside its file) is the teacher's label vocabulary.
"""

import dataclasses
import errno
import hashlib
import os
import tempfile

import numpy as np
import tensorflow as tf

from topk_distill.inputs import input_kinds, labels_file
from topk_distill.inputs.label_space import LabelSpace
from topk_distill.models import choices, saved_model
from topk_distill.teachers import hf_teacher

OUTPUT_KINDS = choices.SCORE_KINDS
LABELS_FILE = "labels.txt"


class Teacher:
    """A batch of raw texts -> [B, N] scores.

    Args:
        fn: callable `(texts string[B], rows int64[B]) -> float[B, N]`.
        label_space: N (a softmax over N classes) or a `LabelSpace`
            (`MultiLabel`: per-class sigmoid scores, examples with one or
            more labels; with the threshold the classifier carries).
        outputs: what `fn` returns: `"logits"` or `"probabilities"`.
        identity: dict naming the teacher (kind, path, content hash); it goes
            into the records' metadata.
        labels_path: the teacher's `labels.txt`, if it has one.
        input_kind: `(kind, feature_dim)` of the inputs `fn` takes
            (`input_kinds`), or `None` when unknown (precomputed scores).

    Examples:
        >>> import tensorflow as tf
        >>> teacher = Teacher(lambda texts, rows: tf.ones([tf.size(texts), 3]),
        ...                   label_space=3, outputs="logits",
        ...                   identity={"kind": "function"})
        >>> teacher(tf.constant(["a text"]), tf.constant([0], tf.int64)).shape
        TensorShape([1, 3])
    """

    def __init__(self, fn, label_space, outputs, identity, labels_path=None,
                 input_kind=None):
        if outputs not in OUTPUT_KINDS:
            raise ValueError(f"outputs={outputs!r}; expected one of "
                             f"{OUTPUT_KINDS}")
        self.label_space = LabelSpace.given(label_space)
        self.fn = fn
        self.outputs = outputs
        self.identity = identity
        self.labels_path = labels_path
        self.input_kind = input_kind

    num_classes = property(lambda self: self.label_space.num_classes,
                           doc="N")

    def __call__(self, texts, rows):
        return tf.cast(self.fn(texts, rows), tf.float32)


@dataclasses.dataclass(frozen=True)
class TeacherSource:
    """Where a teacher is and how it is called: what `load_teacher` takes,
    as one value that travels (to Beam's workers, say).

    Examples:
        >>> TeacherSource("teacher", outputs="sigmoid_logits").outputs
        'sigmoid_logits'
    """

    path: str
    outputs: str = None  # as `load_teacher`'s: the teacher's own
    signature: str = None
    output_key: str = None

    def load(self):
        """The `Teacher` (`load_teacher`)."""
        return load_teacher(self.path, self.outputs, self.signature,
                            self.output_key)


def load_teacher(path, outputs=None, signature=None, output_key=None):
    """Loads a teacher from a `.keras` file, SavedModel folder, `.npy` file or
    the folder `topk-distill teacher` wrote.

    Args:
        path: where the teacher is.
        outputs: whether it returns `"logits"` or `"probabilities"` of a
            softmax, or `"sigmoid_logits"` or `"sigmoid_probabilities"`
            (a multi-label teacher); default: logits, single- or
            multi-label as the teacher's own files say.
        signature: SavedModel signature to call (default: `logits` if the
            SavedModel has it, else `serving_default`).
        output_key: SavedModel output to use when the signature has several.

    Returns:
        A `Teacher`.

    Raises:
        ValueError: naming `--teacher` and what is wrong with it.

    Examples:

        ```python
        teacher = load_teacher("teacher")          # the `teacher` command's folder
        teacher = load_teacher("scores.npy")       # precomputed [examples, N]
        ```
    """
    if outputs is not None and outputs not in choices.TEACHER_OUTPUTS:
        raise ValueError(f"--teacher_outputs={outputs}; expected one of "
                         f"{', '.join(choices.TEACHER_OUTPUTS)}")
    scores, sigmoid = choices.teacher_scores(outputs or "logits")
    teacher = _load(path, scores, signature, output_key)
    if outputs is not None:
        space = teacher.label_space.scored_by(sigmoid)
        if space is None:
            raise ValueError(
                f"--teacher_outputs={outputs}, but --teacher={path} is "
                "multi-label (per-class sigmoid scores); expected "
                "sigmoid_logits or sigmoid_probabilities, or no "
                "--teacher_outputs")
        teacher.label_space = space
    return teacher


def _load(path, outputs, signature, output_key):
    """`load_teacher` of a softmax's `outputs` ("logits" or
    "probabilities"), the teacher in its own label space."""
    path = path.rstrip("/") or path
    folder = _teacher_folder_model(path)
    if folder:
        return _load(folder, outputs, signature, output_key)
    if path.endswith(".npy"):
        return _precomputed_teacher(path, outputs)
    if path.endswith(".keras"):
        return _keras_teacher(path, outputs)
    if tf.io.gfile.exists(os.path.join(path, "saved_model.pb")):
        return _saved_model_teacher(path, outputs, signature, output_key)
    if hf_teacher.is_hf_folder(path):
        return _hf_teacher(path, outputs)
    if not tf.io.gfile.exists(path):
        raise ValueError(f"--teacher={path}: no such file or folder")
    raise ValueError(f"--teacher={path}: expected a .keras file, a SavedModel "
                     "folder (with saved_model.pb), a Hugging Face classifier "
                     "folder (with config.json), a .npy score file or the "
                     "folder `topk-distill teacher` wrote")


def _teacher_folder_model(path):
    """The model inside a folder `topk-distill teacher` wrote, or None."""
    for name in ("teacher.keras", "saved_model"):
        candidate = os.path.join(path, name)
        if tf.io.gfile.exists(candidate) and not tf.io.gfile.exists(
                os.path.join(path, "saved_model.pb")):
            return candidate
    return None


def _labels_beside(path):
    """The `labels.txt` in a teacher's folder or beside its file, if any."""
    for folder in (path, os.path.dirname(path)):
        candidate = os.path.join(folder, LABELS_FILE)
        if folder and tf.io.gfile.exists(candidate):
            return candidate
    return None


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

    from topk_distill import models

    models.register_keras_classes()
    if not tf.io.gfile.exists(path):
        raise ValueError(f"--teacher={path}: no such file")
    with tf.io.gfile.GFile(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # a zip archive's first bytes
            raise ValueError(f"--teacher={path}: not a .keras model (a "
                             ".keras file is a zip archive; this one is not)")
    try:
        # The teacher is the user's own model; safe_mode=False also lets an
        # encoder teacher read the vocabulary in its encoder folder. Not
        # compiled: a teacher only answers, and an export of it would
        # otherwise carry its optimizer's state (twice its weights, Adam).
        model = keras.saving.load_model(path, safe_mode=False, compile=False)
    except OSError as e:
        if e.errno not in (errno.EFBIG, errno.ENOSPC):
            raise ValueError(f"--teacher={path}: not a loadable .keras model"
                             f" ({str(e).splitlines()[0][:200]})") from None
        # Keras unpacks the weights into a temporary file to read them
        raise OSError(f"--teacher={path}: loading it writes a temporary copy"
                      f" of its weights in {tempfile.gettempdir()}, which "
                      f"failed ({os.strerror(e.errno)}): a file-size limit "
                      "(ulimit -f) or a full disk, not the teacher") from None
    except (ValueError, KeyError) as e:
        raise ValueError(f"--teacher={path}: not a loadable .keras model "
                         f"({str(e).splitlines()[0][:200]})") from None
    kind = input_kinds.model_kind(model)
    if kind:
        num_classes = int(model.outputs[0].shape[-1])
    else:  # A subclassed model has no symbolic input to tell: text.
        kind = ("text", None)
        num_classes = int(model(tf.constant(["x"])).shape[-1])
    # a multi-label student `train` saved: its threshold beside it
    teacher = Teacher(lambda texts, rows: model(texts, training=False),
                      saved_model.saved_label_space(path, num_classes),
                      outputs, _identity("keras", path, path),
                      _labels_beside(path), kind)
    teacher.model = model
    return teacher


def _hf_teacher(path, outputs):
    model, names = hf_teacher.make_hf_teacher(path)
    labels_path = _labels_beside(path)
    if labels_path is None:  # id2label, never written into the user's folder
        labels_path = os.path.join(tempfile.mkdtemp(prefix="topk_distill-"),
                                   LABELS_FILE)
        labels_file.write_labels(labels_path, names)
    teacher = Teacher(lambda texts, rows: model(texts, training=False),
                      hf_teacher.label_space(hf_teacher.read_config(path),
                                             len(names)), outputs,
                      _identity("huggingface", path,
                                os.path.join(path, "model.safetensors")),
                      labels_path, ("text", None))
    teacher.model = model
    return teacher


def _saved_model_teacher(path, outputs, signature, output_key):
    loaded = saved_model.load_saved_model(path)
    if signature is None:
        signature = ("logits" if "logits" in loaded.signatures else
                     "serving_default")
    if signature not in loaded.signatures:
        raise ValueError(f"--teacher={path}: no signature {signature!r}; it "
                         f"has {sorted(loaded.signatures)}")
    fn = loaded.signatures[signature]
    (input_name, input_spec), = fn.structured_input_signature[1].items()
    output_specs = fn.structured_outputs
    if output_key is None:
        if len(output_specs) != 1:
            raise ValueError(f"--teacher={path}: signature {signature!r} has "
                             f"outputs {sorted(output_specs)}; name one with "
                             "--teacher_output_key")
        output_key, = output_specs
    num_classes = output_specs[output_key].shape[-1]

    def call(texts, rows):
        return fn(**{input_name: texts})[output_key]

    # A multi-label export (the teacher command's, or a student's) says so.
    teacher = Teacher(call, saved_model.saved_label_space(path, num_classes),
                      outputs, _identity("saved_model", path,
                                         os.path.join(path, "saved_model.pb")),
                      _labels_beside(path), input_kinds.model_kind(input_spec))
    teacher.model = loaded  # Keeps the SavedModel's variables alive.
    return teacher


def _check_scores(scores, outputs, path, rows=8192):
    """Refuses a score file whose values cannot be `outputs`
    (`choices.bad_scores`), naming its first bad row; read in chunks."""
    if not np.issubdtype(scores.dtype, np.number):
        raise ValueError(f"--teacher={path}: scores of dtype {scores.dtype};"
                         " expected float scores [examples, N]")
    for start in range(0, len(scores), rows):
        chunk = np.asarray(scores[start:start + rows], np.float64)
        bad, what = choices.bad_scores(chunk, outputs)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise ValueError(
                f"--teacher={path}: row {start + row} has {what} "
                f"({chunk[row, column]:g} for class {column}); expected "
                f"--teacher_outputs={outputs} scores")


def _precomputed_teacher(path, outputs):
    try:
        scores = np.load(path, mmap_mode="r")
    except (ValueError, OSError) as e:
        raise ValueError(f"--teacher={path}: not a readable .npy array "
                         f"({e}); expected float scores [examples, N]"
                         ) from None
    if scores.ndim != 2:
        raise ValueError(f"--teacher={path}: scores of shape {scores.shape}; "
                         "expected [num_examples, num_classes]")
    _check_scores(scores, outputs, path)

    def gather(rows):
        return np.asarray(scores[rows], np.float32)

    def call(texts, rows):
        out = tf.numpy_function(gather, [rows], tf.float32, stateful=False)
        return tf.ensure_shape(out, [None, scores.shape[1]])

    # Scores the `teacher` command wrote beside a multi-label teacher's
    # SavedModel (its cross-fitted logits) are sigmoid ones.
    beside = os.path.join(os.path.dirname(path), "saved_model")
    space = (saved_model.saved_label_space(beside, scores.shape[1])
             if os.path.isdir(beside) else scores.shape[1])
    teacher = Teacher(call, space, outputs,
                      _identity("precomputed", path, path),
                      _labels_beside(path))
    teacher.num_rows = scores.shape[0]
    return teacher
