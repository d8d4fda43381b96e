"""Multi-label distillation on WordNet: teacher, distilled and labels-only
students, 3 seeds.

Usage:
  python benchmarks/multilabel_wordnet.py --work=/tmp/multilabel
      [--data=../shared/data] [--data_noun=/usr/share/wordnet/data.noun]
      [--seeds=0,1,2] [--epochs=30] [--learning_rate=0.01] [--top_k=20]
      [--top_h=5] [--scores=DIR] [--variants=hard,distilled]
      [--loss=0.9,0.5,2] [--encoder=DIR --student_layers=2]

The set (`examples/wordnet/prepare_multilabel.py`): each noun gloss of
wordnet_noun_glosses.tsv labelled with its hypernym-closure ancestors that
label 20 glosses to 5% of them (57,019 glosses, N = 2,025, 3.6 labels
each). Split with the WordNet split's seed: 20% test, 40% labeled, 40%
unlabeled; a tenth of the labeled split is held out as validation (each
model's threshold is chosen there).

The teacher: all-MiniLM-L6-v2 (frozen; its precomputed embeddings of the
glosses, --data) with a per-class sigmoid head trained on the labeled
split (`cross_fitting.train_head`, binary cross-entropy); the labeled
split scored out of fold (2 folds), the rest by the head on all of it.
Measured on the test split first, beside the students.

With --scores=DIR, the teacher is another one, whose sigmoid logits for
each split DIR holds as {labeled,unlabeled,valid,test}_scores.npy (e.g.
the fine-tuned teacher of `benchmarks/multilabel_fine_tune.py`).

Students (`train`'s default, word vectors learnt; 30 epochs at learning
rate 1e-2 is the best of the labels-only settings tried, BENCHMARKS.md): on the labels alone
(`--baseline=hard`) and distilled from the teacher's records (labeled
top-K sigmoid logits, unlabeled top-H probabilities; a=0.9 b=0.5 T=2, or
--loss=a,b,T), per seed, alternated. Each is evaluated on the test split
(`evaluate`): P@1, P@5, nDCG@5, micro-F1 at its own threshold; `val p@1`
is its P@1 on the validation split (`train`'s last `val_top1`), to choose
settings by. With --encoder, the students are the encoder student
(`train --student=encoder`: --student_layers of DIR's layers, at train's
defaults for it). Results are cached by code version in WORK/results.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))

KEYS = ("p@1", "p@5", "ndcg@5", "micro_f1")


def version():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12",
                           "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def write_splits(work, data_dir, data_noun):
    """Writes WORK/{labeled,valid,unlabeled,test}.tsv and labels.txt.

    Returns:
        `(ids, parts, names, vectors)`: each gloss's label ids, each split's
        rows, the class names, the glosses' precomputed embeddings.
    """
    import data  # examples/wordnet/data.py
    import prepare_multilabel

    from topk_distill.inputs import labels_file

    os.makedirs(work, exist_ok=True)
    with open(data_noun, encoding="utf-8") as f:
        synsets = [prepare_multilabel.parse(line) for line in f
                   if not line.startswith("  ")]
    labels_of = prepare_multilabel.labels_of(synsets, 20, 0.05)
    rows = [line.rstrip("\n").split("\t") for line in open(
        os.path.join(data_dir, "wordnet_noun_glosses.tsv"),
        encoding="utf-8")]
    vectors = np.load(os.path.join(data_dir, "wordnet_minilm_l6.npy"))
    keep = [i for i, (offset, _, _) in enumerate(rows) if labels_of[offset]]
    texts = [rows[i][1] for i in keep]
    tags = [labels_of[rows[i][0]] for i in keep]
    vectors = vectors[keep].astype(np.float32)
    names = sorted({t for row in tags for t in row})
    labels_file.write_labels(os.path.join(work, "labels.txt"), names)
    index = {n: i for i, n in enumerate(names)}
    ids = [tuple(index[t] for t in row) for row in tags]
    parts = data.split(len(texts))
    labeled = parts["labeled"]
    valid = labeled[::10]
    parts["labeled"] = np.setdiff1d(labeled, valid)
    parts["valid"] = valid
    for name, rows_of in parts.items():
        data.write_tsv(os.path.join(work, f"{name}.tsv"),
                       [texts[i] for i in rows_of],
                       [None if name == "unlabeled" else "|".join(tags[i])
                        for i in rows_of])
    return ids, parts, names, vectors


def build(args):
    """The set's files in WORK: TSVs, labels.txt, teacher scores, records.
    Returns the teacher's test metrics and the records' bytes."""
    from topk_distill.utils import metrics
    from topk_distill.inputs.label_space import MultiLabel
    from topk_distill.preprocessing.preprocessing import preprocess
    from topk_distill.teachers import cross_fitting
    from topk_distill.teachers.teacher import load_teacher

    w = args.work
    ids, parts, names, vectors = write_splits(w, args.data, args.data_noun)
    if args.scores:
        given = {name: np.load(os.path.join(args.scores,
                                            f"{name}_scores.npy"))
                 for name in parts}
    else:
        targets = cross_fitting.multi_hot(
            [ids[i] for i in parts["labeled"]], len(names))
        settings = dict(epochs=args.teacher_epochs, seed=0)
        head = cross_fitting.train_head(vectors[parts["labeled"]], targets,
                                        len(names), **settings)
        given = {name: np.concatenate([
            head(vectors[rows_of[i:i + 4096]]).numpy()
            for i in range(0, len(rows_of), 4096)])
            for name, rows_of in parts.items() if name != "labeled"}
        given["labeled"] = cross_fitting.cross_fit_logits(
            vectors[parts["labeled"]], targets, len(names), folds=2,
            **settings)
    for name in ("labeled", "unlabeled"):
        np.save(os.path.join(w, f"{name}_scores.npy"), given[name])

    def answers(name):
        logits = given[name]
        top = np.argsort(-logits, axis=1)[:, :20]
        probabilities = 1 / (1 + np.exp(-np.take_along_axis(logits, top, 1)))
        return top, probabilities, MultiLabel().label_array(
            [ids[i] for i in parts[name]])

    threshold, _ = metrics.best_threshold(*answers("valid"),
                                                     len(names))
    teacher = metrics.multilabel_report(
        *answers("test"), threshold, len(names))
    sizes = {}
    for name, top in (("labeled", args.top_k), ("unlabeled", args.top_h)):
        teacher_scores = load_teacher(os.path.join(w, f"{name}_scores.npy"),
                                      "sigmoid_logits")
        _, summary = preprocess(
            teacher_scores, os.path.join(w, f"{name}.tsv"),
            os.path.join(w, "labels.txt"), os.path.join(w, "records", name),
            unlabeled=name == "unlabeled", top_k=top, num_shards=4,
            overwrite=True, verbose=0)
        sizes[name] = summary["teacher_bytes_per_example"]
    return {"teacher": teacher, "bytes": sizes, "num_classes": len(names),
            "rows": len(ids), "dense_bytes": 4 * len(names)}


def student(args, variant, seed):
    """Trains one student (`hard` or `distilled`) and evaluates it."""
    import topk_distill
    from topk_distill.inputs import labels_file
    from topk_distill.inputs.label_space import MultiLabel
    from topk_distill.serving import evaluation

    w = args.work
    output = os.path.join(w, f"{variant}-{seed}")
    fit = dict(epochs=args.epochs, learning_rate=args.learning_rate)
    if args.encoder:  # the encoder student, at its own defaults
        fit = dict(architecture="encoder", encoder=args.encoder,
                   student_layers=args.student_layers)
    topk_distill.train_student(
        output, labeled=os.path.join(w, "records", "labeled-*"),
        unlabeled=(os.path.join(w, "records", "unlabeled-*")
                   if variant == "distilled" else None),
        validation=os.path.join(w, "valid.tsv"),
        baseline="hard" if variant == "hard" else None,
        loss=topk_distill.LossConfig(*args.loss), seed=seed, verbose=0,
        **fit)
    with open(os.path.join(output, "history.json")) as f:
        validation = json.load(f)["history"]["val_top1"][-1]
    names = labels_file.read_labels(os.path.join(w, "labels.txt"))
    texts, labels = labels_file.read_labeled(os.path.join(w, "test.tsv"),
                                             names,
                                             label_space=MultiLabel())
    result = evaluation.evaluate(os.path.join(output, "export"), texts,
                                 labels, latency_repeats=20,
                                 throughput_batches=2)
    return dict({key: result[key] for key in KEYS + ("threshold",)},
                val_p1=validation)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/multilabel")
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared",
                                                       "data"))
    parser.add_argument("--data_noun", default="/usr/share/wordnet/data.noun")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning_rate", type=float, default=1e-2)
    parser.add_argument("--teacher_epochs", type=int, default=30)
    parser.add_argument("--top_k", type=int, default=20)
    parser.add_argument("--top_h", type=int, default=5)
    parser.add_argument("--scores", help="a folder of another teacher's "
                        "{labeled,unlabeled,valid,test}_scores.npy")
    parser.add_argument("--variants", default="hard,distilled",
                        help="the students to run, alternated per seed")
    parser.add_argument("--loss", default="0.9,0.5,2",
                        help="a,b,T of the distilled student")
    parser.add_argument("--encoder", default=None,
                        help="train the encoder student from this "
                        "checkpoint folder (train's defaults for it; "
                        "--epochs and --learning_rate then unused)")
    parser.add_argument("--student_layers", type=int, default=2)
    args = parser.parse_args()
    args.loss = tuple(float(x) for x in args.loss.split(","))
    os.makedirs(args.work, exist_ok=True)
    cache_path = os.path.join(args.work, "results.json")
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    code = version()
    setting = (f"{args.epochs}|{args.learning_rate}|{args.top_k}|"
               f"{args.top_h}|{args.scores}")
    if args.loss != (0.9, 0.5, 2.0):  # the earlier runs' keys stay
        setting += f"|{args.loss}"
    if args.encoder:
        setting += f"|encoder {args.student_layers} {args.encoder}"
    key = (f"data|{args.teacher_epochs}|{args.top_k}|{args.top_h}|"
           f"{args.scores}|{code}")
    if key not in cache:
        cache[key] = build(args)
        json.dump(cache, open(cache_path, "w"), indent=1)
    built = cache[key]
    print(f"{built['rows']} glosses, N={built['num_classes']}; teacher on "
          f"test: " + ", ".join(f"{k} {built['teacher'][k]:.4f}"
                                for k in KEYS), flush=True)
    results = {v: [] for v in args.variants.split(",")}
    for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
        order = list(results)
        for variant in order if i % 2 == 0 else order[::-1]:
            run_key = f"{variant}|{seed}|{setting}|{code}"
            if run_key not in cache:
                cache[run_key] = student(args, variant, seed)
                json.dump(cache, open(cache_path, "w"), indent=1)
            results[variant].append(cache[run_key])
            print(f"seed {seed} {variant}: " + ", ".join(
                f"{k} {cache[run_key][k]:.4f}" for k in KEYS) +
                f"; val p@1 {cache[run_key].get('val_p1', float('nan')):.4f}",
                flush=True)
    print(f"\nmachine: {os.cpu_count()} cores; code {code}; {args.epochs} "
          "epochs")
    print(f"{'':>10} " + " ".join(f"{k:>18}" for k in KEYS))
    print(f"{'teacher':>10} " + " ".join(
        f"{built['teacher'][k]:>18.4f}" for k in KEYS))
    for variant, runs in results.items():
        cells = []
        for k in KEYS:
            values = [r[k] for r in runs]
            cells.append(f"{statistics.mean(values):.4f} ± "
                         f"{statistics.pstdev(values):.4f}")
        print(f"{variant:>10} " + " ".join(f"{c:>18}" for c in cells))
    for k in KEYS if len(results) == 2 else ():
        gaps = [d[k] - h[k] for d, h in zip(results["distilled"],
                                            results["hard"])]
        print(f"distilled - hard, {k}: median {100 * statistics.median(gaps):+.2f}"
              f" points (min {100 * min(gaps):+.2f}, max "
              f"{100 * max(gaps):+.2f})")
    print(f"bytes per example: labeled {built['bytes']['labeled']:.1f}, "
          f"unlabeled {built['bytes']['unlabeled']:.1f}; dense float32 "
          f"{built['dense_bytes']}")


if __name__ == "__main__":
    main()
