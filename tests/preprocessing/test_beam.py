"""The Apache Beam pipeline writes the local tool's records."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("apache_beam", reason="needs the beam extra")

from topk_distill import cli  # noqa: E402
from topk_distill.inputs.label_space import MultiLabel  # noqa: E402
from topk_distill.records import reader


def _records(pattern):
    """{text: (label, ids, scores)} of a record set."""
    out = {}
    for batch in reader.make_dataset(pattern, 64):
        for text, label, ids, scores in zip(
                batch["text"].numpy(), batch["label"].numpy(),
                batch["topk_ids"].numpy(), batch["topk_scores"].numpy()):
            out[text.decode()] = (int(label), ids.tolist(), scores)
    return out


def _preprocess(teacher, data, labels, prefix, *more):
    return cli.main(["topk-distill", "preprocess", f"--teacher={teacher}",
                     f"--input={data}", f"--labels={labels}",
                     f"--output={prefix}", "--num_shards=3", "--top_k=2",
                     *more])


@pytest.mark.parametrize("kind", ["labeled", "unlabeled"])
def test_direct_runner_writes_the_local_records(tmp_path, keras_teacher_path,
                                                labeled_tsv, labels_txt,
                                                kind):
    more = ["--unlabeled"] if kind == "unlabeled" else []
    local, beam = str(tmp_path / "local"), str(tmp_path / "beam")
    assert _preprocess(keras_teacher_path, labeled_tsv, labels_txt, local,
                       *more) == 0
    assert _preprocess(keras_teacher_path, labeled_tsv, labels_txt, beam,
                       "--runner=DirectRunner", "--compression=gzip",
                       *more) == 0
    want, got = _records(local + "-*"), _records(beam + "-*")
    assert sorted(got) == sorted(want) and len(got) == 12
    for text, (label, ids, scores) in want.items():
        assert got[text][:2] == (label, ids), text
        np.testing.assert_allclose(got[text][2], scores, atol=1e-3)
    meta = {p: json.loads(open(p + ".meta.json").read()) for p in (local,
                                                                   beam)}
    differ = {key for key in meta[local] if meta[local][key] != meta[beam][
        key]}
    assert differ == {"compression", "shards", "created", "command"}
    assert [s["file"] for s in meta[beam]["shards"]] == [
        f"beam-{i:05d}-of-00003.tfrecord.gz" for i in range(3)]
    assert sum(s["examples"] for s in meta[beam]["shards"]) == 12
    assert "--runner=DirectRunner" in meta[beam]["command"]


def test_bad_line_fails_the_pipeline_and_writes_no_metadata(
        tmp_path, keras_teacher_path, labels_txt, capsys):
    data = tmp_path / "bad.tsv"
    data.write_text("a cat sat\tanimal\nstocks fell\tweather\n")
    prefix = str(tmp_path / "out")
    assert _preprocess(keras_teacher_path, str(data), labels_txt, prefix,
                       "--runner=DirectRunner") == 1
    assert "label 'weather' is not in the labels file" in capsys.readouterr(
    ).err
    assert not tf.io.gfile.glob(prefix + "*")  # No shard, plan or metadata.
    # With --skip_unknown_labels the line is counted and left out.
    assert _preprocess(keras_teacher_path, str(data), labels_txt, prefix,
                       "--runner=DirectRunner", "--skip_unknown_labels") == 0
    meta = json.loads(open(prefix + ".meta.json").read())
    assert (meta["num_examples"], meta["skipped_unknown_labels"]) == (1, 1)
    # A line that is not UTF-8: named, and nothing of the run left, Beam's
    # temporary folder included.
    data.write_bytes(b"a cat sat\tanimal\n\xff\xfe cat\tanimal\n")
    other = str(tmp_path / "again" / "out")
    os.makedirs(os.path.dirname(other))
    capsys.readouterr()
    assert _preprocess(keras_teacher_path, str(data), labels_txt, other,
                       "--runner=DirectRunner") == 1
    assert "is not UTF-8; expected UTF-8 text" in capsys.readouterr().err
    assert os.listdir(tmp_path / "again") == []


def test_runner_refuses_local_only_inputs(tmp_path, labeled_tsv, labels_txt,
                                          capsys):
    scores = tmp_path / "scores.npy"
    np.save(scores, np.zeros((12, 3), np.float32))
    assert _preprocess(str(scores), labeled_tsv, labels_txt,
                       str(tmp_path / "out"), "--runner=DirectRunner") == 1
    assert "use the local tool" in capsys.readouterr().err
    assert _preprocess(str(scores), labeled_tsv, labels_txt,
                       str(tmp_path / "out"), "--runner=DirectRunner",
                       "--resume") == 2  # A usage error.
    assert "--resume and --data_dir are for the local tool" in (
        capsys.readouterr().err)


def test_sampled_records_are_byte_identical(tmp_path, keras_teacher_path,
                                            labeled_tsv, labels_txt):
    # Each example's draws depend on its text and the seed only, not on the
    # batches Beam forms: the records are the local tool's, byte for byte.
    flags = ["--targets=mixed", "--top_k=1", "--samples=4",
             "--sampling_temperature=2", "--seed=7", "--score_dtype=q8"]
    local, beam = str(tmp_path / "local"), str(tmp_path / "beam")
    assert _preprocess(keras_teacher_path, labeled_tsv, labels_txt, local,
                       *flags) == 0
    assert _preprocess(keras_teacher_path, labeled_tsv, labels_txt, beam,
                       "--runner=DirectRunner", *flags) == 0

    def serialized(prefix):
        return sorted(r.numpy() for r in tf.data.TFRecordDataset(
            tf.io.gfile.glob(prefix + "-*")))

    assert serialized(local) == serialized(beam)
    assert len(serialized(local)) == 12


@pytest.mark.parametrize("kind, told", [("labeled", True),
                                        ("unlabeled", True),
                                        ("labeled", False)])
def test_a_sigmoid_teacher_writes_the_local_multi_label_records(
        tmp_path, keras_teacher_path, labels_txt, all_texts, kind, told):
    # Each text labelled with one to three of the classes: Beam writes the
    # local tool's multi-label records, and counts max_labels itself. The
    # teacher is a sigmoid's by --teacher_outputs, or (not told) by the
    # multi-label settings file saved beside it.
    data = tmp_path / "multi.tsv"
    names = open(labels_txt).read().split()
    data.write_text("".join(f"{text}\t{'|'.join(names[:1 + i % 3])}\n"
                            for i, text in enumerate(all_texts)))
    more = ["--score_dtype=float32"]
    if told:
        more.append("--teacher_outputs=sigmoid_logits")
    else:
        MultiLabel(threshold=0.5).write_settings(os.path.join(
            os.path.dirname(keras_teacher_path), "multi_label.json"))
    if kind == "unlabeled":
        more.append("--unlabeled")
    local, beam = str(tmp_path / "local"), str(tmp_path / "beam")
    assert _preprocess(keras_teacher_path, str(data), labels_txt, local,
                       *more) == 0
    assert _preprocess(keras_teacher_path, str(data), labels_txt, beam,
                       "--runner=DirectRunner", *more) == 0
    meta = {p: json.loads(open(p + ".meta.json").read()) for p in (local,
                                                                   beam)}
    assert meta[beam]["multi_label"] is True
    assert meta[beam]["max_labels"] == (0 if kind == "unlabeled" else 3)
    differ = {key for key in meta[local] if meta[local][key] != meta[beam][
        key]}
    assert differ == {"shards", "created", "command"}

    # The same records (scores to float rounding: the teacher ran on other
    # batches).
    want, got = _multi_label_records(local), _multi_label_records(beam)
    assert sorted(got) == sorted(want) and len(got) == 12
    for text, (labels, ids, scores) in want.items():
        assert got[text][:2] == (labels, ids), text
        np.testing.assert_allclose(got[text][2], scores, rtol=1e-5)


def _multi_label_records(prefix):
    """{text: (labels, ids, scores)} of a multi-label record set."""
    out = {}
    for batch in reader.make_dataset(prefix + "-*", 64):
        for text, labels, ids, scores in zip(
                batch["text"].numpy(), batch["labels"].numpy(),
                batch["topk_ids"].numpy(), batch["topk_scores"].numpy()):
            out[text.decode()] = (labels.tolist(), ids.tolist(), scores)
    return out
