"""train_teacher: a teacher trained on a labeled file, saved as a folder."""

import json
import os

import numpy as np
import pytest

from tests.conftest import NAMES, encoder_folder
from topk_distill import teacher_training
from topk_distill.teacher import load_teacher


def test_reference_teacher_learns_its_training_file(tmp_path, labeled_tsv,
                                                    all_texts):
    import tensorflow as tf

    folder = str(tmp_path / "t")
    written = teacher_training.train_teacher(labeled_tsv, folder, epochs=30,
                                             verbose=0)
    assert written == [os.path.join(folder, "teacher.keras"),
                       os.path.join(folder, "labels.txt"),
                       os.path.join(folder, "report.json")]
    assert open(written[1]).read().split() == NAMES
    # 10% of the 12 examples held out for the teacher-vs-student check.
    report = json.load(open(written[2]))
    assert report["examples"] == 1 and "carved off" in report["source"]
    assert {report["teacher_top1"], report["student_top1"]} <= {0.0, 1.0}
    teacher = load_teacher(folder)
    predicted = teacher(tf.constant(all_texts), tf.zeros([12], tf.int64))
    labels = [NAMES.index(n) for n in ("animal", "food", "finance")
              for _ in range(4)]
    assert np.mean(predicted.numpy().argmax(1) == labels) > 0.9


def test_encoder_teacher_from_precomputed_embeddings(tmp_path, labeled_tsv,
                                                     rng):
    vectors = rng.normal(size=(12, 384)).astype(np.float32)
    np.save(tmp_path / "emb.npy", vectors)
    folder = str(tmp_path / "t")
    written = teacher_training.train_teacher(
        labeled_tsv, folder, encoder=encoder_folder(),
        embeddings=str(tmp_path / "emb.npy"), cross_fit_folds=2, epochs=1,
        verbose=0)
    assert [os.path.basename(p) for p in written] == [
        "saved_model", "cross_fit_logits.npy", "labels.txt", "report.json"]
    np.save(tmp_path / "short.npy", vectors[:5])
    with pytest.raises(ValueError, match="short.npy: 5 rows for 12 "
                       "examples"):
        teacher_training.train_teacher(
            labeled_tsv, folder, encoder=encoder_folder(),
            embeddings=str(tmp_path / "short.npy"), verbose=0)


def test_one_fold_is_refused(tmp_path, labeled_tsv):
    with pytest.raises(ValueError, match="cross_fit_folds=1"):
        teacher_training.train_teacher(labeled_tsv, str(tmp_path / "t"),
                                       cross_fit_folds=1)


def test_held_out_comparison_on_a_validation_file(tmp_path, labeled_tsv):
    folder = str(tmp_path / "t")
    written = teacher_training.train_teacher(
        labeled_tsv, folder, epochs=30, verbose=0, validation=labeled_tsv,
        student_epochs=30)
    report = json.load(open(written[-1]))
    # Both trained on the very file they are measured on: both learn it.
    assert report["examples"] == 12 and report["source"] == labeled_tsv
    assert report["teacher_top1"] > 0.9 and report["student_top1"] > 0.9
    assert teacher_training.train_teacher(
        labeled_tsv, str(tmp_path / "u"), epochs=1, verbose=0,
        validation_fraction=0)[-1].endswith("labels.txt")


def test_fine_tune_trains_the_top_layers_and_decays_to_zero(all_texts):
    from topk_distill import models

    labels = np.repeat([0, 1, 2], 4)
    teacher = models.make_encoder_teacher(encoder_folder(), 3,
                                          sequence_length=16, hidden_units=8)
    encoder, = (layer for layer in teacher.layers
                if hasattr(layer, "transformer_layers"))
    before = {w.path: w.numpy() for w in encoder.weights + teacher.get_layer(
        "head").weights}
    history = teacher_training.fine_tune(
        teacher, all_texts, labels, layers=1, epochs=3, batch_size=4,
        learning_rate=1e-3, verbose=0)
    changed = {w.path for w in encoder.weights + teacher.get_layer(
        "head").weights if not np.array_equal(w.numpy(), before[w.path])}
    top = {w.path for w in encoder.transformer_layers[-1].weights}
    head = {w.path for w in teacher.get_layer("head").weights}
    assert changed == top | head  # the top layer and the head, nothing else
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    # 3 epochs of 3 batches: warmup over int(0.9) = 0 steps, then the
    # cosine reaches 0 at the last step, not before nor after.
    assert int(teacher.optimizer.iterations) == 9
    assert float(teacher.optimizer.learning_rate) < 1e-9
    with pytest.raises(ValueError, match="layers=7; the encoder has 6"):
        models.set_encoder_trainable(teacher, 7)


def test_fine_tuned_teacher_from_the_command_line(tmp_path, labeled_tsv,
                                                  capsys):
    from tests.conftest import run_command

    folder = tmp_path / "t"
    assert run_command([
        "topk-distill", "teacher", f"--input={labeled_tsv}",
        f"--output={folder}", f"--encoder={encoder_folder()}", "--epochs=2",
        "--hidden_units=8", "--sequence_length=16", "--fine_tune",
        "--fine_tune_epochs=1", f"--validation={labeled_tsv}",
        "--batch_size=6"]) == 0
    report = json.load(open(folder / "report.json"))
    assert report["teacher"] == ("encoder fine-tuned (all layers, 1 epochs) "
                                 "+ MLP head (8)")
    assert 0 <= report["teacher_top1"] <= 1
    assert "teacher (encoder fine-tuned" in capsys.readouterr().out
    assert load_teacher(str(folder)).num_classes == len(NAMES)


@pytest.mark.parametrize("settings, message", [
    (dict(fine_tune=0), "fine-tuning needs an encoder"),
    (dict(fine_tune=0, encoder="x", cross_fit_folds=1),
     "expected 0 \\(none\\) or at least 2 folds")])
def test_fine_tuning_settings_that_cannot_work(tmp_path, labeled_tsv,
                                               settings, message):
    with pytest.raises(ValueError, match=message):
        teacher_training.train_teacher(labeled_tsv, str(tmp_path / "t"),
                                       **settings)


def test_length_batches_cover_every_row_once_and_group_by_length():
    texts = np.array(["w" * n for n in range(1, 101)], object)
    batches = teacher_training.length_batches(texts, np.arange(100),
                                              batch_size=10, window=5)
    epochs = []
    for _ in range(2):
        assert len(batches) == 10
        seen = [batches[i][1] for i in range(len(batches))]
        rows = np.sort(np.concatenate(seen))
        np.testing.assert_array_equal(rows, np.arange(100))
        # windows of 5 batches (50 texts) are sorted: a batch spans little
        spans = [np.ptp([len(t) for t in batches[i][0].numpy()])
                 for i in range(len(batches))]
        assert max(spans) < 50
        epochs.append([tuple(s) for s in seen])
        batches.on_epoch_end()
    assert epochs[0] != epochs[1]  # reshuffled each epoch


def test_predict_by_length_keeps_the_input_order():
    import keras
    import tensorflow as tf

    text = keras.Input(shape=(), dtype="string")
    length = keras.layers.Lambda(lambda t: tf.cast(tf.strings.length(t),
                                                   "float32")[:, None],
                                 output_shape=(1,))(text)
    model = keras.Model(text, length)
    texts = ["ccc", "a", "bbbbb", "dd"]
    out = teacher_training.predict_by_length(model, texts, batch_size=2,
                                             verbose=0)
    assert out[:, 0].tolist() == [3, 1, 5, 2]


def test_each_fine_tuned_fold_trains_on_the_other_folds(monkeypatch):
    from topk_distill import models

    trained = []

    class Teacher:
        output = type("Output", (), {"shape": (None, 3)})

        def get_layer(self, name):
            return type("Head", (), {"set_weights": lambda self, w: None})()

    def fake_fine_tune(teacher, texts, labels, **settings):
        trained.append(set(texts))

    monkeypatch.setattr(teacher_training, "fine_tune", fake_fine_tune)
    monkeypatch.setattr(teacher_training, "predict_by_length",
                        lambda model, texts, verbose=0: np.array(
                            [[float(t[1:]), 0, 0] for t in texts]))
    texts = np.array([f"t{i}" for i in range(10)], object)
    logits = teacher_training.cross_fit_fine_tuned(
        Teacher, texts, np.arange(10) % 3,
        np.eye(10, dtype="float32"), 2, dict(epochs=1), dict(epochs=1))
    fold = models.fold_of_rows(10, 2)
    for k in range(2):  # fold k's teacher saw every text but fold k's
        assert trained[k] == set(texts[fold != k])
    np.testing.assert_array_equal(logits[:, 0], np.arange(10))
    # the same folds as the frozen encoder's cross-fitted heads
    head_fold, _ = models.cross_fit_heads(np.eye(10, dtype="float32"),
                                          np.arange(10) % 3, 3, folds=2,
                                          epochs=1)
    np.testing.assert_array_equal(fold, head_fold)


def test_fine_tuned_teacher_cross_fits_from_the_command_line(
        tmp_path, labeled_tsv):
    from tests.conftest import run_command

    folder = tmp_path / "t"
    assert run_command([
        "topk-distill", "teacher", f"--input={labeled_tsv}",
        f"--output={folder}", f"--encoder={encoder_folder()}", "--epochs=2",
        "--sequence_length=16", "--fine_tune", "--fine_tune_layers=1",
        "--fine_tune_epochs=1", "--cross_fit_folds=2",
        "--validation_fraction=0", "--batch_size=6"]) == 0
    logits = np.load(folder / "cross_fit_logits.npy")
    assert logits.shape == (12, len(NAMES)) and np.isfinite(logits).all()
    assert load_teacher(str(folder)).num_classes == len(NAMES)
