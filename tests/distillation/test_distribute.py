"""Clusters: the strategy TF_CONFIG asks for, who writes, two workers on
loopback training together."""

import json
import os
import re
import subprocess
import sys
import types

import pytest
import tensorflow as tf

from tests.conftest import NAMES, ROWS, write_record_set
from topk_distill.distillation import distribute
from topk_distill.records.records import RecordSet


def _cluster(workers):
    return json.loads(distribute.loopback_configs(workers)[0])["cluster"]


def test_two_workers_train_together(tmp_path):
    labeled = write_record_set(
        str(tmp_path / "lab"), [t for t, _ in ROWS], [y for _, y in ROWS],
        [[y, (y + 1) % 3] for _, y in ROWS], [[3.0, 1.0]] * len(ROWS), 3,
        num_shards=2, names=NAMES)
    unlabeled = write_record_set(
        str(tmp_path / "unl"), [t for t, _ in ROWS], [-1] * len(ROWS),
        [[y] for _, y in ROWS], [[0.9]] * len(ROWS), 3,
        scores_kind="probabilities", num_shards=2, names=NAMES)
    out = tmp_path / "student"
    procs = []
    for config in distribute.loopback_configs(2):
        env = dict(os.environ, CI="true", TF_CONFIG=config)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "topk_distill", "train",
             f"--labeled={labeled}", f"--unlabeled={unlabeled}",
             f"--output={out}", "--epochs=2",
             "--batch_size=6", "--embedding_dim=8", "--learning_rate=0.05"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True))
    logs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    # 12 labeled examples, 3 per global batch of 6: 4 steps an epoch, each
    # worker taking its half of every batch from its own shard.
    for log in logs:
        assert re.findall(r"^(\d+/\d+) - ", log, re.M) == ["4/4", "4/4"], log
    history = json.loads((out / "history.json").read_text())["history"]
    assert len(history["loss"]) == 2 and history["loss"][1] < history[
        "loss"][0]
    assert history["pseudo_loss"][0] > 0 and history["soft_loss"][0] > 0
    # Worker 0 wrote the output; worker 1 wrote nothing; no backups remain.
    assert sorted(os.listdir(out)) == ["export", "history.json", "labels.txt",
                                       "student.keras"]
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["lab-00000-of-00002.tfrecord", "lab-00001-of-00002.tfrecord",
         "lab.meta.json", "unl-00000-of-00002.tfrecord",
         "unl-00001-of-00002.tfrecord", "unl.meta.json", "student"])


def _strategy(cluster, task_type, task_id):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
    return types.SimpleNamespace(cluster_resolver=resolver)


def test_worker_names_and_the_chief():
    workers = _cluster(3)
    assert distribute.worker_name(_strategy(workers, "worker", 0)) is None
    assert distribute.worker_name(_strategy(workers, "worker", 1)) == \
        "worker-1"
    with_chief = dict(workers, chief=["127.0.0.1:1"])
    assert distribute.worker_name(_strategy(with_chief, "worker", 0)) == \
        "worker-0"
    assert distribute.worker_name(_strategy(with_chief, "chief", 0)) is None
    assert distribute.num_workers(_strategy(with_chief, "chief", 0)) == 4
    assert distribute.worker_name(tf.distribute.get_strategy()) is None


def test_too_few_shards_for_the_workers():
    strategy = _strategy(_cluster(3), "worker", 1)
    spec = RecordSet(kind="labeled", num_classes=3, width=1, num_shards=2,
                     prefix="rec")
    with pytest.raises(ValueError, match=r"rec: 2 shard\(s\) for 3 "
                       "workers.*--num_shards"):
        distribute.check_shards_per_worker(spec, strategy)
    distribute.check_shards_per_worker(
        RecordSet(kind="labeled", num_classes=3, width=1, num_shards=3),
        strategy)


def test_bad_tf_config_is_named(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG='{not json': expected "
                       "JSON with \"cluster\""):
        distribute.strategy_from_environment()


def test_importing_the_package_leaves_tensorflow_unconfigured():
    # MultiWorkerMirroredStrategy must configure collective ops before
    # TensorFlow's eager context starts: importing the package must not
    # start it (a module-level tf.constant once did).
    modules = ", ".join(f"topk_distill.{m}" for m in (
        "records.codec", "records.shards", "records.reader",
        "distillation.mixer", "distillation.student", "models.saved_model",
        "models.tflite_export", "preprocessing.preprocessing",
        "distillation.training", "serving.classification"))
    code = ("import tensorflow as tf\n"
            "from tensorflow.python.eager import context\n"
            f"import {modules}\n"
            "print(context.context()._initialized)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip().endswith("False")
