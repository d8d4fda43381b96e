"""Shard files: contiguous, whole before named, checked when read."""

import os

import pytest

from tests.conftest import write_record_set
from topk_distill.records import file_names, reader, records, shards, writing
from topk_distill.records.records import RecordFormatError, RecordSet


def _rows(count):
    return ([f"text {i}" for i in range(count)], [i % 3 for i in range(count)],
            [[i % 5, (i + 1) % 5] for i in range(count)],
            [[1.0, 0.0]] * count)


def test_writer_spreads_records_contiguously(tmp_path):
    prefix = str(tmp_path / "out" / "train")
    with shards.ShardWriter(prefix, 10, 4, "gzip") as writer:
        for i in range(10):
            writer.write(f"record {i}".encode())
    assert writer.counts == [2, 3, 2, 3]
    assert sorted(os.listdir(tmp_path / "out")) == [
        f"train-0000{i}-of-00004.tfrecord.gz" for i in range(4)]
    assert [s.file for s in writer.shards()] == sorted(
        os.listdir(tmp_path / "out"))


def test_a_shard_keeps_its_tmp_name_until_complete(tmp_path):
    prefix = str(tmp_path / "s")
    writer = shards.ShardWriter(prefix, 4, 2)
    with pytest.raises(RuntimeError):
        with writer:
            for record in (b"a", b"b", b"c"):
                writer.write(record)
            assert os.path.exists(writer.path(0))
            assert not os.path.exists(writer.path(1))
            raise RuntimeError("killed")
    assert os.path.exists(writer.path(1) + ".tmp")
    assert not os.path.exists(writer.path(1))


def test_writer_refuses_a_wrong_count(tmp_path):
    prefix = str(tmp_path / "s")
    with pytest.raises(ValueError, match="1 records written, 3 announced"):
        with shards.ShardWriter(prefix, 3, 1) as writer:
            writer.write(b"x")
    assert not os.path.exists(file_names.shard_path(prefix, 0, 1))
    with pytest.raises(ValueError, match="more records than the 1 announced"):
        with shards.ShardWriter(prefix, 1, 1) as writer:
            writer.write(b"x")
            writer.write(b"y")


def _corrupt(path, truncate):
    data = open(path, "rb").read()
    middle = len(data) // 2
    open(path, "wb").write(data[:middle] if truncate else
                           data[:middle] + b"\x00garbage" + data[middle + 8:])


@pytest.mark.parametrize("truncate", [True, False])
def test_a_bad_shard_is_named_or_skipped_with_a_count(tmp_path, truncate):
    texts, labels, ids, scores = _rows(40)
    write_record_set(str(tmp_path / "s"), texts, labels, ids, scores, 5,
                     num_shards=2)
    record_set = RecordSet.read(str(tmp_path / "s"))
    bad = record_set.shard_path(1)
    _corrupt(bad, truncate)
    counts = shards.verify_shards(record_set)
    readable = counts[bad][0]
    assert counts[record_set.shard_path(0)] == (20, 20)
    assert 0 <= readable < 20 and counts[bad][1] == 20
    with pytest.raises(RecordFormatError, match=rf"s-00001-of-00002.tfrecord: "
                       rf"{readable} of 20 records readable"):
        shards.check_shards(record_set)
    shards.check_shards(record_set, skip_corrupt=True)


def test_remove_files_and_copy_records(tmp_path):
    texts, labels, ids, scores = _rows(9)
    write_record_set(str(tmp_path / "s"), texts, labels, ids, scores, 5,
                     num_shards=3, compression="gzip")
    source = RecordSet.read(str(tmp_path / "s-*"))
    copy = writing.copy_records(source, str(tmp_path / "copy" / "c"), 4)
    assert (copy.num_examples, copy.num_shards, copy.shards) == (
        4, 1, (records.Shard("c-00000-of-00001.tfrecord.gz", 4),))
    assert RecordSet.read(str(tmp_path / "copy" / "c")) == copy
    assert copy.labels == source.labels
    picked = writing.copy_records(source, str(tmp_path / "copy" / "p"),
                                  rows=[1, 4, 8])
    assert picked.num_examples == 3
    texts_of = [t.decode() for batch in
                reader.texts([picked], 2).as_numpy_iterator() for t in batch]
    assert texts_of == [texts[1], texts[4], texts[8]]
    assert shards.remove_files(str(tmp_path / "s")) == 4  # 3 shards + meta
    assert sorted(os.listdir(tmp_path)) == ["copy"]
