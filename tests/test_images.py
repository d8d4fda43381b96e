"""Inputs beyond text: the image example end to end (tiny), image and
feature-vector record sets, their models, exports and errors."""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ROOT, run_command, shell_commands, tiny_tfds
from topk_distill.distillation import student
from topk_distill.inputs import errors, image_files, inputs, labels_file
from topk_distill.models import (feature_models, image_models, saved_model,
                                 text_models)
from topk_distill.preprocessing import preprocessing
from topk_distill.records import reader, records
from topk_distill.models import tflite_export
from topk_distill.serving import classification
from topk_distill.teachers import teacher

IMAGES = os.path.join(ROOT, "examples", "images")


def _make_images():
    spec = importlib.util.spec_from_file_location(
        "make_images", os.path.join(IMAGES, "make_images.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny(argv):
    """The example's command with its long runs cut to one epoch (and
    evaluate's timing to a few calls)."""
    timing = (["--latency_repeats=2", "--throughput_batches=1"]
              if argv[1:2] == ["evaluate"] else [])
    return [("--epochs=1" if a.startswith("--epochs=") else
             "--student_epochs=1" if a.startswith("--student_epochs=") else a)
            for a in argv] + timing


def test_image_example_runs_end_to_end(tmp_path, capsys):
    work = str(tmp_path / "images")
    _make_images().main([os.path.join(work, "data"), "--labeled=3",
                         "--unlabeled=2", "--test=1"])
    script = open(os.path.join(IMAGES, "run.sh")).read()
    commands = [_tiny(argv) for argv in shell_commands(
        script, {"here": IMAGES, "work": work})
        if argv[0] == "topk-distill"]
    assert [argv[1] for argv in commands] == [
        "teacher", "preprocess", "preprocess", "train", "train", "export",
        "export", "evaluate", "evaluate", "evaluate", "classify"]
    for argv in commands:
        assert run_command(argv) == 0, argv
    out = capsys.readouterr().out.splitlines()
    # classify names the file, then its 5 best labels.
    assert out[-6].endswith("test/ring_blue/0000.png")
    assert len(out[-5].split()) == 2
    labeled = records.RecordSet.read(os.path.join(work, "records",
                                                  "labeled"))
    assert (labeled.input_kind, labeled.num_examples, labeled.width) == (
        "image", 48 * 3, 5)
    first = next(iter(reader.make_dataset(labeled, 4)))
    assert first["image"].numpy()[0].startswith(b"\x89PNG")
    assert "text" not in first
    report = json.load(open(os.path.join(work, "teacher", "report.json")))
    assert report["teacher"] == "reference (convolutional network)"
    # Served as TF Serving image models are: image_bytes in.
    served = saved_model.load_saved_model(os.path.join(work, "student",
                                                       "export"))
    predict = served.signatures["serving_default"]
    assert saved_model.signature_input(predict) == ("image_bytes", "image",
                                                    None)
    image = open(os.path.join(work, "data", "test", "ring_blue",
                              "0000.png"), "rb").read()
    probabilities = served.signatures["probabilities"](
        image_bytes=tf.constant([image]))["probabilities"].numpy()[0]
    # The builtin-ops TFLite file takes the decoded pixels and agrees.
    runner = tf.lite.Interpreter(os.path.join(
        work, "student", "export", "model_pixels.tflite")
    ).get_signature_runner()
    pixels = image_models.ImageDecoder(32)(tf.constant([image])).numpy()
    answer = runner(pixels=pixels)
    np.testing.assert_allclose(
        answer["top_scores"][0], np.sort(probabilities)[::-1][:5],
        atol=1e-5)
    # Classify: a tf.Example with the image under "image".
    example = tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[image]))}))
    classes = served.signatures["classify"](inputs=tf.constant(
        [example.SerializeToString()]))["classes"].numpy()[0]
    assert classes[0].decode() == served.signatures["serving_default"](
        image_bytes=tf.constant([image]))["top_labels"].numpy()[0, 0].decode()


def _image_folder(root, classes=("a", "b"), per_class=2, size=8):
    rng = np.random.default_rng(0)
    for name in classes:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            with open(os.path.join(root, name, f"{i}.png"), "wb") as f:
                f.write(tf.io.encode_png(pixels).numpy())
    return root


def test_image_folder_reads_labels_and_refuses_bad_files(tmp_path):
    folder = _image_folder(str(tmp_path / "images"))
    located = list(inputs.iter_located(folder))
    assert [(os.path.relpath(w, folder), label) for w, _, label in located
            ] == [("a/0.png", ("a",)), ("a/1.png", ("a",)),
                  ("b/0.png", ("b",)), ("b/1.png", ("b",))]
    assert inputs.describe(folder) == ("image", None)
    assert labels_file.build_labels(folder) == ["a", "b"]
    notes = os.path.join(folder, "b", "notes.txt")
    open(notes, "w").write("not an image")
    with pytest.raises(errors.InputError, match=f"^{notes}: not an image "
                       "file; expected one of .png"):
        list(inputs.iter_located(folder))
    os.remove(notes)
    broken = os.path.join(folder, "a", "2.png")
    open(broken, "wb").write(open(os.path.join(folder, "a", "0.png"),
                                  "rb").read()[:30])
    with pytest.raises(errors.InputError, match=f"^{broken}: the image does "
                       "not decode"):
        list(inputs.iter_located(folder))


def test_bad_image_leaves_nothing_written(tmp_path):
    folder = _image_folder(str(tmp_path / "images"))
    model = image_models.make_image_student(2, image_size=8)
    path = str(tmp_path / "teacher.keras")
    model.save(path)
    labels_file.write_labels(str(tmp_path / "labels.txt"), ["a", "b"])
    broken = os.path.join(folder, "b", "9.png")
    open(broken, "wb").write(b"\x89PNG\r\n\x1a\n truncated")
    prefix = str(tmp_path / "records" / "train")
    with pytest.raises(errors.InputError, match=broken):
        preprocessing.preprocess(teacher.load_teacher(path), folder,
                                 str(tmp_path / "labels.txt"), prefix,
                                 top_k=2, num_shards=1, verbose=0)
    assert not os.path.exists(os.path.dirname(prefix)) or not os.listdir(
        os.path.dirname(prefix))


def test_text_teacher_and_student_refuse_image_records(tmp_path):
    folder = _image_folder(str(tmp_path / "images"))
    labels_file.write_labels(str(tmp_path / "labels.txt"), ["a", "b"])
    text_teacher = text_models.make_teacher(["a cat", "a dog"], 2)
    text_path = str(tmp_path / "text.keras")
    text_teacher.save(text_path)
    with pytest.raises(ValueError, match="takes text inputs, but .* holds "
                       "image inputs"):
        preprocessing.preprocess(teacher.load_teacher(text_path), folder,
                                 str(tmp_path / "labels.txt"),
                                 str(tmp_path / "r" / "x"), top_k=2,
                                 num_shards=1, verbose=0)
    image_path = str(tmp_path / "image.keras")
    image_models.make_image_student(2, image_size=8).save(image_path)
    record_set, _ = preprocessing.preprocess(
        teacher.load_teacher(image_path), folder,
        str(tmp_path / "labels.txt"), str(tmp_path / "r" / "train"), top_k=2,
        num_shards=1, verbose=0)
    model = student.DistillationStudent(
        text_models.make_student(["a cat"], 2), 2)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="the model takes text inputs but "
                       "the records hold image inputs"):
        model.fit(reader.make_dataset(record_set, 2), epochs=1, verbose=0)


def test_tfds_image_dataset_reads_as_png(tmp_path):
    import tensorflow_datasets as tfds

    data_dir = str(tmp_path / "tfds")
    tiny_tfds(data_dir, "TopkDistillTinyImages", {
        "image": tfds.features.Image(shape=(6, 6, 3)),
        "label": tfds.features.ClassLabel(names=["x", "y"])}, {
        "train": [{"image": np.full((6, 6, 3), 40 * i, np.uint8),
                   "label": i % 2} for i in range(3)]})
    located = list(inputs.iter_located("tfds:topk_distill_tiny_images",
                                       data_dir))
    assert [label for _, _, label in located] == [("x",), ("y",), ("x",)]
    decoded = tf.io.decode_png(located[1][1]).numpy()
    assert decoded.shape == (6, 6, 3) and (decoded == 40).all()
    assert inputs.describe("tfds:topk_distill_tiny_images", data_dir) == (
        "image", None)


def _features_file(path, rows):
    with open(path, "w") as f:
        for values, label in rows:
            f.write(json.dumps({"features": values, "label": label}) + "\n")
    return path


def test_feature_vectors_through_records_training_and_export(tmp_path):
    rng = np.random.default_rng(0)
    rows = [((rng.normal(size=4) + 3 * (i % 2)).tolist(), "ab"[i % 2])
            for i in range(40)]
    train = _features_file(str(tmp_path / "train.jsonl"), rows)
    assert inputs.describe(train) == ("features", 4)
    labels_file.write_labels(str(tmp_path / "labels.txt"), ["a", "b"])
    model = feature_models.make_features_model(2, feature_dim=4,
                                               hidden_units=8)
    path = str(tmp_path / "teacher.keras")
    model.save(path)
    loaded = teacher.load_teacher(path)
    record_set, _ = preprocessing.preprocess(
        loaded, train, str(tmp_path / "labels.txt"),
        str(tmp_path / "r" / "train"), top_k=2, num_shards=2, verbose=0)
    assert (record_set.input_kind, record_set.feature_dim) == ("features", 4)
    batch = next(iter(reader.make_dataset(record_set, 40)))
    np.testing.assert_allclose(batch["features"].numpy(),
                               np.array([r[0] for r in rows], np.float32))
    expected = model.predict(np.array([r[0] for r in rows]), verbose=0)
    best = np.argmax(expected, axis=1)
    assert (batch["topk_ids"].numpy()[:, 0] == best).all()
    from topk_distill.distillation import training
    training.train_student(str(tmp_path / "student"), labeled=record_set,
                           validation=train, epochs=2, batch_size=8,
                           verbose=0)
    served = saved_model.load_saved_model(str(tmp_path / "student" / "export"))
    signature = served.signatures["serving_default"]
    assert saved_model.signature_input(signature) == (
        "features", "features", 4)
    texts = str(tmp_path / "valid.tsv")
    open(texts, "w").write("a text\ta\n")
    with pytest.raises(ValueError, match="valid.tsv: holds text inputs, but "
                       "the records hold features of length 4"):
        training.train_student(str(tmp_path / "again"), labeled=record_set,
                               validation=texts, epochs=1, verbose=0)
    answers = classification.classify(served, [r[0] for r in rows[:3]], 2)
    assert len(answers) == 3
    tflite = tflite_export.export_tflite(
        feature_models.make_features_model(2, feature_dim=4),
        str(tmp_path / "f.tflite"), top_n=2)
    assert os.path.getsize(tflite) > 0


def test_feature_vectors_of_the_wrong_length_are_refused(tmp_path):
    path = _features_file(str(tmp_path / "x.jsonl"), [
        ([1.0, 2.0, 3.0], "a"), ([1.0, 2.0, 3.0], "b"), ([1.0, 2.0], "a")])
    with pytest.raises(errors.InputError, match=r"x.jsonl:3: 2 features; "
                       r"expected 3 \(as the first example\)"):
        list(inputs.iter_examples(path))
    for bad in ('["x"]', "[1.0, NaN, 3.0]", "[1.0, Infinity, 3.0]"):
        line = '{"features": %s, "label": "a"}' % bad
        with pytest.raises(errors.InputError, match='x.jsonl:4: "features" '
                           "is not a non-empty list of finite numbers"):
            inputs.parse_line(line, path, 4)


def test_record_sets_written_before_kinds_read_as_text():
    spec = records.RecordSet.from_json({"kind": "labeled", "num_classes": 3,
                                        "top_k": 2, "format_version": 2})
    assert (spec.input_kind, spec.feature_dim) == ("text", None)
    with pytest.raises(records.RecordFormatError, match="input_kind='audio'"):
        records.RecordSet(kind="labeled", num_classes=3, width=2,
                          input_kind="audio")
    with pytest.raises(records.RecordFormatError, match="needs feature_dim"):
        records.RecordSet(kind="labeled", num_classes=3, width=2,
                          input_kind="features")


def test_mixed_folder_is_one_line_naming_the_file(tmp_path, capsys):
    folder = _image_folder(str(tmp_path / "images"))
    path = str(tmp_path / "teacher.keras")
    image_models.make_image_student(2, image_size=8).save(path)
    labels_file.write_labels(str(tmp_path / "labels.txt"), ["a", "b"])
    stray = os.path.join(folder, "a", "readme.md")
    open(stray, "w").write("# not an image")
    out = str(tmp_path / "records" / "train")
    code = run_command(["topk-distill", "preprocess", f"--teacher={path}",
                        f"--labels={tmp_path / 'labels.txt'}",
                        f"--input={folder}", f"--output={out}",
                        "--num_shards=1", "--top_k=2"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert error == [f"topk-distill preprocess: error: {stray}: not an image "
                     "file; expected one of .png, .jpg, .jpeg, .gif, .bmp in "
                     "an image folder"]
    assert not os.path.exists(os.path.dirname(out)) or not os.listdir(
        os.path.dirname(out))


def test_export_of_a_model_with_random_layers_saves_each_weight_once(
        tmp_path):
    model = image_models.make_image_teacher(3, image_size=16, widths=(8, 16))
    path = saved_model.export_saved_model(model, str(tmp_path / "export"),
                                          ["a", "b", "c"])
    saved = [shape for name, shape in tf.train.list_variables(
        os.path.join(path, "variables", "variables"))
        if name.endswith("VARIABLE_VALUE")]
    assert sorted(map(tuple, saved)) == sorted(
        tuple(v.shape) for v in model.variables)
    png = tf.io.encode_png(tf.zeros([16, 16, 3], tf.uint8))
    served = saved_model.load_saved_model(path)
    np.testing.assert_allclose(
        served.signatures["logits"](image_bytes=tf.stack([png]))[
            "logits"].numpy(),
        model(tf.stack([png]), training=False).numpy(), atol=1e-5)


def test_evaluate_refuses_a_test_input_of_another_kind(tmp_path):
    from topk_distill.serving import evaluation

    folder = _image_folder(str(tmp_path / "images"))
    path = saved_model.export_saved_model(
        text_models.make_teacher(["a cat", "a dog"], 2),
        str(tmp_path / "text"),
        ["a", "b"])
    images, labels = labels_file.read_labeled(folder, ["a", "b"])
    with pytest.raises(ValueError, match="text takes text inputs, but the "
                       "test examples are image"):
        evaluation.evaluate(path, images, labels, latency_repeats=2,
                            input_kind=inputs.describe(folder)[0])


def test_teacher_command_trains_a_features_teacher(tmp_path, capsys):
    rng = np.random.default_rng(1)
    rows = [((rng.normal(size=6) + 2 * (i % 3)).tolist(), "abc"[i % 3])
            for i in range(60)]
    train = _features_file(str(tmp_path / "train.jsonl"), rows)
    out = str(tmp_path / "teacher")
    assert run_command(["topk-distill", "teacher", f"--input={train}",
                        f"--output={out}", "--epochs=2",
                        "--student_epochs=2"]) == 0
    report = json.load(open(os.path.join(out, "report.json")))
    assert report["teacher"] == "reference (MLP)"
    assert report["examples"] == 6
    loaded = teacher.load_teacher(out)
    assert loaded.input_kind == ("features", 6)


def test_export_of_a_trained_keras_file_leaves_its_optimizer_out(tmp_path):
    model = feature_models.make_features_model(3, feature_dim=4,
                                               hidden_units=8)
    model.compile(optimizer="adam", loss=keras_loss())
    model.fit(np.ones([6, 4]), np.array([0, 1, 2] * 2), epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    labels_file.write_labels(str(tmp_path / "labels.txt"), ["a", "b", "c"])
    out = str(tmp_path / "export")
    assert run_command(["topk-distill", "export", f"--model={path}",
                        f"--output={out}"]) == 0
    saved = [shape for name, shape in tf.train.list_variables(
        os.path.join(out, "variables", "variables"))
        if name.endswith("VARIABLE_VALUE")]
    assert sorted(map(tuple, saved)) == sorted(
        tuple(v.shape) for v in model.variables)


def keras_loss():
    import keras

    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def test_beam_pipeline_refuses_image_folders(tmp_path):
    from topk_distill.preprocessing import beam

    folder = _image_folder(str(tmp_path / "images"))
    with pytest.raises(ValueError, match="image folders use the local tool"):
        beam.preprocess_with_beam("teacher.keras", folder, None,
                                  str(tmp_path / "out"))


def test_preprocess_decodes_each_image_once_to_check_it(tmp_path,
                                                        monkeypatch):
    folder = _image_folder(str(tmp_path / "images"), per_class=3)
    path = str(tmp_path / "teacher.keras")
    image_models.make_image_student(2, image_size=8).save(path)
    labels_file.write_labels(str(tmp_path / "labels.txt"), ["a", "b"])
    check, calls = image_files.check_image, []

    def counted(data, where):
        calls.append(where)
        return check(data, where)

    loaded = teacher.load_teacher(path)
    monkeypatch.setattr(image_files, "check_image", counted)
    record_set, _ = preprocessing.preprocess(
        loaded, folder, str(tmp_path / "labels.txt"),
        str(tmp_path / "r" / "train"), top_k=2, num_shards=1, verbose=0)
    assert record_set.num_examples == 6
    # `describe` checks the first, the check pass all 6; the batches the
    # teacher runs on are not decoded again in Python.
    assert len(calls) == 1 + 6
