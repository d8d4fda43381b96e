"""The encoder teacher."""

import numpy as np
import tensorflow as tf

from tests.conftest import encoder_folder
from topk_distill.models import encoder_models


def test_encoder_teacher_embeds_with_unit_norm():
    import keras

    teacher = encoder_models.make_encoder_teacher(
        encoder_folder(), num_classes=2, sequence_length=16)
    embed = keras.Model(teacher.input, teacher.get_layer("embedding").output)
    vectors = embed(tf.constant(["a river in Europe", "a small bird"]))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0,
                               rtol=1e-5)
    # Only the head trains; the encoder stays frozen.
    assert sorted(w.path for w in teacher.trainable_weights) == [
        "head/bias", "head/kernel"]
