"""Heads on frozen embeddings and their out-of-fold logits."""

import numpy as np
import pytest

from topk_distill.teachers import cross_fitting


def test_cross_fit_logits_come_from_heads_that_did_not_see_the_row(rng):
    embeddings = rng.normal(size=(40, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    logits = cross_fitting.cross_fit_logits(
        embeddings, labels, 3, folds=2, seed=7, epochs=2)
    assert logits.shape == (40, 3)
    # Relabel row 5: only heads that train on it change, so its own logits,
    # and those of the rows of its fold (half of them), stay as they were.
    relabeled = labels.copy()
    relabeled[5] = (labels[5] + 1) % 3
    again = cross_fitting.cross_fit_logits(embeddings, relabeled, 3, folds=2,
                                           seed=7, epochs=2)
    same = np.all(again == logits, axis=1)
    assert same[5] and same.sum() == 20
    everything = cross_fitting.train_head(embeddings, labels, 3, epochs=2,
                                          seed=7)
    assert not np.allclose(logits, everything(embeddings), atol=1e-3)


@pytest.mark.parametrize("folds", [2, 3])
def test_every_row_gets_out_of_fold_logits(rng, folds):
    embeddings = rng.normal(size=(9, 4)).astype(np.float32)
    logits = cross_fitting.cross_fit_logits(
        embeddings, rng.integers(0, 2, 9), 2, folds=folds, epochs=1)
    assert np.all(np.any(logits != 0, axis=1))
