"""Tokenlearn: word vectors whose text means reach the teacher's sentence
embeddings."""

import numpy as np
import pytest

from topk_distill.models import tokenlearn


def test_tokenlearn_makes_each_texts_mean_point_at_its_target():
    # Targets a bag of words can reach: each text's embedding is the sum
    # of its words' meanings, which the random start does not know.
    words = ["", "[UNK]", "red", "blue", "cat", "dog"]
    texts = ["red cat", "blue cat", "red dog", "blue dog"] * 8
    meaning = {"red": [1.0, 0, 0], "blue": [0, 1.0, 0], "cat": [0, 0, 1.0],
               "dog": [0, 0, -1.0]}
    targets = np.array([np.add(*(meaning[w] for w in t.split()))
                        for t in texts], np.float32)
    start = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    table, _ = tokenlearn.tokenlearn((words, start), texts, targets,
                                     epochs=200, batch_size=32,
                                     learning_rate=0.05, verbose=0)

    def cosines(vectors):  # each text's mean word vector against its target
        means = np.array([vectors[[words.index(w) for w in t.split()]].mean(0)
                          for t in texts])
        return np.sum(means * targets, 1) / (
            np.linalg.norm(means, axis=1) * np.linalg.norm(targets, axis=1))

    assert cosines(start).mean() < 0.5
    assert cosines(table).min() > 0.99
    assert np.all(table[0] == 0)  # padding stays empty
    with pytest.raises(ValueError, match="32 texts but 3 target"):
        tokenlearn.tokenlearn((words, start), texts, targets[:3], verbose=0)
