"""Multi-label inputs: .tsv, .jsonl and TFDS rows with one or more labels."""

import json

import pytest

from tests.conftest import tiny_tfds
from topk_distill.inputs import errors, inputs, labels_file
from topk_distill.inputs.label_space import MultiLabel


def test_tsv_rows_with_several_labels(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("a cat\tanimal|pet|animal\na fern\tplant\nno label\n",
                    encoding="utf-8")
    assert list(inputs.iter_examples(str(path), label_space=MultiLabel())) == [
        ("a cat", ("animal", "pet")), ("a fern", ("plant",)),
        ("no label", None)]
    # Read as single-label, 'animal|pet' is one unknown name, with a hint.
    with pytest.raises(errors.InputError, match=r"a.tsv:1: label "
                       r"'animal\|pet\|animal' is not in the labels file "
                       r"\(several labels\? this set is single-label\)"):
        labels_file.read_labeled(str(path), ["animal", "pet", "plant"])


@pytest.mark.parametrize("content, expected", [
    ("x\ta||b\n", r"a.tsv:1: an empty label in \['a', '', 'b'\]"),
    ("x\ta\ny\tb|\n", r"a.tsv:2: an empty label"),
])
def test_empty_labels_are_refused_with_file_and_line(tmp_path, content,
                                                     expected):
    path = tmp_path / "a.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(errors.InputError, match=expected):
        list(inputs.iter_examples(str(path), label_space=MultiLabel()))


def test_jsonl_labels_lists(tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [{"text": "hi", "labels": ["x", "y"]}, {"text": "one", "label": "z"},
            {"text": "none"}, {"features": [1.0, 2.0], "labels": ["y"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows),
                    encoding="utf-8")
    assert list(inputs.iter_examples(str(path), label_space=MultiLabel())) == [
        ("hi", ("x", "y")), ("one", ("z",)), ("none", None),
        ([1.0, 2.0], ("y",))]
    with pytest.raises(errors.InputError, match=r'a.jsonl:1: "labels" \(a '
                       'multi-label example\\) where single-label examples '
                       'are expected'):
        list(inputs.iter_examples(str(path)))
    path.write_text(json.dumps({"text": "t", "labels": "x"}) + "\n")
    with pytest.raises(errors.InputError, match='a.jsonl:1: "labels" is not '
                       'a list'):
        list(inputs.iter_examples(str(path), label_space=MultiLabel()))


def test_label_ids_of_several_labels(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("t1\tb|a\nt2\tc\nt3\tb|zz\n", encoding="utf-8")
    assert labels_file.build_labels(str(path), label_space=MultiLabel()) == [
        "a", "b", "c", "zz"]
    with pytest.raises(errors.InputError, match="a.tsv:3: label 'zz' is not "
                       "in the labels file"):
        labels_file.read_labeled(str(path), ["a", "b", "c"],
                                 label_space=MultiLabel())
    assert labels_file.read_labeled(str(path), ["a", "b", "c", "zz"],
                                    label_space=MultiLabel()) == (
        ["t1", "t2", "t3"], [(1, 0), (2,), (1, 3)])
    ids = {"a": 0, "b": 1}
    assert labels_file.label_ids(("b", "zz"), ids, "w", True) == (1,)
    assert labels_file.label_ids(("zz",), ids, "w", True) is None
    assert labels_file.label_ids(None, None, "w") == ()
    with pytest.raises(errors.InputError, match="a.tsv:9: no label"):
        labels_file.label_ids(None, ids, "a.tsv:9")
    path.write_text("t1\ta\nt2\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match="a.tsv:2: no label"):
        labels_file.build_labels(str(path), label_space=MultiLabel())


def test_an_image_folder_gives_each_image_one_label(tmp_path):
    import numpy as np
    import tensorflow as tf

    (tmp_path / "cat").mkdir()
    png = tf.io.encode_png(np.zeros((2, 2, 3), np.uint8)).numpy()
    (tmp_path / "cat" / "a.png").write_bytes(png)
    examples = list(inputs.iter_examples(str(tmp_path),
                                         label_space=MultiLabel()))
    assert [label for _, label in examples] == [("cat",)]


def test_tfds_sequence_of_class_labels(tmp_path):
    import tensorflow_datasets as tfds

    data_dir = str(tmp_path / "tfds")
    tiny_tfds(data_dir, "TopkDistillTinyTags", {
        "text": tfds.features.Text(),
        "labels": tfds.features.Sequence(
            tfds.features.ClassLabel(names=["a", "b", "c"]))}, {
        "train": [{"text": f"text {i}", "labels": tags}
                  for i, tags in enumerate([[0, 2], [1], [2, 2]])]})
    spec = "tfds:topk_distill_tiny_tags"
    assert sorted(inputs.iter_examples(spec, data_dir,
                                         label_space=MultiLabel())) == [
        ("text 0", ("a", "c")), ("text 1", ("b",)), ("text 2", ("c",))]
    with pytest.raises(errors.InputError, match="example 1: \"labels\" \\(a "
                       "multi-label example\\) where single-label examples "
                       "are expected"):
        list(inputs.iter_examples(spec, data_dir))
