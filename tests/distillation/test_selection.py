"""selection.choose_student (`train --student=auto`): every candidate on
the labels alone and distilled, the best on validation kept."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES, ROWS, write_record_set
from topk_distill.distillation import selection
from topk_distill.inputs import inputs


@pytest.fixture
def labeled(tmp_path):
    return write_record_set(
        str(tmp_path / "lab"), [t for t, _ in ROWS], [y for _, y in ROWS],
        [[y, (y + 1) % 3] for _, y in ROWS], [[3.0, 1.0]] * len(ROWS), 3,
        names=NAMES)


def test_every_candidate_both_ways_and_the_best_kept(tmp_path, labeled,
                                                     labeled_tsv):
    out = tmp_path / "auto"
    ranked = selection.choose_student(
        str(out), labeled=labeled, validation=labeled_tsv, epochs=3,
        batch_size=4,
        learning_rate=0.05, latency_repeats=5, keep_candidates=True,
        verbose=0)
    table = json.loads((out / "choice.json").read_text())
    found = {(r["candidate"], r["training"]) for r in table["candidates"]}
    assert found == {(c, t) for c in ("mean", "bigram")
                     for t in ("labels only", "distilled")}
    assert sorted(os.listdir(out)) == ["candidates", "choice.json", "export",
                                       "history.json", "labels.txt",
                                       "student.keras"]
    # Each candidate kept whole; the output is the winner's copy.
    for row in ranked:
        assert (out / row["folder"] / "export" / "saved_model.pb").exists()
    assert (out / "student.keras").read_bytes() == (
        out / ranked[0]["folder"] / "student.keras").read_bytes()
    # The kept student is the chosen row's, and no row did better.
    texts, labels = zip(*inputs.iter_examples(labeled_tsv))
    student = keras.saving.load_model(str(out / "student.keras"))
    answers = np.argmax(student(tf.constant(texts)).numpy(), axis=1)
    top1 = np.mean([(NAMES[a],) == y for a, y in zip(answers, labels)])
    assert top1 == pytest.approx(ranked[0]["val_top1"])
    assert top1 >= max(r["val_top1"] for r in table["candidates"]) - 1e-6
    assert table["chosen"] == {k: ranked[0][k]
                               for k in ("candidate", "training")}


def test_a_budget_no_candidate_meets_is_refused_with_the_table_kept(
        tmp_path, labeled, labeled_tsv):
    out = tmp_path / "auto"
    with pytest.raises(ValueError, match="no candidate answers within "
                       "--max_latency_ms=1e-06"):
        selection.choose_student(str(out), labeled=labeled,
                                 validation=labeled_tsv,
                                 max_latency_ms=1e-6, epochs=1,
                                 batch_size=4, latency_repeats=3, verbose=0)
    assert sorted(os.listdir(out)) == ["choice.json"]
    assert json.loads((out / "choice.json").read_text())["chosen"] is None


def test_auto_needs_validation_and_an_empty_output(tmp_path, labeled):
    with pytest.raises(ValueError, match="needs --validation"):
        selection.choose_student(str(tmp_path / "a"), labeled=labeled)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty"):
        selection.choose_student(str(tmp_path / "b"), labeled=labeled,
                                 validation="v.tsv")
    assert (tmp_path / "b" / "keep.txt").read_text() == "mine"
