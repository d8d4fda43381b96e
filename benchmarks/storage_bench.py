"""Storage: teacher-output bytes per example, by kind and encoding, as N grows.

Usage: python benchmarks/storage_bench.py [--examples=2000]

A synthetic teacher with long-tailed logits (Gumbel noise plus a Zipf-shaped
class prior) at N = 4,123 (the WordNet label count) and N = 100,000 runs
through `preprocess`: top-20 (float16, float32 and q8), 20 sampled draws
at T=2 (q8), the mix of the 5 best + 15 draws (q8) and, at N=4,123, dense
mode (all N float32 scores, no ids). The bytes are those of the teacher's
features in each serialized record (`codec.serialize_batch`), framing
included; "classes" is the mean number of classes a record stores.
"""

import argparse
import os
import tempfile

import numpy as np
import tensorflow as tf

from topk_distill.inputs import labels_file
from topk_distill.preprocessing import preprocessing
from topk_distill.records import reader
from topk_distill.teachers.teacher import Teacher


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
    print("| N | targets | encoding | classes stored | teacher bytes/example |"
          " dense float32 (4N) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for num_classes in (4123, 100_000):
        labels = os.path.join(work, f"labels{num_classes}.txt")
        labels_file.write_labels(labels, [f"c{i}" for i in range(num_classes)])
        top20 = dict(top_k=20, scores="logits")
        runs = [("top-20", top20, "float16"), ("top-20", top20, "float32"),
                ("top-20", top20, "q8"),
                ("20 draws, T=2", dict(targets="sampled", samples=20), "q8"),
                ("5 best + 15 draws, T=2",
                 dict(targets="mixed", top_k=5, samples=15), "q8")]
        if num_classes < 10_000:
            runs.append(("dense (N)", dict(top_k=0, scores="logits"),
                         "float32"))
        for index, (name, kwargs, dtype) in enumerate(runs):
            record_set, summary = preprocessing.preprocess(
                teacher(num_classes), path, labels,
                os.path.join(work, f"r{num_classes}_{index}"),
                unlabeled=True, score_dtype=dtype, num_shards=1, verbose=0,
                sampling_temperature=2.0, **kwargs)
            per = summary["teacher_bytes_per_example"]
            stored = np.mean([np.sum(b["topk_ids"].numpy() >= 0, axis=1)
                              for b in reader.make_dataset(record_set,
                                                           args.examples)])
            print(f"| {num_classes:,} | {name} | {dtype} | {stored:.1f} | "
                  f"{per:,.1f} | {4 * num_classes:,} | "
                  f"{4 * num_classes / per:,.1f}x |")


if __name__ == "__main__":
    main()
