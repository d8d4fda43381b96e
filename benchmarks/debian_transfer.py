"""More real text for the transfer set: Debian's long package descriptions.

Usage:
  python benchmarks/debian_transfer.py --data=/tmp/debian --work=/tmp/transfer \
    [--sizes=0,0.5,1] [--seeds=1]

Augmented copies of the texts hurt on WordNet (BENCHMARKS.md, "Transfer
set size"); real text of the same domain is what a user can add. Each
Debian package has, besides its one-line description (the dataset's
text), a long description (in apt's Translation-en index: `apt-get update
-o Acquire::Languages=en`). This takes the first paragraph of the long
description (at most 48 words) of every package whose one-line
description is a row of the labeled or unlabeled split (never the test
split's), once each, scores them with the fine-tuned teacher
(fine_tune_teacher.py's DATA/fine_tuned/full.weights.h5), and writes them
as soft pseudo targets (20 draws at T=1, q8) as the unlabeled split's.
Then `train`'s default student trains distilled (`train_student`, early
stopping on defaults.py's validation half) on the labeled records with a
transfer set of the unlabeled split plus a --sizes share of the long
descriptions (the unlabeled examples per labeled one grown to match), and
its P@1 on the test half is printed against the transfer set's size.
Cached in WORK/transfer.json by code version.
"""

import argparse
import collections
import glob
import importlib.util
import os
import sys

import keras
import numpy as np

import common
import defaults
import fine_tuned_students
import wordnet_accuracy
from topk_distill.distillation import training
from topk_distill.preprocessing import preprocessing
from topk_distill.records import records
from topk_distill.teachers.teacher import load_teacher

ROOT = fine_tuned_students.ROOT
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
import data  # noqa: E402
from embed import default_encoder  # noqa: E402

# examples/debian/prepare.py (examples/wordnet has a prepare.py too)
_spec = importlib.util.spec_from_file_location(
    "debian_prepare", os.path.join(ROOT, "examples", "debian", "prepare.py"))
prepare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prepare)

MAX_WORDS = 48
# Debian keeps long descriptions apart from the Packages index, in
# Translation-en (`apt-get update -o Acquire::Languages=en` fetches it).
TRANSLATIONS = ("/var/lib/apt/lists/*_dists_bookworm_main_i18n_"
                "Translation-en*")


def long_descriptions(text):
    """{one-line description: [first paragraph of each package's long
    description]} from a Packages index."""
    found = collections.defaultdict(list)
    for block in text.split("\n\n"):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            if not line.startswith(("Description:", "Description-en:")):
                continue
            short = " ".join(line.split(":", 1)[1].split())
            body = []
            for more in lines[i + 1:]:
                if not more.startswith(" "):
                    break
                if more.strip() == ".":
                    if body:
                        break
                    continue
                body.append(more.strip())
            words = " ".join(body).split()[:MAX_WORDS]
            if words:
                found[short].append(" ".join(words))
    return found


def transfer_texts(folder):
    texts, _ = data.load(os.path.join(folder, "debian_packages.tsv"))
    parts = data.split(len(texts))
    allowed = {texts[i] for split in ("labeled", "unlabeled")
               for i in parts[split]}
    path = sorted(glob.glob(TRANSLATIONS))[0]
    found = long_descriptions(prepare.read_index(path).decode("utf-8"))
    chosen = sorted({t for short, longs in found.items() if short in allowed
                     for t in longs} - set(texts))
    # a fixed random order: a share of them is a sample, not a letter range
    return [chosen[i] for i in np.random.default_rng(0).permutation(
        len(chosen))]


def long_scores(folder, work):
    """(the long descriptions, the teacher's float32 logits of them),
    scored once into WORK/long_logits.npy."""
    tsv = os.path.join(work, "long.tsv")
    if not os.path.exists(tsv):
        with open(tsv + ".tmp", "w", encoding="utf-8") as f:
            f.writelines(t.replace("\t", " ") + "\n"
                         for t in transfer_texts(folder))
        os.replace(tsv + ".tmp", tsv)
    with open(tsv, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    path = os.path.join(work, "long_logits.npy")
    if not os.path.exists(path):
        from topk_distill.models import encoder_models
        from topk_distill.teachers import fine_tuning

        names = open(os.path.join(folder, "labels.txt")).read().split()
        teacher = encoder_models.make_encoder_teacher(default_encoder(),
                                                      len(names), 64)
        teacher.load_weights(os.path.join(folder, "fine_tuned",
                                          "full.weights.h5"))
        logits = fine_tuning.predict_by_length(
            teacher, np.array(texts, object), verbose=2)
        np.save(path + ".tmp.npy", logits.astype(np.float32))
        os.replace(path + ".tmp.npy", path)
    return texts, np.load(path)


def transfer_set(folder, work, unlabeled, share):
    """The unlabeled split and the first `share` of the long descriptions
    as one set of soft pseudo targets (20 draws at T=1, q8, as the
    unlabeled split's own)."""
    if not share:
        return unlabeled
    prefix = os.path.join(work, "records", f"transfer{share:g}")
    if not os.path.exists(prefix + ".meta.json"):
        texts, logits = long_scores(folder, work)
        count = int(round(share * len(texts)))
        with open(os.path.join(folder, "unlabeled.tsv"),
                  encoding="utf-8") as f:
            own = [line.rstrip("\n") for line in f]
        tsv = prefix + ".tsv"
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
        with open(tsv, "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in own + texts[:count])
        scores = prefix + "_logits.npy"
        np.save(scores, np.concatenate([np.load(os.path.join(
            folder, "fine_tuned", "unlabeled_logits.npy")).astype(
            np.float32), logits[:count]]))
        preprocessing.preprocess(
            load_teacher(scores), tsv, os.path.join(folder, "labels.txt"),
            prefix, unlabeled=True, targets="sampled", samples=20,
            sampling_temperature=1.0, num_shards=2, score_dtype="q8",
            seed=0, overwrite=True, verbose=0)
        os.remove(scores)
    return records.RecordSet.read(prefix)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--sizes", default="0,0.5,1")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    version = wordnet_accuracy.code_version(
        defaults.MODULES + ("training", "training_config"),
        [os.path.abspath(__file__)])
    results = common.Results(os.path.join(args.work, "transfer.json"),
                             version)
    labeled, unlabeled, names, _, valid, test = defaults.dataset(args.data,
                                                                 args.work)
    valid_path = defaults.write_valid(args.work, names, valid)
    print(f"{len(long_scores(args.data, args.work)[0])} long descriptions",
          flush=True)
    for seed in range(args.seeds):
        for share in map(float, args.sizes.split(",")):
            def run():
                transfer = transfer_set(args.data, args.work, unlabeled,
                                        share)
                ratio = transfer.num_examples / labeled.num_examples
                keras.backend.clear_session()
                folder = os.path.join(args.work, "student")
                history = training.train_student(
                    folder, labeled=labeled, unlabeled=transfer,
                    validation=valid_path, unlabeled_per_labeled=ratio,
                    seed=seed, verbose=0)
                kept = training.kept_epoch(history)
                row = dict(transfer=transfer.num_examples, ratio=ratio,
                           val_top1=history.history["val_top1"][kept - 1],
                           test_top1=defaults.test_top1(folder, test))
                print(f"share {share:g} seed {seed}: {row}", flush=True)
                return row

            results.get_or_run((f"{share:g}", seed), run)
    results = results.data
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}\n")
    print("| transfer set (examples) | per labeled | valid P@1 | test P@1 |")
    print("|---|---|---|---|")
    for key, row in sorted(results.items()):
        if key.endswith(version):
            print(f"| {row['transfer']:,} | {row['ratio']:.2f} | "
                  f"{row['val_top1']:.4f} | {row['test_top1']:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
