"""Fine-tunes all-MiniLM-L6-v2 on the WordNet labeled split: the teacher
that knows more than its labels, and its scores.

Usage:
  python examples/wordnet/fine_tune_teacher.py \
    --tsv=../shared/data/wordnet_noun_glosses.tsv \
    --embeddings=../shared/data/wordnet_minilm_l6.npy \
    --work=/tmp/wordnet [--layers=0] [--epochs=3] [--folds=2] [--copies=2]

The teacher is `encoder_models.make_encoder_teacher` (linear head,
sequence length --sequence_length, each batch padded to its longest gloss):
its head trained on the frozen encoder's embeddings (--embeddings, the
precomputed ones), then encoder and head fine-tuned together
(`fine_tuning.fine_tune`: all layers, or the top --layers; AdamW,
warmup then cosine decay; batches of glosses of similar length). Stages,
each saved in WORK/NAME/ as it finishes, so a stopped run resumes (NAME is
`fine_tuned` for all layers, `fine_tuned_top{layers}` otherwise):

* `full`: fine-tuned on the whole labeled split (its weights in
  `full.weights.h5`, its encoder as a keras-hub preset in `encoder/`, for
  `student-init --encoder`); scores the test, labeled
  (in-fold: it saw them), unlabeled glosses and the unlabeled glosses'
  augmented copies; prints test P@1.
* `fold{k}` for k < --folds: fine-tuned on the labeled glosses outside fold
  k (`fine_tuning.fine_tuned_fold`, the folds of
  `cross_fitting.fold_of_rows`), scores fold k's glosses and their
  augmented copies: out-of-fold targets.

Scores are float16 logits `WORK/NAME/{split}_logits.npy`; the augmented
copies (`topk_distill.augmentation.augment`, --copies per gloss, seeds as
examples/wordnet/augment.py) are in `WORK/NAME/{split}_aug.tsv` (copy, then
the row of its original in the split). WORK/NAME/report.json keeps test
P@1 and the times. `--skip_folds` stops after `full`.

`--more_copies=C` (after `full`) adds C further copies of each unlabeled
gloss (seed 3) in `unlabeled_aug2.tsv`, scored by the full teacher into
`unlabeled_aug2_logits.npy` in chunks of 4,096 (a stopped run resumes at
its last chunk): with `unlabeled_aug`, a transfer set of up to 5x the
labeled split.
"""

import argparse
import json
import os
import time

import numpy as np

import data
from embed import default_encoder
from topk_distill.inputs import augmentation, labels_file
from topk_distill.models import encoder_models
from topk_distill.teachers import cross_fitting, fine_tuning


def save(path, array):
    """Writes an array atomically (a stopped run never leaves half a file)."""
    np.save(path + ".tmp.npy", array)
    os.replace(path + ".tmp.npy", path)


def copies_of(texts, count, seed, path):
    """`count` augmented copies of each text and their originals' rows,
    written once to `path` (copy<TAB>row) and read back after; none for
    `count=0`."""
    if not count:
        return np.array([], object), np.array([], int)
    if not os.path.exists(path):
        copies, rows = augmentation.augment(texts, copies=count, seed=seed)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            for copy, row in zip(copies, rows):
                f.write(f"{copy.replace(chr(9), ' ')}\t{row}\n")
        os.replace(path + ".tmp", path)
    with open(path, encoding="utf-8") as f:
        pairs = [line.rstrip("\n").split("\t") for line in f]
    return (np.array([p[0] for p in pairs], object),
            np.array([int(p[1]) for p in pairs]))


def score_more_copies(make_teacher, out, unlabeled, count, chunk=4096):
    """Scores `count` further copies (seed 3) of each unlabeled gloss with
    the full teacher, chunk by chunk, into unlabeled_aug2_logits.npy."""
    path = os.path.join(out, "unlabeled_aug2_logits.npy")
    if os.path.exists(path):
        return
    copies, _ = copies_of(list(unlabeled), count, 3,
                          os.path.join(out, "unlabeled_aug2.tsv"))
    teacher = make_teacher()
    teacher.load_weights(os.path.join(out, "full.weights.h5"))
    parts = []
    for start in range(0, len(copies), chunk):
        part = os.path.join(out, f"unlabeled_aug2_{start:07d}.npy")
        if not os.path.exists(part):
            t = time.time()
            logits = fine_tuning.predict_by_length(
                teacher, copies[start:start + chunk], verbose=0)
            save(part, logits.astype(np.float16))
            print(f"scored copies {start}..{start + chunk} of {len(copies)}"
                  f" ({chunk / (time.time() - t):.0f} texts/s)", flush=True)
        parts.append(part)
    save(path, np.concatenate([np.load(p) for p in parts]))
    for part in parts:
        os.remove(part)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsv", required=True)
    parser.add_argument("--embeddings", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--layers", type=int, default=0,
                        help="0: all layers; k: the top k")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--head_epochs", type=int, default=30)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--sequence_length", type=int, default=64)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--skip_folds", action="store_true")
    parser.add_argument("--more_copies", type=int, default=0,
                        help="further copies of each unlabeled gloss, "
                        "scored by the full teacher")
    parser.add_argument("--limit", type=int, default=0,
                        help="keep the first rows of each split (a smoke run)")
    args = parser.parse_args()

    texts, classes = data.load(args.tsv)
    names, labels = data.class_ids(classes)
    texts = np.array(texts, object)
    embeddings = np.load(args.embeddings).astype(np.float32)
    parts = data.split(len(texts))
    if args.limit:
        parts = {split: rows[:args.limit] for split, rows in parts.items()}
    name = "fine_tuned" + (f"_top{args.layers}" if args.layers else "")
    out = os.path.join(args.work, name)
    os.makedirs(out, exist_ok=True)
    labels_file.write_labels(os.path.join(args.work, "labels.txt"), names)
    train = parts["labeled"]
    aug = {split: copies_of(list(texts[parts[split]]), args.copies, seed,
                            os.path.join(out, f"{split}_aug.tsv"))
           for split, seed in (("labeled", 1), ("unlabeled", 2))}
    report_path = os.path.join(out, "report.json")
    report = (json.load(open(report_path)) if os.path.exists(report_path)
              else {"settings": vars(args)})
    encoder = args.encoder or default_encoder()

    def make_teacher():
        return encoder_models.make_encoder_teacher(encoder, len(names),
                                                   args.sequence_length)

    head_settings = dict(epochs=args.head_epochs, seed=0, verbose=0)
    tuning = dict(layers=args.layers, epochs=args.epochs,
                  learning_rate=args.learning_rate,
                  batch_size=args.batch_size, seed=0, verbose=2)

    def done(stage, seconds, **figures):
        report[stage] = dict(seconds=round(seconds), **figures)
        with open(report_path + ".tmp", "w") as f:
            json.dump(report, f, indent=1)
        os.replace(report_path + ".tmp", report_path)
        print(stage, report[stage], flush=True)

    if "full" not in report:
        start = time.time()
        teacher = make_teacher()
        # seed 1, as the run BENCHMARKS.md reports
        fine_tuning.train_encoder_teacher(
            teacher, texts[train], labels[train], embeddings[train],
            np.arange(len(train)), dict(head_settings, seed=1),
            dict(tuning, seed=1))
        tuned = time.time() - start
        teacher.save_weights(os.path.join(out, "full.weights.h5"))
        encoder_models.save_encoder(teacher, encoder,
                                    os.path.join(out, "encoder"), names)
        figures = {}
        for split, examples in (
                ("test", texts[parts["test"]]),
                ("labeled", texts[train]),
                ("unlabeled", texts[parts["unlabeled"]]),
                ("unlabeled_aug", aug["unlabeled"][0])):
            if not len(examples):  # --copies=0
                continue
            logits = fine_tuning.predict_by_length(teacher, examples,
                                                   verbose=0)
            if split in ("test", "labeled"):
                figures[f"{split}_p_at_1"] = round(float(np.mean(
                    logits.argmax(1) == labels[parts[split]])), 4)
            save(os.path.join(out, f"{split}_logits.npy"),
                 logits.astype(np.float16))
        done("full", time.time() - start, fine_tune_seconds=round(tuned),
             **figures)
    if args.more_copies:
        score_more_copies(make_teacher, out, texts[parts["unlabeled"]],
                          args.more_copies)
    if args.skip_folds:
        return
    fold = cross_fitting.fold_of_rows(len(train), args.folds, seed=0)
    for k in range(args.folds):
        stage = f"fold{k}"
        if stage in report:
            continue
        start = time.time()
        teacher, logits = fine_tuning.fine_tuned_fold(
            make_teacher, texts[train], labels[train], embeddings[train],
            fold, k, head_settings, tuning)
        copies, rows = aug["labeled"]
        mine = fold[rows] == k
        copy_logits = fine_tuning.predict_by_length(
            teacher, copies[mine], verbose=0)
        save(os.path.join(out, f"fold{k}_logits.npy"),
             logits.astype(np.float16))
        save(os.path.join(out, f"fold{k}_aug_logits.npy"),
             copy_logits.astype(np.float16))
        done(stage, time.time() - start, p_at_1=round(float(np.mean(
            logits.argmax(1) == labels[train][fold == k])), 4))
    oof = np.zeros((len(train), len(names)), np.float16)
    copies, rows = aug["labeled"]
    oof_aug = np.zeros((len(copies), len(names)), np.float16)
    for k in range(args.folds):
        oof[fold == k] = np.load(os.path.join(out, f"fold{k}_logits.npy"))
        oof_aug[fold[rows] == k] = np.load(
            os.path.join(out, f"fold{k}_aug_logits.npy"))
    save(os.path.join(out, "labeled_oof_logits.npy"), oof)
    save(os.path.join(out, "labeled_aug_logits.npy"), oof_aug)
    print("out-of-fold labeled P@1:",
          round(float(np.mean(oof.argmax(1) == labels[train])), 4))


if __name__ == "__main__":
    main()
