"""Principal component analysis of row vectors: the reduction a student's
word vectors (`models.student_init`) and Tokenlearn's targets
(`models.tokenlearn`) share."""

import numpy as np


def pca(vectors, dim):
    """Projects rows onto their `dim` principal components (centred).

    Args:
        vectors: float [V, D0], D0 >= dim.
        dim: output width.

    Returns:
        float32 [V, dim], columns in order of decreasing variance (zero
        columns beyond the rank when V <= dim).

    Examples:
        >>> x = np.random.default_rng(0).normal(size=(100, 1)) * [3.0, 1.0, 0.0]
        >>> reduced = pca(x, 1)  # x varies along one direction only
        >>> reduced.shape, bool(np.isclose(reduced.var(), x.var(axis=0).sum()))
        ((100, 1), True)
    """
    vectors = np.asarray(vectors, np.float64)
    if dim > vectors.shape[1]:
        raise ValueError(f"PCA to {dim} dimensions needs vectors at least "
                         f"that wide, got {vectors.shape[1]}")
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dim].T
    return np.pad(reduced, [(0, 0), (0, dim - reduced.shape[1])]).astype(
        np.float32)
