"""README's walkthrough, run as written: every `bash` block (each line a
`topk-distill` command, run in this process) and every `python` block, in
order, in one folder holding a small sample as train.tsv, unlabeled.tsv,
valid.tsv and test.tsv. `sh` blocks need what a test machine lacks (a
fresh venv, a cloud project, a TF Serving server, two machines); README
says so beside each, and the two commands are checked against `.ci/run`."""

import importlib
import os
import re

from tests.conftest import ROOT, encoder_folder, run_command, shell_commands

README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _write_sample(folder):
    """The bundled sample (24 WordNet classes) cut into README's files."""
    sample = os.path.join(ROOT, "examples", "data")
    train = open(os.path.join(sample, "sample_train.tsv")).readlines()
    rest = open(os.path.join(sample, "sample_test.tsv")).readlines()
    files = {"train.tsv": train[:160],
             "unlabeled.tsv": [line.split("\t")[0] + "\n"
                               for line in rest[:40]],
             "valid.tsv": rest[40:80], "test.tsv": rest[80:]}
    for name, lines in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.writelines(lines)


def test_every_bash_and_python_block_runs_in_order(tmp_path, monkeypatch,
                                                   capsys):
    blocks = BLOCK.findall(README)
    # sh: needs a server; py: needs another framework (PyTorch).
    assert {kind for kind, _ in blocks} <= {"", "bash", "python", "sh", "py"}
    runnable = [(kind, text) for kind, text in blocks
                if kind in ("bash", "python")]
    assert len(runnable) >= 5
    _write_sample(tmp_path)
    monkeypatch.chdir(tmp_path)
    for kind, text in runnable:
        if kind == "python":
            exec(compile(text, "README.md", "exec"), {})
            continue
        for argv in shell_commands(text, {"ENCODER": encoder_folder()}):
            assert argv[0] == "topk-distill", argv
            assert run_command(argv) == 0, (argv, capsys.readouterr().err)
    assert os.path.exists("my_student.keras")
    assert os.path.exists("export/student/model_token_ids.tflite")
    assert "a river in Europe" in capsys.readouterr().out


def test_the_two_commands_are_what_ci_runs():
    block = next(text for kind, text in BLOCK.findall(README)
                 if "# (a)" in text)
    lines = [line for line in block.splitlines()
             if line and not line.startswith("#")]
    install_and_demo, tests = lines
    assert install_and_demo.endswith(".venv/bin/topk-distill demo")
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert tests in ci


def test_python_api_table_names_what_the_package_exports():
    import topk_distill

    table = README.split("## Python API", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`(?= [,(]|,)", table)) | set(
        re.findall(r"`(\w+)` \(`", table))
    modules = set(re.findall(r"\(`(\w+)`", table))
    named -= modules
    assert len(named) >= 30
    assert named <= set(topk_distill.__all__), named - set(
        topk_distill.__all__)
    undocumented = [name for name in named
                    if not (getattr(topk_distill, name).__doc__ or "").strip()]
    assert not undocumented
    # Each group of names is held by the module named after it.
    for group, module in re.findall(r"((?:`\w+`, )*`\w+`) \(`([\w.]+)`",
                                    table):
        held = importlib.import_module(f"topk_distill.{module}")
        for name in re.findall(r"`(\w+)`", group):
            assert getattr(held, name) is getattr(topk_distill, name), (
                name, module)
