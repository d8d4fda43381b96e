"""Tang et al.'s masking and n-gram sampling."""

import numpy as np
import pytest

from topk_distill.inputs import augmentation

TEXT = "one two three four five six seven eight nine ten"


def test_copies_are_seeded_and_aligned():
    a = augmentation.augment([TEXT, "x y"], copies=3, seed=4)
    b = augmentation.augment([TEXT, "x y"], copies=3, seed=4)
    assert a[0] == b[0]
    assert a[1].tolist() == [0, 0, 0, 1, 1, 1]
    assert augmentation.augment([TEXT], copies=3, seed=5)[0] != a[0][:3]


def test_masking_rate_and_ngrams():
    copies, _ = augmentation.augment([TEXT] * 2000, copies=1, p_mask=0.1,
                                     p_ngram=0.0, seed=0)
    words = [w for c in copies for w in c.split()]
    assert len(words) == 20000  # no n-gram sampling: lengths kept
    rate = words.count(augmentation.MASK) / len(words)
    assert 0.09 < rate < 0.11
    copies, _ = augmentation.augment([TEXT] * 2000, copies=1, p_mask=0.0,
                                     p_ngram=1.0, seed=0)
    lengths = np.array([len(c.split()) for c in copies])
    assert set(lengths) == {1, 2, 3, 4, 5}
    # An n-gram is a contiguous run of the text.
    assert all(c in TEXT for c in copies)


def test_empty_text_and_bad_arguments():
    assert augmentation.augment([""], copies=2)[0] == ["", ""]
    with pytest.raises(ValueError, match="p_mask"):
        augmentation.augment([TEXT], p_mask=1.5)
    with pytest.raises(ValueError, match="copies"):
        augmentation.augment([TEXT], copies=0)
