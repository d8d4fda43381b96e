"""What a record set's metadata holds for each kind of label.

A single-label set (format 1 or 2) has no `max_labels` and writes no
`multi_label` key; a multi-label set (format 3) has `max_labels`, the
most labels a record holds, and keeps sigmoid scores q8 can store
(probabilities). `RecordSet.rules` looks them up by its label space's
kind (`RULES`); how a record holds the label itself is `codec`'s.
"""

import numbers

# The format version of a multi-label set (`records.MULTI_LABEL_VERSION`).
MULTI_LABEL_VERSION = 3


class SingleLabelRules:
    """A single-label set: one `label` a record, no `max_labels`."""

    @staticmethod
    def problem(record_set):
        """What is wrong with the set's label fields, or `None`."""
        if record_set.max_labels is not None or \
                record_set.format_version == MULTI_LABEL_VERSION:
            return (f"max_labels and format_version {MULTI_LABEL_VERSION} "
                    "are for multi-label sets")
        return None

    @staticmethod
    def format_version(version):
        """The set's format version, given the one it was read or made
        with."""
        return version

    @staticmethod
    def max_labels(most):
        """What the set records of the most labels a record holds."""
        return None

    @staticmethod
    def width(record_set):
        """L, the columns of the parsed `labels`: none."""
        return None

    @staticmethod
    def trim(value):
        """The metadata's keys as format 2 wrote them."""
        del value["multi_label"], value["max_labels"]

    @staticmethod
    def problem_in(feature, record_set):
        """What is wrong with a record's labels (its parsed features), or
        `None`; a single-label record's `label` is the codec's to read."""
        return None

    @staticmethod
    def given_max_labels(most, unlabeled):
        """What is wrong with the `max_labels` a writer is given, or
        `None`."""
        return None if most is None else (
            f"max_labels={most!r}; expected max_labels with "
            "label_space=MultiLabel() only")

    # The batch fields of ragged width (-1 padding), which a mix of two
    # sets pads to the wider set's.
    padded_keys = ()

    @staticmethod
    def confidence_problem(record_set):
        """Why the set's examples cannot be kept by the teacher's top-class
        probability (`min_confidence`), or `None`."""
        return None


class MultiLabelRules:
    """A multi-label set: `labels` a record, `max_labels`, format 3."""

    @staticmethod
    def problem(record_set):
        most = record_set.max_labels
        if isinstance(most, bool) or not (
                isinstance(most, numbers.Integral) and most >= 0):
            return (f"max_labels={most!r}; a multi-label set needs the most "
                    "labels a record holds")
        if record_set.score_dtype == "q8" and record_set.scores == "logits":
            # q8 keeps logits relative to the best: sigmoids need them
            return ("score_dtype='q8' stores a multi-label set's scores as "
                    "probabilities, not logits")
        if record_set.targets != "topk" or record_set.tail_temperature:
            return (f"targets={record_set.targets!r}, tail_temperature="
                    f"{record_set.tail_temperature}: multi-label records "
                    "keep the teacher's top-K sigmoid scores "
                    "(targets='topk', no tail)")
        return None

    @staticmethod
    def format_version(version):
        return MULTI_LABEL_VERSION

    @staticmethod
    def max_labels(most):
        return most

    @staticmethod
    def width(record_set):
        """`max_labels`, at least 1 (an unlabeled set's rows are all
        -1)."""
        return max(record_set.max_labels, 1)

    @staticmethod
    def trim(value):
        pass

    @staticmethod
    def problem_in(feature, record_set):
        """More labels than the set's `max_labels`, a repeat, an id
        outside [0, N), none in a labeled set or some in an unlabeled
        one."""
        labels = list(feature["labels"].int64_list.value)
        count = len(labels)
        if count > record_set.max_labels:
            return (f"{count} labels; expected at most max_labels="
                    f"{record_set.max_labels}")
        if len(set(labels)) != count or any(
                not 0 <= i < record_set.num_classes for i in labels):
            return (f"labels {labels}; expected distinct class ids below "
                    f"N={record_set.num_classes}")
        if (count > 0) != (record_set.kind == "labeled"):
            return f"{count} labels in a record of a {record_set.kind} set"
        return None

    @staticmethod
    def given_max_labels(most, unlabeled):
        if isinstance(most, bool) or not (isinstance(most, int)
                                          and most >= (not unlabeled)):
            return (f"max_labels={most!r}; expected the most labels an "
                    "example has (0 for an unlabeled set)")
        return None

    padded_keys = ("labels",)

    @staticmethod
    def confidence_problem(record_set):
        return (f"{record_set.name} holds multi-label (per-class sigmoid) "
                "scores, which have no top-class probability")


RULES = {"single": SingleLabelRules, "multi": MultiLabelRules}
