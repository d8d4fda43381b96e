"""Text inputs: TSV, JSONL and TensorFlow Datasets, and the label vocabulary.

Every later step sees an input as a stream of `(text, label_name)` pairs read
one at a time, so no input is ever held in memory whole. Three spellings:

* `path.tsv` (or any other name): `text<TAB>label` per line; an unlabeled
  file may carry the text column only.
* `path.jsonl` / `path.json`: one `{"text": ..., "label": ...}` object a line.
* `tfds:NAME[:SPLIT]`: a TensorFlow Datasets split (default `train`), read
  from `data_dir` (prepared offline copies work; see `tfds build`).

The label vocabulary is `labels.txt`: one class name per line, the line
number (from 0) is the class id.
"""

import hashlib
import json

TFDS_PREFIX = "tfds:"


class InputError(ValueError):
    """Bad input data; the message names the file, line and what was expected."""


def iter_examples(spec, data_dir=None):
    """Yields `(text, label_name)` pairs from an input file or TFDS split.

    Args:
        spec: a `.tsv`/`.jsonl` path or `tfds:NAME[:SPLIT]`.
        data_dir: TFDS data directory (only for `tfds:` specs).

    Returns:
        A generator of `(str, str or None)`; the label is `None` when the
        example carries none.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.tsv")
    >>> _ = open(path, "w").write("a cat\\tanimal\\n\\nno label here\\n")
    >>> list(iter_examples(path))
    [('a cat', 'animal'), ('no label here', None)]
    """
    return ((text, label) for _, text, label in iter_located(spec, data_dir))


def iter_located(spec, data_dir=None):
    """Yields `(where, text, label_name)`: `iter_examples` with each
    example's place for error messages (`FILE:LINE`, or `tfds:NAME:SPLIT
    example N`)."""
    if spec.startswith(TFDS_PREFIX):
        return _iter_tfds(spec, data_dir)
    return ((f"{spec}:{number}",) + parse_line(line, spec, number)
            for number, line in _lines(spec))


def _lines(path):
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{path}:{number}: invalid UTF-8 ({e.reason} at byte "
                    f"{e.start}); expected UTF-8 text") from None


def parse_line(line, path, number):
    """Parses one non-blank line of a `.tsv` or `.jsonl` input.

    Args:
        line: the line, without its newline.
        path: the input's path (its suffix tells the format).
        number: the line number, for errors (or a description such as
            `"a line"` where the number is unknown).

    Returns:
        `(text, label name or None)`.

    Raises:
        InputError: naming `path:number` and what was expected.
    """
    if path.endswith((".jsonl", ".json")):
        return _parse_jsonl(line, path, number)
    columns = line.split("\t")
    if len(columns) > 2:
        raise InputError(
            f"{path}:{number}: {len(columns)} tab-separated columns; "
            "expected 'text<TAB>label' or 'text'")
    return _checked_text(columns[0], path, number), (
        columns[1] if len(columns) == 2 else None)


def _parse_jsonl(line, path, number):
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{number}: not valid JSON ({e.msg}); "
                         'expected {"text": ..., "label": ...}') from None
    if not isinstance(record, dict) or not isinstance(
            record.get("text"), str):
        raise InputError(f"{path}:{number}: expected an object with a "
                         'string "text" field')
    label = record.get("label")
    return _checked_text(record["text"], path, number), (
        None if label is None else str(label))


def _checked_text(text, path, number):
    if not text.strip():
        raise InputError(f"{path}:{number}: empty text; expected a non-empty "
                         "text column")
    return text


def _tfds_builder(spec, data_dir):
    import tensorflow_datasets as tfds

    name, _, split = spec[len(TFDS_PREFIX):].partition(":")
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        builder.download_and_prepare()
    return builder, split or "train"


def _iter_tfds(spec, data_dir):
    import tensorflow_datasets as tfds

    builder, split = _tfds_builder(spec, data_dir)
    features = builder.info.features
    text_key = _tfds_text_key(spec, features)
    label = features["label"] if "label" in features else None
    name = f"{TFDS_PREFIX}{builder.name}:{split}"
    for number, example in enumerate(
            tfds.as_numpy(builder.as_dataset(split=split)), start=1):
        text = example[text_key].decode("utf-8")
        yield (f"{name} example {number}", text,
               None if label is None else label.int2str(example["label"]))


def _tfds_text_key(spec, features):
    import tensorflow_datasets as tfds

    if "text" in features:
        return "text"
    keys = [k for k, v in features.items() if isinstance(v, tfds.features.Text)]
    if len(keys) != 1:
        raise InputError(f"{spec}: cannot tell the text feature among "
                         f"{sorted(features)}; expected one named 'text'")
    return keys[0]


def build_labels(spec, data_dir=None):
    """Returns the sorted class names found in a labeled input."""
    names = {label for _, label in iter_examples(spec, data_dir)}
    if None in names:
        raise InputError(f"{spec}: some examples have no label; the label "
                         "vocabulary is built from a labeled file")
    return sorted(names)


def write_labels(path, names):
    """Writes `labels.txt`: one class name per line, line number = class id."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(name + "\n" for name in names)


def read_labels(path):
    """Reads `labels.txt` and returns the class names in id order.

    Raises:
        InputError: on a blank line or a duplicated name.
    """
    with open(path, encoding="utf-8") as f:
        names = [line.rstrip("\r\n") for line in f]
    seen = {}
    for number, name in enumerate(names, start=1):
        if not name.strip():
            raise InputError(f"{path}:{number}: blank line; expected one class "
                             "name per line")
        if name in seen:
            raise InputError(f"{path}:{number}: duplicate class name {name!r} "
                             f"(first on line {seen[name]})")
        seen[name] = number
    return names


def labels_sha256(path):
    """Returns the SHA-256 hex digest of a labels file (its identity)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def label_id(label, label_ids, where, skip_unknown=False):
    """An example's class id: the one rule that maps label names to ids.

    Args:
        label: the example's label name, or `None`.
        label_ids: `{class name: id}`, or `None` for an unlabeled set.
        where: the example's place (`FILE:LINE`), for errors.
        skip_unknown: return `None` for a label not in `label_ids` (the
            caller leaves the example out) instead of raising.

    Returns:
        The class id; -1 in an unlabeled set; `None` for a skipped label.

    Raises:
        InputError: naming `where`, for a missing or unknown label.

    Example:
    >>> label_id("cat", {"cat": 0, "dog": 1}, "train.tsv:3")
    0
    >>> label_id("cow", {"cat": 0, "dog": 1}, "train.tsv:4")
    Traceback (most recent call last):
    ...
    topk_distill.inputs.InputError: train.tsv:4: label 'cow' is not in the labels file (or pass --skip_unknown_labels)
    """
    if label_ids is None:
        return -1
    if label is None:
        raise InputError(f"{where}: no label; expected a labeled set "
                         "(or pass --unlabeled)")
    if label in label_ids:
        return label_ids[label]
    if skip_unknown:
        return None
    raise InputError(f"{where}: label {label!r} is not in the labels file "
                     "(or pass --skip_unknown_labels)")


def read_labeled(spec, names, data_dir=None):
    """Reads a labeled input whole, mapping labels to class ids.

    Args:
        spec: a `.tsv`/`.jsonl` path or `tfds:NAME[:SPLIT]`.
        names: the class names, in id order (from `read_labels`).
        data_dir: TFDS data directory.

    Returns:
        `(texts, ids)`: lists of str and int.

    Raises:
        InputError: naming the first example whose label is missing or not
            in `names`, or an input with no example.
    """
    ids = {name: i for i, name in enumerate(names)}
    texts, labels = [], []
    for where, text, label in iter_located(spec, data_dir):
        texts.append(text)
        labels.append(label_id(label, ids, where))
    if not texts:
        raise InputError(f"{spec}: no examples")
    return texts, labels
