import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import write_record_set
from topk_distill import records


def _write_set(prefix, rows, k, n, score_dtype="float16", dense=False,
               compression="none", num_shards=2):
    """Writes (text, label, ids, scores) rows; returns the shard counts."""
    write_record_set(prefix, [r[0] for r in rows], [r[1] for r in rows],
                     None if dense else [r[2] for r in rows],
                     [r[3] for r in rows], n, score_dtype=score_dtype,
                     compression=compression, num_shards=num_shards)
    return [shard["examples"] for shard in
            records.read_metadata(prefix)["shards"]]


def _random_rows(rng, count, k, n):
    rows = []
    for i in range(count):
        ids = rng.choice(n, size=k, replace=False)
        scores = np.sort(rng.normal(0, 5, size=k))[::-1].astype(np.float32)
        rows.append((f"text {i} é".encode(), int(rng.integers(-1, n)), ids,
                     scores))
    return rows


def _read_all(pattern, batch_size=4, **kwargs):
    batches = list(records.make_dataset(pattern, batch_size, **kwargs))
    return {key: np.concatenate([b[key].numpy() for b in batches])
            for key in batches[0]}


@pytest.mark.parametrize("score_dtype", ["float32", "float16"])
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_round_trip(tmp_path, rng, score_dtype, compression):
    rows = _random_rows(rng, 11, k=5, n=300)
    prefix = str(tmp_path / "set")
    _write_set(prefix, rows, k=5, n=300, score_dtype=score_dtype,
               compression=compression)
    got = _read_all(prefix + "-*", num_classes=300, top_k=5)
    np.testing.assert_array_equal(got["topk_ids"], [r[2] for r in rows])
    np.testing.assert_array_equal(got["label"], [r[1] for r in rows])
    assert list(got["text"]) == [r[0] for r in rows]
    want = np.array([r[3] for r in rows])
    if score_dtype == "float32":
        np.testing.assert_array_equal(got["topk_scores"], want)
    else:  # float16 keeps 11 significant bits: relative error <= 2**-11.
        np.testing.assert_allclose(got["topk_scores"], want, rtol=2**-11,
                                   atol=2**-24)
    assert got["topk_scores"].dtype == np.float32


def test_float16_clips_to_its_range(tmp_path):
    prefix = str(tmp_path / "set")
    _write_set(prefix, [("t", 0, np.array([0, 1]),
                         np.array([1e6, -1e6], np.float32))], k=2, n=2,
               num_shards=1)
    got = _read_all(prefix + "-*")
    np.testing.assert_array_equal(got["topk_scores"], [[65504, -65504]])


def test_dense_records_fill_ids(tmp_path):
    scores = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]], np.float32)
    prefix = str(tmp_path / "dense")
    _write_set(prefix, [("a", 0, None, scores[0]), ("b", 2, None, scores[1])],
               k=3, n=3, score_dtype="float32", dense=True, num_shards=1)
    got = _read_all(prefix + "-*")
    np.testing.assert_array_equal(got["topk_ids"], [[0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(got["topk_scores"], scores)


def test_shard_names_and_contiguous_counts(tmp_path, rng):
    rows = _random_rows(rng, 10, k=2, n=10)
    prefix = str(tmp_path / "out" / "train")
    counts = _write_set(prefix, rows, k=2, n=10, num_shards=4,
                        compression="gzip")
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == [f"train-0000{i}-of-00004.tfrecord.gz" for i in range(4)
                     ] + ["train.meta.json"]
    assert counts == [2, 3, 2, 3]
    got = _read_all(prefix + "-*", batch_size=3)
    assert list(got["text"]) == [r[0] for r in rows]  # Order kept unshuffled.


def test_more_shards_than_examples_leaves_empty_shards(tmp_path, rng):
    counts = _write_set(str(tmp_path / "s"), _random_rows(rng, 2, 2, 5), k=2,
                        n=5, num_shards=4)
    assert counts == [0, 1, 0, 1]
    assert len(list(tmp_path.glob("s-*.tfrecord"))) == 4


def test_writer_refuses_wrong_count_and_leaves_no_final_name(tmp_path):
    prefix = str(tmp_path / "s")
    with pytest.raises(ValueError, match="1 records written, 3 announced"):
        with records.ShardWriter(prefix, 3, 1) as writer:
            writer.write(b"x")
    assert not os.path.exists(records.shard_path(prefix, 0, 1))


def test_reader_checks_metadata(tmp_path, rng):
    prefix = str(tmp_path / "s")
    _write_set(prefix, _random_rows(rng, 3, 2, 5), k=2, n=5)
    with pytest.raises(records.RecordFormatError, match="K .top_k.=2; "
                       "expected 3"):
        records.make_dataset(prefix + "-*", 2, top_k=3)
    with pytest.raises(records.RecordFormatError, match="num_classes.=5; "
                       "expected 6"):
        records.make_dataset(prefix + "-*", 2, num_classes=6)
    meta = json.loads(open(prefix + ".meta.json").read())
    meta["format_version"] = 99
    open(prefix + ".meta.json", "w").write(json.dumps(meta))
    with pytest.raises(records.RecordFormatError, match="format_version 99"):
        records.make_dataset(prefix + "-*", 2)


def test_reader_errors_on_missing_or_mixed_sets(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="no record shard matches"):
        records.make_dataset(str(tmp_path / "none-*"), 2)
    for name in ("a", "b"):
        _write_set(str(tmp_path / name), _random_rows(rng, 2, 2, 5), 2, 5)
    with pytest.raises(records.RecordFormatError, match="one record set"):
        records.make_dataset(str(tmp_path / "*.tfrecord"), 2)
    os.remove(tmp_path / "a.meta.json")
    with pytest.raises(records.RecordFormatError, match="metadata file not "
                       "found"):
        records.make_dataset(str(tmp_path / "a-*"), 2)


def test_shuffled_reading_keeps_every_record(tmp_path, rng):
    rows = _random_rows(rng, 20, k=2, n=50)
    prefix = str(tmp_path / "s")
    _write_set(prefix, rows, k=2, n=50, num_shards=3)
    got = _read_all(prefix + "-*", shuffle=True, seed=1)
    assert sorted(got["text"]) == sorted(r[0] for r in rows)


@pytest.mark.parametrize("score_dtype", ["float16", "float32"])
def test_serialized_records_are_tf_train_examples(score_dtype):
    serialized, teacher_bytes = records.serialize_batch(
        tf.constant(["hi", "there"]), tf.constant([3, -1], tf.int64),
        tf.constant([[3, 1], [200, 0]]), tf.constant([[2.0, 1.0], [0.5, 0.25]]),
        score_dtype)
    for i, (ids, scores) in enumerate([([3, 1], [2.0, 1.0]),
                                       ([200, 0], [0.5, 0.25])]):
        example = tf.train.Example.FromString(serialized[i].numpy())
        feature = example.features.feature
        assert list(feature["label"].int64_list.value) == [[3, -1][i]]
        assert list(feature["topk_ids"].int64_list.value) == ids
        if score_dtype == "float32":
            assert list(feature["topk_scores"].float_list.value) == scores
        else:
            packed, = feature["topk_scores"].bytes_list.value
            assert np.frombuffer(packed, "<f2").tolist() == scores
        teacher_only = tf.train.Features(feature={
            key: feature[key] for key in ("topk_ids", "topk_scores")})
        assert teacher_bytes[i] == teacher_only.ByteSize()


def _corrupt(path, truncate):
    data = open(path, "rb").read()
    middle = len(data) // 2
    open(path, "wb").write(data[:middle] if truncate else
                           data[:middle] + b"\x00garbage" + data[middle + 8:])


@pytest.mark.parametrize("truncate", [True, False])
def test_bad_shard_is_named_or_skipped(tmp_path, rng, truncate):
    rows = _random_rows(rng, 40, k=2, n=10)
    prefix = str(tmp_path / "s")
    assert _write_set(prefix, rows, k=2, n=10, num_shards=2) == [20, 20]
    bad = records.shard_path(prefix, 1, 2)
    _corrupt(bad, truncate)
    with pytest.raises(records.RecordFormatError,
                       match=r"s-00001-of-00002.tfrecord: \d+ of 20 records"):
        records.make_dataset(prefix + "-*", 4)
    got = _read_all(prefix + "-*", skip_corrupt=True)
    readable = records.verify_shards(prefix + "-*")[bad][0]
    assert len(got["label"]) == 20 + readable < 40
    assert list(got["text"][:20]) == [r[0] for r in rows[:20]]


def test_duplicate_ids_in_a_record_are_refused(tmp_path):
    prefix = str(tmp_path / "dup")
    _write_set(prefix, [("fine", 0, np.array([1, 2]), np.array([1.0, 0.0])),
                        ("twice", 1, np.array([3, 3]), np.array([1.0, 0.0]))],
               k=2, n=5, num_shards=1)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="duplicate topk_ids.*twice"):
        _read_all(prefix + "-*")


def test_malformed_example_is_named_before_tensorflow_parses_it(tmp_path,
                                                                rng):
    prefix = str(tmp_path / "s")
    _write_set(prefix, _random_rows(rng, 3, 2, 5), k=2, n=5, num_shards=1)
    path = records.shard_path(prefix, 0, 1)
    # A TFRecord framed correctly (CRCs fine) around bytes that are not an
    # Example; TF's parse_example can crash on such messages.
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(tf.train.Example().SerializeToString())
        writer.write(b"\x0a\x02\xff")
    with pytest.raises(records.RecordFormatError,
                       match=r"s-00000-of-00001.tfrecord: record 1: not a "
                       "valid tf.train.Example"):
        records.make_dataset(prefix + "-*", 2)


def test_import_leaves_tensorflow_unconfigured():
    # MultiWorkerMirroredStrategy must configure collective ops before
    # TensorFlow's eager context starts: importing the package must not
    # start it (a module-level tf.constant once did).
    code = ("import tensorflow as tf\n"
            "from tensorflow.python.eager import context\n"
            "import topk_distill.records, topk_distill.student\n"
            "import topk_distill.export, topk_distill.preprocessing\n"
            "print(context.context()._initialized)")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip().endswith("False")
