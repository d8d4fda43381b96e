"""train_teacher: a teacher trained on a labeled file, saved as a folder."""

import json
import os

import numpy as np
import pytest

from tests.conftest import NAMES, encoder_folder
from topk_distill.inputs import inputs
from topk_distill.teachers import teacher_training
from topk_distill.teachers.teacher import load_teacher


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
    teacher = load_teacher(folder)
    predicted = teacher(tf.constant(all_texts), tf.zeros([12], tf.int64))
    labels = [NAMES.index(n) for n in ("animal", "food", "finance")
              for _ in range(4)]
    assert np.mean(predicted.numpy().argmax(1) == labels) > 0.9


def test_a_teacher_stopped_half_way_leaves_no_teacher_folder(
        tmp_path, labeled_tsv, monkeypatch):
    """Its model is saved, then it is stopped (the reference student's
    comparison, as a Ctrl-C there): nothing `preprocess --teacher` could
    take for a finished teacher is left, nor any partial folder."""
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(teacher_training, "_student_top1", stopped)
    with pytest.raises(KeyboardInterrupt):
        teacher_training.train_teacher(labeled_tsv, str(tmp_path / "t"),
                                       epochs=1, verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["train.tsv"]


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
            labeled_tsv, str(tmp_path / "t2"), encoder=encoder_folder(),
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


@pytest.mark.parametrize("settings, message", [
    (dict(fine_tune=0), "fine-tuning needs an encoder"),
    (dict(fine_tune=0, encoder="x", cross_fit_folds=1),
     "expected 0 \\(none\\) or at least 2 folds")])
def test_fine_tuning_settings_that_cannot_work(tmp_path, labeled_tsv,
                                               settings, message):
    with pytest.raises(ValueError, match=message):
        teacher_training.train_teacher(labeled_tsv, str(tmp_path / "t"),
                                       **settings)


def test_fine_tuned_teacher_cross_fits_from_the_command_line(
        tmp_path, labeled_tsv, capsys):
    """One fine-tuning path end to end (the top layer, an MLP head, 2
    folds, a held-out comparison): the fold teachers and the full one."""
    import tensorflow as tf

    from tests.conftest import run_command

    folder = tmp_path / "t"
    assert run_command([
        "topk-distill", "teacher", f"--input={labeled_tsv}",
        f"--output={folder}", f"--encoder={encoder_folder()}", "--epochs=2",
        "--hidden_units=8", "--sequence_length=16", "--fine_tune",
        "--fine_tune_layers=1", "--fine_tune_epochs=1", "--cross_fit_folds=2",
        f"--validation={labeled_tsv}", "--batch_size=6"]) == 0
    logits = np.load(folder / "cross_fit_logits.npy")
    assert logits.shape == (12, len(NAMES)) and np.isfinite(logits).all()
    report = json.load(open(folder / "report.json"))
    assert report["teacher"] == ("encoder fine-tuned (top 1 layers, 1 "
                                 "epochs) + MLP head (8)")
    # Measured on the validation file (the training file), the teacher is
    # the saved one: its top-1 there, counted here by hand.
    teacher = load_teacher(str(folder))
    texts, labels = zip(*inputs.iter_examples(labeled_tsv))
    scores = teacher(tf.constant(texts), tf.zeros([12], tf.int64)).numpy()
    right = scores.argmax(1) == [NAMES.index(label) for label, in labels]
    assert report["teacher_top1"] == pytest.approx(right.mean())
    assert "teacher (encoder fine-tuned" in capsys.readouterr().out
    assert teacher.num_classes == len(NAMES)
    # The fine-tuned encoder, for student-init: its top layer trained, the
    # layer below as pretrained.
    import keras_hub

    tuned = keras_hub.models.BertBackbone.from_preset(str(folder / "encoder"))
    before = keras_hub.models.BertBackbone.from_preset(encoder_folder())
    changed = [not all(np.array_equal(a, b) for a, b in zip(
        x.get_weights(), y.get_weights())) for x, y in zip(
        tuned.transformer_layers, before.transformer_layers)]
    assert changed[-1] and not any(changed[:-1])
    assert keras_hub.models.BertTokenizer.from_preset(
        str(folder / "encoder")).vocabulary_size() == (
        keras_hub.models.BertTokenizer.from_preset(
            encoder_folder()).vocabulary_size())
