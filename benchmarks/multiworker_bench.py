"""Two-worker training on loopback against one process, same global batch.

Usage: python benchmarks/multiworker_bench.py --labeled='rec/k20-*'
       [--unlabeled='rec/unlabeled-*'] --labels=labels.txt [--workers=2]
       [--epochs=2] [--batch_size=256] [--repeats=3]
       [--trees=/tmp/before,.] [--flags='--sampled_classes=1024']
       [--synthetic_classes=100000 --work=/tmp/mw100k]

Runs `topk-distill train` as one process, then as a cluster of --workers
local processes (TF_CONFIG on 127.0.0.1 ports; MultiWorkerMirroredStrategy),
alternating, --repeats times. Reports each run's wall time (TensorFlow's
start-up included on both sides) and final training loss, and the ratio of
medians. On one machine the workers share its cores, so this shows that the
cluster trains the same model correctly and what synchronisation costs, not
a speed-up.

With --trees=A,B the cluster of --workers runs each checkout in turn
(`PYTHONPATH=TREE`), alternated, and the ratio is B/A paired by round:
e.g. the sampled step's row gradients gathered sparse (B) against
densified (A, before 9df46a7). --synthetic_classes=N first writes
synthetic records of N classes to --work (20,000 labeled texts, each its
class's two words and two random ones, the class and 19 others as the
top-20, 4 shards) and trains on them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from topk_distill.distillation import distribute


def train(flags, output, workers, tree=None):
    """Runs `topk-distill train` on `workers` processes (the package of
    checkout `tree`, default: the installed one); returns (seconds, final
    loss)."""
    command = [sys.executable, "-m", "topk_distill", "train",
               f"--output={output}"] + flags
    configs = distribute.loopback_configs(workers)
    start = time.perf_counter()
    procs = []
    for index in range(workers):
        env = dict(os.environ, CI="true")
        if tree:
            env["PYTHONPATH"] = os.path.abspath(tree)
        if workers > 1:
            env["TF_CONFIG"] = configs[index]
        procs.append(subprocess.Popen(command, env=env,
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    errors = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - start
    if any(p.returncode for p in procs):
        raise RuntimeError(errors[0][-2000:])
    with open(os.path.join(output, "history.json")) as f:
        return seconds, json.load(f)["history"]["loss"][-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeled")
    parser.add_argument("--unlabeled")
    parser.add_argument("--labels")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trees", help="A,B: two checkouts to compare, "
                        "each on --workers")
    parser.add_argument("--flags", default="", help="more train flags")
    parser.add_argument("--synthetic_classes", type=int)
    parser.add_argument("--work", default="/tmp/multiworker")
    args = parser.parse_args()
    if args.synthetic_classes:
        args.labeled, args.labels = synthetic_records(args.work,
                                                      args.synthetic_classes)
    elif not (args.labeled and args.labels):
        parser.error("--labeled and --labels (or --synthetic_classes)")
    flags = [f"--labeled={args.labeled}", f"--labels={args.labels}",
             f"--epochs={args.epochs}", f"--batch_size={args.batch_size}"
             ] + args.flags.split()
    if args.unlabeled:
        flags.append(f"--unlabeled={args.unlabeled}")
    print(f"machine: {os.cpu_count()} cores; workers={args.workers} "
          f"epochs={args.epochs} global batch={args.batch_size} "
          f"{' '.join(flags[4:])}", flush=True)
    if args.trees:
        return compare_trees(args, flags)
    runs = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as work:
        for repeat in range(args.repeats):
            for workers in runs:
                out = os.path.join(work, f"{workers}-{repeat}")
                seconds, loss = train(flags, out, workers)
                runs[workers].append(seconds)
                print(f"{workers} process(es): {seconds:6.1f} s, final loss "
                      f"{loss:.4f}", flush=True)
    medians = {w: statistics.median(s) for w, s in runs.items()}
    print(f"median wall time: 1 process {medians[1]:.1f} s, {args.workers} "
          f"workers {medians[args.workers]:.1f} s; ratio "
          f"{medians[args.workers] / medians[1]:.2f}")


def compare_trees(args, flags):
    """--workers workers, each checkout of --trees in turn per round."""
    trees = args.trees.split(",")
    runs = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as work:
        for repeat in range(args.repeats):
            order = trees if repeat % 2 == 0 else trees[::-1]
            for tree in order:
                out = os.path.join(work, f"{len(runs[tree])}-"
                                   f"{trees.index(tree)}")
                seconds, loss = train(flags, out, args.workers, tree)
                runs[tree].append(seconds)
                print(f"{tree}: {seconds:6.1f} s, final loss {loss:.4f}",
                      flush=True)
    a, b = (runs[tree] for tree in trees)
    ratios = [y / x for x, y in zip(a, b)]
    for tree in trees:
        print(f"{tree}: median {statistics.median(runs[tree]):.1f} s (min "
              f"{min(runs[tree]):.1f}, max {max(runs[tree]):.1f})")
    print(f"{trees[1]} / {trees[0]}, paired: median "
          f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max "
          f"{max(ratios):.2f})")


def synthetic_records(work, num_classes, examples=20_000, top_k=20):
    """Writes WORK/labeled-* (4 shards) and WORK/labels.txt once; returns
    their pattern and path."""
    import numpy as np

    from topk_distill.preprocessing import record_writer

    labels = os.path.join(work, "labels.txt")
    pattern = os.path.join(work, f"labeled-{num_classes}-*")
    if not os.path.exists(os.path.join(work,
                                       f"labeled-{num_classes}.meta.json")):
        os.makedirs(work, exist_ok=True)
        rng = np.random.default_rng(0)
        with open(labels, "w") as f:
            f.writelines(f"c{i}\n" for i in range(num_classes))
        classes = rng.integers(0, num_classes, examples)
        noise = rng.integers(0, 2 * num_classes, (examples, 2))
        texts = [f"w{2 * c} w{2 * c + 1} w{a} w{b}"
                 for c, (a, b) in zip(classes, noise)]
        # 19 distinct other classes: a run after a random offset
        offset = rng.integers(1, num_classes - top_k, examples)
        others = (classes + offset)[:, None] + np.arange(top_k - 1)
        others %= num_classes
        ids = np.concatenate([classes[:, None], others], axis=1)
        scores = -np.sort(rng.exponential(1.0, (examples, top_k)), axis=1)
        scores[:, 0] += 3.0
        record_writer.write_record_set(
            os.path.join(work, f"labeled-{num_classes}"), labels, texts,
            [int(c) for c in classes], ids, scores, top_k=top_k,
            num_shards=4)
    return pattern, labels


if __name__ == "__main__":
    main()
