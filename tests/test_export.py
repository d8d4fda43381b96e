import io
import contextlib
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.conftest import TEXTS
from topk_distill import cli, evaluation, export, inputs, models

NAMES = sorted(TEXTS)
SAMPLES = ["a cat sat on the mat", "stocks fell", "hot soup", "the bird"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    texts = [t for name in NAMES for t in TEXTS[name]]
    labels = np.array([i for i, name in enumerate(NAMES) for _ in TEXTS[name]])
    keras.utils.set_random_seed(0)
    model = models.make_student(texts, len(NAMES), embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
    model.fit(np.array(texts, object), labels, epochs=20, verbose=0)
    model.save(str(folder / "student.keras"))
    inputs.write_labels(str(folder / "labels.txt"), NAMES)
    export.export_saved_model(model, str(folder / "export"), NAMES, top_n=2)
    return model, folder


def _example(text):
    return tf.train.Example(features=tf.train.Features(feature={
        "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
    })).SerializeToString()


def test_signatures_names_dtypes_shapes(trained):
    _, folder = trained
    served = tf.saved_model.load(str(folder / "export"))
    assert set(served.signatures) == {"serving_default", "classify",
                                      "probabilities", "logits"}
    predict = served.signatures["serving_default"]
    assert list(predict.structured_input_signature[1]) == ["text"]
    out = predict(text=tf.constant(SAMPLES))
    assert (out["top_ids"].dtype, out["top_labels"].dtype,
            out["top_scores"].dtype) == (tf.int32, tf.string, tf.float32)
    assert out["top_ids"].shape == out["top_labels"].shape == (4, 2)
    classify = served.signatures["classify"]
    assert list(classify.structured_input_signature[1]) == ["inputs"]
    answer = classify(inputs=tf.constant([_example(b"stocks fell")]))
    assert set(answer) == {"classes", "scores"}
    assert answer["classes"].shape == answer["scores"].shape == (1, 2)
    probabilities = served.signatures["probabilities"](
        text=tf.constant(SAMPLES))["probabilities"]
    assert probabilities.shape == (4, 3)
    logits = served.signatures["logits"](text=tf.constant(SAMPLES))["logits"]
    np.testing.assert_allclose(tf.nn.softmax(logits), probabilities,
                               rtol=1e-5)
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((folder / "export" / "saved_model.pb").read_bytes())
    methods = {k: v.method_name
               for k, v in saved.meta_graphs[0].signature_def.items()}
    assert methods["classify"] == "tensorflow/serving/classify"
    assert methods["serving_default"] == "tensorflow/serving/predict"


def test_saved_model_cli_lists_the_signatures(trained):
    # What `saved_model_cli show --all` reads and prints.
    from tensorflow.python.tools import saved_model_utils

    _, folder = trained
    graph = saved_model_utils.get_meta_graph_def(str(folder / "export"),
                                                 "serve")
    signatures = graph.signature_def
    assert {"serving_default", "classify", "probabilities",
            "logits"} <= set(signatures)
    assert set(signatures["classify"].outputs) == {"classes", "scores"}
    assert set(signatures["serving_default"].outputs) == {
        "top_ids", "top_labels", "top_scores"}


def test_answers_are_ordered_and_consistent(trained):
    model, folder = trained
    served = tf.saved_model.load(str(folder / "export"))
    out = served.signatures["serving_default"](text=tf.constant(SAMPLES))
    scores, ids = out["top_scores"].numpy(), out["top_ids"].numpy()
    assert np.all(np.diff(scores, axis=1) <= 0)
    assert [[NAMES[i] for i in row] for row in ids] == [
        [x.decode() for x in row] for row in out["top_labels"].numpy()]
    want = tf.nn.softmax(model(tf.constant(SAMPLES))).numpy()
    np.testing.assert_allclose(scores, -np.sort(-want, axis=1)[:, :2],
                               rtol=1e-5)
    np.testing.assert_array_equal(ids[:, 0], want.argmax(axis=1))
    classes = served.signatures["classify"](inputs=tf.constant(
        [_example(t.encode()) for t in SAMPLES]))["classes"].numpy()
    np.testing.assert_array_equal(classes, out["top_labels"].numpy())


def test_odd_inputs_get_answers(trained):
    _, folder = trained
    predict = tf.saved_model.load(str(folder / "export")).signatures[
        "serving_default"]
    odd = [b"", b"word " * 20000, b"\xff\xfe\xc3(", "caf\u00e9 \u2603".encode()]
    out = predict(text=tf.constant(odd))
    assert out["top_scores"].shape == (4, 2)
    assert np.all(np.isfinite(out["top_scores"].numpy()))


def test_loads_in_a_fresh_process_without_the_package(trained):
    _, folder = trained
    code = (
        "import sys, tensorflow as tf\n"
        f"m = tf.saved_model.load({str(folder / 'export')!r})\n"
        "out = m.signatures['serving_default'](text=tf.constant(['hot soup']))\n"
        "print(out['top_labels'].numpy()[0][0].decode())\n"
        "print('topk_distill' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    label, imported = result.stdout.split()[-2:]
    assert label in NAMES and imported == "False"


def test_tflite_token_ids_variant_agrees_and_text_variant_needs_flex(
        trained, tmp_path):
    model, folder = trained
    predict = tf.saved_model.load(str(folder / "export")).signatures[
        "serving_default"]
    ids_path = export.export_tflite(model, str(tmp_path / "ids.tflite"),
                                    top_n=2, token_ids=True)
    vocabulary = (tmp_path / "ids.tflite.vocab.txt").read_text().split("\n")
    vectorize = next(layer for layer in model.layers if isinstance(
        layer, keras.layers.TextVectorization))
    assert vocabulary[:-1] == vectorize.get_vocabulary()
    runner = tf.lite.Interpreter(ids_path).get_signature_runner()
    for text in SAMPLES:
        lite = runner(token_ids=vectorize(tf.constant([text])).numpy())
        want = predict(text=tf.constant([text]))
        assert lite["top_ids"][0, 0] == want["top_ids"][0, 0]
        np.testing.assert_allclose(lite["top_scores"], want["top_scores"],
                                   rtol=1e-5)
    text_path = export.export_tflite(model, str(tmp_path / "text.tflite"),
                                     top_n=2)
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        tf.lite.experimental.Analyzer.analyze(model_path=text_path)
    flex = {op for op in ("FlexStringLower", "FlexStaticRegexReplace",
                          "FlexStringSplitV2") if op in report.getvalue()}
    assert flex == {"FlexStringLower", "FlexStaticRegexReplace",
                    "FlexStringSplitV2"}
    try:
        lite = tf.lite.Interpreter(text_path).get_signature_runner()(
            text=np.array([SAMPLES[0].encode()]))
    except RuntimeError as e:  # This TF wheel's interpreter has no Flex.
        assert "Flex delegate" in str(e)
    else:
        assert lite["top_ids"][0, 0] == predict(
            text=tf.constant(SAMPLES[:1]))["top_ids"][0, 0]


def test_precision_at_k_and_macro():
    answers = np.array([[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]])
    labels = np.array([0, 1, 1, 1])
    assert evaluation.precision_at_k(answers, labels, 1) == 0.5
    assert evaluation.precision_at_k(answers, labels, 2) == 0.75
    assert evaluation.precision_at_k(answers, labels, 3) == 1.0
    # Class 0: 1/1 right; class 1: 1/3 right.
    assert evaluation.macro_precision_at_1(answers, labels) == pytest.approx(
        (1 + 1 / 3) / 2)


def test_cli_export_classify_evaluate(trained, tmp_path, labeled_tsv,
                                      capsys):
    _, folder = trained
    out = str(tmp_path / "exp")
    assert cli.main(["topk-distill", "export",
                     f"--model={folder / 'student.keras'}", f"--output={out}",
                     "--top_n=3", "--tflite"]) == 0
    assert "model_token_ids.tflite" in capsys.readouterr().out
    assert cli.main(["topk-distill", "classify", f"--model={out}",
                     "--top_n=2", "--format=json", "stocks fell"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["text"] == "stocks fell" and len(answer["labels"]) == 2
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"hot soup\n\xff bad bytes\n")
    assert cli.main(["topk-distill", "classify", f"--model={out}",
                     f"--input={texts}"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n  ") == 6 and "\ufffd bad bytes" in table
    assert cli.main(["topk-distill", "classify", f"--model={out}",
                     "--top_n=9", "x"]) == 1
    assert "answers 3 labels" in capsys.readouterr().err
    assert cli.main(["topk-distill", "evaluate", f"--model={out}",
                     f"--test={labeled_tsv}", "--format=json",
                     "--latency_repeats=5"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["examples"] == 12
    assert 0 <= result["p@1"] <= result["p@3"] <= result["p@5"] == 1.0
    assert result["size_bytes"] == export.saved_model_size(out) > 0
    assert result["latency_p50_ms"] <= result["latency_p99_ms"]
