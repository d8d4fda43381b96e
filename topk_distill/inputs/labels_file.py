"""The label vocabulary, `labels.txt`: one class name per line, the line
number (from 0) is the class id; and labels mapped to ids."""

import hashlib
import numbers

import numpy as np


from topk_distill.inputs import inputs
from topk_distill.inputs.errors import InputError
from topk_distill.inputs.label_space import LABEL_SEPARATOR, SingleLabel


def build_labels(spec, data_dir=None, label_space=None):
    """Returns the sorted class names found in a labeled input: every
    label of every example, read in `label_space` (`inputs.iter_examples`;
    default `SingleLabel()`)."""
    names = set()
    for where, _, labels in inputs.iter_located(spec, data_dir,
                                                label_space=label_space):
        if labels is None:
            raise InputError(f"{where}: no label; the label vocabulary is "
                             "built from a labeled file")
        names.update(labels)
    return sorted(names)


def check_class_name(name, where):
    """Refuses a class name `labels.txt` cannot keep, or that no input
    would spell: empty, holding a line break or tab, or with spaces at
    either end. The one rule for names, read or written.

    Raises:
        InputError: naming `where` and showing the name (`repr`).

    Examples:
        >>> check_class_name("pet shop", "labels.txt:1")
        >>> check_class_name("animal ", "labels.txt:2")
        Traceback (most recent call last):
        ...
        topk_distill.inputs.errors.InputError: labels.txt:2: class name 'animal ' has spaces at an end; expected a name as the inputs spell it
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: an empty class name ({name!r}); "
                         "expected a name")
    if any(c in name for c in "\n\r\t"):
        raise InputError(f"{where}: class name {name!r} holds a line break "
                         "or tab; expected one line, no tabs")
    if name != name.strip():
        raise InputError(f"{where}: class name {name!r} has spaces at an "
                         "end; expected a name as the inputs spell it")


def write_labels(path, names):
    """Writes `labels.txt`: one class name per line, line number = class id.

    Raises:
        InputError: a name `check_class_name` refuses, or one twice
            (nothing is written).
    """
    seen = {}
    for number, name in enumerate(names):
        check_class_name(name, f"class {number}")
        if name in seen:
            raise InputError(f"class {number}: duplicate class name {name!r} "
                             f"(first: class {seen[name]})")
        seen[name] = number
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
        check_class_name(name, f"{path}:{number}")
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

    Examples:
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
    hint = (" (several labels? this set is single-label)"
            if LABEL_SEPARATOR in label else "")
    raise InputError(f"{where}: label {label!r} is not in the labels file"
                     f"{hint} (or pass --skip_unknown_labels)")


def label_ids(labels, label_ids, where, skip_unknown=False):
    """An example's class ids (`label_id` for each of its names).

    Args:
        labels: the example's tuple of label names, or `None`.
        label_ids: `{class name: id}`, or `None` for an unlabeled set.
        where: names the example in errors (`FILE:LINE`).
        skip_unknown: leave out the names not in `label_ids`.

    Returns:
        A tuple of class ids; `()` in an unlabeled set; `None` when
        `skip_unknown` left none.

    Raises:
        InputError: naming `where`, for a missing or unknown label.

    Examples:
        >>> label_ids(("cat", "pet"), {"cat": 0, "dog": 1, "pet": 2}, "t.tsv:3")
        (0, 2)
    """
    if label_ids is None:
        return ()
    if labels is None:
        label_id(None, label_ids, where)  # refused: no label
    ids = [label_id(name, label_ids, where, skip_unknown) for name in labels]
    return tuple(i for i in ids if i is not None) or None


def read_labeled(spec, names, data_dir=None, label_space=None):
    """Reads a labeled input whole, mapping labels to class ids.

    Args:
        spec: a `.tsv`/`.jsonl` path, an image folder or
            `tfds:NAME[:SPLIT]`.
        names: the class names, in id order (from `read_labels`).
        data_dir: TFDS data directory.
        label_space: what an example's label is (`inputs.iter_examples`);
            default `SingleLabel()`.

    Returns:
        `(inputs, ids)`: lists of inputs (str, bytes or float lists) and
        of tuples of class ids (one id each in a single-label space;
        `class_ids` makes them an array).

    Raises:
        InputError: naming the first example whose label is missing or not
            in `names`, or an input with no example.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "test.tsv")
        >>> _ = open(path, "w").write("a cat\\tanimal\\na fern\\tplant\\n")
        >>> texts, ids = read_labeled(path, ["animal", "plant"])
        >>> ids, class_ids(ids).tolist()
        ([(0,), (1,)], [0, 1])
    """
    ids = {name: i for i, name in enumerate(names)}
    texts, labels = [], []
    for where, text, label in inputs.iter_located(
            spec, data_dir, label_space=label_space):
        texts.append(text)
        labels.append(label_ids(label, ids, where))
    if not texts:
        raise InputError(f"{spec}: no examples")
    return texts, labels


def class_ids(label_ids):
    """Single-label examples' class ids (tuples of one id, or ids
    already) as int64 [M]."""
    if all(isinstance(ids, numbers.Integral) for ids in label_ids):
        return np.asarray(label_ids, np.int64).reshape(-1)
    return SingleLabel().label_array(label_ids)


def label_words(name):
    """A class name as the words a text would use for it: underscores and
    hyphens as spaces, a trailing dotted number (a WordNet synset's offset)
    dropped.

    Examples:
        >>> label_words("physical_entity.00001930"), label_words("x11-apps")
        ('physical entity', 'x11 apps')
    """
    head, dot, tail = name.rpartition(".")
    if dot and tail.isdigit():
        name = head
    return name.replace("_", " ").replace("-", " ")
