"""Writes the small bundled sample: 24 WordNet classes, glosses as texts.

Usage: python examples/data/make_sample.py ../shared/data/wordnet_noun_glosses.tsv

Reads `offset<TAB>gloss<TAB>class` rows, keeps the 24 classes with the most
members (at most 25 glosses each), and splits them with a fixed seed into
sample_train.tsv (80%) and sample_test.tsv (20%) as `text<TAB>label`.
WordNet 3.0 is Princeton University's; see LICENSE.WordNet.
"""

import collections
import os
import random
import sys


def main(source):
    by_class = collections.defaultdict(list)
    with open(source, encoding="utf-8") as f:
        for line in f:
            _, gloss, label = line.rstrip("\n").split("\t")
            by_class[label].append(gloss)
    largest = sorted(by_class, key=lambda c: (-len(by_class[c]), c))[:24]
    rows = [(gloss, label) for label in largest for gloss in
            by_class[label][:25]]
    random.Random(0).shuffle(rows)
    cut = len(rows) * 4 // 5
    here = os.path.dirname(os.path.abspath(__file__))
    for name, part in (("sample_train.tsv", rows[:cut]),
                       ("sample_test.tsv", rows[cut:])):
        with open(os.path.join(here, name), "w", encoding="utf-8") as f:
            f.writelines(f"{gloss}\t{label}\n" for gloss, label in part)


if __name__ == "__main__":
    main(sys.argv[1])
