"""fastText on the WordNet split: the outside peer the students must beat.

Usage:
  pip install fasttext-numpy2-wheel   (fastText's bindings, prebuilt)
  python benchmarks/fasttext_peer.py --work=/tmp/wordnet --seeds=3

fastText supervised (wordNgrams=2, softmax loss), trained on the labeled
split alone, and on the labeled split plus the unlabeled split with the
teacher's top-1 pseudo labels (WORK/unlabeled_logits.npy from
build_data.py). A small grid (learning rate 0.5 or 1; 25 epochs, dim 100) is chosen on a
validation tenth of the labeled split; the chosen settings are then trained
on all of it with --seeds seeds (fastText's own thread scheduling is not
deterministic: thread=1). Reports test P@1 and P@5, p50 latency of one
text (model.predict), the .bin size and training seconds. Lowercases and
splits punctuation as the students' TextVectorization does. Results are
cached in WORK/fasttext.json by code version.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

import numpy as np

import runs
from topk_distill.models.student_init import standardize

GRID = [dict(lr=lr, epoch=25, dim=100) for lr in (0.5, 1.0)]


DATA = ("labeled", "labeled + unlabeled pseudo labels")


def read(path, labeled=True):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            texts.append(standardize(parts[0]))
            labels.append(parts[1] if labeled else None)
    return texts, labels


def train(texts, labels, settings, seed):
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for text, label in zip(texts, labels):
            f.write(f"__label__{label} {text}\n")
    try:
        start = time.perf_counter()
        model = fasttext.train_supervised(
            f.name, wordNgrams=2, loss="softmax", thread=1, seed=seed,
            verbose=0, minCount=1, bucket=200_000, **settings)
        return model, time.perf_counter() - start
    finally:
        os.remove(f.name)


def evaluate(model, texts, labels, k=5):
    predicted, _ = model.predict(texts, k=k)
    answers = [[p[len("__label__"):] for p in row] for row in predicted]
    p1 = np.mean([a[0] == y for a, y in zip(answers, labels)])
    p5 = np.mean([y in a for a, y in zip(answers, labels)])
    return float(p1), float(p5)


def latency(model, texts, runs=1000):
    times = []
    for i in range(runs):
        start = time.perf_counter()
        model.predict(texts[i % len(texts)], k=5)
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    version = code_version()
    out = os.path.join(args.work, "fasttext.json")
    results = json.load(open(out)) if os.path.exists(out) else {}
    names = open(os.path.join(args.work, "labels.txt")).read().split("\n")
    texts, labels = read(os.path.join(args.work, "labeled.tsv"))
    test_texts, test_labels = read(os.path.join(args.work, "test.tsv"))
    unl_texts, _ = read(os.path.join(args.work, "unlabeled.tsv"), False)
    pseudo = [names[i] for i in np.load(os.path.join(
        args.work, "unlabeled_logits.npy")).argmax(axis=1)]
    data = dict(zip(DATA, [(texts, labels),
                           (texts + unl_texts, labels + pseudo)]))
    order = np.random.default_rng(0).permutation(len(texts))
    valid = set(order[:len(texts) // 10].tolist())
    for name, (x, y) in data.items():
        key = f"{name}|grid|{version}"
        if key not in results:
            fit_x = [t for i, t in enumerate(x) if i not in valid]
            fit_y = [t for i, t in enumerate(y) if i not in valid]
            val_x = [x[i] for i in sorted(valid)]
            val_y = [y[i] for i in sorted(valid)]
            scores = []
            for settings in GRID:
                model, _ = train(fit_x, fit_y, settings, 0)
                scores.append((evaluate(model, val_x, val_y)[0], settings))
                print(f"{name}: {settings} validation P@1 {scores[-1][0]:.4f}",
                      flush=True)
            results[key] = max(scores, key=lambda s: s[0])[1]
            json.dump(results, open(out, "w"), indent=1)
        settings = results[key]
        for seed in range(args.seeds):
            run_key = f"{name}|{seed}|{version}"
            if run_key in results:
                continue
            model, seconds = train(x, y, settings, seed)
            p1, p5 = evaluate(model, test_texts, test_labels)
            with tempfile.TemporaryDirectory() as folder:
                model.save_model(os.path.join(folder, "m.bin"))
                size = os.path.getsize(os.path.join(folder, "m.bin"))
            results[run_key] = dict(p1=p1, p5=p5, seconds=seconds, bytes=size,
                                    p50=latency(model, test_texts))
            print(f"{name} seed {seed}: {results[run_key]}", flush=True)
            json.dump(results, open(out, "w"), indent=1)
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}")
    print("| fastText trained on | settings | test P@1 | test P@5 | "
          "p50 batch 1 (ms) | size (MB) | training (s) | seeds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in summarize(results, version):
        print(f"| {name} | {row['settings']} | {row['p1'][0]:.4f} ± "
              f"{row['p1'][1]:.4f} | {row['p5'][0]:.4f} ± {row['p5'][1]:.4f}"
              f" | {row['p50'] * 1e3:.3f} | {row['bytes'] / 1e6:.1f} | "
              f"{row['seconds']:.0f} | {row['seeds']} |")


def code_version():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def summarize(results, version=None):
    """[(training data, {"p1": (mean, std), "p5", "p50", "bytes", "seconds"
    (medians), "settings", "seeds"})] of the runs of `version`."""
    version = version or code_version()
    rows = []
    for name in DATA:
        found = [v for k, v in results.items()
                 if k.startswith(name + "|") and k.endswith("|" + version)
                 and "|grid|" not in k]
        if not found:
            continue
        row = runs.summarize(found, ("p1", "p5"),
                             ("p50", "bytes", "seconds"))
        row["settings"] = results[f"{name}|grid|{version}"]
        rows.append((name, row))
    return rows


if __name__ == "__main__":
    sys.exit(main())
