"""`topk-distill demo`: the method end to end on the bundled data."""

from tests.conftest import run_command


def test_demo_quick_runs_end_to_end(tmp_path, capsys):
    assert run_command(["topk-distill", "demo", f"--workdir={tmp_path}",
                        "--quick", "--epochs=1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if len(line.split()) == 9 and line.split()[0] in (
                "teacher", "distilled", "labels-only", "ref-distilled",
                "ref-labels-only")}
    # the reference student's two only with --reference
    assert set(rows) == {"teacher", "distilled", "labels-only"}
    # The teacher's shipped test scores; its speed needs --teacher_export.
    assert float(rows["teacher"][1]) > 0.4 and "n/a" in rows["teacher"]
    assert "a large river in Europe" in out
    assert (tmp_path / "distilled" / "export" / "saved_model.pb").exists()
    assert sorted(p.name for p in (tmp_path / "quick").iterdir()
                  if p.name.endswith(".json")) == [
        "labeled_sampled.meta.json", "unlabeled_soft.meta.json"]
