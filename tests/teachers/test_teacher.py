"""Loading teachers: .keras, SavedModel, .npy scores, the teacher folder."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES
from topk_distill.models import saved_model
from topk_distill.teachers import teacher


def _rows(count):
    return tf.range(count, dtype=tf.int64)


def test_keras_teacher_scores_texts(keras_teacher_path, all_texts,
                                    labels_txt):
    loaded = teacher.load_teacher(keras_teacher_path)
    assert loaded.num_classes == 3 and loaded.outputs == "logits"
    assert loaded.identity["kind"] == "keras"
    assert loaded.labels_path == labels_txt  # labels.txt beside the file
    want = keras.saving.load_model(keras_teacher_path)(tf.constant(all_texts))
    got = loaded(tf.constant(all_texts), _rows(len(all_texts)))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_saved_model_teacher_defaults_to_the_logits_signature(
        tmp_path, keras_teacher_path, all_texts):
    model = keras.saving.load_model(keras_teacher_path)
    path = saved_model.export_saved_model(model, str(tmp_path / "export"),
                                          NAMES)
    loaded = teacher.load_teacher(path)
    np.testing.assert_allclose(
        loaded(tf.constant(all_texts[:3]), _rows(3)),
        model(tf.constant(all_texts[:3])), rtol=1e-5)
    assert loaded.labels_path == os.path.join(path, "labels.txt")
    with pytest.raises(ValueError, match="signature 'serving_default' has "
                       "outputs .*name one with --teacher_output_key"):
        teacher.load_teacher(path, signature="serving_default")
    with pytest.raises(ValueError, match="no signature 'nope'"):
        teacher.load_teacher(path, signature="nope")
    scores = teacher.load_teacher(path, outputs="probabilities",
                                  signature="serving_default",
                                  output_key="top_scores")
    assert scores.num_classes == 3 and scores.outputs == "probabilities"


def test_precomputed_scores_are_gathered_by_row(tmp_path, rng):
    scores = rng.normal(size=(5, 4)).astype(np.float32)
    np.save(tmp_path / "scores.npy", scores)
    loaded = teacher.load_teacher(str(tmp_path / "scores.npy"))
    assert (loaded.num_rows, loaded.num_classes) == (5, 4)
    got = loaded(tf.constant(["x", "y"]), tf.constant([4, 1], tf.int64))
    np.testing.assert_array_equal(got, scores[[4, 1]])
    assert loaded.labels_path is None


def test_the_teacher_commands_folder_is_a_teacher(tmp_path, labeled_tsv):
    from topk_distill.teachers import teacher_training

    folder = str(tmp_path / "teacher")
    teacher_training.train_teacher(labeled_tsv, folder, epochs=1, verbose=0)
    loaded = teacher.load_teacher(folder)
    assert loaded.identity["path"] == os.path.abspath(
        os.path.join(folder, "teacher.keras"))
    assert loaded.labels_path == os.path.join(folder, "labels.txt")


@pytest.mark.parametrize("name, content, message", [
    ("scores.npy", None, r"scores.npy: not a readable .npy array \(mmap "
     r"length is greater than file size\)"),
    ("flat.npy", np.zeros(3), r"flat.npy: scores of shape \(3,\); expected"),
    ("model.keras", b"not a zip file", r"model.keras: not a .keras model "
     r"\(a .keras file is a zip archive; this one is not\)"),
    ("cut.keras", b"PK\x03\x04 cut short", "cut.keras: not a loadable "
     ".keras model"),
    ("absent.keras", "absent", "absent.keras: no such file"),
    ("weights.bin", b"x", "weights.bin: expected a .keras file, a "
     "SavedModel folder"),
    ("nowhere", "absent", "nowhere: no such file or folder"),
])
def test_bad_teachers_are_named_with_what_is_wrong(tmp_path, name, content,
                                                   message):
    path = tmp_path / name
    if content is None:  # A .npy cut short.
        np.save(path, np.zeros((100, 30), np.float32))
        path.write_bytes(path.read_bytes()[:1000])
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ValueError, match=f"--teacher=.*{message}"):
        teacher.load_teacher(str(path))


def test_teacher_outputs_must_be_a_known_kind():
    with pytest.raises(ValueError, match="outputs='odds'"):
        teacher.Teacher(lambda texts, rows: texts, 3, "odds", {})


def test_a_file_size_limit_while_loading_is_not_blamed_on_the_teacher(
        keras_teacher_path):
    import resource

    saved = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, saved[1]))
    try:
        with pytest.raises(OSError, match=(
                "loading it writes a temporary copy of its weights in .*, "
                r"which failed \(File too large\): a file-size limit")):
            teacher.load_teacher(keras_teacher_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, saved)
    assert teacher.load_teacher(keras_teacher_path).num_classes > 0
