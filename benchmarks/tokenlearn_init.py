"""Tokenlearn from precomputed sentence embeddings: a student-init file
whose words' mean reproduces the encoder's sentence embedding of a text.

Usage:
  python benchmarks/tokenlearn_init.py --tsv=../shared/data/wordnet_noun_glosses.tsv \
    --embeddings=../shared/data/wordnet_minilm_l6.npy \
    --start=topk_distill/data/wordnet/student_init_fine_tuned.npz \
    --output=/tmp/wordnet/tokenlearn_fine_tuned.npz [--epochs=10]

`topk-distill student-init --method=tokenlearn` runs the encoder over the
texts for their sentence embeddings; a dataset whose embeddings were
computed once already (examples/wordnet/embed.py: the pretrained
all-MiniLM-L6-v2's, for WordNet in ../shared/data, for Debian in its work
folder) gives them here instead: the labeled and unlabeled rows of
examples/wordnet/data.py's fixed split (the texts the student-init files
were made from), from --start's vocabulary and vectors
(`tokenlearn.tokenlearn`). Prints the final mean cosine similarity.
"""

import argparse
import os
import sys
import time

import numpy as np

from topk_distill.models import student_init, tokenlearn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
import data  # noqa: E402  (examples/wordnet/data.py: the fixed split)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsv", required=True)
    parser.add_argument("--embeddings", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    args = parser.parse_args()
    texts, _ = data.load(args.tsv)
    parts = data.split(len(texts))
    rows = np.concatenate([parts["labeled"], parts["unlabeled"]])
    embeddings = np.load(args.embeddings, mmap_mode="r")
    words, vectors = student_init.load(args.start)
    start = time.perf_counter()
    table, cosine = tokenlearn.tokenlearn(
        (words, vectors), [texts[i] for i in rows],
        np.asarray(embeddings[rows], np.float32), epochs=args.epochs,
        learning_rate=args.learning_rate, verbose=2)
    student_init.save(args.output, words, table,
                      encoder=f"tokenlearn({args.start})")
    print(f"wrote {args.output}: {len(words)} x {table.shape[1]}, mean "
          f"cosine {cosine:.4f}, {len(rows)} texts, "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
