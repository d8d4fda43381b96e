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


def test_export_overwrite_removes_the_old_export(trained, tmp_path, capsys):
    _, folder = trained
    out = tmp_path / "exp"
    out.mkdir()
    (out / "model.tflite").write_text("another model's\n")
    argv = ["topk-distill", "export", f"--model={folder / 'student.keras'}",
            f"--output={out}"]
    assert run_command(argv) == 1
    assert "is not empty; pass --overwrite" in capsys.readouterr().err
    assert run_command(argv + ["--overwrite"]) == 0
    assert "model.tflite" not in os.listdir(out)
    assert "saved_model.pb" in os.listdir(out)
    assert [p for p in os.listdir(tmp_path) if ".tmp-" in p] == []
