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


# (command line with {lab}, {unl}, {out} and {npz}; exit code; what the
# one line must contain).
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
    values = dict(record_sets, out=out, npz=npz, tsv=tsv, labels=labels,
                  keras_teacher=keras_teacher_path)
    argv = ["topk-distill"] + line.format(**values).split()
    assert run_command(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert expected.format(**values) in err[0], err
    if code == 1:
        assert len(err) == 1, err
    assert not out.exists() or not os.listdir(out)


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
