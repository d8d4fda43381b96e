"""Writes the small bundled multi-label sample: WordNet glosses, each
labelled with its ancestors.

Usage:
  python examples/wordnet/prepare_multilabel.py > /tmp/wordnet_multilabel.tsv
  python examples/data/make_multilabel_sample.py /tmp/wordnet_multilabel.tsv

Reads `offset<TAB>gloss<TAB>label|label|...` rows (prepare_multilabel.py's,
from Debian's wordnet-base), draws 1,000 of them (fixed seed) from the 40
labels with the most glosses, keeps the labels that label at least 25 of
the drawn glosses (and each gloss's kept labels: rows left with none are
dropped), and splits them into multilabel_train.tsv (50%),
multilabel_valid.tsv (10%), multilabel_unlabeled.tsv (20%, texts only)
and multilabel_test.tsv (20%) as `text<TAB>label|label|...`. WordNet 3.0 is Princeton University's; see
LICENSE.WordNet.
"""

import collections
import os
import random
import sys

DRAWN, LABELS, MIN_COUNT = 1000, 40, 25


def main(source):
    with open(source, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t")[1:] for line in f]
    rows = [(gloss, labels.split("|")) for gloss, labels in rows]
    counts = collections.Counter(l for _, labels in rows for l in labels)
    top = {label for label, _ in counts.most_common(LABELS)}
    pool = [row for row in rows if top & set(row[1])]
    drawn = random.Random(0).sample(pool, DRAWN)
    inside = collections.Counter(l for _, labels in drawn for l in labels)
    kept = {label for label, n in inside.items() if n >= MIN_COUNT}
    drawn = [(gloss, [l for l in labels if l in kept])
             for gloss, labels in drawn]
    drawn = [(gloss, labels) for gloss, labels in drawn if labels]
    cuts = [len(drawn) * f // 10 for f in (5, 6, 8)]
    here = os.path.dirname(os.path.abspath(__file__))
    for name, part, labeled in (
            ("multilabel_train.tsv", drawn[:cuts[0]], True),
            ("multilabel_valid.tsv", drawn[cuts[0]:cuts[1]], True),
            ("multilabel_unlabeled.tsv", drawn[cuts[1]:cuts[2]], False),
            ("multilabel_test.tsv", drawn[cuts[2]:], True)):
        with open(os.path.join(here, name), "w", encoding="utf-8") as f:
            f.writelines(f"{gloss}\t{'|'.join(labels)}\n" if labeled else
                         f"{gloss}\n" for gloss, labels in part)
    print(f"{len(drawn)} glosses, {len(kept)} labels")


if __name__ == "__main__":
    main(sys.argv[1])
