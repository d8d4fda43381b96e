"""Builds the WordNet teacher outputs shipped in topk_distill/data/wordnet.

Usage:
  python examples/wordnet/build_data.py \
    --tsv=../shared/data/wordnet_noun_glosses.tsv \
    --embeddings=../shared/data/wordnet_minilm_l6.npy \
    --work=/tmp/wordnet --output=topk_distill/data/wordnet \
    [--scores=/tmp/wordnet/fine_tuned]

The teacher is all-MiniLM-L6-v2 with a linear head trained on the labeled
split (`encoder_models.make_encoder_teacher`, whose `"embedding"` layer gives
the precomputed embeddings: recompute them with embed.py). Without --scores,
the encoder is frozen: its logits are the head applied to those
embeddings, and the labeled split is scored with cross-fitted heads
(--folds: each text by a head that did not see it). With --scores, the
teacher is the fine-tuned one of fine_tune_teacher.py, whose saved logits
(that folder's `labeled_oof_logits.npy`, `unlabeled_logits.npy`,
`test_logits.npy`) are used instead: the labeled split scored by the
out-of-fold teachers, or, if it made none (`--skip_folds`), by the full
teacher.
Written to --output (all q8, gzip): labels.txt, test.tsv, and record sets
`labeled_topk` (the method's K=20 logits), `labeled_sampled` (the
kind benchmarks/wordnet_accuracy.py measured best: see SAMPLED),
`unlabeled_hard` (the top-1 pseudo label), `unlabeled_soft` (20 draws at
T=1: soft pseudo targets) and `teacher_test` (the teacher's own K=20 logits
on the test split). --work keeps the split TSVs and the dense score arrays
(.npy), for benchmarks.
"""

import argparse
import os
import shutil

import numpy as np

import data
from topk_distill.inputs import labels_file
from topk_distill.preprocessing import preprocessing
from topk_distill.teachers import cross_fitting
from topk_distill.teachers.teacher import load_teacher

# The labeled targets the demo distils from: the best kind at about top-20's
# bytes in BENCHMARKS.md ("What stored targets teach").
SAMPLED = dict(targets="sampled", samples=20, sampling_temperature=2.0,
               seed=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsv", required=True)
    parser.add_argument("--embeddings", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--scores", default=None,
                        help="fine_tune_teacher.py's output folder")
    args = parser.parse_args()
    texts, classes = data.load(args.tsv)
    names, labels = data.class_ids(classes)
    embeddings = np.load(args.embeddings).astype(np.float32)
    parts = data.split(len(texts))
    os.makedirs(args.work, exist_ok=True)
    labels_path = os.path.join(args.work, "labels.txt")
    labels_file.write_labels(labels_path, names)
    for name, rows in parts.items():
        data.write_tsv(os.path.join(args.work, f"{name}.tsv"),
                       [texts[i] for i in rows],
                       [classes[i] if name != "unlabeled" else None
                        for i in rows])
    train = parts["labeled"]
    if args.scores:
        # Out-of-fold labeled scores when fine_tune_teacher.py made them
        # (--folds); else the full teacher's own (in-fold): BENCHMARKS.md
        # measured their students equal (0.4393 and 0.4402).
        oof = ("labeled_oof_logits" if os.path.exists(os.path.join(
            args.scores, "labeled_oof_logits.npy")) else "labeled_logits")
        scores = {name: np.load(os.path.join(args.scores, f"{file}.npy"))
                  .astype(np.float32) for name, file in (
                      ("labeled", "labeled_logits"),
                      ("labeled_cross_fit", oof),
                      ("unlabeled", "unlabeled_logits"),
                      ("test", "test_logits"))}
        work = os.path.join(args.work, "bundle_scores")
    else:
        head = cross_fitting.train_head(embeddings[train], labels[train],
                                        len(names), epochs=args.epochs)
        scores = {name: np.asarray(head(embeddings[rows])) for name, rows in
                  parts.items()}
        scores["labeled_cross_fit"] = cross_fitting.cross_fit_logits(
            embeddings[train], labels[train], len(names), folds=args.folds,
            epochs=args.epochs)
        work = args.work
    os.makedirs(work, exist_ok=True)
    for name, values in scores.items():
        np.save(os.path.join(work, f"{name}_logits.npy"), values)
    test = parts["test"]
    print(f"teacher test P@1: {np.mean(scores['test'].argmax(1) == labels[test]):.4f}")
    print("labeled-split P@1, teacher on seen texts: "
          f"{np.mean(scores['labeled'].argmax(1) == labels[train]):.4f}; "
          "cross-fitted: "
          f"{np.mean(scores['labeled_cross_fit'].argmax(1) == labels[train]):.4f}")
    os.makedirs(args.output, exist_ok=True)
    shutil.copy(labels_path, args.output)
    shutil.copy(os.path.join(args.work, "test.tsv"), args.output)
    for prefix, split, score_file, extra in (
            ("labeled_topk", "labeled", "labeled_cross_fit", dict(top_k=20)),
            ("labeled_sampled", "labeled", "labeled_cross_fit", SAMPLED),
            ("unlabeled_hard", "unlabeled", "unlabeled",
             dict(top_k=1, unlabeled=True)),
            ("unlabeled_soft", "unlabeled", "unlabeled", dict(
                targets="sampled", samples=20, sampling_temperature=1.0,
                unlabeled=True)),
            ("teacher_test", "test", "test", dict(top_k=20))):
        preprocessing.preprocess(
            load_teacher(os.path.join(work, f"{score_file}_logits.npy")),
            os.path.join(args.work, f"{split}.tsv"), labels_path,
            os.path.join(args.output, prefix), num_shards=1,
            compression="gzip", score_dtype="q8",
            command=["examples/wordnet/build_data.py"], overwrite=True,
            **extra)


if __name__ == "__main__":
    main()
