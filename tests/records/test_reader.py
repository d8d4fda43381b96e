"""Reading a record set as tf.data batches."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import write_record_set
from topk_distill.records import file_names, reader, records
from topk_distill.records.records import RecordFormatError


def _random_set(tmp_path, rng, count, k, n, name="s", **kwargs):
    rows = []
    for i in range(count):
        ids = rng.choice(n, size=k, replace=False)
        scores = np.sort(rng.normal(0, 5, size=k))[::-1].astype(np.float32)
        rows.append((f"text {i} é".encode(), int(rng.integers(-1, n)), ids,
                     scores))
    pattern = write_record_set(str(tmp_path / name), [r[0] for r in rows],
                               [r[1] for r in rows], [r[2] for r in rows],
                               [r[3] for r in rows], n, **kwargs)
    return pattern, rows


def _read_all(pattern, batch_size=4, **kwargs):
    batches = list(reader.make_dataset(pattern, batch_size, **kwargs))
    return {key: np.concatenate([b[key].numpy() for b in batches])
            for key in batches[0]}


@pytest.mark.parametrize("score_dtype", ["float32", "float16"])
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_round_trip_in_written_order(tmp_path, rng, score_dtype, compression):
    pattern, rows = _random_set(tmp_path, rng, 11, 5, 300,
                                score_dtype=score_dtype,
                                compression=compression, num_shards=3)
    got = _read_all(pattern, num_classes=300, top_k=5)
    assert list(got["text"]) == [r[0] for r in rows]
    np.testing.assert_array_equal(got["topk_ids"], [r[2] for r in rows])
    np.testing.assert_array_equal(got["label"], [r[1] for r in rows])
    want = np.array([r[3] for r in rows])
    if score_dtype == "float32":
        np.testing.assert_array_equal(got["topk_scores"], want)
    else:
        np.testing.assert_allclose(got["topk_scores"], want, rtol=2**-11)


def test_a_record_set_object_reads_like_its_glob(tmp_path, rng):
    pattern, _ = _random_set(tmp_path, rng, 6, 2, 10)
    record_set = records.RecordSet.read(pattern)
    by_object, by_glob = _read_all(record_set), _read_all(pattern)
    for key in by_glob:
        np.testing.assert_array_equal(by_object[key], by_glob[key])


def test_shuffled_reading_keeps_every_record(tmp_path, rng):
    pattern, rows = _random_set(tmp_path, rng, 20, 2, 50, num_shards=3)
    got = _read_all(pattern, shuffle=True, seed=1)
    assert sorted(got["text"]) == sorted(r[0] for r in rows)
    assert list(got["text"]) != [r[0] for r in rows]


def test_n_and_k_are_checked_against_the_metadata(tmp_path, rng):
    pattern, _ = _random_set(tmp_path, rng, 3, 2, 5)
    with pytest.raises(RecordFormatError, match=r"K \(top_k\)=2; expected 3"):
        reader.make_dataset(pattern, 2, top_k=3)
    with pytest.raises(RecordFormatError, match=r"N \(num_classes\)=5; "
                       "expected 6"):
        reader.make_dataset(pattern, 2, num_classes=6)


def test_repeated_ids_are_refused_before_the_graph(tmp_path):
    # The one check of it (record_check.check_record), run on every record
    # before TensorFlow parses any.
    pattern = write_record_set(str(tmp_path / "dup"), ["fine", "twice"],
                               [0, 1], [[1, 2], [3, 3]], [[1.0, 0.0]] * 2, 5)
    with pytest.raises(RecordFormatError, match=r"dup-00000-of-00001.tfrecord"
                       r": record 1: duplicate topk_ids \[3, 3\]"):
        reader.make_dataset(pattern, 2)


def test_a_malformed_record_is_named_before_tensorflow_parses_it(tmp_path,
                                                                 rng):
    pattern, _ = _random_set(tmp_path, rng, 3, 2, 5)
    path = file_names.shard_path(str(tmp_path / "s"), 0, 1)
    good = next(iter(tf.data.TFRecordDataset(path))).numpy()
    # A TFRecord framed correctly (CRCs fine) around bytes that are not an
    # Example; TF's parse_example can crash on such messages.
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(good)
        writer.write(b"\x0a\x02\xff")
    with pytest.raises(RecordFormatError, match=r"s-00000-of-00001.tfrecord: "
                       "record 1: not a valid tf.train.Example"):
        reader.make_dataset(pattern, 2)


def test_texts_of_several_sets(tmp_path, rng):
    first, rows_a = _random_set(tmp_path, rng, 3, 2, 5, name="a")
    second, rows_b = _random_set(tmp_path, rng, 2, 2, 5, name="b")
    texts = np.concatenate(list(reader.texts([first, second], batch_size=2)))
    assert list(texts) == [r[0] for r in rows_a + rows_b]


def test_label_counts_of_labeled_and_unlabeled_sets(tmp_path):
    labeled = write_record_set(str(tmp_path / "lab"), ["a", "b", "c"],
                               [2, 0, 2], [[2, 1], [0, 1], [2, 0]],
                               [[1.0, 0.0]] * 3, 4)
    unlabeled = write_record_set(str(tmp_path / "unl"), ["d", "e"], [-1, -1],
                                 [[3], [1]], [[0.9], [0.8]], 4,
                                 scores_kind="probabilities")
    assert reader.label_counts(labeled).tolist() == [1, 0, 2, 0]
    assert reader.label_counts(unlabeled).tolist() == [0, 1, 0, 1]
