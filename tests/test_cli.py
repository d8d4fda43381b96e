"""The `topk-distill` entry point: commands, help, and errors on one line."""

import os
import subprocess
import sys

import pytest

from tests.conftest import write_record_set
from topk_distill import cli


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
@pytest.mark.parametrize("flag", ["--help", "--helpfull"])
def test_help_of_every_command_lists_its_flags(command, flag, capsys):
    assert cli.main(["topk-distill", command, flag]) == 0
    out = capsys.readouterr().out
    assert f"usage: topk-distill {command}" in out
    module = cli.command_module(command)
    for defined in module.FLAGS.get_flags_for_module(module.__name__):
        assert defined.name in out
    assert ("--flagfile" in out) == (flag == "--helpfull")


def test_help_runs_without_tensorflow():
    code = ("import sys; from topk_distill import cli; "
            "cli.main(['topk-distill', 'train', '--help']); "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip().endswith("False")
    result = subprocess.run([sys.executable, "-m", "topk_distill", "--help"],
                            capture_output=True, text=True, check=True)
    assert "preprocess" in result.stdout


def test_an_error_is_the_only_line_tensorflow_included(tmp_path):
    # TensorFlow's C++ start-up lines (cuda, oneDNN, absl) are held back
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "TOPK_DISTILL_TF_LOGS")}
    missing = tmp_path / "missing"
    result = subprocess.run(
        [sys.executable, "-m", "topk_distill", "classify",
         f"--model={missing}", "a text"],
        capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"topk-distill classify: error: {missing}: not a SavedModel folder "
        "(no saved_model.pb in it); expected the folder `topk-distill "
        "export` writes"], result.stderr


def test_unknown_commands_and_bad_flags_exit_2(capsys):
    assert cli.main(["topk-distill", "nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err
    assert cli.main(["topk-distill", "preprocess", "--top_k=-1"]) == 2
    err = capsys.readouterr().err
    assert "--top_k" in err and "(see topk-distill preprocess --help)" in err
    assert cli.main(["topk-distill"]) == 2


def _errors(capsys):
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.strip()]


def test_library_errors_end_in_one_line(tmp_path, labeled_tsv, capsys):
    assert cli.main(["topk-distill", "preprocess", "--teacher=x.bin",
                     f"--input={labeled_tsv}", "--output=o"]) == 1
    lines = _errors(capsys)
    assert lines == ["topk-distill preprocess: error: --teacher=x.bin: no "
                     "such file or folder"]


def test_tensorflow_errors_end_in_one_line(tmp_path, monkeypatch, capsys):
    # A damaged shard read without the Python check: TensorFlow's reader
    # raises DataLossError, whose message goes on with the graph's op names.
    import tensorflow as tf

    from topk_distill.commands import classify
    from topk_distill.records import reader

    pattern = write_record_set(str(tmp_path / "bad"),
                               [f"text {i}" for i in range(4)], [0, 1, 2, 0],
                               [[1, 2]] * 4, [[1.0, 0.0]] * 4, 3)
    shard, = tf.io.gfile.glob(pattern)
    data = bytearray(open(shard, "rb").read())
    data[len(data) // 2] ^= 0xFF  # a flipped bit: the record's CRC fails
    open(shard, "wb").write(bytes(data))

    def read_unverified(argv):
        list(reader.make_dataset(pattern, 2, verify=False))

    monkeypatch.setattr(classify, "main", read_unverified)
    assert cli.main(["topk-distill", "classify", "--model=m", "x"]) == 1
    lines = _errors(capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith("topk-distill classify: error: corrupted "
                               "record at "), lines
