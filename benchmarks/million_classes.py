"""N = 1,000,000 classes end to end: preprocess, train, export, classify,
evaluate, each step's time and peak memory.

Usage:
  python benchmarks/million_classes.py [--work=/tmp/million]
      [--classes=1000000] [--active=5000] [--per_class=4] [--epochs=20]
      [--seeds=0] [--compare_full] [--embedding_dim=64] [--skip_preprocess]

Synthetic text data a student can learn: a vocabulary of 50,000 words;
each of N classes has two signature words; --active classes have examples,
each text its class's two words and two random ones (--per_class
training examples each, one test example). The teacher is a Keras model of
the student's shape, made, not trained: random 256-d word vectors, their
mean over a text, and a `Dense(N)` whose column for class c is the sum of
its two words' vectors (times 8): its top-1 is nearly always the true
class, and its top-20 holds classes that share a word.

Each step is the `topk-distill` command a user would run, in a fresh
process whose peak RSS (VmHWM) is reported:

1. preprocess the training texts with the teacher (top-20, float16;
   [batch, N] teacher logits, top-K in blocks);
2. train the default student (width --embedding_dim) with the sampled
   softmax (S=1024, `train`'s default from 20,000 classes on;
   `--sampled_classes=0`: the full one);
3. the export `train` writes: its size on disk, its load time;
4. classify three test texts (--top_n=3, exact over all N);
5. evaluate on the test texts (P@1, P@5, latency), for each --seeds and,
   with --compare_full, also for the full softmax (`--sampled_classes=0`).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.pathsep.join([ROOT, os.path.join(ROOT, "benchmarks")])
WORDS = 50_000
# The teacher's word vectors: 64-d ones cannot tell 1M classes apart.
DIM = 256

RUN = """
import json, sys, time
start = time.perf_counter()
from scale_bench import peak_rss_mb
from topk_distill import cli
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, "seconds": time.perf_counter() - start,
                  "peak_mb": peak_rss_mb()}))
"""


def make_data(args):
    """Writes WORK/{train,test}.tsv, labels.txt and teacher.keras."""
    import keras

    rng = np.random.default_rng(0)
    signature = rng.integers(0, WORDS, (args.classes, 2))
    active = rng.choice(args.classes, args.active, replace=False)
    names = [f"c{i}" for i in range(args.classes)]
    with open(os.path.join(args.work, "labels.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))

    def text(c):
        words = list(signature[c]) + list(rng.integers(0, WORDS, 2))
        rng.shuffle(words)
        return " ".join(f"w{w}" for w in words)

    for split, count in (("train", args.per_class), ("test", 1)):
        with open(os.path.join(args.work, f"{split}.tsv"), "w") as f:
            for c in active:
                for _ in range(count):
                    f.write(f"{text(c)}\t{names[c]}\n")
    vocabulary = [f"w{i}" for i in range(WORDS)]
    vectors = rng.normal(0, 1, (WORDS, DIM)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    text_in = keras.Input(shape=(), dtype="string", name="text")
    tokens = keras.layers.TextVectorization(
        vocabulary=vocabulary, output_sequence_length=8)(text_in)
    table = np.concatenate([np.zeros((2, DIM), "float32"), vectors])
    embedded = keras.layers.Embedding(len(table), DIM, weights=[table],
                                      name="embedding")(tokens)
    present = keras.ops.cast(keras.ops.not_equal(tokens, 0), "float32")
    mean = keras.ops.einsum("bt,btd->bd", present, embedded) / (
        keras.ops.sum(present, axis=1, keepdims=True) + 1e-6)
    head = keras.layers.Dense(args.classes, name="logits")
    logits = head(mean)
    teacher = keras.Model(text_in, logits, name="teacher")
    head.set_weights([8.0 * (vectors[signature[:, 0]] +
                             vectors[signature[:, 1]]).T,
                      np.zeros(args.classes, "float32")])
    teacher.save(os.path.join(args.work, "teacher.keras"))


def step(name, argv, results):
    out = subprocess.run([sys.executable, "-c", RUN, "topk-distill"] + argv,
                         capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=PATH,
                                  TF_CPP_MIN_LOG_LEVEL="3"))
    lines = out.stdout.strip().splitlines()
    measured = json.loads(lines[-1])
    if measured["code"] != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-2000:]}")
    results[name] = measured
    print(f"{name}: {measured['seconds']:.1f} s, peak RSS "
          f"{measured['peak_mb']:.0f} MB", flush=True)
    return lines[:-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/million")
    parser.add_argument("--classes", type=int, default=1_000_000)
    parser.add_argument("--active", type=int, default=5000)
    parser.add_argument("--per_class", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--compare_full", action="store_true")
    parser.add_argument("--embedding_dim", type=int, default=64,
                        help="the student's width (train --embedding_dim)")
    parser.add_argument("--skip_preprocess", action="store_true",
                        help="reuse WORK/records from an earlier run")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    start = time.perf_counter()
    make_data(args)
    print(f"data and teacher: {time.perf_counter() - start:.1f} s "
          f"(N={args.classes}, {args.active * args.per_class} training "
          f"texts)", flush=True)
    w = args.work
    results = {}
    if not args.skip_preprocess:
        step("preprocess", ["preprocess", f"--teacher={w}/teacher.keras",
                            f"--input={w}/train.tsv",
                            f"--labels={w}/labels.txt",
                            f"--output={w}/records/train", "--top_k=20",
                            "--num_shards=4", "--batch_size=64",
                            "--overwrite"], results)
    accuracy = {}
    for seed in args.seeds.split(","):
        for variant in (["sampled", "full"] if args.compare_full
                        else ["sampled"]):
            name = f"train {variant} seed {seed}"
            folder = os.path.join(w, f"student-{variant}-{seed}")
            step(name, ["train", f"--labeled={w}/records/train-*",
                        f"--output={folder}", f"--epochs={args.epochs}",
                        "--learning_rate=1e-2", f"--seed={seed}",
                        f"--embedding_dim={args.embedding_dim}",
                        "--sampled_classes=" + (
                            "0" if variant == "full" else "1024")], results)
            table = step(f"evaluate {variant} seed {seed}", [
                "evaluate", f"--model={folder}/export", f"--test={w}/test.tsv",
                "--format=json", "--latency_repeats=50",
                "--throughput_batches=2"], results)
            accuracy[name] = json.loads(table[-1])
            print(f"  P@1 {accuracy[name]['p@1']:.4f}, P@5 "
                  f"{accuracy[name]['p@5']:.4f}", flush=True)
    results["accuracy"] = accuracy
    export = os.path.join(w, f"student-sampled-{args.seeds.split(',')[0]}",
                          "export")
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(export) for f in files)
    load = subprocess.run(
        [sys.executable, "-c", "import time, tensorflow as tf; "
         f"t = time.perf_counter(); tf.saved_model.load({export!r}); "
         "print(time.perf_counter() - t)"], capture_output=True, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), check=True)
    print(f"export: {size / 1e6:.0f} MB on disk, tf.saved_model.load "
          f"{float(load.stdout.split()[-1]):.1f} s", flush=True)
    tests = [line.split("\t") for line in open(os.path.join(w, "test.tsv"))]
    answers = step("classify", ["classify", f"--model={export}",
                                "--top_n=3"] + [t for t, _ in tests[:3]],
                   results)
    print("\n".join(answers[-12:]))
    print("true labels:", [label.strip() for _, label in tests[:3]])
    results["export_mb"] = size / 1e6
    json.dump(results, open(os.path.join(w, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
