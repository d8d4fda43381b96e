"""What a label is: `LabelSpace`, the one owner of single- against
multi-label.

An example of a `SingleLabel` space has exactly one of N classes; the
student scores the classes with a softmax, and a served answer is the
best classes with their probabilities. An example of a `MultiLabel` space
has one or more of the N classes; the student scores each class with a
sigmoid, and an answer is every class whose probability reaches the
space's threshold. A label is always a tuple of class ids (one id for a
single-label example).

Everything downstream that differs between the two asks the space (its
`kind`, `activation`, `batch_key`, `threshold`) or looks its own part up
by `kind` (`distillation.objectives`), instead of testing a flag.
"""

import numbers

import numpy as np

from topk_distill.inputs.errors import InputError
from topk_distill.utils import json_files, metrics

# Between the labels of a multi-label `.tsv` row.
LABEL_SEPARATOR = "|"

DEFAULT_THRESHOLD = 0.5


class LabelSpace:
    """The classes an example's label is drawn from, and how many it has.

    Make one with `LabelSpace.of(num_classes, multi_label)` (the command
    line's flag turned into a space, once), `SingleLabel(N)` or
    `MultiLabel(N)`, or from a saved form with `from_config`.

    Attributes:
        num_classes: N, or `None` before the classes are known (a space to
            read an input's labels with, as `inputs.iter_examples` does).
        kind: `"single"` or `"multi"`.
        activation: what turns the student's logits into probabilities:
            `"softmax"` or `"sigmoid"`.
        batch_key: the key of a training batch's true labels: `"label"`
            (int [B], -1 unlabeled) or `"labels"` (int [B, L], -1 padding).
        threshold: the probability an answer must reach to be served as a
            label (multi-label); `None` for a single-label space.
        name: `"single-label"` or `"multi-label"`, for messages.
        has_reference_teacher: whether `teacher` without `--encoder` (a
            bag-of-words softmax teacher) can teach it.

    Examples:
        >>> space = LabelSpace.of(4123)
        >>> space, space.activation, space.from_column("cat|pet", "a.tsv:1")
        (SingleLabel(4123), 'softmax', ('cat|pet',))
        >>> MultiLabel(threshold=0.4).from_column("cat|pet|cat", "a.tsv:1")
        ('cat', 'pet')
        >>> LabelSpace.from_config(MultiLabel(5).get_config())
        MultiLabel(5, threshold=0.5)
    """

    kind = None
    activation = None
    batch_key = None
    name = None
    threshold = None

    def __init__(self, num_classes=None):
        if num_classes is not None and (isinstance(num_classes, bool) or not
                                        isinstance(num_classes,
                                                   numbers.Integral)
                                        or num_classes < 1):
            raise ValueError(f"num_classes={num_classes!r}; expected a "
                             "positive int")
        self.num_classes = None if num_classes is None else int(num_classes)

    @staticmethod
    def of(num_classes, multi_label=False, threshold=None):
        """The space of `num_classes` classes, multi-label or not: where a
        bool (a flag, an old file's field) becomes a space."""
        if multi_label:
            return MultiLabel(num_classes, threshold)
        return SingleLabel(num_classes)

    @staticmethod
    def given(space):
        """`space` as a `LabelSpace`: one given as is; a number N, the
        single-label space of N classes (what a model taking `N or a
        LabelSpace` reads).

        Examples:
            >>> LabelSpace.given(3), LabelSpace.given(MultiLabel(3))
            (SingleLabel(3), MultiLabel(3, threshold=0.5))
        """
        return space if isinstance(space, LabelSpace) else SingleLabel(space)

    @property
    def multi_label(self):
        """Whether an example may have several labels (what record sets
        and saved models write as their `multi_label` field)."""
        return self.kind == "multi"

    def from_fields(self, label, labels, where):
        """An example's labels, from the fields it has (each `None` when
        absent): `label`, one name; `labels`, a sequence of names.

        Returns:
            A tuple of names (each once, in order), or `None` when the
            example has no label.

        Raises:
            InputError: naming `where`: several labels in a single-label
                space, or an empty name.
        """
        raise NotImplementedError

    def as_tuple(self, label):
        """An example's label as a writer is given it (a name or id; in a
        multi-label space a list of them) as a tuple; `None` when it is
        not of that shape. A missing label (`None`) is `(None,)`, for the
        caller to refuse by name."""
        if label is None:
            return (None,)
        if isinstance(label, (str, bytes, numbers.Integral)):
            return self._scalar(label)
        return tuple(label)

    def _scalar(self, label):
        raise NotImplementedError

    def from_column(self, column, where):
        """An example's labels from a `.tsv` label column (a multi-label
        space splits it at `LABEL_SEPARATOR`)."""
        raise NotImplementedError

    def label_array(self, label_ids, width=None):
        """Examples' class ids (tuples; empty: unlabeled) as one int64
        array: [M] (-1 unlabeled) in a single-label space, [M, L] (-1
        padding; L `width`, or the most ids a row has, at least 1) in a
        multi-label one.

        Examples:
            >>> MultiLabel().label_array([(3, 1), (2,)]).tolist()
            [[3, 1], [2, -1]]
            >>> MultiLabel().label_array([(), (0,)], width=3).tolist()
            [[-1, -1, -1], [0, -1, -1]]
        """
        raise NotImplementedError

    def array_shape(self, width=None):
        """The shape of `label_array`'s result, M unknown (`None`)."""
        raise NotImplementedError

    def fit_targets(self, label_ids):
        """Examples' class ids (tuples) as a Keras classifier's `fit`
        takes them: int64 [M] class ids (single-label), or float32 [M, N]
        multi-hot (multi-label; N must be known).

        Examples:
            >>> MultiLabel(3).fit_targets([(0, 2), (1,)]).tolist()
            [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
        """
        raise NotImplementedError

    def label_columns(self, label_ids):
        """A labeled input's labels as a batch holds them: `{"label":
        int64 [M]}`; multi-label also `"labels"` int64 [M, L] (-1 padding),
        `"label"` each example's first.

        Args:
            label_ids: one int per example (single-label) or one sequence
                of ints per example.
        """
        raise NotImplementedError

    def answers(self):
        """How many of each example's best answers `report` needs (at most
        N)."""
        raise NotImplementedError

    def report(self, answers, probabilities, label_ids):
        """The metrics of served answers against true labels, as
        `evaluate` reports them (`utils.metrics`).

        Args:
            answers: int [M, n] class ids, best first (n = `answers()`).
            probabilities: float [M, n] their probabilities.
            label_ids: the examples' class ids (tuples).

        Returns:
            A dict: single-label, top-k accuracy `p@1`, `p@3`, `p@5` and
            `macro_p@1`; multi-label, `p@k`, `ndcg@k`, `recall@k`
            (k = 1, 3, 5 where served), `micro_f1` and `macro_f1` at the
            space's threshold, and the `threshold`.
        """
        raise NotImplementedError

    def scored_by(self, sigmoid):
        """The space of a teacher of this space whose scores are asked as
        per-class sigmoid ones (`sigmoid`) or a softmax's; `None` for a
        softmax's of a multi-label teacher."""
        raise NotImplementedError

    def fitted(self, choose_threshold):
        """The space with the threshold `choose_threshold()` returns; a
        single-label space (which has none) as it is."""
        raise NotImplementedError

    def chosen(self, scores):
        """What a served answer adds to its best `scores`: multi-label,
        `top_chosen` (the score reaches the threshold); else nothing."""
        raise NotImplementedError

    def write_settings(self, path):
        """Writes what a saved classifier keeps beside it (`read_settings`):
        multi-label, the threshold; single-label, nothing (no file)."""
        raise NotImplementedError

    def get_config(self):
        """A JSON-able form, read back by `from_config`."""
        return {"kind": self.kind, "num_classes": self.num_classes}

    @staticmethod
    def from_config(config):
        """The space `get_config` wrote."""
        config = dict(config)
        kind = config.pop("kind", None)
        if kind not in KINDS:
            raise ValueError(f"label space kind {kind!r}; expected one of "
                             f"{sorted(KINDS)}")
        return KINDS[kind](**config)

    def with_classes(self, num_classes):
        """The same kind of space over `num_classes` classes."""
        config = dict(self.get_config(), num_classes=num_classes)
        return LabelSpace.from_config(config)

    def __eq__(self, other):
        return (isinstance(other, LabelSpace)
                and self.get_config() == other.get_config())

    def __hash__(self):
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self):
        return f"{type(self).__name__}({_arguments(self.get_config())})"


class SingleLabel(LabelSpace):
    """Each example is exactly one of N classes (a softmax)."""

    kind = "single"
    activation = "softmax"
    batch_key = "label"
    name = "single-label"
    has_reference_teacher = True

    def from_fields(self, label, labels, where):
        if label is None and labels is not None:
            raise InputError(f"{where}: \"labels\" (a multi-label example) "
                             "where single-label examples are expected "
                             "(\"label\")")
        return None if label is None else (str(label),)

    def from_column(self, column, where):
        return self.from_fields(column, None, where)

    def _scalar(self, label):
        return (label,)

    def label_array(self, label_ids, width=None):
        ids = [row[0] if len(row) else -1 for row in label_ids]
        return np.asarray(ids, np.int64).reshape(-1)

    def array_shape(self, width=None):
        return [None]

    def fit_targets(self, label_ids):
        return self.label_array(label_ids)

    def label_columns(self, label_ids):
        return {"label": self.label_array(label_ids)}

    def answers(self):
        return min(5, self.num_classes)

    def scored_by(self, sigmoid):
        return MultiLabel(self.num_classes) if sigmoid else self

    def fitted(self, choose_threshold):
        return self

    def chosen(self, scores):
        return {}

    def write_settings(self, path):
        pass

    def report(self, answers, probabilities, label_ids):
        labels = self.label_array(label_ids)
        return {**{f"p@{k}": metrics.top_k_accuracy(answers, labels, k)
                   for k in (1, 3, 5)},
                "macro_p@1": metrics.macro_precision_at_1(answers, labels)}


class MultiLabel(LabelSpace):
    """Each example is one or more of N classes (a sigmoid per class).

    Args:
        num_classes: N.
        threshold: the probability an answer must reach to be served as a
            label, in (0, 1); default 0.5 (training chooses its own on the
            validation set).
    """

    kind = "multi"
    activation = "sigmoid"
    batch_key = "labels"
    name = "multi-label"
    has_reference_teacher = False

    def __init__(self, num_classes=None, threshold=None):
        super().__init__(num_classes)
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        if isinstance(threshold, bool) or not isinstance(
                threshold, numbers.Real) or not 0 < threshold < 1:
            raise ValueError(f"threshold={threshold!r}; expected a "
                             "probability in (0, 1)")
        self.threshold = float(threshold)

    def get_config(self):
        return dict(super().get_config(), threshold=self.threshold)

    def scored_by(self, sigmoid):
        return self if sigmoid else None

    def fitted(self, choose_threshold):
        return MultiLabel(self.num_classes, choose_threshold())

    def chosen(self, scores):
        return {"top_chosen": scores >= self.threshold}

    def write_settings(self, path):
        json_files.write_json(path, {"multi_label": True,
                                     "threshold": self.threshold})

    def from_fields(self, label, labels, where):
        if labels is None:
            return None if label is None else (str(label),)
        names = [str(name) for name in labels]
        if any(not name.strip() for name in names):
            raise InputError(f"{where}: an empty label in {names!r}; "
                             f"expected labels separated by "
                             f"{LABEL_SEPARATOR!r}")
        return tuple(dict.fromkeys(names)) or None

    def from_column(self, column, where):
        return self.from_fields(None, column.split(LABEL_SEPARATOR), where)

    def _scalar(self, label):
        return None  # one name where a list is expected

    def label_array(self, label_ids, width=None):
        if width is None:
            width = max([1] + [len(ids) for ids in label_ids])
        labels = np.full((len(label_ids), width), -1, np.int64)
        for row, ids in enumerate(label_ids):
            labels[row, :len(ids)] = ids
        return labels

    def array_shape(self, width=None):
        return [None, width]

    def fit_targets(self, label_ids):
        out = np.zeros((len(label_ids), self.num_classes), np.float32)
        for row, ids in enumerate(label_ids):
            out[row, list(ids)] = 1.0
        return out

    def label_columns(self, label_ids):
        labels = self.label_array(label_ids)
        return {"label": labels[:, 0], "labels": labels}

    def answers(self):
        # the answers training chose its threshold on
        return min(metrics.ANSWERS, self.num_classes)

    def report(self, answers, probabilities, label_ids):
        return metrics.multilabel_report(
            answers, probabilities, self.label_array(label_ids),
            self.threshold, self.num_classes)


KINDS = {space.kind: space for space in (SingleLabel, MultiLabel)}


def tfds_label_features(spec, features):
    """The `ClassLabel`s of a TFDS dataset's `"label"` and of its
    `"labels"` sequence (multi-label), each `None` where it has none."""
    labels = None
    if "labels" in features:
        labels = getattr(features["labels"], "feature", None)
        if labels is None or not hasattr(labels, "int2str"):
            raise InputError(f"{spec}: its 'labels' feature is not a "
                             "sequence of class labels")
    return features["label"] if "label" in features else None, labels


def read_settings(path, num_classes):
    """The space of a saved classifier of `num_classes` classes from the
    settings file `write_settings` wrote at `path`: multi-label with its
    threshold; single-label where there is no such file.

    Raises:
        ValueError: naming the file, if it is damaged or its threshold is
            not a number in (0, 1).

    Examples:
        >>> import json, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "multi_label.json")
        >>> _ = open(path, "w").write(json.dumps({"threshold": "abc"}))
        >>> read_settings(path, 3)
        Traceback (most recent call last):
        ...
        ValueError: .../multi_label.json: threshold 'abc'; expected a number in (0, 1)
    """
    settings = json_files.read_json(path)
    if settings is None:
        return SingleLabel(num_classes)
    threshold = settings.get("threshold") if isinstance(
        settings, dict) else None
    try:  # MultiLabel's check; a file's threshold may not be left out
        if threshold is None:
            raise ValueError
        return MultiLabel(num_classes, threshold)
    except ValueError:
        raise ValueError(f"{path}: threshold {threshold!r}; expected a "
                         "number in (0, 1)") from None


def _arguments(config):
    """`get_config` as a constructor's arguments: N first, unnamed."""
    config = dict(config)
    del config["kind"]
    classes = config.pop("num_classes")
    return ", ".join(([] if classes is None else [str(classes)]) +
                     [f"{key}={value}" for key, value in config.items()])
