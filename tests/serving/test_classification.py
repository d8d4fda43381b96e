"""Using an export: loading it (with its ops), classifying texts."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import NAMES, SAMPLES
from topk_distill.models import saved_model
from topk_distill.serving import classification


def test_classify_answers_labels_best_first(trained):
    model, folder = trained
    answers = classification.classify(str(folder / "export"), SAMPLES, top_n=2,
                                      batch_size=3)
    probabilities = tf.nn.softmax(model(tf.constant(SAMPLES))).numpy()
    for (labels, scores), want in zip(answers, probabilities):
        best = np.argsort(-want)[:2]
        assert labels == [NAMES[i] for i in best]
        np.testing.assert_allclose(scores, want[best], rtol=1e-5)
    one = classification.classify(str(folder / "export"), SAMPLES[:1])
    assert len(one[0][0]) == 2  # As many as the export answers.


def test_classify_refuses_more_labels_than_exported(trained, tmp_path):
    _, folder = trained
    with pytest.raises(ValueError, match="top_n=3, but .*export answers 2 "
                       "labels; export again with a larger --top_n"):
        classification.classify(str(folder / "export"), ["x"], top_n=3)
    # an export of all its classes: no larger export would answer more
    from topk_distill.models import saved_model

    model, _ = trained
    every = saved_model.export_saved_model(model, str(tmp_path / "every"),
                                           NAMES, top_n=len(NAMES))
    with pytest.raises(ValueError, match=f"top_n=9, but .*every has "
                       f"{len(NAMES)} classes; expected top_n <= "
                       f"{len(NAMES)}"):
        classification.classify(every, ["x"], top_n=9)


def test_top_ids_sorts_each_row(trained):
    _, folder = trained
    served = saved_model.load_saved_model(str(folder / "export"))
    fn = served.signatures["probabilities"]
    got = classification.top_ids(lambda t: fn(text=t), SAMPLES, k=3,
                                 batch_size=3)
    want = np.argsort(-fn(text=tf.constant(SAMPLES))["probabilities"].numpy(),
                      axis=1)
    np.testing.assert_array_equal(got, want)


def test_not_a_saved_model_is_named(tmp_path):
    with pytest.raises(OSError, match=f"{tmp_path}: not a SavedModel folder"):
        saved_model.load_saved_model(str(tmp_path))
