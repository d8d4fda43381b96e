"""The multi-label WordNet set: each noun gloss labelled with its ancestors.

Usage:
  python examples/wordnet/prepare_multilabel.py [--data_noun=/usr/share/wordnet/data.noun]
      [--tsv=wordnet_noun_glosses.tsv] [--min_glosses=20] [--max_share=0.05]
      > wordnet_multilabel.tsv

Each noun synset's labels are the synsets of its hypernym closure (every
hypernym, `@` and `@i`, of every hypernym, up to the root), kept where an
ancestor labels at least --min_glosses glosses and at most --max_share of
them (the few near the root, "entity" or "abstraction", label nearly
everything and would make P@1 trivial). Labels are named `lemma.offset`.

Without --tsv, every noun synset with a kept ancestor is a row. With
--tsv (a `prepare.py` output), its rows are taken, in its order (so a
row's offset finds its precomputed encoder embedding there). Synsets with
no kept ancestor (just below the root) are left out; their count goes to
stderr.

Output rows: `offset<TAB>gloss<TAB>label|label|...` (the labels ordered
nearest ancestor first). Debian's `wordnet-base` ships data.noun; WordNet
3.0 is Princeton University's (see examples/data/LICENSE.WordNet).
"""

import argparse
import collections
import sys


def parse(line):
    """(offset, first lemma, every hypernym offset, gloss) of a data line."""
    data, _, gloss = line.partition(" | ")
    fields = data.split()
    words = int(fields[3], 16)
    at = 4 + 2 * words
    hypernyms = []
    for i in range(int(fields[at])):
        symbol, target = fields[at + 1 + 4 * i: at + 3 + 4 * i]
        if symbol in ("@", "@i"):
            hypernyms.append(target)
    return fields[0], fields[4], hypernyms, gloss.strip()


def ancestors(offset, hypernyms):
    """Every synset above `offset`, nearest first (breadth first)."""
    seen, order, frontier = set(), [], list(hypernyms.get(offset, ()))
    while frontier:
        following = []
        for parent in frontier:
            if parent not in seen:
                seen.add(parent)
                order.append(parent)
                following += hypernyms.get(parent, ())
        frontier = following
    return order


def labels_of(synsets, min_glosses, max_share):
    """{offset: [label names]} for every synset with a kept ancestor."""
    hypernyms = {offset: parents for offset, _, parents, _ in synsets}
    lemmas = {offset: lemma for offset, lemma, _, _ in synsets}
    closure = {offset: ancestors(offset, hypernyms)
               for offset, _, _, _ in synsets}
    counts = collections.Counter(a for above in closure.values()
                                 for a in above)
    most = max_share * len(synsets)
    kept = {a for a, n in counts.items() if min_glosses <= n <= most}
    return {offset: [f"{lemmas[a]}.{a}" for a in above if a in kept]
            for offset, above in closure.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_noun", default="/usr/share/wordnet/data.noun")
    parser.add_argument("--tsv")
    parser.add_argument("--min_glosses", type=int, default=20)
    parser.add_argument("--max_share", type=float, default=0.05)
    args = parser.parse_args()
    with open(args.data_noun, encoding="utf-8") as f:
        synsets = [parse(line) for line in f if not line.startswith("  ")]
    labels = labels_of(synsets, args.min_glosses, args.max_share)
    if args.tsv:
        with open(args.tsv, encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t")[:2] for line in f]
        glosses = dict(rows)
        order = [offset for offset, _ in rows]
    else:
        glosses = {offset: gloss for offset, _, _, gloss in synsets}
        order = [offset for offset, _, _, _ in synsets]
    kept = [offset for offset in order if labels.get(offset)]
    for offset in kept:
        sys.stdout.write(f"{offset}\t{glosses[offset]}\t"
                         f"{'|'.join(labels[offset])}\n")
    sys.stderr.write(f"{len(kept)} rows; {len(order) - len(kept)} synsets "
                     "with no kept ancestor left out\n")


if __name__ == "__main__":
    main()
