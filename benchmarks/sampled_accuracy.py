"""P@1 of the same student trained with the full softmax and a sampled one.

Usage:
  python benchmarks/sampled_accuracy.py [--work=/tmp/sampled_accuracy]
      [--seeds=0,1,2] [--sampled_classes=1024] [--epochs=20]
      [--proposal=uniform|labels]

The demo's distilled student (the bundled WordNet records, N=4,123, the
fine-tuned encoder's frozen vectors, a=0.9 b=0.5 T=2, t2 scaling, batch
128, learning rate 5e-3) trained per seed twice, alternated: with the full
softmax (Adam) and with `--sampled_classes` (a `ClassVectors` output,
`LazyAdam`; negatives drawn by `--proposal`, `train
--sampled_proposal`). P@1 on the bundled test split; reported: each variant's
median and the paired difference sampled - full (median, min, max over
seeds). Results are cached by code version in WORK/results.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def version():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12",
                           "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def run(work, seed, sampled, epochs, proposal):
    import topk_distill
    from topk_distill.commands import demo
    from topk_distill.inputs import labels_file
    from topk_distill.serving import classification

    data = os.path.join(os.path.dirname(topk_distill.__file__), "data",
                        "wordnet")
    labeled, unlabeled, loss, model = demo.RUNS["distilled"]
    model = dict(model, init_embeddings=os.path.join(
        data, model["init_embeddings"]))
    output = os.path.join(work, f"{proposal if sampled else 'full'}-{seed}")
    topk_distill.train_student(
        output, labeled=os.path.join(data, labeled),
        unlabeled=os.path.join(data, unlabeled),
        labels_path=os.path.join(data, "labels.txt"),
        loss=topk_distill.LossConfig(**loss), epochs=epochs, seed=seed,
        sampled_classes=sampled, sampled_proposal=proposal, verbose=0, **demo.TRAINING, **model)
    names = labels_file.read_labels(os.path.join(data, "labels.txt"))
    texts, labels = labels_file.read_labeled(os.path.join(data, "test.tsv"),
                                             names)
    served = topk_distill.load_saved_model(os.path.join(output, "export"))
    answers = classification.top_ids(served.signatures["probabilities"],
                                     texts, k=1)
    return topk_distill.top_k_accuracy(answers, labels_file.class_ids(labels),
                                       1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/sampled_accuracy")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sampled_classes", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--proposal", default="uniform",
                        choices=["uniform", "labels"])
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cache_path = os.path.join(args.work, "results.json")
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    code = version()
    results = {"full": [], "sampled": []}
    for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
        order = [("full", None), ("sampled", args.sampled_classes)]
        for name, sampled in order if i % 2 == 0 else order[::-1]:
            key = (f"{name}|{seed}|{args.sampled_classes}|{args.epochs}|"
                   f"{code}")
            if sampled:
                key += f"|{args.proposal}"
            if key not in cache:
                cache[key] = run(args.work, seed, sampled, args.epochs,
                                 args.proposal)
                json.dump(cache, open(cache_path, "w"), indent=1)
            results[name].append(cache[key])
            print(f"seed {seed} {name}: P@1 {cache[key]:.4f}", flush=True)
    print(f"\nmachine: {os.cpu_count()} cores; code {code}; "
          f"S={args.sampled_classes} ({args.proposal}), {args.epochs} "
          "epochs")
    for name, values in results.items():
        print(f"{name:>8}: median P@1 {statistics.median(values):.4f} "
              f"({', '.join(f'{v:.4f}' for v in values)})")
    gaps = [s - f for s, f in zip(results["sampled"], results["full"])]
    print(f"sampled - full: median {100 * statistics.median(gaps):+.2f} "
          f"points (min {100 * min(gaps):+.2f}, max {100 * max(gaps):+.2f})")


if __name__ == "__main__":
    sys.exit(main())
