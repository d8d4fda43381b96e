"""WordNet accuracy: hard labels vs top-K distillation variants, over seeds.

Usage:
  python examples/wordnet/build_data.py ... --work=/tmp/wordnet  (once)
  python benchmarks/wordnet_accuracy.py --work=/tmp/wordnet --seeds=3 \
    --epochs=20 [--only="NAME;NAME..."]

Writes record variants into WORK/records (top-K for K in 1, 5, 20, 100 and
dense from the cross-fitted labeled logits; K=20 from the head that saw the
texts; K=20 with tail mass at T=2; the unlabeled top-1), trains the
reference student (embedding 64, the demo's learning rate and batch;
a=0.9, b=0.5, T=2, T^2 scaling unless the name says otherwise) for
each configuration and seed, and reports test P@1 and P@5, mean and std.
Results (and per-epoch loss curves) go to WORK/accuracy.json, updated after
every run.
"""

import argparse
import json
import os
import statistics
import sys
import time

import keras
import tensorflow as tf

from topk_distill import (inputs, mixer, models, preprocessing, reader,
                          records, student)
from topk_distill.commands.demo import TRAINING as SETTINGS
from topk_distill.teacher import load_teacher

# The configuration every variant changes one thing of (the T^2 scaling
# here; the demo's defaults were then chosen from these results).
BASE = dict(alpha=0.9, beta=0.5, temperature=2.0, soft_scaling="t2")
CONFIGS = {
    "hard labels only": ("k20", None, dict(alpha=1.0, beta=0.0, strict=False)),
    "top-1": ("k1", None, BASE),
    "top-5": ("k5", None, BASE),
    "top-20": ("k20", None, BASE),
    "top-100": ("k100", None, BASE),
    "dense (K=N)": ("dense", None, BASE),
    "top-20, head saw the texts": ("seen20", None, BASE),
    "top-20 + unlabeled": ("k20", "unlabeled", BASE),
    "hard + unlabeled (no soft term)": ("k20", "unlabeled",
                                        dict(BASE, alpha=1.0, strict=False)),
    "top-20 + unlabeled, tail bucket": ("tail20", "unlabeled",
                                        dict(BASE, tail="bucket")),
    "top-20 + unlabeled, 1/T scaling": ("k20", "unlabeled",
                                        dict(BASE, soft_scaling="inverse_t")),
    "top-20 + unlabeled, a=0.7": ("k20", "unlabeled", dict(BASE, alpha=0.7)),
    "top-20 + unlabeled, T=4": ("k20", "unlabeled",
                                dict(BASE, temperature=4.0)),
    "top-20 + unlabeled, b=0.2": ("k20", "unlabeled", dict(BASE, beta=0.2)),
    "top-20, T=1": ("k20", None, dict(BASE, temperature=1.0)),
    "dense (K=N), T=1": ("dense", None, dict(BASE, temperature=1.0)),
}
VARIANTS = {  # name: (score file, top_k, extra preprocess arguments)
    "k1": ("labeled_cross_fit", 1, {}), "k5": ("labeled_cross_fit", 5, {}),
    "k20": ("labeled_cross_fit", 20, {}),
    "k100": ("labeled_cross_fit", 100, {}),
    "dense": ("labeled_cross_fit", 0, {}),
    "seen20": ("labeled", 20, {}),
    "tail20": ("labeled_cross_fit", 20,
               {"tail_temperature": BASE["temperature"]}),
}


def make_records(work):
    folder = os.path.join(work, "records")
    labels = os.path.join(work, "labels.txt")
    jobs = dict(VARIANTS, unlabeled=("unlabeled", 1, {"unlabeled": True}))
    for name, (scores, top_k, extra) in jobs.items():
        prefix = os.path.join(folder, name)
        if os.path.exists(records.metadata_path(prefix)):
            continue
        split = "unlabeled" if name == "unlabeled" else "labeled"
        preprocessing.preprocess(
            load_teacher(os.path.join(work, f"{scores}_logits.npy")),
            os.path.join(work, f"{split}.tsv"), labels, prefix, top_k=top_k,
            num_shards=2, verbose=0, **extra)
    return folder


def test_set(work, names):
    ids = {name: i for i, name in enumerate(names)}
    rows = list(inputs.iter_examples(os.path.join(work, "test.tsv")))
    return tf.data.Dataset.from_tensor_slices({
        "text": tf.constant([t for t, _ in rows]),
        "label": tf.constant([ids[l] for _, l in rows], tf.int64)}).batch(512)


def run(folder, labeled, unlabeled, settings, seed, epochs, test, names):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    data = mixer.make_distillation_dataset(
        os.path.join(folder, labeled),
        unlabeled and os.path.join(folder, unlabeled),
        batch_size=SETTINGS["batch_size"], seed=seed)
    texts = reader.texts([os.path.join(folder, labeled)], 2048)
    model = student.DistillationStudent(
        models.make_student(texts, len(names)), len(names), **settings)
    model.compile(optimizer=keras.optimizers.Adam(SETTINGS["learning_rate"]))
    history = model.fit(data, epochs=epochs, verbose=0, shuffle=False)
    scores = model.evaluate(test, return_dict=True, verbose=0)
    return scores["top1"], scores["top5"], history.history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--only", default="")
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the runs made so far")
    args = parser.parse_args()
    folder = make_records(args.work)
    names = inputs.read_labels(os.path.join(args.work, "labels.txt"))
    test = test_set(args.work, names)
    out = os.path.join(args.work, "accuracy.json")
    results = json.load(open(out)) if os.path.exists(out) else {}
    chosen = args.only.split(";") if args.only else list(CONFIGS)
    for seed in range(0 if args.report else args.seeds):
        for name in chosen:
            key = f"{name}|{seed}|{args.epochs}"
            if key in results:
                continue
            start = time.perf_counter()
            top1, top5, history = run(folder, *CONFIGS[name], seed,
                                      args.epochs, test, names)
            results[key] = {"p@1": top1, "p@5": top5, "history": history,
                            "seconds": time.perf_counter() - start}
            print(f"{name:<36} seed {seed}: P@1 {top1:.4f} P@5 {top5:.4f} "
                  f"({results[key]['seconds']:.0f} s)", flush=True)
            json.dump(results, open(out + ".tmp", "w"))
            os.replace(out + ".tmp", out)
    print(f"\nmachine: {os.cpu_count()} cores; epochs={args.epochs}")
    print("| configuration | test P@1 | test P@5 | seeds |")
    print("|---|---|---|---|")
    for name in chosen:
        runs = [v for k, v in results.items()
                if k.startswith(name + "|") and k.endswith(f"|{args.epochs}")]
        if not runs:
            continue
        p1 = [r["p@1"] for r in runs]
        p5 = [r["p@5"] for r in runs]
        spread = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
        print(f"| {name} | {statistics.mean(p1):.4f} ± {spread(p1):.4f} | "
              f"{statistics.mean(p5):.4f} ± {spread(p5):.4f} | {len(runs)} |")


if __name__ == "__main__":
    sys.exit(main())
