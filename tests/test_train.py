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
    served = tf.saved_model.load(str(out / "export"))
    answer = served.signatures["serving_default"](text=tf.constant(["x"]))
    assert answer["top_labels"].shape == (1, 3)


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


class _Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill after epoch 2")


def test_backup_and_restore_continues_after_a_crash(tmp_path, record_sets):
    from topk_distill import models, records
    from topk_distill.student import DistillationStudent

    labeled, unlabeled = record_sets
    backup = str(tmp_path / "backup")

    def fit(extra):
        keras.utils.set_random_seed(0)
        data = records.make_distillation_dataset(labeled, unlabeled, 6,
                                                 seed=0)
        texts = [t for t in TEXTS["food"]]
        model = DistillationStudent(models.make_student(texts, 3), 3)
        model.compile(optimizer="adam")
        return model.fit(data, epochs=4, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(backup)] + extra)

    with pytest.raises(KeyboardInterrupt):
        fit([_Crash()])
    resumed = fit([])
    assert len(resumed.history["loss"]) == 2  # epochs 3 and 4 only


def test_nan_loss_stops_with_causes(tmp_path, labels_txt, capsys):
    texts = [t for name in sorted(TEXTS) for t in TEXTS[name]]
    bad = write_record_set(str(tmp_path / "nan"), texts,
                           [i % 3 for i in range(len(texts))],
                           [[0, 1]] * len(texts),
                           [[float("nan"), 0.0]] * len(texts), 3,
                           labels_sha256=inputs.labels_sha256(labels_txt))
    assert cli.main(["topk-distill", "train", f"--labeled={bad}",
                     f"--labels={labels_txt}", f"--output={tmp_path}/o",
                     "--epochs=2"]) == 1
    err = capsys.readouterr().err
    assert "loss became nan" in err and "learning rate" in err
