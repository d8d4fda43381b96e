"""The label vocabulary, `labels.txt`: one class name per line, the line
number (from 0) is the class id; and labels mapped to ids."""

import hashlib
from topk_distill.inputs import inputs
from topk_distill.inputs.errors import InputError


def build_labels(spec, data_dir=None):
    """Returns the sorted class names found in a labeled input."""
    names = {label for _, label in inputs.iter_examples(spec, data_dir)}
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

    A UTF-8 byte-order mark at its start is dropped.

    Raises:
        InputError: on an empty file, a blank line or a duplicated name.
    """
    with open(path, encoding="utf-8-sig") as f:
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
    if not names:
        raise InputError(f"{path}: no class names; expected one class name "
                         "per line")
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
    topk_distill.inputs.errors.InputError: train.tsv:4: label 'cow' is not in the labels file (or pass --skip_unknown_labels)
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
        `(inputs, ids)`: lists of inputs (str, bytes or float lists) and
        int.

    Raises:
        InputError: naming the first example whose label is missing or not
            in `names`, or an input with no example.
    """
    ids = {name: i for i, name in enumerate(names)}
    texts, labels = [], []
    for where, text, label in inputs.iter_located(spec, data_dir):
        texts.append(text)
        labels.append(label_id(label, ids, where))
    if not texts:
        raise InputError(f"{spec}: no examples")
    return texts, labels
