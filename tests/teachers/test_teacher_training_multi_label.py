"""The teacher command's multi-label teacher: an encoder with a sigmoid
head, frozen or fine-tuned, cross-fitted; its folder preprocesses into
multi-label records with no further flag."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import encoder_folder, run_command
from topk_distill.inputs.label_space import MultiLabel
from topk_distill.records import reader
from topk_distill.teachers import cross_fitting, teacher_training
from topk_distill.teachers.teacher import load_teacher

ROWS = [("a cat purrs at home", "animal|pet"), ("a wolf in the wild", "animal"),
        ("an oak in the forest", "plant|tree"), ("a fern grows", "plant"),
        ("a dog at home barks", "animal|pet"), ("a pine tree", "tree|plant"),
        ("a parrot at home", "animal|pet"), ("moss on a rock", "plant")] * 2


def test_heads_and_losses_for_several_labels():
    vectors = np.eye(4, dtype="float32")
    targets = cross_fitting.multi_hot([(0, 1), (1,), (2,), (0, 2)], 3)
    head = cross_fitting.train_head(vectors, targets, 3, epochs=100,
                                    learning_rate=0.1)
    assert ((tf.sigmoid(head(vectors)).numpy() > 0.5) == targets).all()


def test_a_multi_label_teacher_folder_writes_multi_label_records(tmp_path):
    data = tmp_path / "train.tsv"
    data.write_text("".join(f"{t}\t{l}\n" for t, l in ROWS))
    folder = tmp_path / "t"
    assert run_command([
        "topk-distill", "teacher", f"--input={data}", f"--output={folder}",
        f"--encoder={encoder_folder()}", "--multi_label", "--epochs=30",
        "--sequence_length=16", "--fine_tune", "--fine_tune_layers=1",
        "--fine_tune_epochs=1", "--cross_fit_folds=2",
        f"--validation={data}", "--batch_size=8"]) == 0
    report = json.loads((folder / "report.json").read_text())
    assert report["multi_label"] and 0 <= report["teacher_top1"] <= 1
    logits = np.load(folder / "cross_fit_logits.npy")
    assert logits.shape == (16, 4) and np.isfinite(logits).all()
    teacher = load_teacher(str(folder))
    assert teacher.label_space.multi_label and load_teacher(
        str(folder / "cross_fit_logits.npy")).label_space.multi_label
    # Measured on its own training file: P@1, by hand.
    scores = teacher(tf.constant([t for t, _ in ROWS]),
                     tf.zeros([16], tf.int64)).numpy()
    names = (folder / "labels.txt").read_text().split()
    hits = [names[best] in labels.split("|")
            for best, (_, labels) in zip(scores.argmax(1), ROWS)]
    assert report["teacher_top1"] == pytest.approx(np.mean(hits))
    assert run_command([
        "topk-distill", "preprocess",
        f"--teacher={folder}/cross_fit_logits.npy", f"--input={data}",
        f"--labels={folder}/labels.txt", f"--output={tmp_path}/rec",
        "--top_k=2", "--num_shards=1"]) == 0
    batch = next(iter(reader.make_dataset(f"{tmp_path}/rec-*", 16)))
    assert batch["labels"].shape == (16, 2)
    with pytest.raises(ValueError, match="multi-label teacher is an encoder"):
        teacher_training.train_teacher(str(data), str(tmp_path / "r"),
                                       label_space=MultiLabel())


def test_multi_label_jsonl_reads_as_the_same_rows_do_in_tsv(tmp_path):
    """A multi-label .jsonl ({"text", "labels": [...]}) goes through every
    command a multi-label .tsv does: the input's kind (text) is read from
    its examples whatever their labels (issue 43, case 3)."""
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": t, "labels": l.split("|")})
                            + "\n" for t, l in ROWS))
    folder, out = tmp_path / "t", tmp_path / "out"
    for argv in (
            ["teacher", f"--input={data}", f"--output={folder}",
             f"--encoder={encoder_folder()}", "--multi_label", "--epochs=30",
             "--cross_fit_folds=2", "--batch_size=8"],
            ["preprocess", f"--teacher={folder}/cross_fit_logits.npy",
             f"--input={data}", f"--labels={folder}/labels.txt",
             f"--output={out}/rec", "--top_k=2", "--num_shards=1"],
            ["preprocess", f"--teacher={folder}", f"--input={data}",
             f"--output={out}/unl", "--unlabeled", "--top_h=2"],
            ["train", f"--labeled={out}/rec", f"--unlabeled={out}/unl",
             f"--validation={data}", f"--output={out}/student",
             "--epochs=2", "--batch_size=8"],
            ["evaluate", f"--model={out}/student/export", f"--test={data}"]):
        assert run_command(["topk-distill"] + argv) == 0, argv
    batch = next(iter(reader.make_dataset(f"{out}/rec-*", 16)))
    assert batch["labels"].shape == (16, 2)
    history = json.loads((out / "student" / "history.json").read_text())
    assert len(history["history"]["val_top1"]) == 2
