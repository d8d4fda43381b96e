"""Student training cost per example: top-K records against the hard-label
floor, dense records and an online teacher.

Usage:
  python benchmarks/train_bench.py --data=wordnet --work=/tmp/wordnet
  python benchmarks/train_bench.py --data=synthetic --classes=100000 \
      --examples=20000 --dense_examples=2000
  [--rounds=3]
  [--methods=hard,topk,topk_unlabeled,dense,online,topk_sampled]
  [--online_teacher=minilm|reference] [--batch_size=128] [--report]

The same student (`text_models.make_student`), batch size and optimizer,
trained six ways, each in a fresh process (so its peak RSS, VmHWM, is its
own):

* hard: the floor, plain Keras `compile(SparseCategoricalCrossentropy)` on
  the labeled records' (text, label), with the same top-1/top-5 metrics;
* topk: `DistillationStudent` on the labeled top-K records (a=0.9);
* topk_unlabeled: the same plus the unlabeled top-1 records, half of each
  batch (b=0.5);
* dense: `DistillationStudent` on dense records (all N float32 scores) of
  the first --dense_examples labeled examples;
* topk_sampled: topk with the sampled softmax (S=1024, a `ClassVectors`
  output, `LazyAdam`);
* online: `keras.distillation.Distiller` running the teacher on every batch
  (all-MiniLM-L6-v2 with a head of N classes, or the reference TF-IDF
  teacher) on the first --online_examples labeled examples.

Data: --data=wordnet reads the bundled records (topk_distill/data/wordnet:
labeled_topk K=20, unlabeled_hard H=1; N=4,123) and writes dense records
from --work/labeled_cross_fit_logits.npy (`examples/wordnet/build_data.py`
makes it); --data=synthetic writes --examples labeled and as many
unlabeled texts and scores them with scale_bench.py's synthetic teacher
(N=--classes).

Time: per example, from the epochs after the first (which traces), so
that runs of different lengths compare and the unlabeled rows' extra work
shows as its own figure. The methods alternate within each of --rounds
rounds; each ratio is the median over rounds of the paired ratio, with min
and max. Results are cached in --work/train_bench.json by method, settings,
round and code version (a hash of the package modules and this file), so a
table never mixes code versions; --report prints from the cache.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
METHODS = ("hard", "topk", "topk_unlabeled", "dense", "online",
           "topk_sampled")
MODULES = ("models", "student", "mixer", "reader", "records", "codec",
           "targets", "losses", "loss_config", "shards", "preprocessing",
           "sampled_softmax", "lazy_adam")
TARGETS = {  # ratio: (bound, "<=" or ">=")
    "topk / hard": (1.10, "<="),
    "online / topk": (50.0, ">="),
    "topk_sampled / dense": (0.1, "<="),
    "online / topk_sampled": (50.0, ">="),
}


def prepare(args):
    """Writes what the children read into args.work; returns the record
    prefixes {"labeled", "unlabeled", "dense"}."""
    from topk_distill.preprocessing import preprocessing
    from topk_distill.teachers.teacher import load_teacher

    paths = {"dense": os.path.join(args.work, "bench_dense")}
    if args.data == "wordnet":
        bundle = os.path.join(ROOT, "topk_distill", "data", "wordnet")
        paths["labeled"] = os.path.join(bundle, "labeled_topk")
        paths["unlabeled"] = os.path.join(bundle, "unlabeled_hard")
        if not os.path.exists(paths["dense"] + ".meta.json"):
            lines = os.path.join(args.work, "bench_dense.tsv")
            with open(os.path.join(args.work, "labeled.tsv")) as f, open(
                    lines, "w") as out:
                out.writelines(line for _, line in zip(
                    range(args.dense_examples), f))
            import numpy as np

            logits = np.load(os.path.join(
                args.work, "labeled_cross_fit_logits.npy"), mmap_mode="r")
            np.save(lines + ".npy", np.asarray(logits[:args.dense_examples]))
            preprocessing.preprocess(
                load_teacher(lines + ".npy"), lines,
                os.path.join(bundle, "labels.txt"), paths["dense"], top_k=0,
                score_dtype="float32", overwrite=True, verbose=0)
        return paths
    import scale_bench

    teacher = scale_bench.synthetic_teacher(args.classes)
    labels = os.path.join(args.work, "labels.txt")
    with open(labels, "w") as f:
        f.writelines(f"c{i}\n" for i in range(args.classes))
    jobs = (("labeled", args.examples, 20, 0, False),
            ("unlabeled", args.examples, 1, 1, True),
            ("dense", args.dense_examples, 0, 0, False))
    for name, count, top_k, seed, unlabeled in jobs:
        prefix = os.path.join(args.work, f"synthetic_{name}")
        paths[name] = prefix
        if os.path.exists(prefix + ".meta.json"):
            continue
        text = prefix + ".tsv"
        scale_bench.write_input(text, count, args.classes, seed=seed)
        preprocessing.preprocess(
            teacher, text, labels, prefix, top_k=top_k,
            score_dtype="float32" if top_k == 0 else "float16",
            unlabeled=unlabeled, overwrite=True, verbose=0)
    return paths


class EpochTimer:
    """Seconds of each epoch, as a Keras callback."""

    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(cb, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(cb, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.start)

        self.seconds = []
        self.callback = Callback()


def online_teacher(kind, num_classes, data):
    import keras

    from topk_distill.models import encoder_models, text_models

    if kind == "reference":
        texts = data.map(lambda text, label: text)
        teacher = text_models.make_teacher(texts, num_classes)
        teacher.compile(optimizer="adam",
                        loss=keras.losses.SparseCategoricalCrossentropy(
                            from_logits=True))
        teacher.fit(data, epochs=1, verbose=0)
        return teacher
    sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
    from embed import default_encoder

    return encoder_models.make_encoder_teacher(default_encoder(), num_classes)


def child(args, paths):
    import keras

    from topk_distill.distillation import mixer, student
    from topk_distill.distillation.loss_config import LossConfig
    from topk_distill.models import text_models
    from topk_distill.records import reader, records

    keras.utils.set_random_seed(0)
    labeled = records.RecordSet.read(paths["labeled"])
    n = labeled.num_classes
    method = args.child
    pairs = reader.make_dataset(labeled, args.batch_size, shuffle=True,
                                seed=0).map(lambda b: (b["text"], b["label"]))
    sampled = 1024 if method == "topk_sampled" else None
    small = text_models.make_student(reader.texts([labeled]), n,
                                     class_vectors=sampled is not None)
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="top1"),
               keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")]
    if method == "hard":
        model, data = small, pairs
        model.compile(optimizer="adam", metrics=metrics,
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
    elif method == "online":
        data = pairs.take(max(1, args.online_examples // args.batch_size))
        model = keras.distillation.Distiller(
            teacher=online_teacher(args.online_teacher, n, data),
            student=small,
            # The KLDivergence class: Keras 3.15's default "kl_divergence"
            # string skips the softmax (tests/distillation/test_student.py).
            distillation_losses=keras.distillation.LogitsDistillation(
                temperature=2.0, loss=keras.losses.KLDivergence()),
            student_loss_weight=0.9)
        model.compile(optimizer="adam", metrics=metrics,
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
    else:
        unlabeled = paths["unlabeled"] if method == "topk_unlabeled" else None
        source = paths["dense"] if method == "dense" else paths["labeled"]
        data = mixer.make_distillation_dataset(
            source, unlabeled, batch_size=args.batch_size, seed=0)
        model = student.DistillationStudent(
            small, n, loss=LossConfig(alpha=0.9, beta=0.5 if unlabeled else
                                      0.0, temperature=2.0),
            sampled_classes=sampled)
        model.compile(optimizer="adam")  # LazyAdam when sampled
    examples = sum(int(batch[0].shape[0]) if isinstance(batch, tuple) else
                   int(batch["label"].shape[0]) for batch in data)
    timer = EpochTimer()
    model.fit(data, epochs=args.epochs, verbose=0, callbacks=[timer.callback])
    from scale_bench import peak_rss_mb

    per_example = statistics.median(timer.seconds[1:]) / examples
    print(json.dumps({"us_per_example": 1e6 * per_example,
                      "examples_per_s": 1 / per_example,
                      "examples": examples, "peak_rss_mb": peak_rss_mb()}))


def ratios(runs, rounds):
    """{name: [paired ratio of each complete round]}."""
    pairs = {"topk / hard": ("topk", "hard"),
             "topk_unlabeled / topk": ("topk_unlabeled", "topk"),
             "topk_unlabeled / hard": ("topk_unlabeled", "hard"),
             "topk / dense": ("topk", "dense"),
             "online / topk": ("online", "topk"),
             "topk_sampled / topk": ("topk_sampled", "topk"),
             "topk_sampled / dense": ("topk_sampled", "dense"),
             "online / topk_sampled": ("online", "topk_sampled")}
    found = {}
    for name, (a, b) in pairs.items():
        values = [runs[a][r]["us_per_example"] / runs[b][r]["us_per_example"]
                  for r in range(rounds)
                  if r in runs.get(a, {}) and r in runs.get(b, {})]
        if values:
            found[name] = values
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["wordnet", "synthetic"],
                        default="wordnet")
    parser.add_argument("--work")
    parser.add_argument("--classes", type=int, default=100_000)
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--dense_examples", type=int, default=5_000)
    parser.add_argument("--online_examples", type=int, default=1_024)
    parser.add_argument("--online_teacher", default="minilm",
                        choices=["minilm", "reference"])
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--child", choices=METHODS)
    parser.add_argument("--paths")
    args = parser.parse_args()
    if args.child:
        return child(args, json.loads(args.paths))
    import wordnet_accuracy

    args.work = args.work or tempfile.mkdtemp()
    os.makedirs(args.work, exist_ok=True)
    version = wordnet_accuracy.code_version(MODULES,
                                            [os.path.abspath(__file__)])
    n = args.classes if args.data == "synthetic" else 4123
    TARGETS["topk / dense"] = (0.6 if n < 10_000 else 0.1, "<=")
    settings = (f"{args.data}|N={n}|examples={args.examples}|"
                f"dense={args.dense_examples}|"
                f"online={args.online_teacher}:{args.online_examples}|"
                f"batch={args.batch_size}|epochs={args.epochs}")
    cache = os.path.join(args.work, "train_bench.json")
    results = json.load(open(cache)) if os.path.exists(cache) else {}
    methods = args.methods.split(",")
    paths = None if args.report else prepare(args)
    for r in range(args.rounds):
        for method in methods:
            key = f"{method}|{settings}|{version}|{r}"
            if key in results or args.report:
                continue
            command = [sys.executable, os.path.abspath(__file__),
                       f"--child={method}", f"--paths={json.dumps(paths)}"] + [
                f"--{k}={getattr(args, k)}" for k in (
                    "batch_size", "epochs", "online_examples",
                    "online_teacher")]
            out = subprocess.run(command, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{method}: {out.stderr[-2000:]}")
            results[key] = json.loads(out.stdout.strip().splitlines()[-1])
            with open(cache, "w") as f:
                json.dump(results, f, indent=1)
            print(f"round {r} {method}: {results[key]}", flush=True)
    runs = {m: {} for m in methods}
    for method in methods:
        head = f"{method}|{settings}|{version}|"
        for key, value in results.items():
            if key.startswith(head):
                runs[method][int(key[len(head):])] = value
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}; "
          f"{settings}")
    print("| method | µs per example | examples/s | peak RSS (MB) | rounds |")
    print("|---|---|---|---|---|")
    for method in methods:
        found = list(runs[method].values())
        if found:
            us = statistics.median(v["us_per_example"] for v in found)
            rss = statistics.median(v["peak_rss_mb"] for v in found)
            print(f"| {method} | {us:.1f} | {1e6 / us:,.0f} | {rss:,.0f} | "
                  f"{len(found)} |")
    print("\n| ratio (per example) | median of paired rounds | min | max | "
          "target |")
    print("|---|---|---|---|---|")
    for name, values in ratios(runs, args.rounds).items():
        middle = statistics.median(values)
        verdict = ""
        if name in TARGETS:
            bound, sense = TARGETS[name]
            met = middle <= bound if sense == "<=" else middle >= bound
            verdict = f"{sense} {bound}: " + ("met" if met else "missed by "
                                              f"{abs(middle / bound - 1):.0%}")
        print(f"| {name} | {middle:.3f} | {min(values):.3f} | "
              f"{max(values):.3f} | {verdict} |")


if __name__ == "__main__":
    main()
