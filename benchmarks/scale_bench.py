"""Streaming at scale: preprocess and train at N=100,000 classes.

Usage: python benchmarks/scale_bench.py [--examples=100000,1000000]
       [--classes=100000] [--top_k=20] [--batch_size=256] [--epochs=1]

For each size, a synthetic labeled input is written to disk (texts of
Zipf-distributed words, Zipf-distributed labels), then two fresh processes
run, one after the other:

* preprocess: `preprocessing.preprocess` with a synthetic teacher, keeping
  the top-K of N scores per example, into 16 shards;
* train: `DistillationStudent` (reference student, `text_models.make_student`)
  for `--epochs` over those records (the hard and soft terms; the soft
  targets scattered to [batch, N] on the fly).

The synthetic teacher is a fixed random linear map of hashed word
embeddings (so its scores depend on the text alone), scaled to a standard
deviation of 5 per example, plus a Zipf log-prior over classes: a few
classes stand out over a long tail, as with a trained classifier. It costs
a [batch, 32] x [32, N] matmul per batch, far less than a real teacher, so
preprocess examples/s here is the pipeline's own ceiling (top-K over N,
serialization, writing).

Reported per size: examples/s of each step and its peak RSS (the process's
VmHWM, which includes TensorFlow itself). Streaming means peak RSS stays
flat as the number of examples grows: neither step holds the dataset or a
[num_examples, N] array.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

WORDS, DIM = 20_000, 32


def write_input(path, examples, classes, seed=0):
    """Writes `examples` lines of `text<TAB>label`, in chunks."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, examples, 10_000):
            count = min(10_000, examples - start)
            labels = (rng.zipf(1.2, size=count) - 1) % classes
            lengths = rng.integers(5, 30, size=count)
            words = (rng.zipf(1.3, size=int(lengths.sum())) - 1) % WORDS
            ends = np.cumsum(lengths)
            f.writelines(
                " ".join(f"w{w}" for w in words[end - n:end]) + f"\tc{y}\n"
                for end, n, y in zip(ends, lengths, labels))


def synthetic_teacher(classes, seed=0):
    import tensorflow as tf

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from preprocess_bench import realistic_logits
    from topk_distill.teachers.teacher import Teacher

    rng = np.random.default_rng(seed)
    table = tf.constant(rng.normal(size=(WORDS, DIM)), tf.float32)
    weights = tf.constant(rng.normal(size=(DIM, classes)), tf.float32)
    prior = tf.constant(-1.2 * np.log1p(np.arange(classes)), tf.float32)

    def scores(texts, rows):
        del rows
        words = tf.strings.split(texts)
        ids = tf.strings.to_hash_bucket_fast(words, WORDS)
        hidden = tf.reduce_mean(tf.gather(table, ids), axis=1)
        return realistic_logits(tf.matmul(hidden, weights)) + prior

    return Teacher(scores, classes, "logits",
                   {"kind": "synthetic", "path": "benchmarks/scale_bench.py",
                    "sha256": None})


def run_preprocess(work, args):
    from topk_distill.preprocessing import preprocessing

    start = time.perf_counter()
    preprocessing.preprocess(
        synthetic_teacher(args.classes), os.path.join(work, "in.tsv"),
        os.path.join(work, "labels.txt"), os.path.join(work, "rec"),
        top_k=args.top_k, num_shards=16, batch_size=args.batch_size,
        overwrite=True, verbose=0)
    return time.perf_counter() - start


def run_train(work, args):
    import keras

    from topk_distill.distillation import mixer, student
    from topk_distill.models import text_models
    from topk_distill.records import reader, records

    record_set = records.RecordSet.read(os.path.join(work, "rec"))
    keras.utils.set_random_seed(0)
    texts = reader.texts([record_set], 4096)
    model = student.DistillationStudent(
        text_models.make_student(texts, args.classes), args.classes)
    model.compile(optimizer="adam")
    data = mixer.make_distillation_dataset(record_set, None,
                                           batch_size=args.batch_size,
                                           seed=0)
    start = time.perf_counter()
    model.fit(data, epochs=args.epochs, verbose=0)
    return time.perf_counter() - start


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024


def child(args):
    """Runs one step in this process; prints its figures as JSON."""
    seconds = {"preprocess": run_preprocess, "train": run_train}[args.phase](
        args.work, args)
    examples = args.examples * (args.epochs if args.phase == "train" else 1)
    print(json.dumps({"phase": args.phase, "examples": args.examples,
                      "seconds": seconds, "examples_per_s": examples /
                      seconds, "peak_rss_mb": peak_rss_mb()}))


def measure(phase, work, examples, args):
    command = [sys.executable, os.path.abspath(__file__), f"--phase={phase}",
               f"--work={work}", f"--examples={examples}",
               f"--classes={args.classes}", f"--top_k={args.top_k}",
               f"--batch_size={args.batch_size}", f"--epochs={args.epochs}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{phase:10s} examples={examples:>9,d}: {result['seconds']:8.1f} s "
          f"{result['examples_per_s']:8.0f} examples/s  peak RSS "
          f"{result['peak_rss_mb']:6.0f} MB", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default="100000,1000000")
    parser.add_argument("--classes", type=int, default=100_000)
    parser.add_argument("--top_k", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--phase", choices=["preprocess", "train"])
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.phase:
        args.examples = int(args.examples)
        return child(args)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}; "
          f"N={args.classes} K={args.top_k} batch={args.batch_size} "
          f"epochs={args.epochs}", flush=True)
    results = []
    for examples in [int(n) for n in args.examples.split(",")]:
        with tempfile.TemporaryDirectory() as work:
            write_input(os.path.join(work, "in.tsv"), examples, args.classes)
            with open(os.path.join(work, "labels.txt"), "w") as f:
                f.writelines(f"c{i}\n" for i in range(args.classes))
            for phase in ("preprocess", "train"):
                results.append(measure(phase, work, examples, args))
    for phase in ("preprocess", "train"):
        rss = [r["peak_rss_mb"] for r in results if r["phase"] == phase]
        print(f"{phase}: peak RSS largest/smallest size = "
              f"{rss[-1] / rss[0]:.2f}")


if __name__ == "__main__":
    main()
