"""Crash-safe, resumable preprocessing: SIGKILL mid-run, resume, same bytes."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from topk_distill import inputs, records
from topk_distill.preprocessing import preprocess
from topk_distill.teacher import load_teacher

SCRIPT = """
import sys, time
import tensorflow as tf
from topk_distill.preprocessing import preprocess
from topk_distill.teacher import load_teacher

teacher = load_teacher(sys.argv[1])
fast = teacher.fn

def slow(texts, rows):  # 0.2 s a batch, so the run can be killed mid-way
    tf.py_function(lambda: time.sleep(0.2), [], [])
    return fast(texts, rows)

teacher.fn = slow
preprocess(teacher, sys.argv[2], sys.argv[3], sys.argv[4], top_k=3,
           num_shards=6, batch_size=10, unlabeled=True, verbose=0)
"""


@pytest.fixture
def setup(tmp_path, rng):
    texts = tmp_path / "in.tsv"
    texts.write_text("".join(f"text number {i}\n" for i in range(120)))
    labels = tmp_path / "labels.txt"
    inputs.write_labels(str(labels), [f"c{i}" for i in range(7)])
    scores = tmp_path / "scores.npy"
    np.save(scores, rng.normal(size=(120, 7)).astype(np.float32))
    return str(scores), str(texts), str(labels)


def _files(prefix):
    folder, name = os.path.split(prefix)
    return {f: open(os.path.join(folder, f), "rb").read()
            for f in sorted(os.listdir(folder)) if f.startswith(name + "-")}


def _args(setup, prefix):
    scores, texts, labels = setup
    return (load_teacher(scores), texts, labels, prefix)


def _run(setup, prefix, **kwargs):
    return preprocess(*_args(setup, prefix), unlabeled=True, verbose=0,
                      **kwargs)


def test_sigkill_then_resume_gives_identical_output(tmp_path, setup):
    killed = str(tmp_path / "killed" / "out")
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, *setup, killed])
    first_shard = records.shard_path(killed, 0, 6)
    deadline = time.time() + 120
    while not os.path.exists(first_shard) and process.poll() is None:
        assert time.time() < deadline, "the run never completed a shard"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not os.path.exists(records.metadata_path(killed))
    assert os.path.exists(killed + ".run.json")
    left = _files(killed)
    assert 1 <= sum(not f.endswith(".tmp") for f in left) < 6
    summary = preprocess(*_args(setup, killed), top_k=3, num_shards=6,
                         batch_size=10, resume=True, unlabeled=True,
                         verbose=0)
    assert summary["resumed_at_shard"] >= 1
    clean = str(tmp_path / "clean" / "out")
    preprocess(*_args(setup, clean), top_k=3, num_shards=6, batch_size=10,
               unlabeled=True, verbose=0)
    assert {k: v for k, v in _files(killed).items()} == _files(clean)
    assert not os.path.exists(killed + ".run.json")
    meta = [json.load(open(p + ".meta.json")) for p in (killed, clean)]
    for m in meta:
        m.pop("created"), m.pop("command")
    assert meta[0] == meta[1]


def test_resume_refuses_another_run(tmp_path, setup, rng):
    prefix = str(tmp_path / "out")
    _run(setup, prefix, top_k=3, num_shards=2)
    with pytest.raises(ValueError, match="top_k differ"):
        _run(setup, prefix, top_k=2, num_shards=2, resume=True)
    scores, texts, labels = setup
    other = tmp_path / "other.npy"
    np.save(other, rng.normal(size=(120, 7)).astype(np.float32))
    with pytest.raises(ValueError, match="teacher differ"):
        preprocess(load_teacher(str(other)), texts, labels, prefix, top_k=3,
                   num_shards=2, resume=True, unlabeled=True, verbose=0)
    # The same run again has nothing left to do and keeps the shards.
    before = _files(prefix)
    summary = _run(setup, prefix, top_k=3, num_shards=2, resume=True)
    assert summary["resumed_at_shard"] == 2 and _files(prefix) == before
