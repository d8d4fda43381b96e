"""Bad input from a careless or hostile user (issue 25): every case ends in
a non-zero exit and one line on stderr naming the flag, file or record at
fault, with nothing written."""

import os

import pytest

from tests.commands.test_train import _sets
from tests.conftest import NAMES, run_command
from topk_distill import cli


@pytest.fixture
def record_sets(tmp_path):
    labeled, unlabeled = _sets(tmp_path)
    return {"lab": labeled, "unl": unlabeled}


# (command line with the placeholders test_bad_input_is_one_line... fills
# in; exit code; what the one line must contain).
CASES = {
    "unlabeled records as --labeled": (
        "train --labeled={unl} --output={out} --epochs=1", 1,
        "--labeled: {unl} holds unlabeled records; expected labeled ones"),
    "labeled records as --unlabeled": (
        "train --labeled={lab} --unlabeled={lab} --output={out} --epochs=1",
        1, "--unlabeled: {lab} holds labeled records; expected unlabeled"),
    "infinite temperature": (
        "train --labeled={lab} --output={out} --temperature=inf", 2,
        "--temperature=inf: expected a finite number"),
    "NaN temperature": (
        "train --labeled={lab} --output={out} --temperature=nan", 2,
        "--temperature=nan: expected a finite number"),
    "infinite learning rate": (
        "train --labeled={lab} --output={out} --learning_rate=inf", 2,
        "--learning_rate=inf: expected a finite number"),
    "NaN sampling temperature": (
        "preprocess --teacher={npz} --input={tsv} --output={out}/r "
        "--sampling_temperature=nan", 2,
        "--sampling_temperature=nan: expected a finite number"),
    "top_h past a top-K file's K, named as typed": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --unlabeled --top_h=50", 1,
        "--top_h=50, but {npz} holds 3 classes per row"),
    "top_h past N, named as typed": (
        "preprocess --teacher={keras_teacher} --input={tsv} "
        "--labels={labels} --output={out}/r --unlabeled --top_h=50", 1,
        "top_h=50; expected 1..N="),
    "train --output under a file": (
        "train --labeled={lab} --output={tsv}/student --epochs=1", 1,
        "--output={tsv}/student: {tsv} is a file; expected a folder"),
    "train --backup_dir that is a file": (
        "train --labeled={lab} --output={out} --backup_dir={tsv} --epochs=1",
        1, "--backup_dir={tsv}: {tsv} is a file; expected a folder"),
    "--labels that permute the teacher's own labels.txt": (
        "preprocess --teacher={keras_teacher} --input={tsv} --labels={rev} "
        "--output={out}/r", 1,
        "--labels={rev}:1: " + repr(NAMES[-1]) + ", but the teacher's own "
        "{labels} has " + repr(NAMES[0]) + " there"),
    "a TSV line with three columns": (
        "preprocess --teacher={npz} --input={cols} --labels={labels} "
        "--output={out}/r", 1,
        "{cols}:1: 3 tab-separated columns; expected 'text<TAB>label'"),
    "a JSONL line without a text": (
        "preprocess --teacher={npz} --input={jsonl} --labels={labels} "
        "--output={out}/r", 1,
        "{jsonl}:1: expected an object with a string \"text\" field"),
    "bytes that are not UTF-8": (
        "preprocess --teacher={npz} --input={binary} --labels={labels} "
        "--output={out}/r", 1, "{binary}:1: invalid UTF-8"),
    "a labels file naming a class twice": (
        "preprocess --teacher={npz} --input={tsv} --labels={twice} "
        "--output={out}/r", 1,
        "{twice}:2: duplicate class name 'animal' (first on line 1)"),
    "a labels file with a blank line": (
        "preprocess --teacher={npz} --input={tsv} --labels={blank} "
        "--output={out}/r", 1,
        "{blank}:2: blank line; expected one class name per line"),
    "a top-K file with more rows than the input": (
        "preprocess --teacher={npz} --input={short} --labels={labels} "
        "--output={out}/r --unlabeled --num_shards=1", 1,
        "--teacher={npz}: 4 rows for 1 examples in {short}; expected one "
        "row each"),
    "a top-K file that is not there": (
        "preprocess --teacher={out}/none.npz --input={tsv} --labels={labels} "
        "--output={out}/r", 1, "--teacher={out}/none.npz: expected an .npz "
        "with 'ids' and 'scores' arrays"),
    "more shards than examples": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --num_shards=5", 1,
        "num_shards=5, but num_examples=4; expected at most one shard"),
    "an unknown score dtype": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --score_dtype=float8", 2,
        "flag --score_dtype=float8: value should be one of"),
    "an unknown compression": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --compression=zip", 2,
        "flag --compression=zip: value should be one of <none|gzip>"),
    "a negative sample count": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --samples=-1", 2,
        "flag --samples=-1: -1 is not a positive integer"),
    "an unknown flag": (
        "preprocess --teacher={npz} --input={tsv} --output={out}/r "
        "--nonsense=1", 2, "Unknown command line flag 'nonsense'"),
    "a glob that matches no shard": (
        "train --labeled={out}/nothing-* --output={out}", 1,
        "{out}/nothing-*: no record shard matches"),
    "a TSV file given as records": (
        "train --labeled={tsv} --output={out}", 1,
        "{tsv}.meta.json: metadata file not found"),
    "zero epochs": (
        "train --labeled={lab} --output={out} --epochs=0", 2,
        "flag --epochs=0: 0 is not a positive integer"),
    "a zero batch size": (
        "train --labeled={lab} --output={out} --batch_size=0", 2,
        "flag --batch_size=0: 0 is not a positive integer"),
    "alpha out of range": (
        "train --labeled={lab} --output={out} --alpha=1.5", 1,
        "alpha=1.5; expected 0.5 < alpha < 1"),
    "an unknown student": (
        "train --labeled={lab} --output={out} --student=transformer", 2,
        "flag --student=transformer: value should be one of"),
    "classify a folder that is not an export": (
        "classify --model={full} x", 1, "{full}: not a SavedModel folder"),
    "evaluate a folder that is not an export": (
        "evaluate --model={full} --test={one_class}", 1,
        "--model={full}: not a SavedModel folder (no saved_model.pb in it)"),
    "export a labels file as a model": (
        "export --model={labels} --output={out}/e", 1,
        "--model={labels}: expected a .keras file, a SavedModel folder"),
    "student-init from an encoder that is not there": (
        "student-init --encoder={out}/enc --input={tsv} --output={out}/s.npz",
        1, "--encoder={out}/enc: not a folder"),
    "a teacher on an empty input": (
        "teacher --input={empty} --output={out}/t", 1, "{empty}: no examples"),
    "a teacher with zero epochs": (
        "teacher --input={one_class} --output={out}/t --epochs=0", 2,
        "flag --epochs=0: 0 is not a positive integer"),
    "the demo with zero epochs": (
        "demo --workdir={out} --epochs=0", 2,
        "flag --epochs=0: 0 is not a positive integer"),
    "a record set whose metadata is cut short": (
        "train --labeled={cut} --output={out} --epochs=1", 1,
        "not valid JSON"),
    "a teacher input with one class": (
        "teacher --input={one_class} --output={out}/t", 1,
        "{one_class}: only class 'animal'; a teacher needs examples of at "
        "least two classes"),
    "a .keras teacher that is not a zip archive": (
        "preprocess --teacher={not_zip} --input={tsv} --labels={labels} "
        "--output={out}/r", 1,
        "--teacher={not_zip}: not a .keras model (a .keras file is a zip "
        "archive; this one is not)"),
    "export --model that is not a .keras zip names --model": (
        "export --model={not_zip} --output={out}/e", 1,
        "--model={not_zip}: not a .keras model"),
    "export --model that does not exist names --model": (
        "export --model={out}/missing.keras --output={out}/e", 1,
        "--model={out}/missing.keras: no such file"),
    "export into a folder that holds something": (
        "export --model={keras_teacher} --output={full}", 1,
        "--output={full} is not empty; pass --overwrite"),
    "export onto a file": (
        "export --model={keras_teacher} --output={tsv}", 1,
        "--output={tsv} is a file; expected a folder"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_writes_nothing(case, tmp_path, record_sets,
                                                  keras_teacher_path, capsys):
    import numpy as np

    line, code, expected = CASES[case]
    tsv = tmp_path / "in.tsv"
    tsv.write_text("".join(f"text {i}\n" for i in range(4)))
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"{name}\n" for name in NAMES))
    npz = str(tmp_path / "topk.npz")
    np.savez(npz, ids=np.zeros((4, 3), np.int64) + [0, 1, 2],
             scores=np.ones((4, 3), np.float32))
    out = tmp_path / "out"
    one_class = tmp_path / "one.tsv"
    one_class.write_text("".join(f"text {i}\tanimal\n" for i in range(4)))
    not_zip = tmp_path / "text.keras"
    not_zip.write_text("not a model\n")
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("kept\n")
    cut = _with_cut_metadata(tmp_path, record_sets["lab"])
    files = {"cols": b"text 1\tanimal\tmore\n", "jsonl": b'{"text": 3}\n',
             "binary": b"\xff\xfe\n", "twice": b"animal\nanimal\n",
             "blank": b"animal\n\nplant\n", "empty": b"",
             "short": b"text 1\n"}
    for name, content in files.items():
        files[name] = tmp_path / (name + (".jsonl" if name == "jsonl"
                                          else ".txt" if name in (
                                              "twice", "blank") else ".tsv"))
        files[name].write_bytes(content)
    rev = tmp_path / "rev.txt"
    rev.write_text("".join(f"{name}\n" for name in reversed(NAMES)))
    values = dict(record_sets, out=out, npz=npz, tsv=tsv, labels=labels,
                  keras_teacher=keras_teacher_path, one_class=one_class,
                  not_zip=not_zip, full=full, cut=cut, rev=rev, **files)
    argv = ["topk-distill"] + line.format(**values).split()
    assert run_command(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert expected.format(**values) in err[0], err
    if code == 1:
        assert len(err) == 1, err
    assert not out.exists() or not os.listdir(out)
    assert os.listdir(full) == ["old.txt"]
    assert tsv.read_text() == "".join(f"text {i}\n" for i in range(4))


def _with_cut_metadata(tmp_path, pattern):
    """A copy of the record set `pattern` whose metadata is cut short."""
    import glob
    import shutil

    from topk_distill import records

    prefix = pattern[:-len("-*")]
    copy = str(tmp_path / "cut" / os.path.basename(prefix))
    os.makedirs(os.path.dirname(copy))
    for path in glob.glob(pattern):
        shutil.copy(path, copy + path[len(prefix):])
    meta = records.metadata_path(copy)
    with open(records.metadata_path(prefix), "rb") as f:
        text = f.read()
    with open(meta, "wb") as f:
        f.write(text[:len(text) // 2])
    return copy + "-*"


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    command = cli.command_module("train")

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "main", interrupted)
    assert cli.main(["topk-distill", "train", "--labeled=x",
                     "--output=o"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "topk-distill train: interrupted; rerun the same command: its "
        "backup folder (default OUTPUT/backup) resumes it"]


def test_json_the_package_writes_refuses_nan(tmp_path):
    from topk_distill import records

    path = str(tmp_path / "r.json")
    with pytest.raises(ValueError):
        records.write_json(path, {"temperature": float("inf")})
    assert not os.path.exists(path)
