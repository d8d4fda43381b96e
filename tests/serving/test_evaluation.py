"""Accuracy at k and speed of an export."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES, TEXTS
from topk_distill.models import saved_model
from topk_distill.serving import evaluation


def test_evaluate_an_export(trained):
    model, folder = trained
    texts = [t for name in NAMES for t in TEXTS[name]]
    labels = [NAMES.index(name) for name in NAMES for _ in TEXTS[name]]
    result = evaluation.evaluate(str(folder / "export"), texts,
                                 [(label,) for label in labels],
                                 latency_repeats=5, throughput_batches=2)
    predicted = model(tf.constant(texts)).numpy().argmax(1)
    assert result["p@1"] == pytest.approx(np.mean(predicted == labels))
    assert result["examples"] == 12
    assert result["size_bytes"] == saved_model.saved_model_size(
        str(folder / "export"))
    assert result["throughput_per_s"] > 0 and result["latency_p50_ms"] > 0


def test_format_table_marks_missing_figures():
    table = evaluation.format_table([
        ("teacher", {"p@1": 0.4544}),
        ("a/very/long/path/to/the/distilled/export", {
            "p@1": 0.374, "latency_p50_ms": 0.4321, "size_bytes": 6_600_000})])
    header, rule, teacher, student = table.splitlines()
    assert header.split()[:3] == ["model", "P@1", "P@3"]
    assert set(rule) == {"-"} and len(rule) == len(header)
    assert teacher.split() == ["teacher", "0.454"] + ["n/a"] * 7
    assert student.split()[0] == "path/to/the/distilled/export"  # Last 28.
    assert student.split()[1:] == ["0.374", "n/a", "n/a", "n/a", "0.43",
                                   "n/a", "n/a", "6.60"]
