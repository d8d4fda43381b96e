"""`train`'s start-up on the bundled record sets: two checkouts, paired.

Usage:
  python benchmarks/train_startup.py --trees=/tmp/old,. [--rounds=3]

What `train` does before its first step with the bundled sets (issue 24):
resolve each set and read its metadata, verify every shard (each record
checked in Python: `codec.check_record`) and build the mixed dataset
(`make_distillation_dataset`). Each measurement runs in a fresh
process with the package of one tree (TensorFlow's import excluded); the
trees alternate within each round (reversed on odd rounds). Prints each
tree's median seconds and the median of the paired ratios (min, max).
"""

import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = """
import os, sys, time
sys.path.insert(0, {tree!r})
import tensorflow  # not timed
import topk_distill  # public names only: they work in every layout
data = os.path.join(os.path.dirname(topk_distill.__file__), "data", "wordnet")
start = time.perf_counter()
topk_distill.make_distillation_dataset(
    os.path.join(data, "labeled_sampled"), os.path.join(data, "unlabeled_soft"),
    batch_size=128, seed=0)
print(time.perf_counter() - start)
"""


def measure(tree):
    out = subprocess.run([sys.executable, "-c", CHILD.format(
        tree=os.path.abspath(tree))], capture_output=True, text=True,
        check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default=f"{ROOT},{ROOT}")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = args.trees.split(",")
    times = {tree: [] for tree in trees}
    for r in range(args.rounds):
        for tree in (trees if r % 2 == 0 else trees[::-1]):
            times[tree].append(measure(tree))
    print(f"machine: {os.cpu_count()} cores; {args.rounds} rounds")
    for tree in trees:
        print(f"{tree}: median {statistics.median(times[tree]):.2f} s "
              f"({', '.join(f'{t:.2f}' for t in times[tree])})")
    ratios = [b / a for a, b in zip(times[trees[0]], times[trees[1]])]
    print(f"{trees[1]} / {trees[0]}: median {statistics.median(ratios):.2f}x"
          f" (min {min(ratios):.2f}x, max {max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
