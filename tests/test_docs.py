"""README's five steps and the guides (`docs/`), run as written: every
`bash` block (each line a `topk-distill` command, run in this process) and
every `python` block, in order, in a folder holding a small sample as
train.tsv, unlabeled.tsv, valid.tsv and test.tsv; README in one folder,
the guides in another, page after page in the site's order. `sh` blocks
need what a test machine lacks (a fresh venv, a cloud project, a TF
Serving server, two machines, a long run) and `py` blocks another
framework; the text beside each says so. Also: the two commands are what
CI runs, the API reference documents every public name, and every flag the
documents name (with its default, where they give one) is a command's."""

import importlib
import os
import re

from tests.conftest import ROOT, encoder_folder, run_command, shell_commands

BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
DOCS = os.path.join(ROOT, "docs")


def _read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def _guides():
    """The site's pages in its order (`mkdocs.yml`'s nav), as paths; the
    pages that are other files (benchmarks, changelog) left out."""
    pages = re.findall(r"^\s+- (?:[^:\n]+: )?([\w-]+\.md)$",
                       _read("mkdocs.yml"), re.M)
    return [os.path.join("docs", page) for page in pages
            if not os.path.islink(os.path.join(DOCS, page))]


def _write_sample(folder):
    """The bundled sample (24 WordNet classes) cut into the guides' files."""
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


def _run_blocks(paths, folder, monkeypatch, capsys):
    """Runs the `bash` and `python` blocks of `paths`, in order, in
    `folder`; returns how many ran."""
    blocks = [block for path in paths for block in BLOCK.findall(_read(path))]
    # sh: needs a server or another machine; py: another framework.
    assert {kind for kind, _ in blocks} <= {"", "bash", "python", "sh", "py"}
    _write_sample(folder)
    monkeypatch.chdir(folder)
    ran = 0
    for kind, text in blocks:
        if kind == "python":
            exec(compile(text, "docs", "exec"), {})
        elif kind == "bash":
            for argv in shell_commands(text, {"ENCODER": encoder_folder()}):
                assert argv[0] == "topk-distill", argv
                assert run_command(argv) == 0, (argv, capsys.readouterr().err)
        else:
            continue
        ran += 1
    return ran


def test_readme_steps_run_in_order(tmp_path, monkeypatch, capsys):
    assert _run_blocks(["README.md"], tmp_path, monkeypatch, capsys) == 5
    assert os.path.exists("student/choice.json")
    assert os.path.exists("export/student/model_token_ids.tflite")
    assert "a river in Europe" in capsys.readouterr().out


def test_guides_run_in_order(tmp_path, monkeypatch, capsys):
    assert _run_blocks(_guides(), tmp_path, monkeypatch, capsys) >= 7
    assert os.path.exists("my_student.keras")
    assert os.path.exists("encoder_student/export/saved_model.pb")
    assert os.path.exists("records/unlabeled_beam.meta.json")


def test_every_page_is_in_the_site():
    pages = {os.path.join("docs", name) for name in os.listdir(DOCS)
             if name.endswith(".md")}
    linked = {page for page in pages
              if os.path.islink(os.path.join(ROOT, page))}
    assert pages - linked == set(_guides())


def test_the_two_commands_are_what_ci_runs():
    block = next(text for kind, text in BLOCK.findall(_read("README.md"))
                 if "# (a)" in text)
    lines = [line for line in block.splitlines()
             if line and not line.startswith("#")]
    install_and_demo, tests = lines
    assert install_and_demo.endswith(".venv/bin/topk-distill demo")
    assert tests in _read(os.path.join(".ci", "run"))


def _api_table():
    """`{name: module}` of the API reference's table."""
    table = _read("docs/api.md").split("| stage |", 1)[1].split("\n\n")[0]
    return {name: module
            for group, module in re.findall(
                r"((?:`\w+`, )*`\w+`) \(`([\w.]+)`", table)
            for name in re.findall(r"`(\w+)`", group)}


def test_api_reference_documents_every_public_name():
    import topk_distill

    table = _api_table()
    assert len(table) >= 60
    assert set(table) <= set(topk_distill.__all__), set(table) - set(
        topk_distill.__all__)
    documented = set(re.findall(r"^::: topk_distill\.([\w.]+)$",
                                _read("docs/api.md"), re.M))
    assert documented == {f"{module}.{name}"
                          for name, module in table.items()}
    for name, module in table.items():
        held = importlib.import_module(f"topk_distill.{module}")
        assert getattr(held, name) is getattr(topk_distill, name), name
        assert (getattr(held, name).__doc__ or "").strip(), name


# Options of other programs that the documents show: pip's, pytest's,
# python -m build's, saved_model_cli's and Beam's pipeline options (inside
# --pipeline_options); and the usage line's `[--flags]`.
OTHER_PROGRAMS = {"no-deps", "doctest-modules", "wheel", "all", "dir",
                  "project", "region", "temp_location", "extra_package",
                  "flink_master", "environment_type", "flags"}


def _command_flags():
    """`{flag name: [its defaults, one per command defining it]}` of every
    command, absl's own flags included."""
    from topk_distill import cli

    found = {"help": [None], "helpfull": [None], "flagfile": [None]}
    for command in cli.COMMANDS:
        values = cli.command_module(command).FLAGS
        for name in values:
            found.setdefault(name, []).append(values[name].default)
    return found


def test_every_flag_the_documents_name_is_a_commands():
    flags = _command_flags()
    texts = [_read(path) for path in ["README.md"] + _guides()]
    named = {name for text in texts
             for name in re.findall(r"(?<![\w-])--([a-z][\w-]*)", text)}
    unknown = {name for name in named - OTHER_PROGRAMS - set(flags)
               if not (name.startswith("no") and name[2:] in flags)}
    assert not unknown
    # "`--flag` (default X)" and "`--flag`, default X": X is its default,
    # unless a command leaves it to the case (None: `train --epochs`).
    wrong, checked = [], 0
    for text in texts:
        for name, value in re.findall(
                r"`--(\w+)`,? \(?default:? ([\w.-]+)", text):
            if None in flags[name]:
                continue
            checked += 1
            if value not in {str(d) for d in flags[name]}:
                wrong.append((name, value, flags[name]))
    assert checked >= 2 and not wrong
