"""`LabelSpace`: what a label is, made once and asked everywhere."""

import numpy as np
import pytest

from topk_distill.inputs.errors import InputError
from topk_distill.inputs.label_space import (LabelSpace, MultiLabel,
                                             SingleLabel)


def test_a_flag_becomes_a_space_once():
    assert LabelSpace.of(4) == SingleLabel(4)
    assert LabelSpace.of(4, multi_label=True) == MultiLabel(4)
    assert LabelSpace.of(4, True, 0.3) == MultiLabel(4, threshold=0.3)
    assert SingleLabel(4) != MultiLabel(4)
    assert MultiLabel(4, 0.3) != MultiLabel(4, 0.4)
    assert len({SingleLabel(4), SingleLabel(4), SingleLabel(5)}) == 2


def test_what_each_space_says():
    single, multi = SingleLabel(3), MultiLabel(3, 0.25)
    assert (single.activation, single.batch_key, single.threshold,
            single.multi_label, single.name) == (
                "softmax", "label", None, False, "single-label")
    assert (multi.activation, multi.batch_key, multi.threshold,
            multi.multi_label, multi.name) == (
                "sigmoid", "labels", 0.25, True, "multi-label")


def test_labels_are_always_tuples():
    single, multi = SingleLabel(), MultiLabel()
    assert single.from_column("cat|pet", "a.tsv:1") == ("cat|pet",)
    assert multi.from_column("cat|pet|cat", "a.tsv:1") == ("cat", "pet")
    assert single.from_fields(None, None, "w") is None
    assert multi.from_fields("cat", None, "w") == ("cat",)
    assert multi.from_fields("cat", ["b", "a"], "w") == ("b", "a")
    assert multi.from_fields(None, [], "w") is None
    with pytest.raises(InputError, match='w: "labels" \\(a multi-label '
                       "example\\) where single-label examples are expected"):
        single.from_fields(None, ["a"], "w")
    with pytest.raises(InputError, match="a.tsv:2: an empty label in"):
        multi.from_column("a||b", "a.tsv:2")
    # as a writer is given them: a name or id, or a list of them
    assert single.as_tuple(2) == (2,) and single.as_tuple(None) == (None,)
    assert multi.as_tuple([3, 1]) == (3, 1) and multi.as_tuple("a") is None


def test_what_fit_and_evaluate_take_of_each_space():
    ids = [(2,), (0,), ()]
    np.testing.assert_array_equal(SingleLabel(3).fit_targets(ids), [2, 0, -1])
    np.testing.assert_array_equal(MultiLabel(3).fit_targets([(0, 2), (1,)]),
                                  [[1, 0, 1], [0, 1, 0]])
    answers = np.array([[2, 0, 1], [1, 2, 0]])
    report = SingleLabel(3).report(answers, None, [(2,), (0,)])
    assert (report["p@1"], report["p@3"], report["macro_p@1"]) == (
        0.5, 1.0, 0.5)
    multi = MultiLabel(3, threshold=0.5).report(
        answers, np.array([[0.9, 0.6, 0.1], [0.7, 0.2, 0.1]]),
        [(2, 0), (0,)])
    # chosen: {2, 0} (both right) and {1} (wrong): 2 of 3 answers right,
    # 2 of 3 labels found
    assert multi["p@1"] == 0.5 and multi["micro_f1"] == pytest.approx(2 / 3)
    assert SingleLabel(3).answers() == 3 and MultiLabel(50).answers() == 20


def test_a_saved_space_reads_back_and_bad_ones_are_refused():
    for space in (SingleLabel(7), MultiLabel(7, 0.35)):
        assert LabelSpace.from_config(space.get_config()) == space
    assert MultiLabel(7, 0.35).with_classes(9) == MultiLabel(9, 0.35)
    with pytest.raises(ValueError, match="kind 'both'; expected one of"):
        LabelSpace.from_config({"kind": "both", "num_classes": 3})
    with pytest.raises(ValueError, match="num_classes=0; expected a positive"):
        SingleLabel(0)
    assert repr(MultiLabel()) == "MultiLabel(threshold=0.5)"
    with pytest.raises(ValueError, match="num_classes=True"):
        SingleLabel(True)
    for bad in (0.0, 1.0, True, "0.5"):
        with pytest.raises(ValueError, match="expected a probability"):
            MultiLabel(3, bad)


def test_label_columns_as_a_batch_holds_them():
    single = SingleLabel(5).label_columns([(3,), (0,), (4,)])
    assert list(single) == ["label"]
    np.testing.assert_array_equal(single["label"], [3, 0, 4])
    assert single["label"].dtype == np.int64
    multi = MultiLabel(5).label_columns([(3,), (0, 4, 1), (2, 2)])
    np.testing.assert_array_equal(
        multi["labels"], [[3, -1, -1], [0, 4, 1], [2, 2, -1]])
    np.testing.assert_array_equal(multi["label"], [3, 0, 2])
