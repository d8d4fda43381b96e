"""`topk-distill evaluate`: an export's accuracy and speed on a test file."""

import json

import numpy as np
import tensorflow as tf

from tests.conftest import NAMES, run_command
from topk_distill.inputs import labels_file


def test_evaluate_prints_json_and_a_table(trained, labeled_tsv, capsys):
    model, folder = trained
    export = str(folder / "export")
    assert run_command(["topk-distill", "evaluate", f"--model={export}",
                        f"--test={labeled_tsv}", "--format=json",
                        "--latency_repeats=5"]) == 0
    result = json.loads(capsys.readouterr().out)
    texts, labels = labels_file.read_labeled(labeled_tsv, NAMES)
    want = np.mean(model(tf.constant(texts)).numpy().argmax(1) ==
                   labels_file.class_ids(labels))
    assert result["examples"] == 12 and result["p@1"] == want
    assert result["model"] == export
    assert run_command(["topk-distill", "evaluate", f"--model={export}",
                        f"--test={labeled_tsv}", "--latency_repeats=5"]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    assert row[0] == export[-28:] and float(row[1]) == round(want, 3)
