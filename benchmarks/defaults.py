"""Training curves of the candidate students: the defaults `train` needs.

Usage:
  python benchmarks/defaults.py --data=wordnet --work=/tmp/curves_wordnet \
    [--rates=1e-3,3e-3,1e-2] [--epochs=40] [--seeds=1] [--only=NAME,...]
  python benchmarks/defaults.py --data=/tmp/debian --work=/tmp/curves_debian
  python benchmarks/defaults.py ... --report

Trains each candidate student (CANDIDATES: `train`'s own, fastText's
bigrams, the frozen normalised mean of the pretrained or the fine-tuned
encoder's word vectors, each where its `student-init` file exists, and of
each --extra_init file's) on the
labels alone and distilled (`LossConfig()`: `train`'s defaults), at each
Adam rate of --rates, for --epochs epochs, and records after every epoch
its P@1 on a validation half and on a test half of the dataset's test
split (a fixed permutation, seed 0: the teacher saw neither half). From
those curves `--report` replays, without training again, every stopping
rule: a fixed epoch count, or early stopping on validation P@1 with a
patience P (keep the best epoch; stop after P epochs without a better
one) under a cap. It prints, per rate and rule, the test P@1 each
candidate ends at, and the epoch it stopped at.

--data=wordnet reads the bundled records (labeled_sampled: labels and the
teacher's sampled targets; unlabeled_soft) and test.tsv; a folder reads a
dataset that examples/debian/prepare.py and fine_tune_teacher.py
--skip_folds made (fine_tuned_students.py's record sets: `infold`,
`unl_soft`). Results are cached in WORK/curves.json by candidate, rate,
loss, seed and code version.
"""

import argparse
import os
import sys
import time

import keras
import numpy as np

import fine_tuned_students
import wordnet_accuracy
from topk_distill.distillation import mixer, student
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs import labels_file
from topk_distill.models import student_init, text_models
from topk_distill.records import reader, records
from topk_distill.utils import json_files

BUNDLE = fine_tuned_students.BUNDLE
HARD = dict(alpha=1.0, beta=0.0, strict=False)
CANDIDATES = {  # name: (make_student keywords, student-init name or None)
    "mean64": (dict(embedding_dim=64), None),
    "pretrained frozen": (dict(train_embeddings=False, normalize=True),
                          "pretrained"),
    "fine-tuned frozen": (dict(train_embeddings=False, normalize=True),
                          "fine_tuned"),
    "bigram64": (dict(embedding_dim=64, architecture="bigram"), None),
}
# "NAME classinit": candidate NAME, its class vectors started from the
# class names (`start_class_vectors`) at this scale.
CLASS_SCALE = 10.0
MODULES = ("student", "losses", "mixer", "text_models", "student_init",
           "codec", "reader")


def dataset(data, work):
    """(labeled set, unlabeled set, class names, {init name: path},
    (valid texts, labels), (test texts, labels))."""
    if data == "wordnet":
        labeled = records.RecordSet.read(os.path.join(BUNDLE,
                                                      "labeled_sampled"))
        unlabeled = records.RecordSet.read(os.path.join(BUNDLE,
                                                        "unlabeled_soft"))
        inits = {"pretrained": os.path.join(BUNDLE, "student_init.npz"),
                 "fine_tuned": os.path.join(BUNDLE,
                                            "student_init_fine_tuned.npz")}
        test_path = os.path.join(BUNDLE, "test.tsv")
    else:
        keep = fine_tuned_students.split_files(
            data, os.path.join(data, "debian_packages.tsv"), 0.0)
        made = fine_tuned_students.make_records(data, "fine_tuned", keep, 0.0)
        labeled, unlabeled = made["infold"], made["unl_soft"]
        inits = {"pretrained": os.path.join(data, "student_init.npz"),
                 "fine_tuned": os.path.join(data, "fine_tuned",
                                            "student_init.npz")}
        test_path = os.path.join(data, "test.tsv")
    names = list(labeled.labels)
    texts, labels = labels_file.read_labeled(test_path, names)
    order = np.random.default_rng(0).permutation(len(texts))
    half = len(order) // 2
    pick = lambda rows: ([texts[i] for i in rows],  # noqa: E731
                         labels_file.class_ids([labels[i] for i in rows]))
    inits = {k: v for k, v in inits.items() if os.path.exists(v)}
    return (labeled, unlabeled, names, inits, pick(order[:half]),
            pick(order[half:]))


def write_valid(work, names, valid):
    """The validation half as WORK/valid.tsv (text<TAB>class name), for a
    `train --validation`; returns its path."""
    path = os.path.join(work, "valid.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{t}\t{names[y]}\n" for t, y in zip(*valid))
    return path


def test_top1(folder, test):
    """P@1 on the test half of the student `train` saved in `folder`."""
    student = keras.saving.load_model(os.path.join(folder, "student.keras"))
    logits = student.predict(np.array(test[0], object), batch_size=2048,
                             verbose=0)
    return float(np.mean(np.argmax(logits, 1) == test[1]))


class Curves(keras.callbacks.Callback):
    """P@1 on the validation and test halves after every epoch."""

    def __init__(self, net, valid, test):
        super().__init__()
        self.net, self.splits = net, {"valid": valid, "test": test}
        self.curves = {"valid": [], "test": []}

    def on_epoch_end(self, epoch, logs=None):
        for name, (texts, labels) in self.splits.items():
            logits = self.net.predict(np.array(texts, object),
                                      batch_size=2048, verbose=0)
            self.curves[name].append(float(np.mean(
                np.argmax(logits, 1) == labels)))


def class_text(name):
    """A class name as words: WordNet's "physical_entity.00001930" ->
    "physical entity"; Debian's sections as they are."""
    return name.split(".")[0].replace("_", " ").replace("-", " ")


def start_class_vectors(net, names, scale):
    """Each class's output weights start as `scale` times the student's
    own (normalised) reading of the class's name; biases 0."""
    pooled = keras.Model(net.input, net.get_layer("normalize").output)
    vectors = pooled.predict(np.array([class_text(n) for n in names],
                                      object), verbose=0)
    layer = net.get_layer("logits")
    layer.kernel.assign(scale * vectors.T)
    layer.bias.assign(np.zeros(len(names), np.float32))


def run(sets, candidate, rate, distilled, epochs, seed):
    labeled, unlabeled, names, inits, valid, test = sets
    class_scale = 0.0
    if candidate.endswith(" classinit"):
        candidate, class_scale = candidate[:-len(" classinit")], CLASS_SCALE
    keywords, init = CANDIDATES[candidate]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    loss = LossConfig() if distilled else LossConfig(**HARD)
    data = mixer.make_distillation_dataset(
        labeled, unlabeled if distilled else None, batch_size=128, seed=seed,
        loss=loss)
    embeddings = student_init.load(inits[init]) if init else None
    net = text_models.make_student(
        None if embeddings else reader.texts([labeled]), len(names),
        embeddings=embeddings, **keywords)
    if class_scale:
        start_class_vectors(net, names, class_scale)
    model = student.DistillationStudent(net, len(names), loss=loss)
    model.compile(optimizer=keras.optimizers.Adam(rate))
    curves = Curves(net, valid, test)
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[curves])
    return dict(curves.curves, seconds=time.perf_counter() - start)


def stop_epoch(valid, patience=None, cap=None, epochs=None):
    """The epoch (0-based) a rule keeps: `epochs` fixed, or early stopping
    on `valid` with `patience` under `cap` (Keras's EarlyStopping with
    restore_best_weights).

    Example:
    >>> stop_epoch([0.1, 0.3, 0.2, 0.25, 0.2, 0.9], patience=2, cap=10)
    1
    >>> stop_epoch([0.1, 0.3, 0.2, 0.25, 0.2, 0.9], epochs=4)
    3
    """
    if epochs is not None:
        return min(epochs, len(valid)) - 1
    best, wait = 0, 0
    for epoch in range(1, min(cap, len(valid))):
        if valid[epoch] > valid[best]:
            best, wait = epoch, 0
        else:
            wait += 1
            if wait >= patience:
                break
    return best


def report(results, version, rates, candidates):
    rules = ([(f"{e} epochs", dict(epochs=e)) for e in (10, 20, 30)] +
             [(f"patience {p}", dict(patience=p, cap=100))
              for p in (1, 2, 3, 5, 8)])
    for distilled in (False, True):
        kind = "distilled" if distilled else "labels only"
        print(f"\n### {kind}: test P@1 at the epoch each rule keeps "
              "(epochs run)\n")
        print("| candidate | rate | " + " | ".join(r for r, _ in rules) +
              " | best valid (epoch) |")
        print("|---|---|" + "---|" * (len(rules) + 1))
        for candidate in candidates:
            for rate in rates:
                key = f"{candidate}|{rate:g}|{int(distilled)}|0|{version}"
                if key not in results:
                    continue
                r = results[key]
                cells = []
                for _, rule in rules:
                    e = stop_epoch(r["valid"], **rule)
                    cells.append(f"{r['test'][e]:.4f} ({e + 1})")
                best = int(np.argmax(r["valid"]))
                print(f"| {candidate} | {rate:g} | " + " | ".join(cells) +
                      f" | {r['valid'][best]:.4f} ({best + 1}) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--rates", default="1e-3,3e-3,1e-2")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--only", default="")
    parser.add_argument("--distilled", default="0,1")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--version", default=None,
                        help="report the results of this code version")
    parser.add_argument("--extra_init", default="",
                        help="NAME=PATH,...: more student-init files, each "
                        "a candidate 'NAME frozen'")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    version = args.version or wordnet_accuracy.code_version(
        MODULES, [os.path.abspath(__file__)])
    out = os.path.join(args.work, "curves.json")
    results = json_files.read_json(out) or {}
    rates = [float(r) for r in args.rates.split(",")]
    sets = dataset(args.data, args.work)
    for item in filter(None, args.extra_init.split(",")):
        name, path = item.split("=", 1)
        sets[3][name] = path
        CANDIDATES[f"{name} frozen"] = (
            dict(train_embeddings=False, normalize=True), name)
    chosen = [c for c in (args.only.split(",") if args.only else CANDIDATES)
              if CANDIDATES[c.replace(" classinit", "")][1] is None or
              CANDIDATES[c.replace(" classinit", "")][1] in sets[3]]
    if not args.report:
        for candidate in chosen:
            for distilled in [bool(int(d)) for d in args.distilled.split(",")]:
                for rate in rates:
                    key = (f"{candidate}|{rate:g}|{int(distilled)}|0|"
                           f"{version}")
                    if key in results:
                        continue
                    results[key] = run(sets, candidate, rate, distilled,
                                       args.epochs, 0)
                    r = results[key]
                    best = int(np.argmax(r["valid"]))
                    print(f"{candidate:<18} rate {rate:g} distilled "
                          f"{int(distilled)}: best valid {r['valid'][best]:.4f}"
                          f" at epoch {best + 1}, test there "
                          f"{r['test'][best]:.4f}; {r['seconds']:.0f} s",
                          flush=True)
                    results = dict(json_files.read_json(out) or {}, **results)
                    json_files.write_json(out, results)
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}; "
          f"data {args.data}")
    report(results, version, rates, chosen)


if __name__ == "__main__":
    sys.exit(main())
