"""The bundled WordNet data, its preparation, and the one-command demo."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from topk_distill import cli, inputs, records

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data")
DATA = os.path.join(ROOT, "topk_distill", "data", "wordnet")
DATA_NOUN = "/usr/share/wordnet/data.noun"


def _example(name):
    path = os.path.join(ROOT, "examples", "wordnet", f"{name}.py")
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not os.path.exists(DATA_NOUN),
                    reason="needs Debian's wordnet-base (.ci/run installs it)")
def test_prepare_rebuilds_the_shared_tsv(tmp_path):
    out = tmp_path / "glosses.tsv"
    with open(out, "w") as f:
        subprocess.run([sys.executable, os.path.join(
            ROOT, "examples", "wordnet", "prepare.py"), DATA_NOUN], stdout=f,
            check=True)
    with open(os.path.join(SHARED, "wordnet_noun_glosses.tsv"), "rb") as f:
        assert out.read_bytes() == f.read()


def test_split_is_fixed_and_disjoint():
    data = _example("data")
    parts = data.split(58307)
    assert {k: len(v) for k, v in parts.items()} == {
        "test": 11661, "labeled": 23323, "unlabeled": 23323}
    assert len(np.unique(np.concatenate(list(parts.values())))) == 58307
    assert np.array_equal(data.split(58307)["test"], parts["test"])


def test_shipped_teacher_output():
    names = inputs.read_labels(os.path.join(DATA, "labels.txt"))
    assert len(names) == 4123
    expected = {"labeled": (20, "logits", 23323),
                "unlabeled": (1, "probabilities", 23323),
                "teacher_test": (20, "logits", 11661)}
    for name, (k, scores, count) in expected.items():
        meta = records.read_metadata(os.path.join(DATA, name))
        assert (meta["top_k"], meta["scores"], meta["num_examples"],
                meta["num_classes"]) == (k, scores, count, 4123)
        assert meta["labels_sha256"] == inputs.labels_sha256(
            os.path.join(DATA, "labels.txt"))
    shipped = sum(os.path.getsize(os.path.join(DATA, f))
                  for f in os.listdir(DATA))
    assert shipped < 8e6  # vs 961 MB of dense float32 scores
    assert len(list(inputs.iter_examples(os.path.join(DATA, "test.tsv")))) \
        == 11661


def test_embeddings_recompute_with_keras_hub():
    embed = _example("embed")
    texts, _ = _example("data").load(os.path.join(
        SHARED, "wordnet_noun_glosses.tsv"))
    rows = np.arange(0, 58307, 58307 // 12)[:12]
    shared = np.load(os.path.join(SHARED, "wordnet_minilm_l6.npy"),
                     mmap_mode="r")[rows].astype(np.float32)
    ours = embed.embedder(embed.default_encoder()).predict(
        np.array([texts[i] for i in rows], object), verbose=0)
    cosine = np.sum(ours * shared, axis=1) / np.linalg.norm(shared, axis=1)
    assert np.all(cosine > 0.99), cosine


def test_demo_quick_runs_end_to_end(tmp_path, capsys):
    assert cli.main(["topk-distill", "demo", f"--workdir={tmp_path}",
                     "--quick", "--epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "distilled" in out and "baseline" in out
    teacher_row = next(l for l in out.splitlines() if l.startswith("teacher "))
    assert "n/a" in teacher_row and float(teacher_row.split()[1]) > 0.3
    assert "a large river in Europe" in out
    assert (tmp_path / "distilled" / "export" / "saved_model.pb").exists()


def test_encoder_teacher_command_and_preprocess(tmp_path, labeled_tsv,
                                                capsys):
    embed = _example("embed")
    out = tmp_path / "teacher"
    assert cli.main(["topk-distill", "teacher", f"--input={labeled_tsv}",
                     f"--output={out}", f"--encoder={embed.default_encoder()}",
                     "--cross_fit_folds=2", "--epochs=3"]) == 0
    assert np.load(out / "cross_fit_logits.npy").shape == (12, 3)
    prefix = str(tmp_path / "rec")
    assert cli.main(["topk-distill", "preprocess",
                     f"--teacher={out}/saved_model", "--teacher_signature=logits",
                     f"--labels={out}/labels.txt", f"--input={labeled_tsv}",
                     f"--output={prefix}", "--top_k=2", "--num_shards=1"]) == 0
    assert records.read_metadata(prefix)["teacher"]["kind"] == "saved_model"
