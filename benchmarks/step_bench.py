"""Time of one `DistillationStudent` training step at large N.

Usage: python benchmarks/step_bench.py [--classes=100000] [--batch_size=256]
       [--labeled_share=0.5] [--steps=20] [--repeats=5]

A random batch (`--labeled_share` of its rows labeled with top-20 teacher
scores, the rest unlabeled with a top-1 pseudo label) through the reference
student (`models.make_student`, embedding 64) and the compiled train step,
as `fit` runs it. Prints the median over repeats of the mean step time over
--steps steps (after one warm-up step that traces). Run it on two checkouts,
alternating, to compare two versions of the step (see BENCHMARKS.md).
"""

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from topk_distill import models, student


def make_batch(classes, batch_size, labeled_share, rng):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=100_000)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--labeled_share", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batch = make_batch(args.classes, args.batch_size, args.labeled_share, rng)
    texts = tf.data.Dataset.from_tensor_slices(batch["text"]).batch(64)
    model = student.DistillationStudent(
        models.make_student(texts, args.classes), args.classes)
    model.compile(optimizer="adam")
    step = tf.function(model.train_step)
    step(batch)
    means = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            logs = step(batch)
        float(logs["loss"])
        means.append((time.perf_counter() - start) / args.steps)
    median = 1000 * statistics.median(means)
    runs = ", ".join(f"{1000 * m:.1f}" for m in means)
    print(f"N={args.classes} batch={args.batch_size} labeled share="
          f"{args.labeled_share}: median step {median:.1f} ms (repeats: "
          f"{runs})")


if __name__ == "__main__":
    main()
