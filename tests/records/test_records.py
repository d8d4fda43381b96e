"""The record set's schema, metadata file and shard list."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, write_record_set
from topk_distill.records import file_names, records, set_files
from topk_distill.records.records import RecordFormatError, RecordSet

V1 = os.path.join(ROOT, "tests", "data", "v1")


def _small_set(tmp_path, name="s", num_shards=2, count=4):
    return write_record_set(str(tmp_path / name), [f"t{i}" for i in
                                                   range(count)],
                            [0] * count, [[0, 1]] * count,
                            [[1.0, 0.0]] * count, 5, num_shards=num_shards)


def test_metadata_round_trips_through_json(tmp_path):
    pattern = _small_set(tmp_path, num_shards=2, count=5)
    record_set = RecordSet.read(pattern)
    assert (record_set.num_examples, record_set.width,
            record_set.num_classes) == (5, 2, 5)
    assert [s.examples for s in record_set.shards] == [2, 3]
    assert record_set.labels == ("c0", "c1", "c2", "c3", "c4")
    assert record_set.prefix == str(tmp_path / "s")
    assert record_set.pattern == pattern
    again = RecordSet.from_json(json.loads(json.dumps(record_set.to_json())))
    assert again == record_set


@pytest.mark.parametrize("field, value", [("kind", "half"),
                                          ("scores", "odds"),
                                          ("score_dtype", "int8"),
                                          ("compression", "zip")])
def test_schema_refuses_values_it_does_not_know(field, value):
    with pytest.raises(RecordFormatError, match=f"{field}='{value}'"):
        RecordSet(**dict(dict(kind="labeled", num_classes=3, width=1),
                         **{field: value}))


def test_sets_written_by_the_previous_version_still_read():
    # 40 records of the WordNet bundle as version 1 wrote it: no class
    # names, no targets fields, float16 topk_ids/topk_scores features.
    from topk_distill.records import reader

    with open(os.path.join(V1, "labeled.meta.json")) as f:
        assert json.load(f)["format_version"] == 1
    record_set = RecordSet.read(os.path.join(V1, "labeled-*"))
    assert record_set.labels is None and record_set.targets == "topk"
    assert (record_set.num_classes, record_set.width) == (4123, 20)
    batch = next(iter(reader.make_dataset(record_set, 40)))
    assert batch["topk_ids"].shape == (40, 20)
    assert (batch["topk_scores"][:, 0].numpy() == 0).all()  # Best first.


def test_missing_metadata_and_other_versions_are_named(tmp_path):
    _small_set(tmp_path)
    meta = tmp_path / "s.meta.json"
    value = json.loads(meta.read_text())
    meta.write_text(json.dumps(dict(value, format_version=99)))
    with pytest.raises(RecordFormatError, match=r"s.meta.json: "
                       r"format_version 99; this reader reads versions "
                       r"\(1, 2, 3\)"):
        RecordSet.read(str(tmp_path / "s-*"))
    meta.write_text(json.dumps({k: v for k, v in value.items()
                                if k != "num_classes"}))
    with pytest.raises(RecordFormatError, match="num_classes"):
        RecordSet.read(str(tmp_path / "s"))
    os.remove(meta)
    with pytest.raises(RecordFormatError, match="metadata file not found"):
        RecordSet.read(str(tmp_path / "s-*"))


def test_prefix_of_globs_shards_and_prefixes(tmp_path):
    _small_set(tmp_path, "a")
    _small_set(tmp_path, "b")
    a = str(tmp_path / "a")
    assert set_files.prefix_of(a + "-*") == a
    assert set_files.prefix_of(a + "-00001-of-00002.tfrecord") == a
    assert set_files.prefix_of(a) == a
    with pytest.raises(RecordFormatError, match="expected the shards of one "
                       "record set"):
        set_files.prefix_of(str(tmp_path / "*.tfrecord"))
    with pytest.raises(FileNotFoundError, match="no record shard matches"):
        set_files.prefix_of(str(tmp_path / "none-*"))


def test_files_are_the_listed_shards_not_what_the_glob_finds(tmp_path):
    # Another run's shards at the same prefix (another --num_shards) must
    # not be read as part of this set.
    os.mkdir(tmp_path / "other")
    _small_set(tmp_path / "other", num_shards=3, count=6)
    _small_set(tmp_path, num_shards=2, count=4)
    for i in range(3):
        shutil.copy(file_names.shard_path(str(tmp_path / "other" / "s"), i, 3),
                    tmp_path)
    record_set = RecordSet.read(str(tmp_path / "s-*"))
    with pytest.raises(RecordFormatError, match=r"s-00000-of-00003.tfrecord "
                       r"is not one of the 2 shards .*s.meta.json lists"):
        record_set.files()
    for i in range(3):
        os.remove(file_names.shard_path(str(tmp_path / "s"), i, 3))
    assert [os.path.basename(p) for p in record_set.files()] == [
        "s-00000-of-00002.tfrecord", "s-00001-of-00002.tfrecord"]
    narrow = RecordSet.read(str(tmp_path / "s-00000-*"))
    with pytest.raises(RecordFormatError, match="matches 1 of the 2 shards"):
        narrow.files()
    os.remove(file_names.shard_path(str(tmp_path / "s"), 1, 2))
    with pytest.raises(RecordFormatError, match="s-00001-of-00002.tfrecord: "
                       "missing"):
        record_set.files()


def test_existing_files_finds_every_file_of_a_prefix(tmp_path):
    _small_set(tmp_path, num_shards=2)
    (tmp_path / "s-00000-of-00005.tfrecord.tmp").write_bytes(b"")
    (tmp_path / "s.run.json").write_text("{}")
    (tmp_path / "s2-00000-of-00001.tfrecord").write_bytes(b"")
    names = [os.path.basename(p)
             for p in file_names.existing_files(str(tmp_path / "s"))]
    assert names == ["s-00000-of-00002.tfrecord", "s-00000-of-00005.tfrecord."
                     "tmp", "s-00001-of-00002.tfrecord", "s.meta.json",
                     "s.run.json"]


def test_allowed_values_import_without_tensorflow():
    code = ("import sys; from topk_distill.records import records; "
            "from topk_distill.distillation import loss_config; "
            "print(records.SCORE_DTYPES, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "('float16', 'float32', 'q8') False"
