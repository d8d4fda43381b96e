"""Storage: teacher-output bytes per example, top-K vs dense, as N grows.

Usage: python benchmarks/storage_bench.py [--examples=2000]

A synthetic teacher with long-tailed logits (Gumbel noise plus a Zipf-shaped
class prior) at N = 4,123 (the WordNet label count) and N = 100,000 runs
through `preprocess` with K=20 (float16 and float32 scores) and, at
N=4,123, in dense mode (all N float32 scores, no ids). The bytes are those
of the teacher's features in each serialized record (`serialize_batch`).
"""

import argparse
import os
import tempfile

import numpy as np
import tensorflow as tf

from topk_distill import inputs, preprocessing
from topk_distill.teacher import Teacher


def teacher(num_classes):
    prior = tf.constant(-np.log(np.arange(1, num_classes + 1)), tf.float32)

    def scores(texts, rows):
        noise = -tf.math.log(-tf.math.log(tf.random.uniform(
            [tf.shape(texts)[0], num_classes], 1e-7, 1.0)))
        return 3.0 * noise + prior

    return Teacher(scores, num_classes, "logits", {"kind": "synthetic"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    path = os.path.join(work, "in.txt")
    with open(path, "w") as f:
        f.writelines(f"text {i}\n" for i in range(args.examples))
    print(f"machine: {os.cpu_count()} cores; examples={args.examples}")
    print("| N | K | scores | teacher bytes/example | dense float32 (4N) | "
          "ratio |")
    print("|---|---|---|---|---|---|")
    for num_classes in (4123, 100_000):
        labels = os.path.join(work, f"labels{num_classes}.txt")
        inputs.write_labels(labels, [f"c{i}" for i in range(num_classes)])
        runs = [(20, "float16"), (20, "float32")]
        if num_classes < 10_000:
            runs.append((0, "float32"))
        for top_k, dtype in runs:
            _, summary = preprocessing.preprocess(
                teacher(num_classes), path, labels,
                os.path.join(work, f"r{num_classes}_{top_k}_{dtype}"),
                top_k=top_k, unlabeled=True, scores="logits",
                score_dtype=dtype, num_shards=1, verbose=0)
            per = summary["teacher_bytes_per_example"]
            print(f"| {num_classes:,} | {top_k or 'N (dense)'} | {dtype} | "
                  f"{per:,.1f} | {4 * num_classes:,} | "
                  f"{4 * num_classes / per:,.1f}x |")


if __name__ == "__main__":
    main()
