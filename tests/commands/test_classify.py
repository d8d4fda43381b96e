"""`topk-distill classify`: texts in, top-n labels out."""

import json

from tests.conftest import NAMES, run_command


def test_classify_as_json_and_as_a_table(trained, tmp_path, capsys):
    _, folder = trained
    export = str(folder / "export")
    assert run_command(["topk-distill", "classify", f"--model={export}",
                        "--top_n=1", "--format=json", "stocks fell"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["text"] == "stocks fell" and len(answer["labels"]) == 1
    assert answer["labels"][0] in NAMES and 0 < answer["scores"][0] <= 1
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"hot soup\tfood\n\xff bad bytes\n")
    assert run_command(["topk-distill", "classify", f"--model={export}",
                        f"--input={texts}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Each text, then its 2 labels (all the export answers), indented.
    assert lines[0] == "hot soup" and lines[3] == "\ufffd bad bytes"
    assert all(line.startswith("  ") for line in lines[1:3] + lines[4:6])
    assert len(lines) == 6


def test_classify_errors(trained, capsys):
    _, folder = trained
    export = str(folder / "export")
    assert run_command(["topk-distill", "classify", f"--model={export}",
                        "--top_n=9", "x"]) == 1
    assert f"top_n=9, but {export} answers 2 labels" in (
        capsys.readouterr().err)
    assert run_command(["topk-distill", "classify",
                        f"--model={export}"]) == 1
    assert "no text to classify" in capsys.readouterr().err
    assert run_command(["topk-distill", "classify", f"--model={export}",
                        "  "]) == 1
    assert capsys.readouterr().err.strip() == (
        "topk-distill classify: error: argument 1 is an empty text; "
        "expected text to classify")


def test_classify_drops_a_byte_order_mark(trained, tmp_path, capsys):
    _, folder = trained
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"\xef\xbb\xbfhot soup\n")
    assert run_command(["topk-distill", "classify",
                        f"--model={folder / 'export'}",
                        f"--input={texts}"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "hot soup"
