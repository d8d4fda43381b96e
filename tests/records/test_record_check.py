"""Records checked before TensorFlow parses them: malformed, repeated or
out-of-range entries are named, what passes parses."""

import numpy as np
import pytest
import tensorflow as tf

from topk_distill.records import codec, record_check
from topk_distill.records.records import RecordFormatError, RecordSet


def _spec(k):
    return RecordSet(kind="labeled", num_classes=1000, width=k)


def _multi_label(kind="labeled", max_labels=3):
    return RecordSet(kind=kind, num_classes=10, width=2, multi_label=True,
                     max_labels=max_labels)


def test_check_record_refuses_malformed_and_repeated_ids():
    serialized, _ = codec.serialize_batch(
        tf.constant(["fine", "twice"]), tf.constant([0, 1], tf.int64),
        tf.constant([[1, 2], [3, 3]]), tf.constant([[1.0, 0.0]] * 2),
        _spec(2))
    record_check.check_record(serialized[0].numpy(), "r0")
    with pytest.raises(RecordFormatError, match=r"r1: duplicate topk_ids "
                       r"\[3, 3\]"):
        record_check.check_record(serialized[1].numpy(), "r1")
    with pytest.raises(RecordFormatError, match="r2: not a valid "
                       "tf.train.Example"):
        record_check.check_record(b"\x0a\x02\xff", "r2")


def test_check_record_refuses_what_the_graph_could_not_parse():
    spec = _spec(2)
    serialized, _ = codec.serialize_batch(
        tf.constant(["a"]), tf.constant([0], tf.int64), tf.constant([[1, 2]]),
        tf.constant([[1.0, 0.0]]), spec)
    good = tf.train.Example.FromString(serialized[0].numpy())
    record_check.check_record(good.SerializeToString(), "r0", spec)

    def changed(edit):
        example = tf.train.Example()
        example.CopyFrom(good)
        edit(example.features.feature)
        return example.SerializeToString()

    # message -> (edit, whether TF's parser refuses it too: a short
    # float16 payload it pads with zeros, a NaN it reads as one)
    cases = {
        "feature 'label' is missing of 0; expected int64_list of 1": (
            lambda f: f.pop("label"), True),
        "feature 'topk_ids' is float_list of 2; expected int64_list of 2": (
            lambda f: f["topk_ids"].float_list.value.extend([1.0, 2.0]),
            True),
        # an unknown field (number 2, varint 1) in the text's BytesList
        "feature 'text' holds fields no tf.train.Feature has": (
            lambda f: f["text"].bytes_list.MergeFromString(b"\x10\x01"),
            True),
        "topk_scores holds 3 bytes; expected 4": (
            lambda f: f["topk_scores"].bytes_list.value.__setitem__(
                0, b"\x00\x3c\x00"), False),
        "teacher scores \\[nan, 0.0\\]; expected finite": (
            lambda f: f["topk_scores"].bytes_list.value.__setitem__(
                0, np.array([np.nan, 0.0], "<f2").tobytes()), False)}
    parse = tf.function(lambda s: codec.parse_batch(s, spec))
    for message, (edit, tf_refuses) in cases.items():
        record = changed(edit)
        with pytest.raises(RecordFormatError, match=f"r1: {message}"):
            record_check.check_record(record, "r1", spec)
        if tf_refuses:
            with pytest.raises(tf.errors.InvalidArgumentError):
                parse(tf.constant([record]))
        else:
            parse(tf.constant([record]))


def test_multi_label_records_round_trip_with_their_labels():
    spec = _multi_label()
    assert spec.format_version == 3
    labels = tf.constant([[4, -1, -1], [-1, 1, 7], [9, 0, 2]], tf.int64)
    serialized, _ = codec.serialize_batch(
        tf.constant(["a", "b", "c"]), labels, tf.constant([[4, 1]] * 3),
        tf.constant([[2.0, -1.0]] * 3), spec)
    for record in serialized.numpy():
        record_check.check_record(record, "r", spec)
    example = tf.train.Example.FromString(serialized[1].numpy())
    assert "label" not in example.features.feature
    assert list(example.features.feature["labels"].int64_list.value) == [1, 7]
    batch = codec.parse_batch(serialized, spec)
    assert batch["labels"].numpy().tolist() == [[4, -1, -1], [1, 7, -1],
                                                [9, 0, 2]]
    assert batch["label"].numpy().tolist() == [4, 1, 9]
    unlabeled = _multi_label("unlabeled", 0)
    serialized, _ = codec.serialize_batch(
        tf.constant(["d"]), tf.fill([1, 1], tf.constant(-1, tf.int64)),
        tf.constant([[3, -1]]), tf.constant([[0.9, 0.0]]), unlabeled)
    record_check.check_record(serialized[0].numpy(), "u", unlabeled)
    batch = codec.parse_batch(serialized, unlabeled)
    assert batch["labels"].numpy().tolist() == [[-1]]
    assert batch["label"].numpy().tolist() == [-1]


@pytest.mark.parametrize("labels, message", [
    ([1, 2, 3, 4], "4 labels; expected at most max_labels=3"),
    ([1, 1], r"labels \[1, 1\]; expected distinct class ids below N=10"),
    ([10], r"labels \[10\]; expected distinct class ids"),
    ([], "0 labels in a record of a labeled set"),
])
def test_multi_label_records_with_bad_labels_are_named(labels, message):
    spec = _multi_label()
    serialized, _ = codec.serialize_batch(
        tf.constant(["a"]), tf.constant([[1, -1, -1]], tf.int64),
        tf.constant([[4, 1]]), tf.constant([[2.0, -1.0]]), spec)
    example = tf.train.Example.FromString(serialized[0].numpy())
    del example.features.feature["labels"].int64_list.value[:]
    example.features.feature["labels"].int64_list.value.extend(labels)
    with pytest.raises(RecordFormatError, match=f"r7: {message}"):
        record_check.check_record(example.SerializeToString(), "r7", spec)
    single = RecordSet(kind="labeled", num_classes=10, width=2)
    with pytest.raises(RecordFormatError, match="feature 'label' is missing"):
        record_check.check_record(serialized[0].numpy(), "r8", single)


def test_single_label_metadata_is_format_2_as_before():
    spec = RecordSet(kind="labeled", num_classes=3, width=2)
    assert spec.format_version == 2
    assert "multi_label" not in spec.to_json()
    assert "max_labels" not in spec.to_json()
    value = _multi_label().to_json()
    assert value["multi_label"] and value["max_labels"] == 3
    assert RecordSet.from_json(value) == _multi_label()
    with pytest.raises(RecordFormatError, match="max_labels and "
                       "format_version 3 are for multi-label sets"):
        RecordSet.from_json(dict(spec.to_json(), format_version=3))
    with pytest.raises(RecordFormatError, match="max_labels=None; a "
                       "multi-label set needs"):
        RecordSet(kind="labeled", num_classes=3, width=2, multi_label=True)
