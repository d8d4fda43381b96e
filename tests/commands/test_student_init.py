"""`topk-distill student-init`: the teacher's encoder -> starting vectors."""

from tests.conftest import encoder_folder, run_command
from topk_distill.models import student_init


def test_writes_vectors_train_can_start_from(tmp_path, capsys):
    data = tmp_path / "train.tsv"
    data.write_text("a river in europe\tplace\na small bird\tanimal\n")
    out = tmp_path / "init.npz"
    assert run_command(["topk-distill", "student-init",
                        f"--encoder={encoder_folder()}", f"--input={data}",
                        f"--output={out}", "--dim=3"]) == 0
    assert f"wrote {out}: 8 words x 3" in capsys.readouterr().out
    words, vectors = student_init.load(str(out))
    # Padding, [UNK], then by count: "a" (twice) first.
    assert words[:3] == ["", "[UNK]", "a"]
    assert set(words[3:]) == {"river", "in", "europe", "small", "bird"}
    assert vectors.shape == (8, 3)


def test_tokenlearn_from_the_command_line(tmp_path, capsys):
    data = tmp_path / "train.tsv"
    data.write_text("a river in europe\tplace\na small bird\tanimal\n")
    out = tmp_path / "init.npz"
    assert run_command(["topk-distill", "student-init",
                        f"--encoder={encoder_folder()}", f"--input={data}",
                        f"--output={out}", "--dim=2",
                        "--method=tokenlearn"]) == 0
    words, vectors = student_init.load(str(out))
    assert words[:3] == ["", "[UNK]", "a"] and vectors.shape == (8, 2)
    assert (vectors[0] == 0).all() and (vectors[2:] != 0).any()


def test_bad_encoder_and_width(tmp_path, capsys):
    data = tmp_path / "train.tsv"
    data.write_text("a cat\tx\n")
    assert run_command(["topk-distill", "student-init",
                        f"--encoder={tmp_path}/nowhere", f"--input={data}",
                        f"--output={tmp_path}/o.npz"]) == 1
    assert "nowhere: not a folder" in capsys.readouterr().err
    assert run_command(["topk-distill", "student-init",
                        f"--encoder={encoder_folder()}", f"--input={data}",
                        f"--output={tmp_path}/o.npz", "--dim=999"]) == 1
    assert "--dim=999 is wider than the encoder's 384-d output" in \
        capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
