"""Multi-label end to end through the command line: a sigmoid teacher's
records -> train (threshold chosen on validation) -> export -> classify
and evaluate with the multi-label metrics."""

import json

import numpy as np

from tests.conftest import run_command
from topk_distill.models import saved_model

NAMES = ["animal", "pet", "plant", "tree"]
WORDS = {"animal": "fur", "pet": "home", "plant": "leaf", "tree": "wood"}


def _rows(rng, count):
    rows = []
    for _ in range(count):
        chosen = sorted(rng.choice(4, rng.integers(1, 3), replace=False))
        words = [WORDS[NAMES[c]] for c in chosen] + ["the", "a"]
        rows.append((" ".join(rng.permutation(words)),
                     "|".join(NAMES[c] for c in chosen)))
    return rows


def test_multi_label_records_to_a_served_student(tmp_path, rng, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(n + "\n" for n in NAMES))
    splits = {name: _rows(rng, count) for name, count in
              (("train", 120), ("valid", 40), ("test", 40))}
    for name, rows in splits.items():
        (tmp_path / f"{name}.tsv").write_text(
            "".join(f"{t}\t{l}\n" for t, l in rows))
    # A teacher that knows: its sigmoid logits +4 on a text's labels, -4
    # elsewhere, plus noise.
    truth = np.array([[NAMES[c] in l.split("|") for c in range(4)]
                      for _, l in splits["train"]], "float32")
    np.save(tmp_path / "teacher.npy",
            8 * truth - 4 + rng.normal(0, 1, truth.shape).astype("float32"))
    assert run_command([
        "topk-distill", "preprocess", f"--teacher={tmp_path}/teacher.npy",
        "--teacher_outputs=sigmoid_logits", f"--input={tmp_path}/train.tsv",
        f"--labels={labels}", f"--output={tmp_path}/records/train",
        "--top_k=3", "--num_shards=2"]) == 0
    assert run_command([
        "topk-distill", "train", f"--labeled={tmp_path}/records/train-*",
        f"--validation={tmp_path}/valid.tsv", f"--output={tmp_path}/student",
        "--epochs=40", "--batch_size=16", "--learning_rate=0.02"]) == 0
    history = json.loads((tmp_path / "student" / "history.json").read_text())
    assert 0.05 <= history["threshold"] <= 0.95
    assert history["history"]["val_top1"][-1] > 0.9
    export = str(tmp_path / "student" / "export")
    assert saved_model.saved_label_space(export, None).threshold == history["threshold"]
    capsys.readouterr()
    assert run_command(["topk-distill", "classify", f"--model={export}",
                        "--format=json", "fur home the a", "wood a"]) == 0
    answers = [json.loads(line) for line in
               capsys.readouterr().out.splitlines()]
    assert sorted(answers[0]["labels"]) == ["animal", "pet"]
    assert answers[1]["labels"] == ["tree"]
    assert all(s >= history["threshold"] for a in answers
               for s in a["scores"])
    assert run_command(["topk-distill", "evaluate", f"--model={export}",
                        f"--test={tmp_path}/test.tsv", "--format=json",
                        "--latency_repeats=5",
                        "--throughput_batches=1"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    for key in ("p@1", "p@3", "ndcg@3", "recall@3", "micro_f1", "macro_f1"):
        assert key in result, key
    assert result["p@1"] > 0.9 and result["micro_f1"] > 0.9
    assert "macro_p@1" not in result and "p@5" not in result  # N=4
    assert run_command(["topk-distill", "evaluate", f"--model={export}",
                        f"--test={tmp_path}/test.tsv", "--latency_repeats=5",
                        "--throughput_batches=1"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[:8] == ["model", "P@1", "P@3", "P@5", "nDCG@5", "miF1",
                          "maF1", "p50"]
    # The same records with sampled negatives, drawn by label frequency
    # (every label of a record counted).
    from topk_distill.records import reader

    counts = reader.label_counts(f"{tmp_path}/records/train-*")
    assert counts.sum() == sum(len(l.split("|"))
                               for _, l in splits["train"])
    assert run_command([
        "topk-distill", "train", f"--labeled={tmp_path}/records/train-*",
        f"--validation={tmp_path}/valid.tsv", f"--output={tmp_path}/sampled",
        "--epochs=40", "--batch_size=16", "--learning_rate=0.02",
        "--sampled_classes=2", "--sampled_proposal=labels"]) == 0
    history = json.loads((tmp_path / "sampled" / "history.json").read_text())
    assert history["history"]["val_top1"][-1] > 0.9
    # `export` of the students' .keras files exports what `train` exported:
    # multi-label, the same threshold and signatures, the same answers (the
    # sampled student's output layer a ClassVectors).
    import tensorflow as tf

    texts = tf.constant(["fur home the a", "wood a", "leaf"])
    for folder in ("student", "sampled"):
        again = str(tmp_path / f"{folder}_again")
        assert run_command(["topk-distill", "export",
                            f"--model={tmp_path}/{folder}/student.keras",
                            f"--output={again}"]) == 0
        own = str(tmp_path / folder / "export")
        assert saved_model.saved_label_space(again, None) == (
            saved_model.saved_label_space(own, None))
        served = [tf.saved_model.load(p) for p in (own, again)]
        assert sorted(served[0].signatures) == sorted(served[1].signatures)
        for name in ("serving_default", "probabilities"):
            a, b = (s.signatures[name](text=texts) for s in served)
            for key in a:
                if a[key].dtype == tf.string:
                    assert (a[key].numpy() == b[key].numpy()).all(), key
                else:
                    np.testing.assert_allclose(a[key].numpy(),
                                               b[key].numpy(), atol=1e-6)
