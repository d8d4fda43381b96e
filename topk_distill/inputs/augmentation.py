"""Text augmentation for a bigger transfer set (Tang et al., 2019).

A student learns the teacher's function where the teacher is asked: more
texts near the training texts, scored by the teacher once, give it more of
that function to copy. Tang et al. ("Distilling Task-Specific Knowledge
from BERT into Simple Neural Networks") make them by masking words
(probability `p_mask` each, replaced by `MASK`) and, with probability
`p_ngram` per copy, keeping only a random n-gram (n from 1 to 5) of it.
Their third rule, swapping words for others of the same part of speech,
needs a tagger and is left out. The copies carry no label of their own:
the teacher scores them (for a labeled text, a cross-fitted head that did
not see the original).
"""

import numpy as np

MASK = "[MASK]"


def augment(texts, copies=2, p_mask=0.1, p_ngram=0.25, max_ngram=5, seed=0):
    """Makes augmented copies of texts by masking words and n-gram sampling.

    Args:
        texts: a sequence of strings.
        copies: augmented copies per text.
        p_mask: the probability that each word is replaced by `MASK`.
        p_ngram: the probability that a copy keeps only an n-gram of the
            text, n uniform in 1..`max_ngram` (at most the text's length).
        max_ngram: the longest n-gram kept.
        seed: the copies are a function of (texts, seed).

    Returns:
        (copies of the texts, the row of each copy's original): a list of
        `len(texts) * copies` strings and an int64 array, copy j of text i at
        `i * copies + j`.

    Examples:
        >>> copied, rows = augment(["a small grey cat", "a dog"], copies=2,
        ...                        p_mask=0.5, seed=1)
        >>> len(copied), rows.tolist()
        (4, [0, 0, 1, 1])
        >>> all(set(c.split()) <= {"a", "small", "grey", "cat", "dog", MASK}
        ...     for c in copied)
        True
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    for name, p in (("p_mask", p_mask), ("p_ngram", p_ngram)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p}")
    rng = np.random.default_rng(seed)
    out = []
    for text in texts:
        words = text.split()
        for _ in range(copies):
            copy = [MASK if rng.random() < p_mask else w for w in words]
            if words and rng.random() < p_ngram:
                n = int(rng.integers(1, min(max_ngram, len(copy)) + 1))
                start = int(rng.integers(0, len(copy) - n + 1))
                copy = copy[start:start + n]
            out.append(" ".join(copy))
    return out, np.repeat(np.arange(len(texts), dtype=np.int64), copies)
