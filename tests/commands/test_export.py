"""`topk-distill export`: a .keras model -> SavedModel (+ TFLite)."""

import os

import tensorflow as tf

from tests.conftest import NAMES, run_command


def test_export_with_the_labels_beside_the_model(trained, tmp_path, capsys):
    _, folder = trained
    out = str(tmp_path / "exp")
    assert run_command(["topk-distill", "export",
                        f"--model={folder / 'student.keras'}",
                        f"--output={out}", "--top_n=3", "--tflite"]) == 0
    printed = capsys.readouterr().out
    for name in ("model.tflite", "model_token_ids.tflite"):
        assert f"wrote {os.path.join(out, name)}" in printed
    predict = tf.saved_model.load(out).signatures["serving_default"]
    labels = predict(text=tf.constant(["hot soup"]))["top_labels"].numpy()
    assert sorted(x.decode() for x in labels[0]) == NAMES
    assert open(os.path.join(out, "labels.txt")).read().split() == NAMES


def test_export_needs_labels_that_match(trained, tmp_path, capsys):
    _, folder = trained
    other = tmp_path / "labels.txt"
    other.write_text("a\nb\n")
    assert run_command(["topk-distill", "export",
                        f"--model={folder / 'student.keras'}",
                        f"--labels={other}", f"--output={tmp_path}/x"]) == 1
    assert "returns 3 scores but" in capsys.readouterr().err
