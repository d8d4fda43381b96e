"""Accuracy at k and speed of an export."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES, TEXTS
from topk_distill.models import saved_model
from topk_distill.serving import evaluation


def test_precision_at_k_by_hand():
    # 6 classes, answers best first; the true class is 1st, 2nd, 3rd, 4th,
    # 6th, or 1st.
    answers = np.array([[0, 1, 2, 3, 4, 5], [5, 1, 0, 2, 3, 4],
                        [4, 3, 2, 1, 0, 5], [1, 2, 0, 3, 4, 5],
                        [0, 1, 2, 3, 5, 4], [3, 0, 1, 2, 4, 5]])
    labels = np.array([0, 1, 2, 3, 4, 3])
    got = [evaluation.precision_at_k(answers, labels, k) for k in (1, 2, 3,
                                                                   5)]
    assert got == [2 / 6, 3 / 6, 4 / 6, 5 / 6]
    # Per class: 0: 1/1, 1: 0/1, 2: 0/1, 3: 1/2, 4: 0/1.
    assert evaluation.macro_precision_at_1(answers, labels) == pytest.approx(
        (1 + 0 + 0 + 0.5 + 0) / 5)


def test_evaluate_an_export(trained):
    model, folder = trained
    texts = [t for name in NAMES for t in TEXTS[name]]
    labels = np.array([NAMES.index(name) for name in NAMES
                       for _ in TEXTS[name]])
    result = evaluation.evaluate(str(folder / "export"), texts, labels,
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


def test_expected_calibration_error_by_hand():
    # Two bins used: [0.8, 0.867) holds 0.8 and 0.85 (1 of 2 right), the
    # last holds 0.95 and 0.99 (2 of 2 right).
    probabilities = np.array([[0.8, 0.2], [0.15, 0.85], [0.95, 0.05],
                              [0.01, 0.99]])
    labels = np.array([0, 0, 0, 1])
    want = (2 * abs(0.5 - 0.825) + 2 * abs(1.0 - 0.97)) / 4
    assert evaluation.expected_calibration_error(
        probabilities, labels, bins=15) == pytest.approx(want)
    assert evaluation.expected_calibration_error(
        np.eye(3), np.arange(3)) == 0.0
