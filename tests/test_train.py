import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import TEXTS, write_record_set
from topk_distill import cli, inputs

NAMES = sorted(TEXTS)


@pytest.fixture
def record_sets(tmp_path, labeled_tsv, labels_txt):
    rows = [(t, NAMES.index(l)) for t, l in inputs.iter_examples(labeled_tsv)]
    labeled = write_record_set(
        str(tmp_path / "lab"), [t for t, _ in rows], [y for _, y in rows],
        [[y, (y + 1) % 3] for _, y in rows], [[3.0, 1.0]] * len(rows), 3,
        num_shards=2, labels_sha256=inputs.labels_sha256(labels_txt))
    unlabeled = write_record_set(
        str(tmp_path / "unl"), [t for t, _ in rows[:6]], [-1] * 6,
        [[y] for _, y in rows[:6]], [[0.9]] * 6, 3,
        scores_kind="probabilities")
    return labeled, unlabeled


def test_train_distilled_student(tmp_path, record_sets, labels_txt,
                                 labeled_tsv):
    labeled, unlabeled = record_sets
    out = tmp_path / "student"
    code = cli.main(["topk-distill", "train", f"--labeled={labeled}",
                     f"--unlabeled={unlabeled}", f"--labels={labels_txt}",
                     f"--validation={labeled_tsv}", f"--output={out}",
                     "--epochs=3", "--batch_size=6", "--learning_rate=0.05",
                     "--target_accuracy=0.0", "--embedding_dim=8"])
    assert code == 0
    history = json.loads((out / "history.json").read_text())["history"]
    assert len(history["loss"]) == 1  # Target 0.0 is reached at once.
    assert {"soft_loss", "pseudo_loss", "val_top1", "val_top5"} <= set(
        history)
    student = keras.saving.load_model(str(out / "student.keras"))
    assert student(tf.constant(["a cat"])).shape == (1, 3)
    assert (out / "labels.txt").read_text() == open(labels_txt).read()


def test_train_hard_baseline_ignores_teacher(tmp_path, record_sets,
                                             labels_txt):
    labeled, _ = record_sets
    out = tmp_path / "baseline"
    assert cli.main(["topk-distill", "train", f"--labeled={labeled}",
                     f"--labels={labels_txt}", f"--output={out}",
                     "--baseline=hard", "--epochs=2", "--batch_size=4"]) == 0
    history = json.loads((out / "history.json").read_text())["history"]
    # alpha=1: the total is the hard term alone.
    np.testing.assert_allclose(history["loss"], history["hard_loss"],
                               rtol=1e-6)


def test_train_refuses_other_labels_and_bad_flags(tmp_path, record_sets,
                                                  capsys):
    labeled, _ = record_sets
    other = tmp_path / "other.txt"
    other.write_text("x\ny\nz\n")
    assert cli.main(["topk-distill", "train", f"--labeled={labeled}",
                     f"--labels={other}", f"--output={tmp_path}/o"]) == 1
    assert "another labels file" in capsys.readouterr().err
    assert cli.main(["topk-distill", "train", f"--labels={other}",
                     f"--output={tmp_path}/o"]) == 2
    assert "--labeled or --unlabeled is required" in capsys.readouterr().err
    assert cli.main(["topk-distill", "train", f"--labeled={labeled}",
                     f"--labels={other}", f"--output={tmp_path}/o",
                     "--target_accuracy=0.5"]) == 2
    assert "--target_accuracy needs --validation" in capsys.readouterr().err
