"""`topk-distill teacher`: the encoder teacher, and a folder to preprocess
with; its SavedModel loads in a fresh process (TF Text ops registered)."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.conftest import NAMES, encoder_folder, run_command
from topk_distill.records import records


def test_encoder_teacher_folder_preprocesses_and_classifies(tmp_path,
                                                            labeled_tsv,
                                                            capsys):
    out = tmp_path / "teacher"
    assert run_command(["topk-distill", "teacher", f"--input={labeled_tsv}",
                        f"--output={out}", f"--encoder={encoder_folder()}",
                        "--cross_fit_folds=2", "--epochs=3"]) == 0
    printed = capsys.readouterr().out
    assert f"saved {out}/cross_fit_logits.npy" in printed
    assert ("held-out top-1 on 1 examples (10% of the input, carved off): "
            "teacher ") in printed
    assert np.load(out / "cross_fit_logits.npy").shape == (12, 3)
    assert sorted(os.listdir(out)) == ["cross_fit_logits.npy", "labels.txt",
                                       "report.json", "saved_model"]
    prefix = str(tmp_path / "rec")
    assert run_command(["topk-distill", "preprocess", f"--teacher={out}",
                        f"--input={labeled_tsv}", f"--output={prefix}",
                        "--top_k=2", "--num_shards=1", "--unlabeled"]) == 0
    record_set = records.RecordSet.read(prefix)
    assert record_set.teacher["kind"] == "saved_model"
    assert record_set.labels == tuple(NAMES)
    # A fresh process, where nothing imported keras-hub: the SavedModel's
    # WordPiece tokenizer needs TensorFlow Text's ops registered.
    result = subprocess.run(
        [sys.executable, "-m", "topk_distill", "classify",
         f"--model={out}/saved_model", "--top_n=1", "--format=json",
         "a cat sat on the mat"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["labels"][0] in NAMES


def test_cross_fit_needs_two_folds(tmp_path, labeled_tsv, capsys):
    assert run_command(["topk-distill", "teacher", f"--input={labeled_tsv}",
                        f"--output={tmp_path}/t", "--cross_fit_folds=1"]) == 2
    assert "at least 2 folds" in capsys.readouterr().err
