"""The WordNet noun-gloss dataset: loading and the fixed seeded split.

Rows of `wordnet_noun_glosses.tsv` (made by prepare.py) are
`offset<TAB>gloss<TAB>class`; the gloss is the text, the class its label.
The split is fixed: a permutation with seed 0 puts 20% in test, 40% in the
labeled training split and 40% in the unlabeled split (labels withheld).
"""

import numpy as np

SEED = 0
FRACTIONS = {"test": 0.2, "labeled": 0.4, "unlabeled": 0.4}


def load(path):
    """Returns (texts, class names) in file order."""
    texts, classes = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            _, gloss, label = line.rstrip("\n").split("\t")
            texts.append(gloss)
            classes.append(label)
    return texts, classes


def class_ids(classes):
    """(the sorted class names, int [M] each row's class id)."""
    names = sorted(set(classes))
    ids = {name: i for i, name in enumerate(names)}
    return names, np.array([ids[c] for c in classes])


def split(num_rows):
    """Returns {"test", "labeled", "unlabeled"}: sorted row indices."""
    order = np.random.default_rng(SEED).permutation(num_rows)
    test_end = round(num_rows * FRACTIONS["test"])
    labeled_end = test_end + round(num_rows * FRACTIONS["labeled"])
    parts = {"test": order[:test_end], "labeled": order[test_end:labeled_end],
             "unlabeled": order[labeled_end:]}
    return {name: np.sort(rows) for name, rows in parts.items()}


def write_tsv(path, texts, labels):
    """Writes `text<TAB>label` lines (label omitted when None)."""
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(texts, labels):
            f.write(text if label is None else f"{text}\t{label}")
            f.write("\n")
