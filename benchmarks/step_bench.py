"""Time of one training step at large N: distillation vs the hard-label floor.

Usage: python benchmarks/step_bench.py [--classes=100000] [--batch_size=256]
       [--labeled_share=0.5] [--steps=20] [--rounds=5]
       [--baseline_tree=DIR] [--jit]

A random batch (`--labeled_share` of its rows labeled with top-20 teacher
scores, the rest unlabeled with a top-1 pseudo label) through the reference
student (`text_models.make_student`, embedding 64) and a compiled train step,
as `fit` runs it:

* distill: `DistillationStudent.train_step` (the three terms);
* hard: the floor, the same student compiled by Keras with
  `SparseCategoricalCrossentropy` and the same top-1/top-5 metrics, trained
  on the labeled rows' labels (unlabeled rows' labels taken as their top-1
  pseudo label, so the batch has the same size);
* with --jit, also distill compiled with `jit_compile=True` (XLA);
* with --baseline_tree=DIR[,DIR...], also distill with the package of
  other checkouts (e.g. `git worktree`s of older commits), named by their
  folder.

Each timing is a fresh process (the mean step time over --steps steps,
after one warm-up step that traces); the variants alternate within each of
--rounds rounds. Reported: each variant's median, and each ratio to
`distill` as the median over rounds of the paired ratio, with min and max.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_batch(classes, batch_size, labeled_share, rng):
    import tensorflow as tf

    labeled = rng.random(batch_size) < labeled_share
    ids = np.stack([rng.choice(classes, 20, replace=False)
                    for _ in range(batch_size)])
    scores = -np.sort(rng.random((batch_size, 20)), axis=1) * 5
    ids[~labeled, 1:], scores[~labeled, 1:] = -1, 0.0
    return {"text": tf.constant([f"w{i} w{i % 7} w{i % 13}"
                                 for i in range(batch_size)]),
            "label": tf.constant(np.where(labeled, ids[:, 0], -1), tf.int64),
            "topk_ids": tf.constant(ids, tf.int64),
            "topk_logits": tf.constant(scores, tf.float32)}


def child(args):
    import keras
    import tensorflow as tf

    from topk_distill.distillation import student
    from topk_distill.models import text_models

    keras.utils.set_random_seed(0)
    batch = make_batch(args.classes, args.batch_size, args.labeled_share,
                       np.random.default_rng(0))
    texts = tf.data.Dataset.from_tensor_slices(batch["text"]).batch(64)
    small = text_models.make_student(texts, args.classes)
    if args.child == "hard":
        model = small
        model.compile(
            optimizer="adam", jit_compile=False,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1"),
                     keras.metrics.SparseTopKCategoricalAccuracy(
                         5, name="top5")])
        data = (batch["text"], batch["topk_ids"][:, 0])
    else:
        model = student.DistillationStudent(small, args.classes)
        model.compile(optimizer="adam", jit_compile=args.child == "jit")
        data = batch
    model.make_train_function()
    step = model.train_function
    single = tf.data.Dataset.from_tensors(data).repeat()
    iterator = iter(single)
    step(iterator)
    start = time.perf_counter()
    for _ in range(args.steps):
        logs = step(iterator)
    float(logs["loss"])
    print(json.dumps({"ms": 1000 * (time.perf_counter() - start) /
                      args.steps}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=100_000)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--labeled_share", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline_tree")
    parser.add_argument("--jit", action="store_true")
    parser.add_argument("--child", choices=["distill", "hard", "jit"])
    args = parser.parse_args()
    if args.child:
        return child(args)
    variants = {"distill": (ROOT, "distill"), "hard": (ROOT, "hard")}
    if args.jit:
        variants["jit"] = (ROOT, "jit")
    for tree in (args.baseline_tree or "").split(","):
        if tree:
            variants[os.path.basename(os.path.abspath(tree))] = (
                os.path.abspath(tree), "distill")
    settings = [f"--classes={args.classes}",
                f"--batch_size={args.batch_size}",
                f"--labeled_share={args.labeled_share}",
                f"--steps={args.steps}"]
    runs = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (tree, kind) in variants.items():
            env = dict(os.environ, PYTHONPATH=tree)
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", kind]
                + settings, env=env, capture_output=True, text=True,
                check=True).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1])["ms"])
    print(f"machine: {os.cpu_count()} cores; N={args.classes} batch="
          f"{args.batch_size} labeled share={args.labeled_share} "
          f"rounds={args.rounds}")
    for name, times in runs.items():
        line = (f"{name:>8}: median step {statistics.median(times):.1f} ms "
                f"(runs {', '.join(f'{t:.1f}' for t in times)})")
        if name != "distill":
            ratios = [d / t for d, t in zip(runs["distill"], times)]
            middle = statistics.median(ratios)
            line += (f"; distill / {name}: median {middle:.3f} (min "
                     f"{min(ratios):.3f}, max {max(ratios):.3f})")
        print(line, flush=True)


if __name__ == "__main__":
    main()
