"""Pseudo labels kept by the teacher's confidence (`train --min_confidence`),
from a strong teacher and from a weak one.

Usage:
  python benchmarks/confidence.py --data=/tmp/debian --work=/tmp/confidence \
    [--thresholds=0,0.5,0.8] [--seeds=1] [--report]

The strong teacher is fine_tune_teacher.py's (WORK_DATA/fine_tuned); the
weak one a linear head on the pretrained encoder's sentence embeddings
(examples/wordnet/embed.py's, DATA/debian_minilm_l6.npy), trained here on
the labeled split (30 epochs, Adam 1e-3) and saved as DATA/frozen/*_logits
.npy, which fine_tuned_students.py turns into the same record sets (`infold`
labeled targets, `unl_soft` pseudo targets). For each teacher and threshold,
`train_student` (train's default student, loss and fit) trains on them with
early stopping on defaults.py's validation half; its P@1 on the test half
is reported beside the same student on the labels alone and the teacher's
own. Cached in WORK/confidence.json by code version.
"""

import argparse
import os
import sys

import keras
import numpy as np

import common
import defaults
import fine_tuned_students
import wordnet_accuracy
from topk_distill.distillation import training


sys.path.insert(0, os.path.join(fine_tuned_students.ROOT, "examples",
                                "wordnet"))
import data  # noqa: E402


def weak_teacher(folder):
    """DATA/frozen/{labeled,unlabeled,test}_logits.npy: a linear head on
    the pretrained encoder's embeddings."""
    out = os.path.join(folder, "frozen")
    if os.path.exists(os.path.join(out, "test_logits.npy")):
        return
    texts, classes = data.load(os.path.join(folder, "debian_packages.tsv"))
    names, labels = data.class_ids(classes)
    parts = data.split(len(texts))
    vectors = np.load(os.path.join(folder, "debian_minilm_l6.npy")).astype(
        np.float32)
    keras.utils.set_random_seed(0)
    head = keras.Sequential([keras.Input((vectors.shape[1],)),
                             keras.layers.Dense(len(names))])
    head.compile(optimizer=keras.optimizers.Adam(1e-3),
                 loss=keras.losses.SparseCategoricalCrossentropy(
                     from_logits=True))
    train = parts["labeled"]
    head.fit(vectors[train], labels[train], epochs=30, batch_size=128,
             verbose=0)
    os.makedirs(out, exist_ok=True)
    for split, rows in parts.items():
        np.save(os.path.join(out, f"{split}_logits.npy"),
                head.predict(vectors[rows], verbose=0).astype(np.float16))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--thresholds", default="0,0.5,0.8")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    weak_teacher(args.data)
    version = wordnet_accuracy.code_version(
        defaults.MODULES + ("training", "training_config"),
        [os.path.abspath(__file__)])
    results = common.Results(os.path.join(args.work, "confidence.json"),
                             version)
    labeled, _, names, _, valid, test = defaults.dataset(args.data,
                                                         args.work)
    valid_path = defaults.write_valid(args.work, names, valid)
    keep = fine_tuned_students.split_files(
        args.data, os.path.join(args.data, "debian_packages.tsv"), 0.0)
    jobs = [("labels only", None, 0.0)]
    for teacher in ("fine_tuned", "frozen"):
        for threshold in map(float, args.thresholds.split(",")):
            jobs.append((teacher, teacher, threshold))
    for seed in range(0 if args.report else args.seeds):
        for name, teacher, threshold in jobs:
            def run():
                made = fine_tuned_students.make_records(
                    args.data, teacher or "fine_tuned", keep, 0.0)
                folder = os.path.join(args.work, "student")
                history = training.train_student(
                    folder, labeled=made["infold"],
                    unlabeled=None if teacher is None else made["unl_soft"],
                    baseline="hard" if teacher is None else None,
                    validation=valid_path, min_confidence=threshold,
                    seed=seed, verbose=0)
                kept = training.kept_epoch(history)
                row = dict(test_top1=defaults.test_top1(folder, test),
                           val_top1=history.history["val_top1"][kept - 1],
                           epoch=kept)
                print(f"{name} min_confidence {threshold:g} seed {seed}: "
                      f"{row}", flush=True)
                return row

            results.get_or_run((name, f"{threshold:g}", seed), run)
    results = results.data
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}\n")
    print("| teacher | teacher's test P@1 | min_confidence | valid P@1 | "
          "test P@1 | epoch |")
    print("|---|---|---|---|---|---|")
    half = len(test[0])
    for name, teacher, threshold in jobs:
        found = [v for k, v in results.items() if k.startswith(
            f"{name}|{threshold:g}|") and k.endswith(version)]
        if not found:
            continue
        mine = "-"
        if teacher:
            logits = np.load(os.path.join(args.data, teacher,
                                          "test_logits.npy"))
            rows = np.random.default_rng(0).permutation(len(logits))
            mine = f"{np.mean(np.argmax(logits[rows[-half:]], 1) == test[1]):.4f}"
        print(f"| {name} | {mine} | {threshold:g} | "
              f"{np.mean([r['val_top1'] for r in found]):.4f} | "
              f"{np.mean([r['test_top1'] for r in found]):.4f} | "
              f"{found[0]['epoch']} |")


if __name__ == "__main__":
    sys.exit(main())
