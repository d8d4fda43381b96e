import contextlib
import io
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.conftest import NAMES, SAMPLES
from topk_distill.models import text_models
from topk_distill.models import tflite_export


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


def test_tflite_token_ids_variant_agrees_and_text_variant_uses_flex(
        trained, tmp_path):
    model, folder = trained
    predict = tf.saved_model.load(str(folder / "export")).signatures[
        "serving_default"]
    ids_path = tflite_export.export_tflite(model, str(tmp_path / "ids.tflite"),
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
    text_path = tflite_export.export_tflite(
        model, str(tmp_path / "text.tflite"), top_n=2)
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        tf.lite.experimental.Analyzer.analyze(model_path=text_path)
    flex = {op for op in ("FlexStringLower", "FlexStaticRegexReplace",
                          "FlexStringSplitV2") if op in report.getvalue()}
    assert flex == {"FlexStringLower", "FlexStaticRegexReplace",
                    "FlexStringSplitV2"}
    # The tensorflow 2.21 wheel's interpreter does not link the Flex
    # delegate (README, "Export"): it refuses the file, naming the op.
    with pytest.raises(RuntimeError, match="FlexStringLower"):
        tf.lite.Interpreter(text_path).get_signature_runner()(
            text=np.array([SAMPLES[0].encode()]))


@pytest.mark.parametrize("architecture", ["bigram", "cnn"])
def test_every_student_exports_to_builtin_tflite(architecture, tmp_path):
    texts = ["hot soup today", "cold soup", "a hot day", "rain today"]
    # Big enough that quantisation applies (tensors of >= 1,024 weights).
    model = text_models.make_student(
        texts, 4, embedding_dim=32, architecture=architecture, hash_buckets=64,
        filters=32)
    vectorize = model.layers[1]
    for quantize in (False, True):
        path = tflite_export.export_tflite(
            model, str(tmp_path / f"{quantize}.tflite"), top_n=4,
            token_ids=True, quantize=quantize)
        runner = tf.lite.Interpreter(path).get_signature_runner()
        for text in texts:
            lite = runner(token_ids=vectorize(tf.constant([text])).numpy())
            want = tf.nn.softmax(model(tf.constant([text])))[0].numpy()
            np.testing.assert_allclose(
                lite["top_scores"][0], np.sort(want)[::-1],
                atol=2e-2 if quantize else 1e-5)
    assert os.path.getsize(tmp_path / "True.tflite") < os.path.getsize(
        tmp_path / "False.tflite")
