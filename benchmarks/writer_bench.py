"""RecordSetWriter's memory: peak RSS at 100k and 1M examples.

Usage: python benchmarks/writer_bench.py [--examples=100000,1000000]

Each size runs in a fresh process that feeds a `RecordSetWriter` batch by
batch (4,096 examples: random texts, N=100,000 classes, K=20 ids and
logits made per batch, as a framework's loop would hand them over; nothing
is held across batches) into 8 q8 shards, and reports its own peak RSS
(VmHWM, TensorFlow included), wall time and examples/s. Streaming means the
peak does not grow with the example count.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from scale_bench import peak_rss_mb

N, K, BATCH = 100_000, 20, 4096


def child(examples, folder):
    from topk_distill.inputs import labels_file
    from topk_distill.preprocessing import record_writer

    labels = os.path.join(folder, "labels.txt")
    labels_file.write_labels(labels, [f"c{i}" for i in range(N)])
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    with record_writer.RecordSetWriter(
            os.path.join(folder, "rec"), labels, examples, top_k=K,
            score_dtype="q8", num_shards=8) as writer:
        for first in range(0, examples, BATCH):
            count = min(BATCH, examples - first)
            ids = np.stack([rng.choice(N, K, replace=False)
                            for _ in range(count)])
            writer.write([f"text {first + i}" for i in range(count)],
                         rng.integers(0, N, count), ids,
                         rng.normal(size=(count, K)).astype(np.float32))
    seconds = time.perf_counter() - start
    print(json.dumps({"examples": examples, "seconds": seconds,
                      "peak_rss_mb": peak_rss_mb()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default="100000,1000000")
    parser.add_argument("--child", type=int)
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.folder)
    print(f"machine: {os.cpu_count()} cores; N={N:,} K={K} q8, batches of "
          f"{BATCH}, 8 shards")
    for examples in map(int, args.examples.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            out = subprocess.run(
                [sys.executable, __file__, f"--child={examples}",
                 f"--folder={folder}"], capture_output=True, text=True,
                check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        print(f"{examples:>9,} examples: peak RSS {r['peak_rss_mb']:.0f} MB,"
              f" {r['seconds']:.0f} s ({examples / r['seconds']:,.0f} "
              "examples/s)")


if __name__ == "__main__":
    sys.exit(main())
