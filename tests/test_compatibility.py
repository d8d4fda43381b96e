"""Files written by topk-distill 0.1.0 (`tests/data/v0.1.0/`, made by
`tests/data/make_v0_1_0.py` before the subpackage layout) still read."""

import importlib
import json
import os
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import topk_distill
from tests.conftest import ROOT

V010 = os.path.join(ROOT, "tests", "data", "v0.1.0")
TEXTS = ["a small dog", "a tall tree", "a sharp knife", "fresh bread",
         "a grey cat", "green grass", "a heavy hammer", "ripe apple"]


@pytest.mark.parametrize("name, dtype, labels", [
    ("labeled", "float16", [0, 1, 2, 3, 0, 1, 2, 3]),
    ("packed", "q8", [0, 1, 2, 3, 0, 1, 2, 3]),
    ("unlabeled", "float32", [-1] * 8)])
def test_record_sets_of_0_1_0_read(name, dtype, labels):
    record_set = topk_distill.RecordSet.read(os.path.join(V010, name))
    assert (record_set.score_dtype, record_set.num_examples,
            record_set.width, record_set.format_version) == (dtype, 8, 3, 2)
    topk_distill.verify_shards(record_set)
    batch = next(iter(topk_distill.make_dataset(record_set, batch_size=8,
                                                shuffle=False)))
    assert [t.decode() for t in batch["text"].numpy()] == TEXTS
    assert batch["label"].numpy().tolist() == labels
    # The fixture's teacher output, stored three ways: the same 3 classes
    # per example, the same best one (q8 keeps ids in ascending order).
    ids, scores = batch["topk_ids"].numpy(), batch["topk_scores"].numpy()
    best = np.take_along_axis(ids, scores.argmax(1)[:, None], 1)[:, 0]
    assert np.sort(ids, 1).tolist() == [
        [0, 2, 3], [1, 2, 3], [0, 2, 3], [1, 2, 3], [0, 2, 3], [0, 1, 3],
        [0, 1, 2], [0, 1, 3]]
    assert best.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]


def _keras_modules(path):
    """(module, class name) of every class a `.keras` file's config names
    outside Keras."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    found, stack = set(), [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if str(node.get("module", "")).startswith("topk_distill"):
                found.add((node["module"], node["class_name"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_keras_files_of_0_1_0_name_modules_that_still_import():
    # Keras imports a class's saved module when the class is not registered
    # yet in the process (a fresh `keras.saving.load_model`).
    named = _keras_modules(os.path.join(V010, "distiller.keras"))
    assert named == {("topk_distill.student", "DistillationStudent")}
    for module, class_name in named:
        cls = getattr(importlib.import_module(module), class_name)
        assert cls is topk_distill.DistillationStudent
    assert importlib.import_module(
        "topk_distill.models").ImageDecoder.__name__ == "ImageDecoder"


def test_keras_files_of_0_1_0_load_and_answer_the_same():
    expected = np.load(os.path.join(V010, "outputs.npz"))
    texts = tf.constant(TEXTS)
    distiller = keras.saving.load_model(os.path.join(V010, "distiller.keras"))
    assert isinstance(distiller, topk_distill.DistillationStudent)
    config = distiller.config  # 0.1.0 kept the loss's fields at the top
    assert (config.alpha, config.beta, config.temperature) == (0.8, 0.4, 3.0)
    assert distiller.label_space == topk_distill.SingleLabel(4)
    np.testing.assert_allclose(distiller.student(texts).numpy(),
                               expected["student"], rtol=1e-5, atol=1e-6)
    for name in ("student", "teacher"):
        model = keras.saving.load_model(os.path.join(V010, f"{name}.keras"))
        np.testing.assert_allclose(model(texts).numpy(), expected[name],
                                   rtol=1e-5, atol=1e-6)


def test_metadata_is_written_as_0_1_0_wrote_it(tmp_path):
    # Same keys in the same order (`RecordSet.width` is stored as `top_k`).
    path = os.path.join(V010, "labeled.meta.json")
    old = json.load(open(path))
    again = topk_distill.RecordSet.read(os.path.join(V010, "labeled"))
    assert list(again.to_json()) == list(old)
    assert again.width == old["top_k"] == 3
    assert again.to_json() == old


@pytest.mark.parametrize("name", ["labeled", "packed", "unlabeled"])
def test_single_label_records_are_written_byte_for_byte_as_0_1_0_did(name):
    # Each 0.1.0 record, parsed and serialized again by today's codec: the
    # same bytes (multi-label sets changed nothing for single-label ones).
    from topk_distill.records import codec

    record_set = topk_distill.RecordSet.read(os.path.join(V010, name))
    compression = "GZIP" if record_set.compression == "gzip" else ""
    stored = [r.numpy() for r in tf.data.TFRecordDataset(
        record_set.files(), compression_type=compression)]
    batch = codec.parse_batch(tf.constant(stored), record_set)
    again, _ = codec.serialize_batch(
        batch["text"], batch["label"], batch["topk_ids"],
        batch["topk_scores"], record_set)
    assert [r for r in again.numpy()] == stored


def test_the_multi_label_set_of_0_2_0_reads():
    # tests/data/make_multi_label_v3.py: its input and teacher scores are
    # kept beside it, the oracle here
    folder = os.path.join(ROOT, "tests", "data", "multi_label_v3")
    record_set = topk_distill.RecordSet.read(os.path.join(folder, "labeled"))
    assert (record_set.multi_label, record_set.max_labels,
            record_set.format_version) == (True, 2, 3)
    assert record_set.label_space == topk_distill.MultiLabel(5)
    names = open(os.path.join(folder, "labels.txt")).read().split()
    rows = [line.rstrip("\n").split("\t")
            for line in open(os.path.join(folder, "input.tsv"))]
    logits = np.load(os.path.join(folder, "scores.npy"))
    batch = next(iter(topk_distill.make_dataset(record_set, batch_size=6,
                                                shuffle=False)))
    assert [t.decode() for t in batch["text"].numpy()] == [
        text for text, _ in rows]
    assert [sorted(i for i in row if i >= 0)
            for row in batch["labels"].numpy().tolist()] == [
        sorted(names.index(tag) for tag in tags.split("|"))
        for _, tags in rows]
    best = np.argsort(-logits, axis=1)[:, :3]
    np.testing.assert_array_equal(batch["topk_ids"].numpy(), best)
    np.testing.assert_allclose(batch["topk_scores"].numpy(),
                               np.take_along_axis(logits, best, 1))
