"""train_student: records -> fit -> student.keras, labels, history, export."""

import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES, ROWS, write_record_set
from topk_distill.distillation import training, training_config
from topk_distill.records import records
from topk_distill.distillation.loss_config import LossConfig


@pytest.fixture
def record_sets(tmp_path):
    labeled = write_record_set(
        str(tmp_path / "lab"), [t for t, _ in ROWS], [y for _, y in ROWS],
        [[y, (y + 1) % 3] for _, y in ROWS], [[3.0, 1.0]] * len(ROWS), 3,
        num_shards=2, names=NAMES, tail_mass=[0.1] * len(ROWS),
        tail_temperature=2.0)
    unlabeled = write_record_set(
        str(tmp_path / "unl"), [t for t, _ in ROWS[:6]], [-1] * 6,
        [[y] for _, y in ROWS[:6]], [[0.9]] * 6, 3,
        scores_kind="probabilities", names=NAMES)
    return labeled, unlabeled


def test_distilled_student_and_its_outputs(tmp_path, record_sets,
                                           labeled_tsv, labels_txt):
    labeled, unlabeled = record_sets
    out = tmp_path / "student"
    history = training.train_student(
        str(out), labeled=labeled, unlabeled=unlabeled,
        validation=labeled_tsv, epochs=3, batch_size=6, learning_rate=0.05,
        target_accuracy=1e-6, embedding_dim=8, settings={"epochs": 3},
        verbose=0)
    # Any accuracy above 0 reaches the target: one epoch.
    assert len(history.history["loss"]) == 1
    saved = json.loads((out / "history.json").read_text())
    assert saved["flags"] == {"epochs": 3}
    assert {"soft_loss", "pseudo_loss", "val_top1", "val_top5"} <= set(
        saved["history"])
    student = keras.saving.load_model(str(out / "student.keras"))
    assert student(tf.constant(["a cat"])).shape == (1, 3)
    # The class names came from the records' metadata.
    assert (out / "labels.txt").read_text() == open(labels_txt).read()
    served = tf.saved_model.load(str(out / "export"))
    answer = served.signatures["serving_default"](text=tf.constant(["x"]))
    assert answer["top_labels"].shape == (1, 3)
    assert sorted(os.listdir(out)) == ["export", "history.json", "labels.txt",
                                       "student.keras"]


def test_validation_stops_early_and_keeps_the_best_epoch(tmp_path):
    from topk_distill.models import student_init

    # A student that starts right (frozen vectors, class vectors from the
    # class names), trained on labels that contradict the validation
    # file's: val P@1 starts at 1 and falls, so the best epoch is the
    # first and the last is worse.
    words = ["", "[UNK]", "animal", "finance", "food", "cat", "dog", "soup",
             "bread", "stocks", "bank"]
    vectors = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0],
                        [0, 0, 1], [1, .2, 0], [1, 0, .2], [.2, 0, 1],
                        [0, .2, 1], [.2, 1, 0], [0, 1, .2]], np.float32)
    init = str(tmp_path / "init.npz")
    student_init.save(init, words, vectors)
    truth = {"cat": "animal", "dog": "animal", "soup": "food",
             "bread": "food", "stocks": "finance", "bank": "finance"}
    texts = list(truth)
    wrong = [(NAMES.index(truth[t]) + 1) % 3 for t in texts]
    labeled = write_record_set(str(tmp_path / "lab"), texts, wrong,
                               [[y] for y in wrong], [[1.0]] * 6, 3,
                               names=NAMES)
    valid = tmp_path / "valid.tsv"
    valid.write_text("".join(f"{t}\t{truth[t]}\n" for t in texts))
    out = tmp_path / "student"
    history = training.train_student(
        str(out), labeled=labeled, validation=str(valid), baseline="hard",
        epochs=60, patience=3, batch_size=2, learning_rate=0.6,
        init_embeddings=init, freeze_embeddings=True, normalize=True,
        init_class_vectors=True, verbose=0)
    values = history.history["val_top1"]
    first_best = values.index(max(values))
    last_best = len(values) - 1 - values[::-1].index(max(values))
    # Stopped `patience` epochs after the first best, far below the cap,
    # keeping the latest of the equally good epochs.
    assert len(values) == first_best + 1 + 3 < 60
    assert values[-1] < max(values)
    saved = json.loads((out / "history.json").read_text())
    assert saved["kept_epoch"] == last_best + 1
    # The saved student is the best epoch's, not the last one's.
    student = keras.saving.load_model(str(out / "student.keras"))
    answers = np.argmax(student(tf.constant(texts)).numpy(), axis=1)
    hits = np.mean([NAMES[a] == truth[t] for a, t in zip(answers, texts)])
    assert hits == pytest.approx(max(values))


def test_hard_baseline_ignores_the_teacher(tmp_path, record_sets):
    labeled, unlabeled = record_sets
    out = tmp_path / "baseline"
    history = training.train_student(str(out), labeled=labeled,
                                     unlabeled=unlabeled, baseline="hard",
                                     epochs=2, batch_size=4, verbose=0)
    # alpha=1: the total is the hard term alone; no unlabeled set is read.
    np.testing.assert_allclose(history.history["loss"],
                               history.history["hard_loss"], rtol=1e-6)
    assert history.history["pseudo_loss"] == [0.0, 0.0]


def test_class_names_from_metadata_or_a_matching_labels_file(
        tmp_path, record_sets, labels_txt):
    labeled, unlabeled = record_sets
    sets = [records.RecordSet.read(p) for p in record_sets]
    assert training.class_names(sets) == NAMES
    assert training.class_names(sets, labels_txt) == NAMES
    other = tmp_path / "other.txt"
    other.write_text("x\ny\nz\n")
    with pytest.raises(ValueError, match=r"lab-\*: records were made with "
                       "another labels file than --labels=.*other.txt"):
        training.class_names(sets, str(other))
    old = write_record_set(str(tmp_path / "old"), ["t"], [0], [[0]], [[1.0]],
                           3)
    meta = json.loads((tmp_path / "old.meta.json").read_text())
    del meta["labels"]
    (tmp_path / "old.meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"old-\*: its metadata does not name"
                       " the classes .*pass --labels"):
        training.class_names([records.RecordSet.read(old)])


def test_bucket_tail_at_another_temperature_is_refused(tmp_path,
                                                       record_sets):
    labeled, _ = record_sets
    with pytest.raises(ValueError, match=r"tail masses taken at "
                       r"tail_temperature=2.0, but --temperature=1.0"):
        training.train_student(str(tmp_path / "o"), labeled=labeled,
                               loss=LossConfig(temperature=1.0,
                                               tail="bucket"), verbose=0)
    history = training.train_student(
        str(tmp_path / "o"), labeled=labeled, epochs=1,
        loss=LossConfig(temperature=2.0, tail="bucket"), verbose=0)
    assert np.isfinite(history.history["soft_loss"][0])


def test_plateau_stop_is_refused_on_a_cluster(tmp_path, monkeypatch,
                                              record_sets):
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
        "task": {"type": "worker", "index": 0}}))
    with pytest.raises(ValueError, match="--plateau_seconds stops on each "
                       "worker's own clock"):
        training.train_student(str(tmp_path), labeled=record_sets[0],
                               plateau_seconds=60)


def test_nan_loss_stops_with_causes(tmp_path, all_texts):
    fine = write_record_set(str(tmp_path / "r"), all_texts,
                            [i % 3 for i in range(len(all_texts))],
                            [[0, 1]] * len(all_texts),
                            [[1.0, 0.0]] * len(all_texts), 3)
    # Adam moves every weight by about the learning rate: the logits
    # overflow float32 after the first step.
    with pytest.raises(ValueError, match="loss became (nan|inf).*learning "
                       "rate"):
        training.train_student(str(tmp_path / "o"), labeled=fine, epochs=2,
                               learning_rate=1e37, verbose=0)
    assert not os.path.exists(tmp_path / "o")  # no folder left, empty or not


def test_each_record_sets_metadata_is_read_once(tmp_path, record_sets,
                                                monkeypatch):
    reads = []
    read = records.RecordSet.read.__func__

    def counted(cls, path):
        reads.append(path)
        return read(cls, path)

    monkeypatch.setattr(records.RecordSet, "read", classmethod(counted))
    training.train_student(str(tmp_path / "o"),
                           training_config.TrainingData(*record_sets),
                           epochs=1, verbose=0)
    assert reads == list(record_sets)


def test_sampled_targets_train_at_their_temperature(tmp_path):
    sampled = write_record_set(
        str(tmp_path / "s"), [t for t, _ in ROWS], [y for _, y in ROWS],
        [[y, (y + 1) % 3] for _, y in ROWS], [[0.75, 0.25]] * len(ROWS), 3,
        names=NAMES, scores_kind="probabilities", targets="sampled",
        samples=4, sampling_temperature=2.0, seed=0)
    with pytest.raises(ValueError, match=r"s-\*: sampled targets drawn at "
                       r"sampling_temperature=2.0, but --temperature=3.0"):
        training.train_student(str(tmp_path / "o"), labeled=sampled,
                               loss=LossConfig(temperature=3.0), verbose=0)
    history = training.train_student(str(tmp_path / "o"), labeled=sampled,
                                     loss=LossConfig(temperature=2.0),
                                     epochs=1, verbose=0)
    assert history.history["soft_loss"][0] > 0


def test_settings_travel_as_configs_checked_once():
    from topk_distill.commands import train
    from topk_distill.distillation import training_config

    student, fit = training_config.configs_of(epochs=2, hidden_units=4)
    assert (fit.epochs, student.hidden_units) == (2, 4)
    with pytest.raises(TypeError, match="FitConfig given and epochs"):
        training_config.configs_of(fit=fit, epochs=3)
    with pytest.raises(TypeError, match="unexpected settings epoch"):
        training_config.configs_of(epoch=3)
    for bad, message in ((dict(plateau_delta=float("nan")),
                          "plateau_delta=nan; expected a finite number"),
                         (dict(batch_size=0),
                          "batch_size=0; expected a positive integer"),
                         (dict(architecture="rnn"), "architecture='rnn'")):
        with pytest.raises(ValueError, match=re.escape(message)):
            training_config.configs_of(**bad)
    # train's flags check each setting with the configs' own rule.
    assert set(training_config.CHECKS) <= set(train.FLAGS)


def test_class_vectors_start_at_the_class_names(tmp_path, record_sets):
    from topk_distill.models import student_init

    labeled, _ = record_sets
    # Frozen vectors in which each class name is a direction of its own.
    words = ["", "[UNK]", "animal", "food", "finance", "cat", "soup"]
    vectors = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0],
                        [0, 0, 1], [0.9, 0.1, 0], [0.1, 0.8, 0.1]],
                       np.float32)
    init = str(tmp_path / "init.npz")
    student_init.save(init, words, vectors)
    out = tmp_path / "student"
    training.train_student(
        str(out), labeled=labeled, baseline="hard", epochs=1, batch_size=4,
        learning_rate=1e-9, init_embeddings=init, freeze_embeddings=True,
        normalize=True, init_class_vectors=True, verbose=0)
    student = keras.saving.load_model(str(out / "student.keras"))
    logits = student(tf.constant(["animal", "cat", "soup", "finance"]))
    assert [NAMES[i] for i in np.argmax(logits, 1)] == [
        "animal", "animal", "food", "finance"]
    # A text that is its class's name: 10 x cos 1 (the scale), nothing more.
    assert float(logits[0, NAMES.index("animal")]) == pytest.approx(10.0,
                                                                    abs=1e-4)
    with pytest.raises(ValueError, match="needs a student without "
                       "--hidden_units"):
        training.train_student(str(tmp_path / "x"), labeled=labeled,
                               init_embeddings=init, hidden_units=4,
                               init_class_vectors=True)
