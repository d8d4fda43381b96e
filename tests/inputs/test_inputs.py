import json

import pytest

from tests.conftest import tiny_tfds
from topk_distill.inputs import errors, inputs, labels_file


def test_tsv_labeled_and_text_only(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("one text\tlab\n\nsecond\n", encoding="utf-8")
    assert list(inputs.iter_examples(str(path))) == [("one text", ("lab",)),
                                                     ("second", None)]


def test_a_byte_order_mark_is_dropped(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"\xef\xbb\xbfanimal\nplant\n")
    assert labels_file.read_labels(str(labels)) == ["animal", "plant"]
    path = tmp_path / "a.tsv"
    path.write_bytes(b"\xef\xbb\xbfa dog\tanimal\nfern\tplant\n")
    assert labels_file.read_labeled(str(path), ["animal", "plant"]) == (
        ["a dog", "fern"], [(0,), (1,)])


@pytest.mark.parametrize("content, expected", [
    (b"a\tb\tc\n", r"a.tsv:1: 3 tab-separated columns"),
    (b"ok\tx\n \ty\n", r"a.tsv:2: empty text"),
    (b"ok\tx\n\xff\xfe\tx\n", r"a.tsv:2: invalid UTF-8"),
])
def test_tsv_errors_name_file_and_line(tmp_path, content, expected):
    path = tmp_path / "a.tsv"
    path.write_bytes(content)
    with pytest.raises(errors.InputError, match=expected):
        list(inputs.iter_examples(str(path)))


def test_the_kind_of_an_input_does_not_read_its_labels(tmp_path):
    # a single-label name with empty parts between bars, a multi-label row
    path = tmp_path / "a.tsv"
    path.write_text("one text\ta||b\n", encoding="utf-8")
    assert inputs.describe(str(path)) == ("text", None)
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"features": [1.0, 2.0], "labels": ["x", ""]})
                    + "\n", encoding="utf-8")
    assert inputs.describe(str(path)) == ("features", 2)


def test_jsonl(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"text": "hi", "label": "x"}) + "\n" +
                    json.dumps({"text": "no label"}) + "\n", encoding="utf-8")
    assert list(inputs.iter_examples(str(path))) == [("hi", ("x",)),
                                                     ("no label", None)]


@pytest.mark.parametrize("line, expected", [
    ("{not json", "a.jsonl:1: not valid JSON"),
    ('{"label": "x"}', 'a.jsonl:1: expected an object with a string "text"'),
])
def test_jsonl_errors(tmp_path, line, expected):
    path = tmp_path / "a.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match=expected):
        list(inputs.iter_examples(str(path)))


def test_tfds_reader(tmp_path):
    import tensorflow_datasets as tfds

    data_dir = str(tmp_path / "tfds")
    tiny_tfds(data_dir, "TopkDistillTinyText", {
        "text": tfds.features.Text(),
        "label": tfds.features.ClassLabel(names=["neg", "pos"])}, {
        split: [{"text": f"text {i}", "label": i % 2} for i in range(n)]
        for split, n in (("train", 3), ("test", 2))})
    spec = "tfds:topk_distill_tiny_text:test"
    assert sorted(inputs.iter_examples(spec, data_dir)) == [
        ("text 0", ("neg",)), ("text 1", ("pos",))]
    default_split = inputs.iter_located("tfds:topk_distill_tiny_text",
                                        data_dir)
    assert [where for where, _, _ in default_split] == [
        f"tfds:topk_distill_tiny_text:train example {i}" for i in (1, 2, 3)]


def test_labels_round_trip_and_hash(tmp_path):
    path = str(tmp_path / "labels.txt")
    labels_file.write_labels(path, ["b", "a"])
    assert labels_file.read_labels(path) == ["b", "a"]
    before = labels_file.labels_sha256(path)
    labels_file.write_labels(path, ["a", "b"])
    assert labels_file.labels_sha256(path) != before


@pytest.mark.parametrize("content, expected", [
    ("a\nb\na\n", "labels.txt:3: duplicate class name 'a'"),
    ("a\n\nb\n", "labels.txt:2: blank line"),
])
def test_labels_errors(tmp_path, content, expected):
    path = tmp_path / "labels.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(errors.InputError, match=expected):
        labels_file.read_labels(str(path))


def test_build_labels_sorted_unique(labeled_tsv):
    assert labels_file.build_labels(labeled_tsv) == ["animal", "finance",
                                                     "food"]


def test_label_ids_and_their_errors_name_file_and_line(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("one\tx\n\ntwo\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match=r"a.tsv:3: no label; "
                       "expected a labeled set"):
        labels_file.read_labeled(str(path), ["x"])
    path.write_text("one\tx\n\n\ntwo\ty\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match=r"a.tsv:4: label 'y' is not "
                       "in the labels file"):
        labels_file.read_labeled(str(path), ["x"])
    assert labels_file.read_labeled(str(path), ["y", "x"]) == (
        ["one", "two"], [(1,), (0,)])
    assert labels_file.label_id("y", {"x": 0}, "here",
                                skip_unknown=True) is None
    assert labels_file.label_id("y", None, "here") == -1


def test_an_input_without_examples_is_refused(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match="empty.tsv: no examples"):
        labels_file.read_labeled(str(path), ["x"])
