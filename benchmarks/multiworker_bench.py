"""Two-worker training on loopback against one process, same global batch.

Usage: python benchmarks/multiworker_bench.py --labeled='rec/k20-*'
       [--unlabeled='rec/unlabeled-*'] --labels=labels.txt [--workers=2]
       [--epochs=2] [--batch_size=256] [--repeats=3]

Runs `topk-distill train` as one process, then as a cluster of --workers
local processes (TF_CONFIG on 127.0.0.1 ports; MultiWorkerMirroredStrategy),
alternating, --repeats times. Reports each run's wall time (TensorFlow's
start-up included on both sides) and final training loss, and the ratio of
medians. On one machine the workers share its cores, so this shows that the
cluster trains the same model correctly and what synchronisation costs, not
a speed-up.
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


def train(flags, output, workers):
    """Runs `topk-distill train` on `workers` processes; returns (seconds,
    final loss)."""
    command = [sys.executable, "-m", "topk_distill", "train",
               f"--output={output}"] + flags
    configs = distribute.loopback_configs(workers)
    start = time.perf_counter()
    procs = []
    for index in range(workers):
        env = dict(os.environ, CI="true")
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
    parser.add_argument("--labeled", required=True)
    parser.add_argument("--unlabeled")
    parser.add_argument("--labels", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    flags = [f"--labeled={args.labeled}", f"--labels={args.labels}",
             f"--epochs={args.epochs}", f"--batch_size={args.batch_size}"]
    if args.unlabeled:
        flags.append(f"--unlabeled={args.unlabeled}")
    print(f"machine: {os.cpu_count()} cores; workers={args.workers} "
          f"epochs={args.epochs} global batch={args.batch_size}", flush=True)
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


if __name__ == "__main__":
    main()
