"""Beam's DirectRunner against the local preprocess tool, same input.

Usage: python benchmarks/beam_bench.py [--examples=20000] [--repeats=3]

Synthetic input (Zipf-distributed words, N=3000 classes) and the reference
teacher (`text_models.make_teacher`, untrained, saved as .keras). Alternating
in each repeat: A = `preprocess` (the local tool), B = `preprocess_with_beam`
on the DirectRunner (in-process, one worker), both K=20 into 8 shards, both
timed from loading the teacher to the metadata.
Reports medians and B/A, and checks that both wrote the same number of
records. The DirectRunner is Beam's test runner: this measures the
pipeline's overhead on one machine, not what a cluster runner gives.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from preprocess_bench import labeled_input_and_teacher  # noqa: E402
from topk_distill.preprocessing import beam, preprocessing  # noqa: E402
from topk_distill.records import records
from topk_distill.teachers import teacher

N, K = 3000, 20


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; examples={args.examples} N={N} "
          f"K={K}", flush=True)
    times = {"local": [], "beam": []}
    with tempfile.TemporaryDirectory() as work:
        data, labels, model_path = labeled_input_and_teacher(
            work, args.examples, np.random.default_rng(0))
        for repeat in range(args.repeats):
            local = os.path.join(work, f"local{repeat}")
            beamed = os.path.join(work, f"beam{repeat}")
            times["local"].append(timed(lambda: preprocessing.preprocess(
                teacher.load_teacher(model_path), data, labels, local,
                top_k=K, verbose=0)))
            times["beam"].append(timed(lambda: beam.preprocess_with_beam(
                model_path, data, labels, beamed, top_k=K,
                pipeline_args=["--runner=DirectRunner"])))
            counts = [records.RecordSet.read(p).num_examples
                      for p in (local, beamed)]
            assert counts == [args.examples] * 2, counts
            print(f"repeat {repeat}: local {times['local'][-1]:.1f} s, "
                  f"DirectRunner {times['beam'][-1]:.1f} s", flush=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"median: local {medians['local']:.1f} s "
          f"({args.examples / medians['local']:.0f} examples/s), "
          f"DirectRunner {medians['beam']:.1f} s "
          f"({args.examples / medians['beam']:.0f} examples/s); "
          f"DirectRunner/local {medians['beam'] / medians['local']:.2f}")


if __name__ == "__main__":
    main()
