"""Linear vs MLP head on all of WordNet, on the precomputed encoder embeddings.

Usage: python benchmarks/wordnet_heads.py --work=/tmp/wordnet --data=../shared/data
       [--tsv=FILE --embeddings=FILE]

The heads `topk-distill teacher --encoder` trains (`cross_fitting.train_head`,
30 epochs; linear: Adam 1e-2; MLP, 512 units: Adam 1e-3), on all 4,123
classes: the labeled split (--work/labeled.tsv, from
examples/wordnet/build_data.py) to train, the test split to measure, each
gloss's all-MiniLM-L6-v2 embedding read from --data/wordnet_minilm_l6.npy
(rows of wordnet_noun_glosses.tsv). --tsv and --embeddings name another
dataset in the same three columns and its embeddings (examples/debian:
the Debian package descriptions, embedded by examples/wordnet/embed.py).
"""

import argparse
import os

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/wordnet")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--tsv", default=None)
    parser.add_argument("--embeddings", default=None)
    args = parser.parse_args()
    from topk_distill.inputs import labels_file
    from topk_distill.teachers import cross_fitting

    vectors = np.load(args.embeddings or os.path.join(
        args.data, "wordnet_minilm_l6.npy"))
    row = {}
    with open(args.tsv or os.path.join(args.data,
                                       "wordnet_noun_glosses.tsv")) as f:
        for i, line in enumerate(f):
            row.setdefault(line.split("\t")[1], i)
    names = labels_file.read_labels(os.path.join(args.work, "labels.txt"))

    def split(name):
        texts, labels = labels_file.read_labeled(os.path.join(args.work, name),
                                                 names)
        return vectors[[row[t] for t in texts]], labels_file.class_ids(labels)

    (train, y_train), (test, y_test) = split("labeled.tsv"), split("test.tsv")
    print(f"machine: {os.cpu_count()} cores; {len(names)} classes, "
          f"{len(y_train)} training and {len(y_test)} test texts")
    for hidden in (0, 512):  # Adam 1e-2 and 1e-3: train_head's defaults
        head = cross_fitting.train_head(train, y_train, len(names), epochs=30,
                                        hidden_units=hidden)
        top1 = np.mean(np.argmax(head(test), axis=1) == y_test)
        print(f"{'MLP (512)' if hidden else 'linear'} head: test top-1 "
              f"{top1:.4f}", flush=True)


if __name__ == "__main__":
    main()
