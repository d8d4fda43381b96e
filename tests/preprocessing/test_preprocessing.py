"""preprocess: teacher -> top-K records, checked, resumable, never half-done."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES
from topk_distill.inputs import errors, inputs, labels_file
from topk_distill.preprocessing import preprocessing
from topk_distill.records import file_names, reader, records, shards
from topk_distill.preprocessing.preprocessing import preprocess, summary_line
from topk_distill.teachers.teacher import load_teacher


def _read(prefix):
    batches = list(reader.make_dataset(prefix, batch_size=5))
    return {key: np.concatenate([b[key].numpy() for b in batches])
            for key in batches[0]}


def _npy_teacher(tmp_path, scores, name="scores.npy"):
    path = str(tmp_path / name)
    np.save(path, scores)
    return load_teacher(path)


def test_top_k_matches_argsort_with_ties(tmp_path, labeled_tsv, labels_txt,
                                         rng):
    scores = rng.integers(-3, 3, size=(12, 3)).astype(np.float32)  # Ties.
    prefix = str(tmp_path / "out" / "train")
    preprocess(_npy_teacher(tmp_path, scores), labeled_tsv, labels_txt,
               prefix, top_k=2, score_dtype="float32", num_shards=3,
               verbose=0, batch_size=5)
    got = _read(prefix)
    want_ids = np.argsort(-scores, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(got["topk_ids"], want_ids)
    np.testing.assert_array_equal(got["topk_scores"],
                                  np.take_along_axis(scores, want_ids, 1))
    want_labels = [NAMES.index(label) for _, (label,) in inputs.iter_examples(
        labeled_tsv)]
    np.testing.assert_array_equal(got["label"], want_labels)


def test_float16_logits_are_shifted_softmax_equal(tmp_path, labeled_tsv,
                                                  labels_txt, rng):
    scores = rng.normal(0, 20, size=(12, 3)).astype(np.float32) + 1e4
    prefix = str(tmp_path / "train")
    preprocess(_npy_teacher(tmp_path, scores), labeled_tsv, labels_txt,
               prefix, top_k=3, num_shards=1, verbose=0)
    got = _read(prefix)
    assert np.all(got["topk_scores"][:, 0] == 0)
    want = np.sort(scores, axis=1)[:, ::-1]
    np.testing.assert_allclose(
        tf.nn.softmax(got["topk_scores"]), tf.nn.softmax(want), atol=2e-3)


def test_keras_teacher_metadata(tmp_path, keras_teacher_path, labeled_tsv,
                                labels_txt, all_texts):
    import keras

    prefix = str(tmp_path / "rec" / "train")
    record_set, summary = preprocess(
        load_teacher(keras_teacher_path), labeled_tsv, None, prefix, top_k=2,
        num_shards=2, compression="gzip", score_dtype="float32", verbose=0,
        command=["topk-distill", "preprocess"])
    assert records.RecordSet.read(prefix + "-*") == record_set
    assert record_set.num_examples == 12
    assert [(s.file, s.examples) for s in record_set.shards] == [
        ("train-00000-of-00002.tfrecord.gz", 6),
        ("train-00001-of-00002.tfrecord.gz", 6)]
    # --labels defaulted to the labels.txt beside the teacher.
    assert record_set.labels == tuple(NAMES)
    assert record_set.labels_sha256 == labels_file.labels_sha256(labels_txt)
    assert record_set.teacher["kind"] == "keras"
    assert (record_set.kind, record_set.width, record_set.num_classes,
            record_set.scores) == ("labeled", 2, 3, "logits")
    assert record_set.command == ("topk-distill", "preprocess")
    assert summary["dense_bytes_per_example"] == 12
    assert not os.path.exists(file_names.run_path(prefix))
    logits = keras.saving.load_model(keras_teacher_path)(
        tf.constant(all_texts)).numpy()
    np.testing.assert_allclose(_read(prefix)["topk_scores"],
                               -np.sort(-logits, axis=1)[:, :2], rtol=1e-5)


def test_probability_teacher_and_log_space_scores(tmp_path, labeled_tsv,
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
    record_set, _ = preprocess(teacher, labeled_tsv, labels_txt, prefix,
                               top_k=1, unlabeled=True, num_shards=1,
                               score_dtype="float32", verbose=0)
    got = _read(prefix)
    assert record_set.scores == "probabilities"
    assert np.all(got["label"] == -1)
    np.testing.assert_array_equal(got["topk_ids"][:, 0], 0)
    lengths = np.array([len(t) for t in all_texts], np.float32)
    want = tf.nn.softmax(np.stack([lengths, -lengths, 0 * lengths], 1) / 10)
    np.testing.assert_allclose(got["topk_scores"][:, 0], np.max(want, 1),
                               rtol=1e-6)
    # The same teacher asked for logits stores log-probabilities.
    preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=1,
               num_shards=1, scores="logits", score_dtype="float32",
               overwrite=True, verbose=0)
    np.testing.assert_allclose(_read(prefix)["topk_scores"][:, 0],
                               np.log(np.max(want, 1)), rtol=1e-5)


def test_dense_mode_keeps_all_scores(tmp_path, labeled_tsv, labels_txt, rng):
    scores = rng.normal(size=(12, 3)).astype(np.float32)
    prefix = str(tmp_path / "dense")
    record_set, _ = preprocess(_npy_teacher(tmp_path, scores), labeled_tsv,
                               labels_txt, prefix, top_k=0, num_shards=1,
                               score_dtype="float32", verbose=0)
    got = _read(prefix)
    assert record_set.dense and record_set.width == 3
    np.testing.assert_array_equal(got["topk_scores"], scores)


@pytest.mark.parametrize("change, expected", [
    (dict(top_k=4), "top_k=4; expected 1..N=3"),
    (dict(scores_rows=5), "5 score rows for 12 examples"),
    (dict(width=4), "returns 4 scores per example but .*labels.txt names 3"),
    (dict(num_shards=13), "num_shards=13, but .*train.tsv has 12 examples"),
])
def test_settings_are_checked_before_the_teacher_runs(tmp_path, labeled_tsv,
                                                      labels_txt, change,
                                                      expected):
    scores = np.zeros((change.get("scores_rows", 12), change.get("width", 3)),
                      np.float32)
    with pytest.raises(ValueError, match=expected):
        preprocess(_npy_teacher(tmp_path, scores), labeled_tsv, labels_txt,
                   str(tmp_path / "x"), top_k=change.get("top_k", 2),
                   num_shards=change.get("num_shards", 2), verbose=0)
    assert not list(tmp_path.glob("x*"))


def test_nan_scores_leave_nothing_behind(tmp_path, labeled_tsv, labels_txt,
                                         capsys):
    import tensorflow as tf

    teacher = _npy_teacher(tmp_path, np.zeros((12, 3), np.float32))
    finite = teacher.fn

    def nan_at_row_10(texts, rows):  # after the first of 3 shards is done
        scores = finite(texts, rows)
        return tf.where((rows == 10)[:, None] & (tf.range(3) == 1),
                        float("nan"), scores)

    teacher.fn = nan_at_row_10
    with pytest.raises(ValueError, match=r"--teacher=.*scores.npy: the "
                       r"teacher returned NaN or Inf scores, or "
                       r"probabilities outside \[0, 1\], for the example "
                       r"at .*train.tsv:11; expected finite"):
        preprocess(teacher, labeled_tsv, labels_txt, str(tmp_path / "x"),
                   top_k=2, num_shards=3, batch_size=4)
    assert capsys.readouterr().out.endswith("\n")  # The bar's line ended.
    assert not list(tmp_path.glob("x*"))


def test_an_existing_record_set_is_refused_or_overwritten(
        tmp_path, labeled_tsv, labels_txt, rng):
    teacher = _npy_teacher(tmp_path, rng.normal(size=(12, 3)))
    prefix = str(tmp_path / "x")
    preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=1,
               num_shards=2, verbose=0)
    with pytest.raises(ValueError, match=r"--output=.*x: a record set is "
                       r"already there \(x-00000-of-00002.tfrecord, 3 files\);"
                       " pass --overwrite"):
        preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=1,
                   num_shards=3, verbose=0)
    preprocess(teacher, labeled_tsv, labels_txt, prefix, top_k=1,
               num_shards=3, overwrite=True, verbose=0)
    assert sorted(os.listdir(tmp_path / ".")) == sorted(
        ["labels.txt", "scores.npy", "train.tsv", "x.meta.json"] +
        [f"x-0000{i}-of-00003.tfrecord" for i in range(3)])
    assert len(_read(prefix)["label"]) == 12


def test_empty_input_and_all_labels_unknown(tmp_path, labels_txt):
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n", encoding="utf-8")
    teacher = _npy_teacher(tmp_path, np.zeros((0, 3), np.float32))
    with pytest.raises(errors.InputError, match="empty.tsv: no examples$"):
        preprocess(teacher, str(empty), labels_txt, str(tmp_path / "x"),
                   top_k=1, verbose=0)
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("a text\tsport\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match=r"no examples \(all 1 have "
                       r"labels not in the labels file\)"):
        preprocess(_npy_teacher(tmp_path, np.zeros((1, 3), np.float32)),
                   str(unknown), labels_txt, str(tmp_path / "x"), top_k=1,
                   skip_unknown_labels=True, verbose=0)
    assert not list(tmp_path.glob("x*"))


def test_unknown_and_missing_labels_name_file_and_line(tmp_path, labels_txt,
                                                       capsys):
    path = tmp_path / "bad.tsv"
    path.write_text("ok text\tfood\n\nother text\tsport\nmore\tanimal\n",
                    encoding="utf-8")
    teacher = _npy_teacher(tmp_path, np.array(
        [[0, 0, 1], [5, 5, 5], [1, 0, 0]], np.float32))
    with pytest.raises(errors.InputError, match=r"bad.tsv:3: label 'sport'"):
        preprocess(teacher, str(path), labels_txt, str(tmp_path / "x"),
                   top_k=1, num_shards=1, verbose=0)
    record_set, _ = preprocess(teacher, str(path), labels_txt,
                               str(tmp_path / "y"), top_k=1, num_shards=1,
                               skip_unknown_labels=True, score_dtype="float32")
    assert record_set.skipped_unknown_labels == 1
    assert "1 with unknown labels skipped" in capsys.readouterr().out
    got = _read(str(tmp_path / "y"))
    np.testing.assert_array_equal(got["topk_ids"][:, 0], [2, 0])
    np.testing.assert_array_equal(got["label"], [2, 0])
    path.write_text("ok text\tfood\n\ntext only\n", encoding="utf-8")
    with pytest.raises(errors.InputError, match=r"bad.tsv:3: no label; "
                       "expected a labeled set"):
        preprocess(teacher, str(path), labels_txt, str(tmp_path / "z"),
                   top_k=1, verbose=0)


def test_an_output_that_cannot_be_written_is_named(tmp_path, labeled_tsv,
                                                   labels_txt):
    teacher = _npy_teacher(tmp_path, np.zeros((12, 3), np.float32))
    with pytest.raises(OSError, match="--output=/proc/x: cannot write there"):
        preprocess(teacher, labeled_tsv, labels_txt, "/proc/x", top_k=1,
                   num_shards=1, verbose=0)


def test_summary_compares_with_dense_both_ways():
    done = records.RecordSet(kind="labeled", num_classes=3000, width=20,
                             num_examples=7, shards=(records.Shard("a", 7),),
                             prefix="rec/train")
    line = summary_line(done, {"seconds": 2.0, "dense_bytes_per_example":
                               12000, "teacher_bytes_per_example": 118.0})
    assert line == ("rec/train: 7 examples in 1 shards, 2.0 s; teacher output "
                    "118.0 B/example vs 12000 B dense float32 (101.7x "
                    "smaller)")
    small = summary_line(done, {"seconds": 2.0, "dense_bytes_per_example": 40,
                                "teacher_bytes_per_example": 54.0})
    assert small.endswith("(1.4x larger)")


# Resuming: a run killed mid-way continues to the same bytes.

SCRIPT = """
import sys, time
import tensorflow as tf
from topk_distill.preprocessing.preprocessing import preprocess
from topk_distill.teachers.teacher import load_teacher

teacher = load_teacher(sys.argv[1])
fast = teacher.fn

def slow(texts, rows):  # 0.2 s a batch, so the run can be killed mid-way
    tf.py_function(lambda: time.sleep(0.2), [], [])
    return fast(texts, rows)

teacher.fn = slow
preprocess(teacher, sys.argv[2], sys.argv[3], sys.argv[4], top_k=3,
           num_shards=6, batch_size=10, unlabeled=True, verbose=0)
"""


@pytest.fixture
def resumable(tmp_path, rng):
    texts = tmp_path / "in.tsv"
    texts.write_text("".join(f"text number {i}\n" for i in range(120)))
    labels = tmp_path / "labels.txt"
    labels_file.write_labels(str(labels), [f"c{i}" for i in range(7)])
    scores = tmp_path / "scores.npy"
    np.save(scores, rng.normal(size=(120, 7)).astype(np.float32))
    return str(scores), str(texts), str(labels)


def _files(prefix):
    folder, name = os.path.split(prefix)
    return {f: open(os.path.join(folder, f), "rb").read()
            for f in sorted(os.listdir(folder)) if f.startswith(name + "-")}


def _run(resumable, prefix, **kwargs):
    scores, texts, labels = resumable
    return preprocess(load_teacher(scores), texts, labels, prefix,
                      unlabeled=True, verbose=0, **kwargs)


def test_sigkill_then_resume_gives_identical_output(tmp_path, resumable):
    killed = str(tmp_path / "killed" / "out")
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, *resumable,
                                killed])
    first_shard = file_names.shard_path(killed, 0, 6)
    deadline = time.time() + 120
    while not os.path.exists(first_shard) and process.poll() is None:
        assert time.time() < deadline, "the run never completed a shard"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not os.path.exists(file_names.metadata_path(killed))
    assert os.path.exists(file_names.run_path(killed))
    left = _files(killed)
    assert 1 <= sum(not f.endswith(".tmp") for f in left) < 6
    settings = dict(top_k=3, num_shards=6, batch_size=10)
    with pytest.raises(ValueError, match="a record set is already there"):
        _run(resumable, killed, **settings)
    _, summary = _run(resumable, killed, resume=True, **settings)
    assert summary["resumed_at_shard"] >= 1
    clean = str(tmp_path / "clean" / "out")
    _run(resumable, clean, **settings)
    assert _files(killed) == _files(clean)
    assert not os.path.exists(file_names.run_path(killed))
    meta = [json.load(open(p + ".meta.json")) for p in (killed, clean)]
    for m in meta:
        m.pop("created"), m.pop("command")
    assert meta[0] == meta[1]


def test_resume_refuses_another_run(tmp_path, resumable, rng):
    prefix = str(tmp_path / "out")
    _run(resumable, prefix, top_k=3, num_shards=2)
    with pytest.raises(ValueError, match="top_k differ"):
        _run(resumable, prefix, top_k=2, num_shards=2, resume=True)
    scores, texts, labels = resumable
    other = tmp_path / "other.npy"
    np.save(other, rng.normal(size=(120, 7)).astype(np.float32))
    with pytest.raises(ValueError, match="teacher differ"):
        preprocess(load_teacher(str(other)), texts, labels, prefix, top_k=3,
                   num_shards=2, resume=True, unlabeled=True, verbose=0)
    # The same run again has nothing left to do and keeps the shards.
    before = _files(prefix)
    record_set, summary = _run(resumable, prefix, top_k=3, num_shards=2,
                               resume=True)
    assert summary["resumed_at_shard"] == 2 and _files(prefix) == before
    assert preprocessing.summary_line(record_set, summary).endswith(
        "2 shards, every one complete and readable; nothing written")


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_resume_writes_a_damaged_shard_again(tmp_path, resumable, capsys,
                                             damage):
    prefix = str(tmp_path / "out")
    _run(resumable, prefix, top_k=3, num_shards=4)
    before = _files(prefix)
    shard = file_names.shard_path(prefix, 2, 4)
    with open(shard, "r+b") as f:
        if damage == "truncate":
            f.truncate(os.path.getsize(shard) // 2)
        else:  # one byte of a record's payload
            f.seek(40)
            byte = f.read(1)
            f.seek(40)
            f.write(bytes([byte[0] ^ 0xFF]))
    _, summary = _run(resumable, prefix, top_k=3, num_shards=4, resume=True)
    assert summary["resumed_at_shard"] == 2
    assert f"--resume: {shard} holds" in capsys.readouterr().err
    assert _files(prefix) == before


@pytest.mark.parametrize("targets, width", [("sampled", 6), ("mixed", 8)])
def test_sampled_and_mixed_targets(tmp_path, labeled_tsv, labels_txt, rng,
                                   targets, width):
    logits = rng.normal(0, 2, size=(12, 3)).astype(np.float32)
    teacher = _npy_teacher(tmp_path, logits)
    prefix = str(tmp_path / targets)
    record_set, _ = preprocess(
        teacher, labeled_tsv, labels_txt, prefix, top_k=2, targets=targets,
        samples=6, sampling_temperature=2.0, seed=3, num_shards=2,
        score_dtype="q8", verbose=0)
    assert (record_set.targets, record_set.width, record_set.samples,
            record_set.sampling_temperature, record_set.seed,
            record_set.scores) == (targets, width, 6, 2.0, 3,
                                   "probabilities")
    assert record_set.exact_top == (2 if targets == "mixed" else None)
    got = _read(prefix)
    p = np.exp(logits / 2) / np.exp(logits / 2).sum(1, keepdims=True)
    for row in range(12):
        valid = got["topk_ids"][row] >= 0
        ids, q = got["topk_ids"][row][valid], got["topk_scores"][row][valid]
        np.testing.assert_allclose(q.sum(), 1.0, atol=0.02)
        if targets == "mixed":  # The 2 best of 3 exactly; the third drawn.
            best = np.argsort(-p[row])[:2]
            for c in best:
                np.testing.assert_allclose(q[ids == c], p[row, c], rtol=0.02)
        else:
            np.testing.assert_allclose(q * 6, np.round(q * 6), atol=0.05)
    # The same run again: the same bytes (draws depend on text and seed).
    again = str(tmp_path / "again")
    preprocess(teacher, labeled_tsv, labels_txt, again, top_k=2,
               targets=targets, samples=6, sampling_temperature=2.0, seed=3,
               num_shards=2, score_dtype="q8", verbose=0)
    assert [open(p, "rb").read() for p in records.RecordSet.read(
        again).files()] == [open(p, "rb").read() for p in record_set.files()]


@pytest.mark.parametrize("settings, expected", [
    (dict(targets="sampled", samples=None), "samples=None; targets='sampled' "
     "needs S >= 1"),
    (dict(targets="mixed", top_k=3, samples=2), "top_k=3 with "
     "targets='mixed'; expected 1..N-1=2"),
    (dict(targets="sampled", samples=2, scores="logits"), "scores='logits' "
     "with targets='sampled'"),
    (dict(targets="sampled", samples=2, tail_temperature=2.0),
     "tail_temperature=2.0; expected a positive temperature, with top-K"),
    (dict(top_k=0, score_dtype="q8"), "score_dtype='q8' packs 1..255"),
    (dict(targets="sampled", samples=300, score_dtype="q8"), "not 300"),
])
def test_target_settings_are_checked(tmp_path, labeled_tsv, labels_txt,
                                     settings, expected):
    teacher = _npy_teacher(tmp_path, np.zeros((12, 3), np.float32))
    with pytest.raises(ValueError, match=expected):
        preprocess(teacher, labeled_tsv, labels_txt, str(tmp_path / "x"),
                   verbose=0, **dict(dict(top_k=2), **settings))


INTERRUPTED = dict(top_k=3, num_shards=6, batch_size=10)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The inputs of `resumable` (the same seed), made once, and the prefix
    of their uninterrupted run."""
    folder = tmp_path_factory.mktemp("clean")
    texts = folder / "in.tsv"
    texts.write_text("".join(f"text number {i}\n" for i in range(120)))
    labels = folder / "labels.txt"
    labels_file.write_labels(str(labels), [f"c{i}" for i in range(7)])
    scores = folder / "scores.npy"
    np.save(scores, np.random.default_rng(0).normal(size=(120, 7)).astype(
        np.float32))
    made = str(scores), str(texts), str(labels)
    clean = str(folder / "out" / "out")
    _run(made, clean, **INTERRUPTED)
    return made, clean


@pytest.mark.parametrize("point,kill", [
    (point, i % 2 == 1) for i, point in enumerate(range(0, 120, 6))])
def test_interrupted_at_any_record_then_resumed_is_identical(
        tmp_path, clean_run, monkeypatch, point, kill):
    """Ctrl-C (KeyboardInterrupt) or SIGKILL while record `point` is
    written, at 20 points of the run: `--resume` then writes exactly the
    clean run's shards and metadata. SIGKILL in-process: the output folder
    as it is on disk at that instant (before any handler runs) is what the
    rerun finds."""
    import shutil

    resumable, clean = clean_run
    settings = INTERRUPTED
    write = shards.ShardWriter.write
    count = [0]
    killed = str(tmp_path / "killed" / "out")
    at_kill = str(tmp_path / "at_kill")

    def interrupted(self, record):
        if count[0] == point:
            if kill:
                shutil.copytree(os.path.dirname(killed), at_kill)
            raise KeyboardInterrupt
        count[0] += 1
        write(self, record)

    monkeypatch.setattr(shards.ShardWriter, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(resumable, killed, **settings)
    monkeypatch.setattr(shards.ShardWriter, "write", write)
    if kill:
        shutil.rmtree(os.path.dirname(killed))
        shutil.move(at_kill, os.path.dirname(killed))
    assert not os.path.exists(file_names.metadata_path(killed))
    # shards of 20 records; a shard is finished (renamed from .tmp) when
    # the record after its last is written
    done = max(0, (point - 1) // 20)
    finished = [f for f in _files(killed) if not f.endswith(".tmp")]
    assert len(finished) == done
    _, summary = _run(resumable, killed, resume=True, **settings)
    assert summary["resumed_at_shard"] == done
    assert _files(killed) == _files(clean)
    meta = [json.load(open(p + ".meta.json")) for p in (killed, clean)]
    for m in meta:
        m.pop("created"), m.pop("command")
    assert meta[0] == meta[1]
