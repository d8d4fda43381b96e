"""Principal components of row vectors."""

import numpy as np
import pytest

from topk_distill.utils.pca import pca


def test_pca_keeps_the_widest_directions(rng):
    x = rng.normal(size=(500, 4)) * [5.0, 2.0, 0.5, 0.1]
    reduced = pca(x, 2)
    np.testing.assert_allclose(reduced.var(axis=0), [25.0, 4.0], rtol=0.15)
    with pytest.raises(ValueError, match="at least that wide"):
        pca(x, 5)
