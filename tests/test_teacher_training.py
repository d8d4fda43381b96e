"""train_teacher: a teacher trained on a labeled file, saved as a folder."""

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
                       os.path.join(folder, "labels.txt")]
    assert open(written[1]).read().split() == NAMES
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
        "saved_model", "cross_fit_logits.npy", "labels.txt"]
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
