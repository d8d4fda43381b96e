"""Preprocessing benchmark: bytes per example and time overhead over the teacher.

Usage: python benchmarks/preprocess_bench.py [--examples=20000] [--repeats=3]

Synthetic data at N=3000 classes, K=20: Zipf-distributed words, and the
reference teacher (`topk_distill.models.make_teacher`) untrained, which costs
as much per batch as a trained one, its logits scaled to a standard deviation
of 5 per example. Measures, alternating A and B in one run:

* A, the bare teacher forward pass: the same tf.data input batches through
  the teacher, outputs discarded;
* B, `preprocess` end to end: validate input, teacher, top-K, serialize,
  write shards and metadata.

Reports medians over repeats and the ratio B/A (of medians, of the fastest
runs, and the median of the per-pair ratios: this machine is shared and
noisy); teacher-output bytes per
example (float16 and float32 scores) against dense float32 (4N bytes); and
the effect of float16 storage on the soft targets softmax(z/T), T=2.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from topk_distill import inputs, models, preprocessing, reader
from topk_distill.teacher import Teacher

N, K, T = 3000, 20, 2.0


def synthetic_input(path, count, rng):
    vocab = [f"w{i}" for i in range(5000)]
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(count):
            words = rng.zipf(1.3, size=rng.integers(5, 30)) % len(vocab)
            f.write(" ".join(vocab[w] for w in words) + "\n")


def labeled_input_and_teacher(work, examples, rng):
    """Writes WORK/in.tsv (synthetic texts, labels uniform over N), its
    labels.txt and the reference teacher (untrained, fitted to the first
    5,000 texts) as WORK/teacher.keras; returns the three paths."""
    import keras

    path = os.path.join(work, "in.tsv")
    synthetic_input(path, examples, rng)
    lines = open(path, encoding="utf-8").read().splitlines()
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{t}\tc{y}\n" for t, y in zip(
            lines, rng.integers(0, N, size=examples)))
    labels = os.path.join(work, "labels.txt")
    inputs.write_labels(labels, [f"c{i}" for i in range(N)])
    keras.utils.set_random_seed(0)
    teacher_path = os.path.join(work, "teacher.keras")
    models.make_teacher(lines[:5000], N).save(teacher_path)
    return path, labels, teacher_path


def realistic_logits(z):
    """Scales logits to a standard deviation of 5 per example, as trained
    classifiers' are (an untrained head's are nearly all equal)."""
    mean, variance = tf.nn.moments(z, axes=[-1], keepdims=True)
    return 5.0 * (z - mean) / tf.sqrt(variance + 1e-12)


def bare_forward(teacher, path, batch_size):
    dataset = tf.data.Dataset.from_generator(
        lambda: preprocessing.text_batches(path, None, None, False,
                                           batch_size),
        output_signature=(tf.TensorSpec([None], tf.int64),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec([None], tf.int64)))
    dataset = dataset.map(lambda r, w, t, l: teacher(t, r)).prefetch(2)
    start = time.perf_counter()
    for _ in dataset:
        pass
    return time.perf_counter() - start


def timed_preprocess(teacher, path, labels, prefix, batch_size, **kwargs):
    start = time.perf_counter()
    _, summary = preprocessing.preprocess(
        teacher, path, labels, prefix, top_k=K, unlabeled=True,
        scores="logits", batch_size=batch_size, overwrite=True, verbose=0,
        **kwargs)
    return time.perf_counter() - start, summary


def float16_effect(prefix16, prefix32):
    def soft(prefix):
        batches = reader.make_dataset(prefix, 4096)
        return np.concatenate([tf.nn.softmax(b["topk_scores"] / T).numpy()
                               for b in batches])
    diff = np.abs(soft(prefix16) - soft(prefix32))
    return float(diff.max()), float(diff.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    work = tempfile.mkdtemp()
    path, labels = os.path.join(work, "in.txt"), os.path.join(work, "l.txt")
    synthetic_input(path, args.examples, rng)
    inputs.write_labels(labels, [f"c{i}" for i in range(N)])
    texts = [line for _, (line, _) in zip(range(5000),
                                          inputs.iter_examples(path))]
    model = models.make_teacher(texts, N)
    teacher = Teacher(lambda t, r: realistic_logits(model(t)), N, "logits",
                      {"kind": "benchmark"})
    bare, full = [], []
    for _ in range(args.repeats):
        bare.append(bare_forward(teacher, path, args.batch_size))
        seconds, summary16 = timed_preprocess(
            teacher, path, labels, os.path.join(work, "f16"), args.batch_size)
        full.append(seconds)
    _, summary32 = timed_preprocess(teacher, path, labels,
                                    os.path.join(work, "f32"), args.batch_size,
                                    score_dtype="float32")
    worst, mean = float16_effect(os.path.join(work, "f16"),
                                 os.path.join(work, "f32"))
    a, b = statistics.median(bare), statistics.median(full)
    bytes16 = summary16["teacher_bytes_per_example"]
    bytes32 = summary32["teacher_bytes_per_example"]
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}; "
          f"examples={args.examples} N={N} K={K} batch={args.batch_size} "
          f"repeats={args.repeats}")
    print(f"bare teacher forward: median {a:.2f} s "
          f"({args.examples / a:.0f} examples/s)  runs {bare}")
    print(f"preprocess end to end: median {b:.2f} s "
          f"({args.examples / b:.0f} examples/s)  runs {full}")
    print(f"overhead: preprocess / bare = {b / a:.3f} (medians), "
          f"{min(full) / min(bare):.3f} (fastest runs), "
          f"{statistics.median(f / x for f, x in zip(full, bare)):.3f} "
          "(median of paired runs)")
    print(f"teacher bytes/example: float16 {bytes16:.1f} "
          f"({4 * N / bytes16:.1f}x below dense {4 * N} B), float32 "
          f"{bytes32:.1f} ({4 * N / bytes32:.1f}x)")
    print(f"float16 vs float32 soft targets softmax(z/{T:g}): max abs diff "
          f"{worst:.2e}, mean {mean:.2e}")


if __name__ == "__main__":
    main()
