"""The examples: WordNet's preparation, the bundled data, the quickstart and
the custom-student script."""

import hashlib
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, encoder_folder, run_command, shell_commands
from topk_distill.inputs import inputs, labels_file
from topk_distill.models import student_init
from topk_distill.records import reader, records

DATA = os.path.join(ROOT, "topk_distill", "data", "wordnet")
EXAMPLES = os.path.join(ROOT, "examples")
DATA_NOUN = "/usr/share/wordnet/data.noun"
# SHA-256 of wordnet_noun_glosses.tsv, the TSV the bundled data was built
# from (58,307 glosses).
GLOSSES_SHA256 = ("269fb2834a2f254f98bf6a9efb261d5c"
                  "26ef53d8a093c0b200d65eced0553a2f")


def _example(name):
    path = os.path.join(EXAMPLES, "wordnet", f"{name}.py")
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_script(name, work):
    """Runs an example script's `topk-distill` commands in this process,
    in `work`; returns the commands' names, in order."""
    script = open(os.path.join(EXAMPLES, name)).read()
    commands = [argv for argv in shell_commands(
        script, {"here": EXAMPLES, "work": work, "ENCODER": encoder_folder()})
        if argv[0] == "topk-distill"]
    for argv in commands:
        assert run_command(argv) == 0, argv
    return [argv[1] for argv in commands]


@pytest.mark.skipif(not os.path.exists(DATA_NOUN),
                    reason="needs Debian's wordnet-base (.ci/run installs it)")
def test_prepare_rebuilds_the_glosses_tsv(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(
        EXAMPLES, "wordnet", "prepare.py"), DATA_NOUN], capture_output=True,
        check=True).stdout
    assert hashlib.sha256(out).hexdigest() == GLOSSES_SHA256


def test_split_is_fixed_and_disjoint():
    data = _example("data")
    parts = data.split(58307)
    assert {k: len(v) for k, v in parts.items()} == {
        "test": 11661, "labeled": 23323, "unlabeled": 23323}
    assert len(np.unique(np.concatenate(list(parts.values())))) == 58307
    # The bundled test.tsv starts with glosses 0, 9 and 24 of the TSV.
    assert parts["test"][:3].tolist() == [0, 9, 24]


def test_shipped_teacher_output():
    names = labels_file.read_labels(os.path.join(DATA, "labels.txt"))
    assert len(names) == 4123
    expected = {"labeled_topk": ("topk", 20, "logits", 23323),
                "labeled_sampled": ("sampled", 20, "probabilities", 23323),
                "unlabeled_hard": ("topk", 1, "probabilities", 23323),
                "unlabeled_soft": ("sampled", 20, "probabilities", 23323),
                "teacher_test": ("topk", 20, "logits", 11661)}
    for name, (targets, k, scores, count) in expected.items():
        record_set = records.RecordSet.read(os.path.join(DATA, name))
        assert (record_set.targets, record_set.width, record_set.scores,
                record_set.num_examples, record_set.num_classes,
                record_set.score_dtype) == (targets, k, scores, count, 4123,
                                            "q8")
        assert record_set.labels == tuple(names)
    shipped = sum(os.path.getsize(os.path.join(DATA, f))
                  for f in os.listdir(DATA))
    assert shipped < 20e6  # vs 961 MB of dense float32 scores
    # The student's starting vectors (from the pretrained and from the
    # fine-tuned encoder): one per word of the vocabulary the shipped
    # training texts make, 256 wide.
    texts = [t.decode() for batch in reader.texts(
        [records.RecordSet.read(os.path.join(DATA, name))
         for name in ("labeled_sampled", "unlabeled_soft")])
        for t in batch.numpy()]
    vocabulary = student_init.vocabulary(texts)[0]
    for name in ("student_init.npz", "student_init_fine_tuned.npz"):
        words, vectors = student_init.load(os.path.join(DATA, name))
        assert words == vocabulary, name
        assert vectors.shape == (20000, 256) and np.isfinite(vectors).all()
    assert len(list(inputs.iter_examples(os.path.join(DATA, "test.tsv")))) \
        == 11661


def test_embeddings_recompute_with_keras_hub():
    # 12 rows of the shared embeddings (tests/data), recomputed here.
    embed = _example("embed")
    stored = np.load(os.path.join(ROOT, "tests", "data",
                                  "wordnet_minilm_rows.npz"))
    ours = embed.embedder(encoder_folder()).predict(
        stored["texts"].astype(object), verbose=0)
    shared = stored["embeddings"].astype(np.float32)
    cosine = np.sum(ours * shared, axis=1) / np.linalg.norm(shared, axis=1)
    assert np.all(cosine > 0.99), cosine


def test_quickstart_and_custom_student_run(tmp_path, capsys):
    work = str(tmp_path / "quick")
    assert _run_script("quickstart.sh", work) == [
        "teacher", "preprocess", "preprocess", "train", "export", "classify"]
    out = capsys.readouterr().out
    assert out.splitlines()[-8] == "a large natural stream of water"
    assert os.path.exists(os.path.join(work, "export",
                                       "model_token_ids.tflite"))
    custom = importlib.util.spec_from_file_location(
        "custom_student", os.path.join(EXAMPLES, "custom_student.py"))
    module = importlib.util.module_from_spec(custom)
    custom.loader.exec_module(module)
    module.main(work)
    assert os.path.exists(os.path.join(work, "my_student.keras"))


def test_multilabel_example_runs(tmp_path, capsys):
    work = str(tmp_path / "multi")
    assert _run_script("multilabel.sh", work) == [
        "teacher", "preprocess", "preprocess", "train", "train", "evaluate",
        "evaluate", "classify"]
    out = capsys.readouterr().out
    assert out.count("nDCG@5") == 2
    for folder in ("distilled", "labels_only"):
        metadata = os.path.join(work, folder, "export", "assets",
                                "multi_label.json")
        assert os.path.exists(metadata)
    record_set = records.RecordSet.read(os.path.join(work, "records",
                                                     "unlabeled"))
    assert record_set.multi_label and record_set.width == 5


@pytest.mark.skipif(not os.path.exists(DATA_NOUN),
                    reason="needs Debian's wordnet-base (.ci/run installs it)")
def test_prepare_multilabel_labels_glosses_with_their_ancestors(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(
        EXAMPLES, "wordnet", "prepare_multilabel.py"),
        f"--data_noun={DATA_NOUN}"], capture_output=True, check=True,
        text=True).stdout.splitlines()
    rows = {line.split("\t")[0]: line.split("\t")[2].split("|")
            for line in out}
    # A dog (02084071): its ancestors between 20 glosses and 5% of them,
    # nearest first (its two hypernyms, then theirs...).
    assert rows["02084071"][:6] == [
        "canine.02083346", "domestic_animal.01317541", "carnivore.02075296",
        "animal.00015388", "placental.01886756", "mammal.01861778"]
    assert "entity.00001740" not in {l for ls in rows.values() for l in ls}
    sample = os.path.join(EXAMPLES, "data", "multilabel_train.tsv")
    labels = {l for line in open(sample, encoding="utf-8")
              for l in line.rstrip("\n").split("\t")[1].split("|")}
    assert labels <= {l for ls in rows.values() for l in ls}


def test_debian_rows_keep_one_row_per_description():
    path = os.path.join(EXAMPLES, "debian", "prepare.py")
    spec = importlib.util.spec_from_file_location("debian_prepare", path)
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    index = "\n\n".join([
        "Package: python3-foo\nSection: python\nDescription: foo  for Python\n"
        " long text, dropped",
        "Package: python-foo-doc\nSection: doc\nDescription: foo for Python",
        "Package: pypy-foo\nSection: python\nDescription: foo for Python",
        "Package: bar\nSection: non-free/games\nDescription: a bar game",
        "Package: baz\nSection: misc\nDescription: a lone misc package",
        "Package: qux\nSection: games\nDescription: another game",
        "Package: nodesc\nSection: games"])
    rows = prepare.rows_of(index, min_count=1)
    # the shared description is one row, of its most common section (its
    # alphabetically first package there); the section's archive prefix
    # goes; no description, no row
    assert rows == [("bar", "a bar game", "games"),
                    ("baz", "a lone misc package", "misc"),
                    ("pypy-foo", "foo for Python", "python"),
                    ("qux", "another game", "games")]
    # sections with fewer rows than min_count go
    assert [r[0] for r in prepare.rows_of(index, min_count=2)] == [
        "bar", "qux"]


def test_encoder_student_example_runs(tmp_path, capsys):
    """examples/encoder_student.sh's commands on a stand-in for the bundle
    (conftest's 12 texts as records of the bundle's names) and the
    pretrained encoder (no teacher head beside it: the head starts at
    random)."""
    from tests.conftest import NAMES, TEXTS, write_record_set

    data, work = tmp_path / "data", tmp_path / "work"
    data.mkdir()
    work.mkdir()
    texts = [t for name in NAMES for t in TEXTS[name]]
    labels = [i // 4 for i in range(12)]
    write_record_set(str(data / "labeled_sampled"), texts, labels,
                     [[c] for c in labels], [[3.0]] * 12, 3, names=NAMES)
    write_record_set(str(data / "unlabeled_soft"), texts[:4], [-1] * 4,
                     [[0]] * 4, [[0.9]] * 4, 3, scores_kind="probabilities",
                     names=NAMES)
    for name in ("valid", "test"):
        (work / f"{name}.tsv").write_text("".join(
            f"{t}\t{NAMES[c]}\n" for t, c in zip(texts, labels)))
    script = open(os.path.join(EXAMPLES, "encoder_student.sh")).read()
    commands = [argv for argv in shell_commands(script, {
        "data": str(data), "work": str(work), "ENCODER": encoder_folder()})
        if argv[0] == "topk-distill"]
    assert [argv[1] for argv in commands] == ["train", "evaluate", "export",
                                              "classify"]
    for argv in commands:
        assert run_command(argv) == 0, argv
    out = capsys.readouterr().out
    assert "P@1" in out and "a small songbird" in out
    assert sorted(os.listdir(work / "export")) == [
        "assets", "fingerprint.pb", "labels.txt", "model_token_ids.tflite",
        "model_token_ids.tflite.vocab.txt", "saved_model.pb", "variables"]
