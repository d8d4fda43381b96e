"""`topk-distill preprocess`: flags in, records out, the command recorded."""

import json

from tests.conftest import NAMES, run_command
from topk_distill.records import file_names, reader, records


def _preprocess(*flags):
    return run_command(["topk-distill", "preprocess", *flags])


def test_the_teacher_folder_and_its_labels(tmp_path, labeled_tsv, capsys):
    folder = str(tmp_path / "teacher")
    assert run_command(["topk-distill", "teacher", f"--input={labeled_tsv}",
                        f"--output={folder}", "--epochs=1"]) == 0
    prefix = str(tmp_path / "rec" / "train")
    assert _preprocess(f"--teacher={folder}", f"--input={labeled_tsv}",
                       f"--output={prefix}", "--top_k=2", "--num_shards=2",
                       "--skip_unknown_labels") == 0
    printed = capsys.readouterr().out
    assert "12 examples in 2 shards" in printed and "B/example" in printed
    meta = json.loads(open(file_names.metadata_path(prefix)).read())
    assert meta["command"] == [
        "topk-distill", "preprocess", f"--input={labeled_tsv}",
        "--num_shards=2", f"--output={prefix}", "--skip_unknown_labels=true",
        f"--teacher={folder}", "--top_k=2"]
    assert meta["labels"] == NAMES  # From the teacher folder's labels.txt.
    batches = list(reader.make_dataset(prefix, 64))
    assert len(batches[0]["label"]) == 12
    # --top_k not given, fewer classes than its default 20: all of them
    every = str(tmp_path / "rec" / "every")
    assert _preprocess(f"--teacher={folder}", f"--input={labeled_tsv}",
                       f"--output={every}", "--num_shards=1") == 0
    assert records.RecordSet.read(every).width == len(NAMES) < 20


def test_existing_output_needs_overwrite_or_resume(tmp_path, labeled_tsv,
                                                   labels_txt,
                                                   keras_teacher_path,
                                                   capsys):
    flags = [f"--teacher={keras_teacher_path}", f"--input={labeled_tsv}",
             f"--output={tmp_path}/rec", "--top_k=1", "--num_shards=2"]
    assert _preprocess(*flags) == 0
    assert _preprocess(*flags[:-1], "--num_shards=3") == 1
    assert "a record set is already there" in capsys.readouterr().err
    assert _preprocess(*flags[:-1], "--num_shards=3", "--overwrite") == 0
    assert records.RecordSet.read(f"{tmp_path}/rec-*").num_shards == 3
    assert _preprocess(*flags, "--overwrite", "--resume") == 2
    assert "give one" in capsys.readouterr().err


def test_an_unwritable_output_is_one_line(tmp_path, labeled_tsv, labels_txt,
                                          keras_teacher_path, capsys):
    assert _preprocess(f"--teacher={keras_teacher_path}",
                       f"--input={labeled_tsv}", "--output=/proc/x",
                       "--top_k=1", "--num_shards=1") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and err[0].startswith(
        "topk-distill preprocess: error: --output=/proc/x: cannot write "
        "there")


def test_a_top_k_file_from_another_framework(tmp_path, labels_txt, capsys):
    import numpy as np

    data = tmp_path / "in.tsv"
    data.write_text("".join(f"text {i}\t{NAMES[i % len(NAMES)]}\n"
                            for i in range(6)))
    ids = np.array([[(i + j) % len(NAMES) for j in range(3)]
                    for i in range(6)])
    scores = np.tile(np.float32([1.0, 3.0, 2.0]), (6, 1))
    npz = str(tmp_path / "topk.npz")
    np.savez(npz, ids=ids, scores=scores)
    prefix = str(tmp_path / "rec")
    assert _preprocess(f"--teacher={npz}", f"--input={data}",
                       f"--labels={labels_txt}", f"--output={prefix}",
                       "--top_k=2", "--num_shards=1") == 0
    assert f"6 examples in 1 shards from {npz}" in capsys.readouterr().out
    batch = next(iter(reader.make_dataset(prefix, 6)))
    # The 2 best of each row, best first.
    assert batch["topk_ids"].numpy().tolist() == [
        [ids[i, 1], ids[i, 2]] for i in range(6)]
    meta = records.RecordSet.read(prefix)
    assert meta.teacher == {"kind": "external", "path": npz}
    # Errors name the file, the row and the input line; nothing is left.
    ids[4, 0] = 99
    np.savez(npz, ids=ids, scores=scores)
    assert _preprocess(f"--teacher={npz}", f"--input={data}",
                       f"--labels={labels_txt}", f"--output={prefix}2",
                       "--num_shards=1") == 1
    err = capsys.readouterr().err
    assert f"--teacher={npz}: row 4 ({data}:5) has a class id outside" in err
    np.savez(npz, ids=ids[:5], scores=scores[:5])
    assert _preprocess(f"--teacher={npz}", f"--input={data}",
                       f"--labels={labels_txt}", f"--output={prefix}2",
                       "--num_shards=1") == 1
    assert "5 rows for 6 examples" in capsys.readouterr().err
    assert not list(tmp_path.glob("rec2*"))
