"""Rebuilds wordnet_noun_glosses.tsv from WordNet 3.0's data.noun.

Usage: python examples/wordnet/prepare.py [/usr/share/wordnet/data.noun] > out.tsv

Each noun synset with a direct hypernym becomes one example: its gloss is the
text, its first direct hypernym (pointer `@` or `@i`, in file order) the
class, named `lemma.offset` after the hypernym's first lemma. Classes with
fewer than 5 members are dropped. Output rows, in file order:
`offset<TAB>gloss<TAB>class`. Debian's `wordnet-base` package ships
data.noun; WordNet 3.0 is Princeton University's (see
examples/data/LICENSE.WordNet).
"""

import collections
import sys

MIN_MEMBERS = 5


def parse(line):
    """Returns (offset, first lemma, first hypernym offset or None, gloss)."""
    data, _, gloss = line.partition(" | ")
    fields = data.split()
    words = int(fields[3], 16)
    lemma = fields[4]
    pointers_at = 4 + 2 * words
    hypernym = None
    for i in range(int(fields[pointers_at])):
        symbol, target = fields[pointers_at + 1 + 4 * i: pointers_at + 3 + 4 * i]
        if symbol in ("@", "@i"):
            hypernym = target
            break
    return fields[0], lemma, hypernym, gloss.strip()


def main(path):
    synsets = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "):
                synsets.append(parse(line))
    lemmas = {offset: lemma for offset, lemma, _, _ in synsets}
    members = collections.Counter(h for _, _, h, _ in synsets if h)
    for offset, _, hypernym, gloss in synsets:
        if hypernym and members[hypernym] >= MIN_MEMBERS:
            sys.stdout.write(f"{offset}\t{gloss}\t{lemmas[hypernym]}."
                             f"{hypernym}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet/data.noun")
