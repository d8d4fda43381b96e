"""Which teacher teaches: held-out top-1 of each `topk-distill teacher`
choice beside the reference student on the same labels, on a CPU-sized
WordNet subset.

Usage:
  python benchmarks/teacher_choices.py --work=/tmp/wordnet [--classes=100]
      [--choices=reference,linear,mlp,top2,all] [--report]

The subset: the --classes most frequent classes of the labeled split
(`examples/wordnet/build_data.py` writes --work/labeled.tsv and test.tsv),
their labeled texts to train on, their test texts to measure on
(`train_teacher(validation=...)`, which also trains the reference student on
the labels alone). Choices: the reference teacher (TF-IDF + MLP), the
all-MiniLM-L6-v2 encoder frozen with a linear or an MLP head, and the
encoder fine-tuned (top 2 layers, or all) with a linear head (first trained
on the frozen encoder). Each result (top-1s, seconds) is cached in
--work/teacher_choices.json by choice, settings and code version, so an
interrupted run resumes; --report prints the table from the cache.
"""

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHOICES = {
    "reference": dict(encoder=False),
    "linear": dict(),
    "mlp": dict(hidden_units=512),
    "top2": dict(fine_tune=2),
    "all": dict(fine_tune=0),
}


def subset(work, classes, folder):
    """Writes the subset's train.tsv and test.tsv; returns their paths and
    sizes."""
    import collections

    def rows(name):
        with open(os.path.join(work, name), encoding="utf-8") as f:
            return [line.rstrip("\n").split("\t") for line in f]

    train = rows("labeled.tsv")
    kept = {label for label, _ in collections.Counter(
        label for _, label in train).most_common(classes)}
    paths = {}
    for name, split in (("train", train), ("test", rows("test.tsv"))):
        paths[name] = os.path.join(folder, f"{name}.tsv")
        chosen = [r for r in split if r[1] in kept]
        with open(paths[name], "w", encoding="utf-8") as f:
            f.writelines(f"{text}\t{label}\n" for text, label in chosen)
        paths[f"{name}_examples"] = len(chosen)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/wordnet")
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--choices", default=",".join(CHOICES))
    parser.add_argument("--sequence_length", type=int, default=48)
    parser.add_argument("--fine_tune_epochs", type=int, default=3)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    import wordnet_accuracy

    version = wordnet_accuracy.code_version(
        ("teacher_training", "fine_tuning", "bert_inputs", "models",
         "inputs"), [os.path.abspath(__file__)])
    cache = os.path.join(args.work, "teacher_choices.json")
    results = json.load(open(cache)) if os.path.exists(cache) else {}
    settings = (f"classes={args.classes}|length={args.sequence_length}|"
                f"epochs={args.fine_tune_epochs}")
    folder = tempfile.mkdtemp()
    paths = subset(args.work, args.classes, folder)
    for name in args.choices.split(","):
        key = f"{name}|{settings}|{version}"
        if key in results or args.report:
            continue
        from embed import default_encoder
        from topk_distill.teachers import teacher_training

        choice = dict(CHOICES[name])
        encoder = default_encoder() if choice.pop("encoder", True) else None
        start = time.perf_counter()
        written = teacher_training.train_teacher(
            paths["train"], os.path.join(folder, name), encoder=encoder,
            epochs=30 if encoder else 10, batch_size=32,
            validation=paths["test"], sequence_length=args.sequence_length,
            fine_tune_epochs=args.fine_tune_epochs, verbose=2, **choice)
        seconds = time.perf_counter() - start
        with open(written[-1]) as f:
            results[key] = dict(json.load(f), seconds=seconds,
                                train_examples=paths["train_examples"])
        with open(cache, "w") as f:
            json.dump(results, f, indent=1)
        print(f"{name}: {results[key]}", flush=True)
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}; "
          f"{args.classes} classes, {paths['train_examples']} training and "
          f"{paths['test_examples']} test texts; sequence length "
          f"{args.sequence_length}")
    print("| teacher | held-out top-1 | reference student (labels) | "
          "teacher - student | seconds |")
    print("|---|---|---|---|---|")
    for name in args.choices.split(","):
        row = results.get(f"{name}|{settings}|{version}")
        if row:
            print(f"| {row['teacher']} | {row['teacher_top1']:.4f} | "
                  f"{row['student_top1']:.4f} | "
                  f"{row['teacher_top1'] - row['student_top1']:+.4f} | "
                  f"{row['seconds']:.0f} |")


if __name__ == "__main__":
    main()
