"""WordNet students: which student, started how, distilled from what.

Usage:
  python examples/wordnet/build_data.py ... --work=/tmp/wordnet   (once)
  python examples/wordnet/augment.py --work=/tmp/wordnet          (for aug)
  topk-distill student-init --method=words ... --output=WORDS.npz (once)
  python benchmarks/students.py --work=/tmp/wordnet \
    --init=topk_distill/data/wordnet/student_init.npz --words_init=WORDS.npz \
    --seeds=3 [--only="NAME;NAME..."] [--report]

Trains each configuration of CONFIGS (student architecture and width,
random or teacher-initialised word vectors (`student_init`), labeled
targets, unlabeled or augmented transfer set, loss weights, learning rate,
epochs) and reports test P@1 and P@5, training seconds, the SavedModel's
size and its p50 latency at batch 1. Record sets come from
wordnet_accuracy.py's WORK/records (and WORK/records/augmented*, made here
from augment.py's copies). Results are cached in WORK/students.json keyed by
configuration, seed and code version.
"""

import argparse
import os
import sys
import tempfile
import time

import keras
import numpy as np

import runs
import wordnet_accuracy
from topk_distill.distillation import mixer, student
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs import labels_file
from topk_distill.models import (encoder_models, saved_model, student_init,
                                 text_models)
from topk_distill.records import reader, records
from topk_distill.utils import json_files, metrics

HARD = dict(alpha=1.0, beta=0.0, strict=False)
DISTILLED = dict(alpha=0.9, beta=0.5, temperature=2.0, soft_scaling="t2")


def config(architecture="mean", dim=64, init=None, labeled="top20",
           unlabeled=None, loss=HARD, learning_rate=5e-3, epochs=20,
           unlabeled_per_labeled=1.0, frozen=False, normalize=False):
    return dict(architecture=architecture, dim=dim, init=init, frozen=frozen,
                normalize=normalize,
                labeled=labeled, unlabeled=unlabeled, loss=loss,
                learning_rate=learning_rate, epochs=epochs,
                unlabeled_per_labeled=unlabeled_per_labeled)


FROZEN = dict(dim=256, init="context", frozen=True, normalize=True)
CONFIGS = {
    # The reference student: 64-d word vectors learnt from scratch.
    "mean64 hard": config(),
    "mean64 distilled": config(labeled="sampled20", unlabeled="soft20",
                               loss=DISTILLED),
    # fastText's model, and a small CNN, from scratch.
    "bigram64 hard": config(architecture="bigram"),
    "bigram64 distilled": config(architecture="bigram", labeled="sampled20",
                                 unlabeled="soft20", loss=DISTILLED),
    "cnn64 hard": config(architecture="cnn"),
    "cnn64 distilled": config(architecture="cnn", labeled="sampled20",
                              unlabeled="soft20", loss=DISTILLED),
    # The teacher's encoder's word vectors (in context), frozen, normalised.
    "mean256 frozen norm hard": config(**FROZEN),
    "mean256 frozen norm distilled": config(
        labeled="sampled20", unlabeled="soft20", loss=DISTILLED, **FROZEN),
    # One lever changed each: augmented transfer set (3x), the words alone
    # through the encoder, vectors that train.
    "mean256 frozen norm distilled aug2": config(
        labeled="sampled20", unlabeled="aug2", loss=DISTILLED, **FROZEN),
    "mean256 words-init frozen norm distilled": config(
        labeled="sampled20", unlabeled="soft20", loss=DISTILLED,
        **dict(FROZEN, init="words")),
    "mean256 trained norm distilled": config(
        labeled="sampled20", unlabeled="soft20", loss=DISTILLED,
        **dict(FROZEN, frozen=False)),
}

MODULES = wordnet_accuracy.MODULES + ("student_init", "export")


def code_version():
    return wordnet_accuracy.code_version(MODULES, [os.path.abspath(__file__)])


def latency(model, texts, runs=300):
    """p50 and p99 seconds of the exported SavedModel at batch 1."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "export")
        saved_model.export_saved_model(model, path,
                                       [str(i) for i in range(
                                      model.outputs[0].shape[-1])])
        size = saved_model.saved_model_size(path)
        served = tf.saved_model.load(path).signatures["serving_default"]
        times = []
        for i in range(runs + 20):
            text = tf.constant([texts[i % len(texts)]])
            start = time.perf_counter()
            served(text=text)
            if i >= 20:
                times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99)), \
        size


def teacher_row(work, test):
    """The teacher: P@1/P@5 of its test logits (build_data.py), latency and
    size of its SavedModel (all-MiniLM-L6-v2 + a linear head; weights do
    not change speed)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "examples", "wordnet"))
    from embed import default_encoder

    texts, labels = test
    logits = np.load(os.path.join(work, "test_logits.npy"))
    answers = np.argsort(-logits, axis=1)[:, :5]
    teacher = encoder_models.make_encoder_teacher(
        default_encoder(), logits.shape[1])
    p50, p99, size = latency(teacher, texts, runs=200)
    return {"p@1": metrics.top_k_accuracy(answers,
                                          labels_file.class_ids(labels), 1),
            "p@5": metrics.top_k_accuracy(answers,
                                          labels_file.class_ids(labels), 5),
            "train_seconds": 0.0, "p50": p50, "p99": p99, "bytes": size}


def run(made, settings, seed, test, init_paths):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    labeled_set = made[settings["labeled"]][0]
    unlabeled_set = (made[f"unlabeled_{settings['unlabeled']}"][0]
                     if settings["unlabeled"] else None)
    loss = settings["loss"]
    if loss is HARD:
        unlabeled_set = None
    data = mixer.make_distillation_dataset(
        labeled_set, unlabeled_set, batch_size=128, seed=seed,
        unlabeled_per_labeled=settings["unlabeled_per_labeled"])
    n = labeled_set.num_classes
    embeddings = (student_init.load(init_paths[settings["init"]])
                  if settings["init"] else None)
    if embeddings is not None and settings["dim"] < embeddings[1].shape[1]:
        embeddings = (embeddings[0], embeddings[1][:, :settings["dim"]])
    net = text_models.make_student(
        reader.texts([s for s in (labeled_set, unlabeled_set) if s]), n,
        embedding_dim=settings["dim"], architecture=settings["architecture"],
        embeddings=embeddings, train_embeddings=not settings["frozen"],
        normalize=settings["normalize"])
    model = student.DistillationStudent(net, n, loss=LossConfig(**loss))
    model.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]))
    start = time.perf_counter()
    model.fit(data, epochs=settings["epochs"], verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    texts, labels = test
    logits = net.predict(np.array(texts, object), batch_size=1024, verbose=0)
    answers = np.argsort(-logits, axis=1)[:, :5]
    p50, p99, size = latency(net, texts)
    return {"p@1": metrics.top_k_accuracy(answers,
                                          labels_file.class_ids(labels), 1),
            "p@5": metrics.top_k_accuracy(answers,
                                          labels_file.class_ids(labels), 5),
            "train_seconds": seconds, "p50": p50, "p99": p99, "bytes": size}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--init", required=True,
                        help="student-init file (--method=context)")
    parser.add_argument("--words_init", default=None,
                        help="student-init file (--method=words)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default="")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    made = wordnet_accuracy.make_records(args.work)
    for copies in (2, 4):  # augment.py's transfer sets, when made
        prefix = os.path.join(args.work, "records", f"unlabeled_aug{copies}")
        if os.path.exists(prefix + ".meta.json"):
            made[f"unlabeled_aug{copies}"] = (records.RecordSet.read(prefix),
                                              None)
    names = labels_file.read_labels(os.path.join(args.work, "labels.txt"))
    test = wordnet_accuracy.test_split(args.work, names)
    version = code_version()
    out = os.path.join(args.work, "students.json")
    results = json_files.read_json(out) or {}
    chosen = args.only.split(";") if args.only else list(CONFIGS)
    if not args.report and f"teacher|0|{version}" not in results:
        results[f"teacher|0|{version}"] = teacher_row(args.work, test)
        json_files.write_json(out, results)
    for seed in range(0 if args.report else args.seeds):
        for name in chosen:
            key = f"{name}|{seed}|{version}"
            if key in results:
                continue
            results[key] = run(made, CONFIGS[name], seed, test,
                               {"context": args.init,
                                "words": args.words_init})
            r = results[key]
            print(f"{name:<30} seed {seed}: P@1 {r['p@1']:.4f} "
                  f"P@5 {r['p@5']:.4f} train {r['train_seconds']:.0f} s "
                  f"p50 {r['p50'] * 1e3:.2f} ms "
                  f"{r['bytes'] / 1e6:.1f} MB", flush=True)
            # Other runs may write the file too: merge, then write.
            results = dict(json_files.read_json(out) or {}, **results)
            json_files.write_json(out, results)
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}")
    print("| student | test P@1 | test P@5 | p50 batch 1 (ms) | size (MB) "
          "| training (s) | seeds |")
    print("|---|---|---|---|---|---|---|")
    for name, row in summarize(results, ["teacher"] + chosen, version):
        print(f"| {name} | {row['p@1'][0]:.4f} ± {row['p@1'][1]:.4f} | "
              f"{row['p@5'][0]:.4f} ± {row['p@5'][1]:.4f} | "
              f"{row['p50'] * 1e3:.2f} | {row['bytes'] / 1e6:.1f} | "
              f"{row['train_seconds']:.0f} | {row['seeds']} |")


def summarize(results, names, version):
    """[(name, {"p@1": (mean, std), "p@5": ..., "p50", "bytes",
    "train_seconds" (medians), "seeds"})] of the runs of `version`."""
    rows = []
    for name in names:
        found = [v for k, v in results.items()
                 if k.startswith(name + "|") and k.endswith(f"|{version}")]
        if not found:
            continue
        rows.append((name, runs.summarize(
            found, ("p@1", "p@5"), ("p50", "bytes", "train_seconds"))))
    return rows


if __name__ == "__main__":
    sys.exit(main())
