"""Preprocessing benchmark: bytes per example and time over the bare teacher.

Usage: python benchmarks/preprocess_bench.py [--classes=4123,100000]
       [--teachers=reference,minilm] [--examples=20000] [--bare=function]
       [--minilm_examples=1024] [--rounds=5] [--work=DIR] [--report]

Synthetic input (Zipf-distributed words), for each N in --classes and each
teacher in --teachers:

* reference: the reference teacher (`text_models.make_teacher`: TF-IDF over
  uni- and bigrams, a 512-unit MLP), untrained, logits scaled to a
  standard deviation of 5 per example: a cheap teacher, so the pipeline's
  own costs show;
* minilm: all-MiniLM-L6-v2 with a head of N classes
  (`encoder_models.make_encoder_teacher`), the kind of teacher the package is
  for (--minilm_examples texts: it runs at about 40 texts/s here).

Alternating A and B in each of --rounds rounds, each timing in a fresh
process (the teacher is built there, seeded and untimed):

* A, the bare teacher forward pass: the same tf.data input batches through
  the teacher (a `tf.function`, as `preprocess` calls it), outputs
  discarded, timed from building the input pipeline (tracing included);
* B, `preprocess` end to end: input check, teacher, top-K (K=20), float16
  scores, serialization, shards and metadata.

Reports each median and B/A as the median of the paired rounds' ratios with
min and max (the target is <= 1.05). Results are cached in
--work/preprocess_bench.json by N, teacher, settings, round and code
version (a hash of the package modules and this file). For the first N and
teacher it also reports teacher-output bytes per example (float16 and
float32) against dense float32 (4N), and the effect of float16 storage on
the soft targets softmax(z/T), T=2.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import tensorflow as tf

from topk_distill.inputs import inputs, labels_file
from topk_distill.models import text_models
from topk_distill.preprocessing import input_batches, preprocessing
from topk_distill.records import reader
from topk_distill.teachers.teacher import Teacher

N, K, T = 3000, 20, 2.0
HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ("preprocessing", "scoring", "codec", "shards", "records",
           "inputs", "teacher", "packing")


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
    labels_file.write_labels(labels, [f"c{i}" for i in range(N)])
    keras.utils.set_random_seed(0)
    teacher_path = os.path.join(work, "teacher.keras")
    text_models.make_teacher(lines[:5000], N).save(teacher_path)
    return path, labels, teacher_path


def realistic_logits(z):
    """Scales logits to a standard deviation of 5 per example, as trained
    classifiers' are (an untrained head's are nearly all equal)."""
    mean, variance = tf.nn.moments(z, axes=[-1], keepdims=True)
    return 5.0 * (z - mean) / tf.sqrt(variance + 1e-12)


def bare_forward(teacher, path, batch_size, in_map=False):
    """The teacher alone over the same input batches, run as `preprocess`
    runs it (tf.data reads the input, prefetched; the teacher is a
    `tf.function` called on each batch), timed from building the input
    pipeline, tracing included, as `preprocess`'s time is. `in_map`: the
    teacher inside the tf.data pipeline's `map` instead, as `preprocess`
    ran it before."""
    start = time.perf_counter()
    dataset = input_batches.input_dataset(path, None, None, False,
                                          batch_size)
    if in_map:
        for _ in dataset.map(lambda r, w, t, l: teacher(t, r)).prefetch(2):
            pass
        return time.perf_counter() - start
    dataset = dataset.prefetch(2)
    rows_spec, _, texts_spec, _ = dataset.element_spec
    forward = tf.function(lambda rows, texts: teacher(texts, rows),
                          input_signature=(rows_spec, texts_spec),
                          autograph=False)
    for rows, _, texts, _ in dataset:
        forward(rows, texts)
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


def make_teacher(kind, classes, path):
    """The benchmark's teacher of N=`classes`: see the module docstring;
    seeded, so that every process builds the same one."""
    import keras

    from topk_distill.models import encoder_models, text_models

    keras.utils.set_random_seed(0)

    if kind == "reference":
        texts = [line for _, (line, _) in zip(range(5000),
                                              inputs.iter_examples(path))]
        model = text_models.make_teacher(texts, classes)
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples",
                                        "wordnet"))
        from embed import default_encoder

        model = encoder_models.make_encoder_teacher(default_encoder(), classes)
    return Teacher(lambda t, r: realistic_logits(model(t)), classes,
                   "logits", {"kind": "benchmark"})


def child(args):
    """Times one run (bare or preprocess) in this fresh process; prints JSON."""
    labels = os.path.join(args.work, f"labels{args.classes}.txt")
    teacher = make_teacher(args.teachers, args.classes, args.input)
    if args.child in ("bare", "bare_map"):
        print(json.dumps({"seconds": bare_forward(
            teacher, args.input, args.batch_size,
            in_map=args.child == "bare_map")}))
        return
    seconds, summary = timed_preprocess(
        teacher, args.input, labels, os.path.join(args.work, "f16"),
        args.batch_size)
    print(json.dumps({"seconds": seconds,
                      "bytes16": summary["teacher_bytes_per_example"]}))


def run_child(kind, classes, teacher, path, args):
    import subprocess

    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), f"--child={kind}",
         f"--classes={classes}", f"--teachers={teacher}", f"--input={path}",
         f"--work={args.work}", f"--batch_size={args.batch_size}"],
        capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="4123,100000")
    parser.add_argument("--teachers", default="reference,minilm")
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--minilm_examples", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--work", default="/tmp/preprocess_bench")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--bare", choices=["function", "map"],
                        default="function",
                        help="A: the teacher as a tf.function on the input "
                        "batches (as preprocess runs it), or inside the "
                        "tf.data map (as preprocess ran it before)")
    parser.add_argument("--child", choices=["bare", "bare_map", "full"])
    parser.add_argument("--input")
    args = parser.parse_args()
    if args.child:
        args.classes = int(args.classes)
        return child(args)
    sys.path.insert(0, HERE)
    import wordnet_accuracy

    version = wordnet_accuracy.code_version(MODULES,
                                            [os.path.abspath(__file__)])
    os.makedirs(args.work, exist_ok=True)
    cache = os.path.join(args.work, "preprocess_bench.json")
    results = json.load(open(cache)) if os.path.exists(cache) else {}
    rng = np.random.default_rng(0)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}; K={K} "
          f"batch={args.batch_size} rounds={args.rounds}; code version "
          f"{version}", flush=True)
    first = True
    for classes in [int(n) for n in args.classes.split(",")]:
        labels = os.path.join(args.work, f"labels{classes}.txt")
        labels_file.write_labels(labels, [f"c{i}" for i in range(classes)])
        for kind in args.teachers.split(","):
            examples = (args.minilm_examples if kind == "minilm" else
                        args.examples)
            path = os.path.join(args.work, f"in{examples}.txt")
            if not os.path.exists(path):
                synthetic_input(path, examples, rng)
            settings = (f"N={classes}|{kind}|examples={examples}|"
                        f"batch={args.batch_size}|"
                        + ("bare_map|" if args.bare == "map" else "")
                        + version)
            for r in range(args.rounds):
                key = f"{settings}|{r}"
                if key in results or args.report:
                    continue
                bare = run_child("bare_map" if args.bare == "map" else
                                 "bare", classes, kind, path, args)
                full = run_child("full", classes, kind, path, args)
                results[key] = {"bare": bare["seconds"],
                                "full": full["seconds"],
                                "bytes16": full["bytes16"]}
                with open(cache, "w") as f:
                    json.dump(results, f, indent=1)
            found = [results[f"{settings}|{r}"] for r in range(args.rounds)
                     if f"{settings}|{r}" in results]
            if not found:
                continue
            ratios = [x["full"] / x["bare"] for x in found]
            bare = statistics.median(x["bare"] for x in found)
            full = statistics.median(x["full"] for x in found)
            middle = statistics.median(ratios)
            print(f"N={classes} {kind} ({examples} texts, {len(found)} "
                  f"rounds): bare teacher"
                  + (" (in the tf.data map)" if args.bare == "map" else "")
                  + f" {bare:.2f} s ({examples / bare:.0f}"
                  f" examples/s), preprocess {full:.2f} s "
                  f"({examples / full:.0f} examples/s); preprocess / bare: "
                  f"median of paired rounds {middle:.3f} (min "
                  f"{min(ratios):.3f}, max {max(ratios):.3f}): "
                  + ("met" if middle <= 1.05 else
                     f"missed by {middle / 1.05 - 1:.1%}") + " (<= 1.05)",
                  flush=True)
            if first and not args.report:
                first = False
                teacher = make_teacher(kind, classes, path)
                _, summary32 = timed_preprocess(
                    teacher, path, labels, os.path.join(args.work, "f32"),
                    args.batch_size, score_dtype="float32")
                worst, mean = float16_effect(os.path.join(args.work, "f16"),
                                             os.path.join(args.work, "f32"))
                bytes16 = found[-1]["bytes16"]
                bytes32 = summary32["teacher_bytes_per_example"]
                print(f"  teacher bytes/example: float16 {bytes16:.1f} "
                      f"({4 * classes / bytes16:.1f}x below dense "
                      f"{4 * classes} B), float32 {bytes32:.1f} "
                      f"({4 * classes / bytes32:.1f}x); float16 vs float32 "
                      f"soft targets softmax(z/{T:g}): max abs diff "
                      f"{worst:.2e}, mean {mean:.2e}", flush=True)


if __name__ == "__main__":
    main()
