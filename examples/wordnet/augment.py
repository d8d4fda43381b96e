"""Embeds augmented copies of the WordNet training texts with the teacher.

Usage:
  python examples/wordnet/augment.py --work=/tmp/wordnet --copies=2 \
    [--encoder=DIR] [--batch_size=256]

After build_data.py (which writes WORK/labeled.tsv and WORK/unlabeled.tsv),
makes `--copies` augmented copies of every labeled and unlabeled text
(`topk_distill.augmentation.augment`: Tang et al.'s masking, p=0.1, and
n-gram sampling, p=0.25) and embeds them with all-MiniLM-L6-v2, the
teacher's encoder (the `"embedding"` layer of
`models.make_encoder_teacher`). Writes WORK/{split}_aug.tsv (text, and the
original's row) and WORK/{split}_aug_embeddings.npy (float16, row-aligned).
The encoder is the slow part (tens of texts per second on 2 cores), so the
work goes in chunks saved as they finish (WORK/aug_chunks/): a stopped run
resumes. build_data.py --augmented then scores the copies with the heads.
"""

import argparse
import os

import numpy as np

import embed
from topk_distill import augmentation

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
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--sequence_length", type=int, default=64,
                        help="wordpieces kept (99.8%% of the glosses are shorter)")
    args = parser.parse_args()
    model = embed.embedder(args.encoder or embed.default_encoder(),
                           sequence_length=args.sequence_length)
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
        with open(os.path.join(args.work, f"{split}_aug.tsv"), "w",
                  encoding="utf-8") as f:
            for text, row in zip(copies, rows):
                f.write(f"{text}\t{row}\n")
        np.save(os.path.join(args.work, f"{split}_aug_embeddings.npy"),
                vectors)


if __name__ == "__main__":
    main()
