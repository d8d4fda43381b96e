import importlib
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from topk_distill import cli, inputs, records
from topk_distill.preprocessing import preprocess
from topk_distill.teacher import load_teacher


def _read(prefix):
    batches = list(records.make_dataset(prefix + "-*", batch_size=5))
    return {key: np.concatenate([b[key].numpy() for b in batches])
            for key in batches[0]}


def _npy_teacher(tmp_path, scores):
    path = str(tmp_path / "scores.npy")
    np.save(path, scores)
    return path


def test_precomputed_top_k_matches_argsort_with_ties(tmp_path, labeled_tsv,
                                                     labels_txt, rng):
    scores = rng.integers(-3, 3, size=(12, 3)).astype(np.float32)  # Ties.
    teacher = load_teacher(_npy_teacher(tmp_path, scores))
    prefix = str(tmp_path / "out" / "train")
    preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=2,
               score_dtype="float32", num_shards=3, verbose=0, batch_size=5)
    got = _read(prefix)
    want_ids = np.argsort(-scores, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(got["topk_ids"], want_ids)
    np.testing.assert_array_equal(got["topk_scores"],
                                  np.take_along_axis(scores, want_ids, 1))
    names = inputs.read_labels(labels_txt)
    want_labels = [names.index(l) for _, l in inputs.iter_examples(
        labeled_tsv)]
    np.testing.assert_array_equal(got["label"], want_labels)


def test_float16_logits_are_shifted_softmax_equal(tmp_path, labeled_tsv,
                                                  labels_txt, rng):
    scores = rng.normal(0, 20, size=(12, 3)).astype(np.float32) + 1e4
    prefix = str(tmp_path / "train")
    preprocess(load_teacher(_npy_teacher(tmp_path, scores)), labeled_tsv,
               labels_txt, prefix, top_k=3, verbose=0)
    got = _read(prefix)
    assert np.all(got["topk_scores"][:, 0] == 0)
    want = np.sort(scores, axis=1)[:, ::-1]
    np.testing.assert_allclose(
        tf.nn.softmax(got["topk_scores"]), tf.nn.softmax(want), atol=2e-3)


def test_keras_teacher_and_metadata(tmp_path, keras_teacher_path,
                                    labeled_tsv, labels_txt, all_texts):
    import keras

    teacher = load_teacher(keras_teacher_path)
    assert teacher.num_classes == 3
    prefix = str(tmp_path / "rec" / "train")
    summary = preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=2,
                         num_shards=2, compression="gzip",
                         score_dtype="float32", verbose=0,
                         command=["topk-distill", "preprocess"])
    meta = records.read_metadata(prefix + "-*")
    assert summary["num_examples"] == meta["num_examples"] == 12
    assert [s["examples"] for s in meta["shards"]] == [6, 6]
    assert meta["shards"][0]["file"] == "train-00000-of-00002.tfrecord.gz"
    assert meta["labels_sha256"] == inputs.labels_sha256(labels_txt)
    assert meta["teacher"]["kind"] == "keras"
    assert (meta["kind"], meta["top_k"], meta["num_classes"],
            meta["scores"]) == ("labeled", 2, 3, "logits")
    assert summary["dense_bytes_per_example"] == 12
    logits = keras.saving.load_model(keras_teacher_path)(
        tf.constant(all_texts)).numpy()
    got = _read(prefix)
    np.testing.assert_allclose(
        got["topk_scores"], -np.sort(-logits, axis=1)[:, :2], rtol=1e-5)


def test_saved_model_teacher_returns_probabilities(tmp_path, labeled_tsv,
                                                   labels_txt, all_texts):
    class Probabilities(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, text):
            length = tf.cast(tf.strings.length(text), tf.float32)
            logits = tf.stack([length, -length, tf.zeros_like(length)], 1)
            return {"probs": tf.nn.softmax(logits / 10.0)}

    module = Probabilities()
    path = str(tmp_path / "sm")
    tf.saved_model.save(module, path, signatures={"serving_default":
                                                  module.serve})
    teacher = load_teacher(path, outputs="probabilities")
    prefix = str(tmp_path / "unl")
    preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=1,
               unlabeled=True, score_dtype="float32", verbose=0)
    got = _read(prefix)
    assert records.read_metadata(prefix)["scores"] == "probabilities"
    assert np.all(got["label"] == -1)
    np.testing.assert_array_equal(got["topk_ids"][:, 0], 0)
    lengths = np.array([len(t) for t in all_texts], np.float32)
    want = tf.nn.softmax(np.stack([lengths, -lengths, 0 * lengths], 1) / 10)
    np.testing.assert_allclose(got["topk_scores"][:, 0], np.max(want, 1),
                               rtol=1e-6)
    # The same teacher asked for logits stores log-probabilities.
    preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=1,
               scores="logits", score_dtype="float32", verbose=0)
    np.testing.assert_allclose(_read(prefix)["topk_scores"][:, 0],
                               np.log(np.max(want, 1)), rtol=1e-5)


def test_dense_mode_keeps_all_scores(tmp_path, labeled_tsv, labels_txt, rng):
    scores = rng.normal(size=(12, 3)).astype(np.float32)
    prefix = str(tmp_path / "dense")
    summary = preprocess(load_teacher(_npy_teacher(tmp_path, scores)),
                         labeled_tsv, labels_txt, prefix, top_k=0,
                         score_dtype="float32", verbose=0)
    got = _read(prefix)
    assert summary["dense"] and summary["top_k"] == 3
    np.testing.assert_array_equal(got["topk_scores"], scores)
    np.testing.assert_array_equal(got["topk_ids"], np.tile([0, 1, 2], (12, 1)))


@pytest.mark.parametrize("change, expected", [
    (dict(top_k=4), "top_k=4; expected 1..N=3"),
    (dict(scores_rows=5), "5 score rows for 12 examples"),
    (dict(width=4), "returns 4 scores per example but .*labels.txt names 3"),
    (dict(nan=True), "example 2: the teacher returned NaN"),
])
def test_preprocess_errors(tmp_path, labeled_tsv, labels_txt, change,
                           expected):
    scores = np.zeros((change.get("scores_rows", 12), change.get("width", 3)),
                      np.float32)
    if change.get("nan"):
        scores[1, 1] = np.nan
    teacher = load_teacher(_npy_teacher(tmp_path, scores))
    with pytest.raises(ValueError, match=expected):
        preprocess(teacher, labeled_tsv, labels_txt, str(tmp_path / "x"),
                   top_k=change.get("top_k", 2), verbose=0)
    assert not list(tmp_path.glob("x.meta.json"))


def test_unknown_label_names_the_example_or_is_skipped(tmp_path, labels_txt,
                                                       capsys):
    path = tmp_path / "bad.tsv"
    path.write_text("ok text\tfood\nother text\tsport\nmore\tanimal\n",
                    encoding="utf-8")
    scores = np.array([[0, 0, 1], [5, 5, 5], [1, 0, 0]], np.float32)
    teacher = load_teacher(_npy_teacher(tmp_path, scores))
    with pytest.raises(inputs.InputError, match="example 2: label 'sport'"):
        preprocess(teacher, str(path), labels_txt, str(tmp_path / "x"),
                   top_k=1, verbose=0)
    summary = preprocess(teacher, str(path), labels_txt, str(tmp_path / "y"),
                         top_k=1, skip_unknown_labels=True,
                         score_dtype="float32")
    assert summary["skipped_unknown_labels"] == 1
    assert "1 with unknown labels skipped" in capsys.readouterr().out
    got = _read(str(tmp_path / "y"))
    np.testing.assert_array_equal(got["topk_ids"][:, 0], [2, 0])
    np.testing.assert_array_equal(got["label"], [2, 0])


def test_cli_teacher_then_preprocess(tmp_path, labeled_tsv, capsys):
    out = str(tmp_path / "teacher")
    assert cli.main(["topk-distill", "teacher", f"--input={labeled_tsv}",
                     f"--output={out}", "--epochs=1"]) == 0
    prefix = str(tmp_path / "rec" / "train")
    assert cli.main(["topk-distill", "preprocess",
                     f"--teacher={out}/teacher.keras",
                     f"--labels={out}/labels.txt", f"--input={labeled_tsv}",
                     f"--output={prefix}", "--top_k=2", "--num_shards=2"]) == 0
    printed = capsys.readouterr().out
    assert "12 examples in 2 shards" in printed and "B/example" in printed
    meta = json.loads(open(prefix + ".meta.json").read())
    assert meta["command"][:2] == ["topk-distill", "preprocess"]
    assert "--top_k=2" in meta["command"]
    assert len(_read(prefix)["label"]) == 12


def test_cli_reports_errors_and_bad_flags(tmp_path, labeled_tsv, capsys):
    assert cli.main(["topk-distill", "preprocess", "--top_k=-1"]) == 2
    assert cli.main(["topk-distill", "nope"]) == 2
    assert cli.main(["topk-distill", "preprocess", "--teacher=x.bin",
                     f"--input={labeled_tsv}", "--labels=l.txt",
                     "--output=o"]) == 1
    err = capsys.readouterr().err
    assert "unknown command 'nope'" in err
    assert "--teacher=x.bin: expected a .keras file" in err


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
@pytest.mark.parametrize("flag", ["--help", "--helpfull"])
def test_help_of_every_command(command, flag, capsys):
    assert cli.main(["topk-distill", command, flag]) == 0
    out = capsys.readouterr().out
    assert f"usage: topk-distill {command}" in out
    module = importlib.import_module(f"topk_distill.commands.{command}")
    for defined in module.FLAGS.get_flags_for_module(module.__name__):
        assert defined.name in out
    assert ("--flagfile" in out) == (flag == "--helpfull")


def test_help_runs_without_tensorflow():
    code = ("import sys; from topk_distill import cli; "
            "cli.main(['topk-distill', 'preprocess', '--help']); "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip().endswith("False")
    result = subprocess.run([sys.executable, "-m", "topk_distill", "--help"],
                            capture_output=True, text=True, check=True)
    assert "preprocess" in result.stdout
