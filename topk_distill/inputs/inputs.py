"""Inputs: TSV, JSONL, image folders and TensorFlow Datasets.

Every later step sees an input as a stream of `(input, label_name)` pairs
read one at a time, so no input is ever held in memory whole. The input is
a `str` (text), `bytes` (an encoded image) or a list of floats (a feature
vector): its kind (`input_kinds`) is what `describe` finds. Four spellings:

* `path.tsv` (or any other name): `text<TAB>label` per line; an unlabeled
  file may carry the text column only. Read in a multi-label space
  (`label_space=MultiLabel()`), the label column holds one or more labels
  separated by `|` (`LABEL_SEPARATOR`): `text<TAB>cat|pet`.
* `path.jsonl` / `path.json`: one `{"text": ..., "label": ...}` object a
  line, or `{"features": [float, ...], "label": ...}` (every vector as
  long as the first); multi-label, `"labels": [...]` (a lone `"label"`
  is one label).
* a folder of images: class subfolders holding PNG, JPEG, GIF or BMP files
  (the `keras.utils.image_dataset_from_directory` convention: the
  subfolder's name is the label), or, unlabeled, the image files alone.
  Every file must be an image that decodes.
* `tfds:NAME[:SPLIT]`: a TensorFlow Datasets split (default `train`), read
  from `data_dir` (prepared offline copies work; see `tfds build`): its
  text feature, or its image feature (as PNG bytes); multi-label, its
  `labels` sequence of class labels.

An example's label is a tuple of names (each once, in the order given):
one name in a single-label space (`LabelSpace`, the default), one or
more in a multi-label one; `None` for an example with no label.

The label vocabulary is `labels_file`'s; image files are `image_files`'.
"""

import json
import math
import os

from topk_distill.inputs import image_files, input_kinds
from topk_distill.inputs.errors import InputError
from topk_distill.inputs.label_space import SingleLabel, tfds_label_features

TFDS_PREFIX = "tfds:"


def iter_examples(spec, data_dir=None, label_space=None):
    """Yields `(input, labels)` pairs from an input file or TFDS split.

    Args:
        spec: a `.tsv`/`.jsonl` path, an image folder or
            `tfds:NAME[:SPLIT]`.
        data_dir: TFDS data directory (only for `tfds:` specs).
        label_space: what an example's label is (`LabelSpace`; its
            classes need not be known yet): `SingleLabel()`, the default,
            or `MultiLabel()` (one or more labels an example).

    Returns:
        A generator of `(input, tuple of label names or None)`; `None`
        when the example carries no label.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "train.tsv")
        >>> _ = open(path, "w").write("a cat\\tanimal\\n\\nno label here\\n")
        >>> list(iter_examples(path))
        [('a cat', ('animal',)), ('no label here', None)]
        >>> from topk_distill.inputs.label_space import MultiLabel
        >>> _ = open(path, "w").write("a cat\\tanimal|pet\\n")
        >>> list(iter_examples(path, label_space=MultiLabel()))
        [('a cat', ('animal', 'pet'))]
    """
    return ((text, label) for _, text, label in iter_located(
        spec, data_dir, label_space=label_space))


def iter_located(spec, data_dir=None, verify=True, label_space=None):
    """Yields `(where, input, label_name)`: `iter_examples` with each
    example's place for error messages (`FILE:LINE`, an image's path, or
    `tfds:NAME:SPLIT example N`). `verify=False` skips decoding a folder's
    images to check them, for a second pass over an input already read
    whole (as `preprocess` does: decoding is most of the reading)."""
    space = label_space or SingleLabel()
    if spec.startswith(TFDS_PREFIX):
        return _iter_tfds(spec, data_dir, space)
    if os.path.isdir(spec):  # one label an image: its subfolder's name
        return ((where, image, space.from_fields(name, None, where))
                for where, image, name in image_files.iter_image_folder(
                    spec, verify))
    return _same_length(((f"{spec}:{number}",) + parse_line(
        line, spec, number, space) for number, line in _lines(spec)))


def describe(spec, data_dir=None):
    """The kind of an input's examples, from its first one.

    Returns:
        `(input_kind, feature_dim or None)`; `("text", None)` for an
        input with no example (refused later for having none).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "train.jsonl")
        >>> _ = open(path, "w").write('{"features": [0.5, 2], "label": "a"}\\n')
        >>> describe(path)
        ('features', 2)
    """
    # The labels are not read: the kind of input does not depend on them
    # (nor on whether an example has one label or several).
    for _, value, _ in iter_located(spec, data_dir,
                                    label_space=_UNREAD_LABELS):
        return kind_of(value)
    return "text", None


class _UnreadLabels:
    """A label reader for `describe`: every example unlabeled, whatever
    its label fields hold (a single-label name with `|` in it, a
    multi-label list)."""

    @staticmethod
    def from_fields(label, labels, where):
        return None

    @staticmethod
    def from_column(column, where):
        return None


_UNREAD_LABELS = _UnreadLabels()


def check_kind(spec, kind, feature_dim, holder, data_dir=None, flag=None):
    """Refuses an input whose examples are of another kind than `kind`.

    Args:
        spec: the input (e.g. a `--validation` file or folder).
        kind, feature_dim: the kind expected.
        holder: what holds that kind, for the message ("the records").
        data_dir: TFDS data directory.
        flag: the flag that named `spec`, for the message.

    Raises:
        InputError: one line naming the flag, `spec` and both kinds.
    """
    found = describe(spec, data_dir)
    if found != (kind, feature_dim):
        where = f"{flag}={spec}" if flag else spec
        raise InputError(f"{where}: holds {input_kinds.kind_name(*found)} "
                         f"inputs, but {holder} hold "
                         f"{input_kinds.kind_name(kind, feature_dim)}")


def kind_of(value):
    """`(input_kind, feature_dim or None)` of one example's input."""
    if isinstance(value, str):
        return "text", None
    if isinstance(value, bytes):
        return "image", None
    return "features", len(value)


def _same_length(located):
    """Refuses feature vectors of another length than the first's."""
    dim = None
    for where, value, label in located:
        if isinstance(value, list):
            dim = dim or len(value)
            if len(value) != dim:
                raise InputError(f"{where}: {len(value)} features; expected "
                                 f"{dim} (as the first example)")
        yield where, value, label


def _lines(path):
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a byte-order mark, as some editors write
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{path}:{number}: invalid UTF-8 ({e.reason} at byte "
                    f"{e.start}); expected UTF-8 text") from None


def parse_line(line, path, number, label_space=None):
    """Parses one non-blank line of a `.tsv` or `.jsonl` input.

    Args:
        line: the line, without its newline.
        path: the input's path (its suffix tells the format).
        number: the line number, for errors (or a description such as
            `"a line"` where the number is unknown).
        label_space: what a label is (`iter_examples`); default
            `SingleLabel()`.

    Returns:
        `(input, tuple of label names or None)`.

    Raises:
        InputError: naming `path:number` and what was expected.
    """
    space = label_space or SingleLabel()
    where = f"{path}:{number}"
    if path.endswith((".jsonl", ".json")):
        return _parse_jsonl(line, where, space)
    columns = line.split("\t")
    if len(columns) > 2:
        raise InputError(
            f"{where}: {len(columns)} tab-separated columns; "
            "expected 'text<TAB>label' or 'text'")
    label = (space.from_column(columns[1], where) if len(columns) == 2
             else None)
    return _checked_text(columns[0], where), label


def _parse_jsonl(line, where, space):
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not valid JSON ({e.msg}); "
                         'expected {"text": ..., "label": ...}') from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected an object with a string "
                         '"text" field (or a "features" list)')
    names = record.get("labels")
    if names is not None and not isinstance(names, list):
        raise InputError(f"{where}: \"labels\" is not a list")
    label = space.from_fields(record.get("label"), names, where)
    if "features" in record:
        values = record["features"]
        if not (isinstance(values, list) and values and all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) for v in values)):
            raise InputError(f"{where}: \"features\" is not a "
                             "non-empty list of finite numbers")
        return [float(v) for v in values], label
    if not isinstance(record.get("text"), str):
        raise InputError(f"{where}: expected an object with a string "
                         '"text" field (or a "features" list)')
    return _checked_text(record["text"], where), label


def _checked_text(text, where):
    if not text.strip():
        raise InputError(f"{where}: empty text; expected a non-empty "
                         "text column")
    return text


def _tfds_builder(spec, data_dir):
    import tensorflow_datasets as tfds

    name, _, split = spec[len(TFDS_PREFIX):].partition(":")
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        builder.download_and_prepare()
    return builder, split or "train"


def _iter_tfds(spec, data_dir, space):
    import tensorflow_datasets as tfds

    import tensorflow as tf

    builder, split = _tfds_builder(spec, data_dir)
    features = builder.info.features
    key, is_image = _tfds_input_key(spec, features)
    label_names, labels_names = tfds_label_features(spec, features)
    name = f"{TFDS_PREFIX}{builder.name}:{split}"
    for number, example in enumerate(
            tfds.as_numpy(builder.as_dataset(split=split)), start=1):
        value = (tf.io.encode_png(example[key]).numpy() if is_image else
                 example[key].decode("utf-8"))
        where = f"{name} example {number}"
        label = (None if label_names is None else
                 label_names.int2str(example["label"]))
        labels = (None if labels_names is None else
                  [labels_names.int2str(int(i)) for i in example["labels"]])
        yield where, value, space.from_fields(label, labels, where)


def _tfds_input_key(spec, features):
    """The feature a TFDS dataset's input is: `(key, is an image)`."""
    import tensorflow_datasets as tfds

    if "text" in features:
        return "text", False
    for kind in (tfds.features.Text, tfds.features.Image):
        keys = [k for k, v in features.items() if isinstance(v, kind)]
        if len(keys) == 1:
            return keys[0], kind is tfds.features.Image
    raise InputError(f"{spec}: cannot tell the input among "
                     f"{sorted(features)}; expected one text feature (or "
                     "one named 'text') or one image feature")
