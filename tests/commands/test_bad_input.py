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
    rev = tmp_path / "rev.txt"
    rev.write_text("".join(f"{name}\n" for name in reversed(NAMES)))
    values = dict(record_sets, out=out, npz=npz, tsv=tsv, labels=labels,
                  keras_teacher=keras_teacher_path, one_class=one_class,
                  not_zip=not_zip, full=full, cut=cut, rev=rev)
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
