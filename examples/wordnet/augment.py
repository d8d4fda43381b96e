"""Augmented copies of the WordNet training texts, scored by the teacher.

Usage:
  python examples/wordnet/augment.py --work=/tmp/wordnet --copies=2 \
    --tsv=../shared/data/wordnet_noun_glosses.tsv \
    --embeddings=../shared/data/wordnet_minilm_l6.npy \
    [--encoder=DIR] [--batch_size=256]

After build_data.py (which writes WORK/labeled.tsv and WORK/unlabeled.tsv),
makes `--copies` augmented copies of every labeled and unlabeled text
(`topk_distill.augmentation.augment`: Tang et al.'s masking, p=0.1, and
n-gram sampling, p=0.25) and embeds them with all-MiniLM-L6-v2, the
teacher's encoder (the `"embedding"` layer of
`encoder_models.make_encoder_teacher`). Writes WORK/{split}_aug.tsv (text, and
the original's row) and WORK/{split}_aug_embeddings.npy (float16, row-aligned).
The encoder is the slow part (tens of texts per second on 2 cores), so the work
goes in chunks saved as they finish (WORK/aug_chunks/): a stopped run resumes.
Then the teacher's heads score the copies, as build_data.py scores the
originals (same seeds): a copy of an unlabeled text by the head trained on the
whole labeled split, a copy of a labeled text by the cross-fitted head that did
not see its original. The unlabeled texts and all copies become one transfer
set, WORK/transfer{copies}.tsv with its logits WORK/transfer{copies}_logits.npy
(float16), and the record set WORK/records/unlabeled_aug{copies} (20 draws at
T=1, q8, as `unlabeled_soft` in the bundle) that benchmarks/students.py trains
from.
"""

import argparse
import os

import numpy as np

import data
import embed
from topk_distill.inputs import augmentation
from topk_distill.preprocessing import preprocessing
from topk_distill.teachers import cross_fitting
from topk_distill.teachers.teacher import load_teacher

CHUNK = 2048


def embed_chunks(texts, model, folder, batch_size):
    """Embeds texts in chunks saved to folder (resuming); returns [M, 384]."""
    import keras

    os.makedirs(folder, exist_ok=True)
    parts = []
    bar = keras.utils.Progbar(len(texts), unit_name="text")
    for start in range(0, len(texts), CHUNK):
        path = os.path.join(folder, f"{start:08d}.npy")
        if not os.path.exists(path):
            vectors = model.predict(
                np.array(texts[start:start + CHUNK], object),
                batch_size=batch_size, verbose=0).astype(np.float16)
            np.save(path + ".tmp.npy", vectors)
            os.replace(path + ".tmp.npy", path)
        parts.append(np.load(path))
        bar.add(len(parts[-1]))
    return np.concatenate(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--tsv", required=True)
    parser.add_argument("--embeddings", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--sequence_length", type=int, default=64,
                        help="wordpieces kept (99.8%% of the glosses are shorter)")
    args = parser.parse_args()
    model = embed.embedder(args.encoder or embed.default_encoder(),
                           sequence_length=args.sequence_length)
    copied = {}
    for split, seed in (("labeled", 1), ("unlabeled", 2)):
        path = os.path.join(args.work, f"{split}.tsv")
        with open(path, encoding="utf-8") as f:
            texts = [line.rstrip("\n").split("\t")[0] for line in f]
        copies, rows = augmentation.augment(texts, copies=args.copies,
                                            seed=seed)
        print(f"{split}: {len(texts):,} texts -> {len(copies):,} copies")
        vectors = embed_chunks(
            copies, model, os.path.join(args.work, "aug_chunks",
                                        f"{split}{args.copies}"),
            args.batch_size)
        copied[split] = (texts, copies, rows, vectors.astype(np.float32))
    score(args, copied)


def score(args, copied):
    """The teacher's logits for the copies; writes the transfer set."""
    texts, classes = data.load(args.tsv)
    names, labels = data.class_ids(classes)
    embeddings = np.load(args.embeddings).astype(np.float32)
    parts = data.split(len(texts))
    train, unlabeled = parts["labeled"], parts["unlabeled"]
    # As build_data.py: the head on all labeled texts; the cross-fitted ones.
    head = cross_fitting.train_head(
        embeddings[train], labels[train], len(names), epochs=args.epochs)
    fold, heads = cross_fitting.cross_fit_heads(
        embeddings[train], labels[train], len(names), folds=args.folds,
        epochs=args.epochs)
    _, copies, rows, vectors = copied["labeled"]
    labeled_logits = np.zeros((len(copies), len(names)), np.float16)
    for k, fold_head in enumerate(heads):
        chosen = fold[rows] == k
        labeled_logits[chosen] = np.asarray(fold_head(vectors[chosen]))
    _, unl_copies, _, unl_vectors = copied["unlabeled"]
    unl_texts = copied["unlabeled"][0]
    logits = np.concatenate([
        np.asarray(head(embeddings[unlabeled])).astype(np.float16),
        np.asarray(head(unl_vectors)).astype(np.float16), labeled_logits])
    all_texts = unl_texts + unl_copies + copies
    name = f"transfer{args.copies}"
    tsv = os.path.join(args.work, f"{name}.tsv")
    with open(tsv, "w", encoding="utf-8") as f:
        f.writelines(text.replace("\t", " ") + "\n" for text in all_texts)
    np.save(os.path.join(args.work, f"{name}_logits.npy"), logits)
    preprocessing.preprocess(
        load_teacher(os.path.join(args.work, f"{name}_logits.npy")), tsv,
        os.path.join(args.work, "labels.txt"),
        os.path.join(args.work, "records", f"unlabeled_aug{args.copies}"),
        unlabeled=True, targets="sampled", samples=20,
        sampling_temperature=1.0, seed=0, score_dtype="q8", num_shards=2,
        overwrite=True, command=["examples/wordnet/augment.py"])


if __name__ == "__main__":
    main()
