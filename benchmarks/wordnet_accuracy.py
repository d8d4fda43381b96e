"""WordNet accuracy: what each kind of stored target teaches, per byte.

Usage:
  python examples/wordnet/build_data.py ... --work=/tmp/wordnet  (once)
  python benchmarks/wordnet_accuracy.py --work=/tmp/wordnet --seeds=3 \
    --epochs=20 [--only="NAME;NAME..."] [--report]

Writes record variants into WORK/records from the dense teacher logits
build_data.py saved (the cross-fitted labeled logits; the unlabeled split's
logits): top-K (K = 5, 20, 100), sampled (S = 10, 20, 50 draws at T=2), the
mix (k=5 exact + S=15 draws), dense; unlabeled: the top-1 pseudo label, or
20 draws at T=1 (soft pseudo targets). Then trains the reference student
(the demo's batch and learning rate) for each configuration and seed, and
reports test P@1, P@5, the expected calibration error (15 bins) and the
teacher bytes per example. Results go to WORK/accuracy.json, keyed by
configuration, seed, epochs and the code's version (a hash of this file and
of the package modules a run goes through), so a table never mixes rows
from other code; `plots.py` draws them.
"""

import argparse
import os
import sys
import time

import common
import keras
import numpy as np
import runs

from topk_distill.distillation import mixer, student
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs import labels_file
from topk_distill.models import text_models
from topk_distill.preprocessing import preprocessing
from topk_distill.records import reader, records
from topk_distill.utils import json_files, metrics
from topk_distill.commands.demo import TRAINING
from topk_distill.teachers.teacher import load_teacher

T = 2.0
LABELED = {  # name: (preprocess arguments); all from the cross-fitted logits
    "top5": dict(top_k=5), "top20": dict(top_k=20),
    "top20_f16": dict(top_k=20, score_dtype="float16"),
    "top100": dict(top_k=100), "dense": dict(top_k=0, score_dtype="float16"),
    "sampled10": dict(targets="sampled", samples=10),
    "sampled20": dict(targets="sampled", samples=20),
    "sampled20_f16": dict(targets="sampled", samples=20,
                          score_dtype="float16"),
    "sampled50": dict(targets="sampled", samples=50),
    "mixed5+15": dict(targets="mixed", top_k=5, samples=15),
}
UNLABELED = {
    "hard": dict(top_k=1),
    "soft20": dict(targets="sampled", samples=20, sampling_temperature=1.0),
}
# The configuration every row changes one thing of: a=0.9, T=2, Hinton's T^2
# (the unbiased targets want the soft term strong), b=0.5 with unlabeled.
BASE = dict(alpha=0.9, beta=0.5, temperature=T, soft_scaling="t2")
HARD = dict(alpha=1.0, beta=0.0, strict=False)


def _configs():
    configs = {"hard labels only": ("top20", None, HARD)}
    for name in LABELED:
        configs[name] = (name, None, BASE)
    for name in ("top20", "sampled20", "mixed5+15", "dense"):
        for unlabeled in UNLABELED:
            configs[f"{name} + unlabeled {unlabeled}"] = (name, unlabeled,
                                                          BASE)
    configs["hard + unlabeled soft20"] = ("top20", "soft20",
                                          dict(BASE, alpha=1.0, strict=False))
    return configs


CONFIGS = _configs()


# The package modules a run goes through: records, targets, loss, student.
MODULES = ("inputs", "teacher", "records", "codec", "packing", "scoring",
           "preprocessing", "shards", "reader", "mixer", "targets",
           "loss_config", "losses", "student", "models", "metrics")


def code_version(modules=MODULES, scripts=()):
    """`common.code_version` with this file first among the scripts (as
    every script's cache keys were made)."""
    return common.code_version(modules, [os.path.abspath(__file__)] +
                               list(scripts))


def make_records(work):
    """Writes (once) every record variant; returns {name: (set, bytes)}."""
    folder = os.path.join(work, "records")
    labels = os.path.join(work, "labels.txt")
    made = {}
    jobs = [(name, "labeled", "labeled_cross_fit", False, kwargs)
            for name, kwargs in LABELED.items()] + [
        (f"unlabeled_{name}", "unlabeled", "unlabeled", True, kwargs)
        for name, kwargs in UNLABELED.items()]
    for name, split, scores, unlabeled, kwargs in jobs:
        prefix = os.path.join(folder, name)
        summary_path = prefix + ".summary.json"
        if not os.path.exists(summary_path):
            settings = dict(dict(score_dtype="q8", sampling_temperature=T,
                                 seed=0), **kwargs)
            _, summary = preprocessing.preprocess(
                load_teacher(os.path.join(work, f"{scores}_logits.npy")),
                os.path.join(work, f"{split}.tsv"), labels, prefix,
                unlabeled=unlabeled, num_shards=2, overwrite=True, verbose=0,
                **settings)
            json_files.write_json(summary_path, summary)
        made[name] = (records.RecordSet.read(prefix),
                      json_files.read_json(summary_path)[
                          "teacher_bytes_per_example"])
    return made


def test_split(work, names):
    return labels_file.read_labeled(os.path.join(work, "test.tsv"), names)


def run(made, labeled, unlabeled, settings, seed, epochs, test):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    labeled_set = made[labeled][0]
    unlabeled_set = made[f"unlabeled_{unlabeled}"][0] if unlabeled else None
    data = mixer.make_distillation_dataset(
        labeled_set, unlabeled_set, batch_size=TRAINING["batch_size"],
        seed=seed)
    n = labeled_set.num_classes
    model = student.DistillationStudent(
        text_models.make_student(reader.texts([labeled_set], 2048), n), n,
        loss=LossConfig(**settings))
    model.compile(optimizer=keras.optimizers.Adam(TRAINING["learning_rate"]))
    history = model.fit(data, epochs=epochs, verbose=0, shuffle=False)
    texts, labels = test
    logits = model.student.predict(np.array(texts, object), batch_size=1024,
                                   verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    answers = np.argsort(-probabilities, axis=1)[:, :5]
    return {"p@1": metrics.top_k_accuracy(answers,
                                          labels_file.class_ids(labels), 1),
            "p@5": metrics.top_k_accuracy(answers,
                                          labels_file.class_ids(labels), 5),
            "ece": metrics.expected_calibration_error(probabilities,
                                                         labels),
            "history": history.history}


def table(results, chosen, epochs, version, made):
    rows = []
    for name in chosen:
        found = [v for k, v in results.items()
                 if k.startswith(name + "|") and k.endswith(
                     f"|{epochs}|{version}")]
        if not found:
            continue
        labeled, unlabeled, settings = CONFIGS[name]
        summary = runs.summarize(found, ("p@1", "p@5", "ece"))
        sizes = (0.0 if settings is HARD else made[labeled][1],
                 made[f"unlabeled_{unlabeled}"][1] if unlabeled else None)
        rows.append((name, summary, sizes, len(found)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--only", default="")
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the runs made so far")
    args = parser.parse_args()
    made = make_records(args.work)
    names = labels_file.read_labels(os.path.join(args.work, "labels.txt"))
    test = test_split(args.work, names)
    version = code_version()
    out = os.path.join(args.work, "accuracy.json")
    results = json_files.read_json(out) or {}
    chosen = args.only.split(";") if args.only else list(CONFIGS)
    for seed in range(0 if args.report else args.seeds):
        for name in chosen:
            key = f"{name}|{seed}|{args.epochs}|{version}"
            if key in results:
                continue
            start = time.perf_counter()
            results[key] = dict(run(made, *CONFIGS[name], seed, args.epochs,
                                    test),
                                seconds=time.perf_counter() - start)
            r = results[key]
            print(f"{name:<34} seed {seed}: P@1 {r['p@1']:.4f} "
                  f"P@5 {r['p@5']:.4f} ECE {r['ece']:.4f} "
                  f"({r['seconds']:.0f} s)", flush=True)
            json_files.write_json(out, results)
    print(f"\nmachine: {os.cpu_count()} cores; epochs={args.epochs}; "
          f"code version {version}")
    print("| configuration | teacher bytes per labeled / unlabeled example "
          "| test P@1 | test P@5 | ECE | seeds |")
    print("|---|---|---|---|---|---|")
    for name, summary, sizes, count in table(results, chosen, args.epochs,
                                             version, made):
        cells = " | ".join(f"{summary[k][0]:.4f} ± {summary[k][1]:.4f}"
                           for k in ("p@1", "p@5", "ece"))
        unlabeled = "" if sizes[1] is None else f" / {sizes[1]:,.1f}"
        print(f"| {name} | {sizes[0]:,.1f}{unlabeled} | {cells} | {count} |")


if __name__ == "__main__":
    sys.exit(main())
