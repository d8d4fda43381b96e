"""Training cost per example against N: the full softmax vs a sampled one.

Usage:
  python benchmarks/sampled_bench.py [--classes=4123,20000,100000,300000,1000000]
      [--batch_size=128] [--embedding_dim=64] [--sampled_classes=1024]
      [--steps=20] [--rounds=3]
      [--full_up_to=1000000] [--json=FILE] [--plot=FILE.png]
      [--baseline_tree=DIR] [--jit_compile]

For each N: a random batch (half its rows labeled with top-20 teacher
scores, half unlabeled with a top-1 pseudo label, as step_bench.py makes
it) through the reference text student (`make_student`, embedding
--embedding_dim) and
`DistillationStudent`'s compiled train step, as `fit` runs it:

* full: the default student (a `Dense(N)` output) and Adam, every logit;
* sampled: the same student with a `ClassVectors` output,
  `sampled_classes=S` and `LazyAdam` (the batch's positives plus S
  uniform negatives; only their rows updated).

Each timing is a fresh process: the mean step time over --steps steps after
one warm-up step, and the process's peak RSS (VmHWM). The variants
alternate within each of --rounds rounds. Reported per N: each variant's
median microseconds per example (min, max) and peak RSS, the paired ratio
full/sampled, and sampled(N)/sampled(smallest N), each as the median over
rounds with min and max. Full runs stop at --full_up_to classes.

--baseline_tree=DIR adds a third variant, "baseline": the sampled step of
another checkout (e.g. a `git worktree` of an earlier commit): this
script's step on that checkout's package, alternated with the others;
reported as the paired ratio sampled / baseline. --jit_compile compiles
every variant's step with XLA (`compile(jit_compile=True)`).
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
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


def child(args):
    import keras
    import tensorflow as tf

    from scale_bench import peak_rss_mb
    from step_bench import make_batch
    from topk_distill.distillation import lazy_adam, student
    from topk_distill.models import text_models

    keras.utils.set_random_seed(0)
    batch = make_batch(args.classes, args.batch_size, 0.5,
                       np.random.default_rng(0))
    texts = tf.data.Dataset.from_tensor_slices(batch["text"]).batch(64)
    sampled = args.child == "sampled"
    small = text_models.make_student(texts, args.classes,
                                     embedding_dim=args.embedding_dim,
                                     class_vectors=sampled)
    model = student.DistillationStudent(
        small, args.classes,
        sampled_classes=args.sampled_classes if sampled else None)
    model.compile(optimizer=lazy_adam.LazyAdam() if sampled else "adam",
                  jit_compile=args.jit_compile)
    model.make_train_function()
    step = model.train_function
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
    step(iterator)
    start = time.perf_counter()
    for _ in range(args.steps):
        logs = step(iterator)
    float(logs["loss"])
    seconds = (time.perf_counter() - start) / args.steps
    print(json.dumps({"us": 1e6 * seconds / args.batch_size,
                      "peak_mb": peak_rss_mb()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes",
                        default="4123,20000,100000,300000,1000000")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--embedding_dim", type=int, default=64)
    parser.add_argument("--sampled_classes", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full_up_to", type=int, default=1_000_000)
    parser.add_argument("--json")
    parser.add_argument("--plot")
    parser.add_argument("--baseline_tree")
    parser.add_argument("--jit_compile", action="store_true")
    parser.add_argument("--child", choices=["full", "sampled"])
    args = parser.parse_args()
    if args.child:
        args.classes = int(args.classes)
        return child(args)
    sizes = [int(n) for n in args.classes.split(",")]
    kinds = ["full", "sampled"] + (["baseline"] if args.baseline_tree else [])
    runs = {(n, v): [] for n in sizes for v in kinds
            if v != "full" or n <= args.full_up_to}
    for r in range(args.rounds):
        for n in sizes:
            variants = [v for v in kinds if (n, v) in runs]
            for variant in variants if r % 2 == 0 else variants[::-1]:
                tree = args.baseline_tree if variant == "baseline" else ROOT
                out = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--child", "sampled" if variant == "baseline"
                     else variant, f"--classes={n}",
                     f"--batch_size={args.batch_size}",
                     f"--embedding_dim={args.embedding_dim}",
                     f"--sampled_classes={args.sampled_classes}",
                     f"--steps={args.steps}"] +
                    (["--jit_compile"] if args.jit_compile else []),
                    env=dict(os.environ, PYTHONPATH=tree,
                             TF_CPP_MIN_LOG_LEVEL="3"),
                    capture_output=True, text=True, check=True).stdout
                runs[n, variant].append(json.loads(
                    out.strip().splitlines()[-1]))
                print(f"round {r} N={n} {variant}: {runs[n, variant][-1]}",
                      flush=True)
    print(f"\nmachine: {os.cpu_count()} cores; batch={args.batch_size} "
          f"S={args.sampled_classes} rounds={args.rounds}")
    report = {}
    base = [m["us"] for m in runs[sizes[0], "sampled"]]
    for n in sizes:
        for variant in kinds:
            if (n, variant) not in runs:
                continue
            us = [m["us"] for m in runs[n, variant]]
            peak = max(m["peak_mb"] for m in runs[n, variant])
            report[f"{n}|{variant}"] = {"us": us, "peak_mb": peak}
            print(f"N={n:>8} {variant:>7}: {statistics.median(us):8.1f} "
                  f"us/example (min {min(us):.1f}, max {max(us):.1f}); "
                  f"peak RSS {peak:.0f} MB")
        sampled = [m["us"] for m in runs[n, "sampled"]]
        growth = [s / b for s, b in zip(sampled, base)]
        line = (f"{'':>10} sampled / sampled at N={sizes[0]}: median "
                f"{statistics.median(growth):.2f}x (min {min(growth):.2f}, "
                f"max {max(growth):.2f})")
        if (n, "full") in runs:
            speedup = [f["us"] / s["us"] for f, s in zip(
                runs[n, "full"], runs[n, "sampled"])]
            line += (f"; full / sampled: median "
                     f"{statistics.median(speedup):.2f}x (min "
                     f"{min(speedup):.2f}, max {max(speedup):.2f})")
        if args.baseline_tree:
            change = [s["us"] / b["us"] for s, b in zip(
                runs[n, "sampled"], runs[n, "baseline"])]
            line += (f"; sampled / baseline: median "
                     f"{statistics.median(change):.2f}x (min "
                     f"{min(change):.2f}, max {max(change):.2f})")
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for variant in ("full", "sampled"):
            points = [(n, statistics.median(report[f"{n}|{variant}"]["us"]))
                      for n in sizes if f"{n}|{variant}" in report]
            ax.plot(*zip(*points), marker="o", label=variant)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("classes N")
        ax.set_ylabel("training µs per example (median)")
        ax.set_title(f"batch {args.batch_size}, S={args.sampled_classes}, "
                     f"{os.cpu_count()} cores")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
