"""`preprocess` of an image folder: this checkout against another one.

Usage:
  python benchmarks/image_preprocess_bench.py --baseline_tree=DIR \
      --teacher=/tmp/imgb/teacher --input=/tmp/imgb/data/unlabeled \
      [--rounds=3]

Each timing is one `preprocessing.preprocess` of --input (unlabeled, top-1,
2 shards) in a fresh process importing the package of its tree, the
teacher loaded before the clock starts; A (--baseline_tree) and B (this
checkout) alternate in each round. Prints each round and the B / A ratio's
median over rounds with min and max. (Made for issue 16's review: the
second Python decode of every image removed.)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from topk_distill.preprocessing import preprocessing
from topk_distill.teachers import teacher
model = teacher.load_teacher(sys.argv[2])
start = time.perf_counter()
preprocessing.preprocess(model, sys.argv[3], None, sys.argv[4],
                         unlabeled=True, top_k=1, num_shards=2,
                         overwrite=True, verbose=0)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def timed(tree, args, out):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, os.path.abspath(tree), args.teacher,
         args.input, out], capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline_tree", required=True)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out = os.path.join(tempfile.mkdtemp(), "records")
    rounds = []
    for index in range(args.rounds):
        a = timed(args.baseline_tree, args, out)
        b = timed(ROOT, args, out)
        rounds.append((a, b))
        print(f"round {index}: A {a:.2f} s, B {b:.2f} s, B / A {b / a:.3f}",
              flush=True)
    ratios = [b / a for a, b in rounds]
    print(f"machine: {os.cpu_count()} cores; A median "
          f"{statistics.median(a for a, _ in rounds):.2f} s, B median "
          f"{statistics.median(b for _, b in rounds):.2f} s; B / A median "
          f"of paired rounds {statistics.median(ratios):.3f} (min "
          f"{min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
