"""preprocess with a multi-label (sigmoid) teacher: multi-label records."""

import json

import numpy as np
import pytest

from tests.conftest import run_command
from topk_distill.inputs import errors
from topk_distill.preprocessing.preprocessing import preprocess
from topk_distill.records import reader, records
from topk_distill.teachers.teacher import load_teacher

NAMES = ["animal", "pet", "plant", "tree"]
ROWS = [("a cat", "animal|pet"), ("an oak", "plant|tree"), ("a fern", "plant"),
        ("a dog", "pet|animal"), ("a pine", "tree|plant"), ("a cow", "animal")]


def _files(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(n + "\n" for n in NAMES))
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{t}\t{l}\n" for t, l in ROWS))
    unlabeled = tmp_path / "unlabeled.jsonl"
    unlabeled.write_text("".join(json.dumps({"text": t}) + "\n"
                                 for t, _ in ROWS[:3]))
    return str(labels), str(train), str(unlabeled)


def _read(prefix):
    batch = next(iter(reader.make_dataset(prefix, batch_size=100)))
    return {key: value.numpy() for key, value in batch.items()}


@pytest.mark.parametrize("outputs", ["sigmoid_logits",
                                     "sigmoid_probabilities"])
def test_a_sigmoid_teacher_writes_multi_label_records(tmp_path, rng,
                                                      outputs):
    labels, train, unlabeled = _files(tmp_path)
    logits = rng.normal(0, 3, (len(ROWS), len(NAMES))).astype("float32")
    path = str(tmp_path / "scores.npy")
    np.save(path, logits if outputs == "sigmoid_logits" else
            1 / (1 + np.exp(-logits)))
    teacher = load_teacher(path, outputs)
    assert teacher.label_space.multi_label and teacher.outputs == outputs[8:]
    record_set, _ = preprocess(teacher, train, labels, str(tmp_path / "lab"),
                               top_k=2, score_dtype="float32", num_shards=2,
                               verbose=0)
    assert record_set.multi_label and record_set.max_labels == 2
    assert record_set.format_version == 3
    read = _read(str(tmp_path / "lab-*"))
    expected = [sorted(NAMES.index(n) for n in l.split("|")) for _, l in ROWS]
    assert [sorted(i for i in row if i >= 0) for row in read["labels"]] == \
        expected
    # The teacher's 2 best per-class sigmoid logits, unshifted.
    best = np.argsort(-logits, axis=1)[:, :2]
    np.testing.assert_array_equal(read["topk_ids"], best)
    np.testing.assert_allclose(read["topk_scores"],
                               np.take_along_axis(logits, best, 1),
                               rtol=1e-4, atol=1e-4)


def test_unlabeled_multi_label_records_keep_probabilities(tmp_path, rng):
    labels, _, unlabeled = _files(tmp_path)
    logits = rng.normal(0, 3, (3, len(NAMES))).astype("float32")
    np.save(tmp_path / "u.npy", logits)
    teacher = load_teacher(str(tmp_path / "u.npy"), "sigmoid_logits")
    record_set, _ = preprocess(teacher, unlabeled, labels,
                               str(tmp_path / "unl"), unlabeled=True,
                               top_k=2, score_dtype="q8", num_shards=1,
                               verbose=0)
    assert record_set.scores == "probabilities"
    assert record_set.max_labels == 0
    read = _read(str(tmp_path / "unl-*"))
    assert (read["labels"] == -1).all()
    best = np.sort(np.argsort(-logits, axis=1)[:, :2], axis=1)  # q8: ascending
    np.testing.assert_array_equal(read["topk_ids"], best)
    np.testing.assert_allclose(
        read["topk_scores"],
        1 / (1 + np.exp(-np.take_along_axis(logits, best, 1))), rtol=0.03)


def test_kinds_that_do_not_fit_are_refused(tmp_path, rng, capsys):
    labels, train, _ = _files(tmp_path)
    np.save(tmp_path / "s.npy", rng.normal(size=(6, 4)).astype("float32"))
    single = load_teacher(str(tmp_path / "s.npy"))
    with pytest.raises(errors.InputError, match=r"train.tsv:1: label "
                       r"'animal\|pet' is not in the labels file \(several "
                       r"labels\? this set is single-label\)"):
        preprocess(single, train, labels, str(tmp_path / "x"), verbose=0,
                   top_k=2, num_shards=1)
    multi = load_teacher(str(tmp_path / "s.npy"), "sigmoid_logits")
    with pytest.raises(ValueError, match="multi-label records keep the "
                       "teacher's top-K sigmoid scores"):
        preprocess(multi, train, labels, str(tmp_path / "y"), verbose=0,
                   top_k=2, targets="sampled", samples=4, num_shards=1)
    with pytest.raises(records.RecordFormatError, match="q8' stores a "
                       "multi-label set's scores as probabilities"):
        preprocess(multi, train, labels, str(tmp_path / "z"), verbose=0,
                   top_k=2, score_dtype="q8", num_shards=1)


def _serialized(pattern):
    import tensorflow as tf

    return sorted(r.numpy() for r in tf.data.TFRecordDataset(
        sorted(tf.io.gfile.glob(pattern))))


@pytest.mark.parametrize("unlabeled", [False, True])
def test_a_top_k_file_writes_the_records_preprocess_writes(tmp_path, rng,
                                                           unlabeled):
    # The same sigmoid logits as a dense .npy teacher and as its top-2 in
    # an .npz: the same multi-label records, byte for byte.
    # (An unlabeled set keeps probabilities: the teacher gives them.)
    labels, train, _ = _files(tmp_path)
    scores = rng.normal(0, 3, (len(ROWS), len(NAMES))).astype("float32")
    if unlabeled:
        scores = 1 / (1 + np.exp(-scores))
    np.save(tmp_path / "dense.npy", scores)
    ids = np.argsort(-scores, axis=1)[:, :3]
    np.savez(tmp_path / "top.npz", ids=ids,
             scores=np.take_along_axis(scores, ids, 1))
    more = (["--unlabeled", "--top_h=2",
             "--teacher_outputs=sigmoid_probabilities"] if unlabeled else
            ["--top_k=2", "--teacher_outputs=sigmoid_logits"])
    for name, teacher in (("dense", "dense.npy"), ("top", "top.npz")):
        assert run_command([
            "topk-distill", "preprocess", f"--teacher={tmp_path}/{teacher}",
            f"--input={train}", f"--labels={labels}",
            f"--output={tmp_path}/{name}", "--num_shards=1", *more]) == 0
    got = records.RecordSet.read(str(tmp_path / "top"))
    assert got.multi_label and got.max_labels == (0 if unlabeled else 2)
    assert got.num_examples == len(ROWS)
    assert _serialized(f"{tmp_path}/top-*") == \
        _serialized(f"{tmp_path}/dense-*")


def test_a_top_k_file_refuses_a_row_with_no_label(tmp_path, rng, capsys):
    labels, train, _ = _files(tmp_path)
    with open(train, "a") as f:
        f.write("a rock\n")
    np.savez(tmp_path / "top.npz", ids=np.tile([[0, 1]], (len(ROWS) + 1, 1)),
             scores=rng.normal(size=(len(ROWS) + 1, 2)))
    assert run_command(["topk-distill", "preprocess",
                        f"--teacher={tmp_path}/top.npz", f"--input={train}",
                        f"--labels={labels}", f"--output={tmp_path}/w",
                        "--num_shards=1", "--top_k=2",
                        "--teacher_outputs=sigmoid_logits"]) == 1
    assert f"train.tsv:{len(ROWS) + 1}" in capsys.readouterr().err
    assert not list(tmp_path.glob("w*"))
