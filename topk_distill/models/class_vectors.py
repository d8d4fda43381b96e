"""An output layer whose classes can be scored a few at a time.

`ClassVectors` is a linear output layer stored the other way round from
`keras.layers.Dense`: one row per class (`vectors` [N, D], `bias` [N]).
Called, it gives all N logits, as a `Dense(N)` would (serving: exact
top-n). `logits_of(features, ids)` gives only the logits of some classes:
it gathers their rows, so the gradient of a step that uses it is a
`tf.IndexedSlices` over those rows, and a lazy optimizer
(`distillation.lazy_adam.LazyAdam`) updates them alone. A sampled-softmax
step (`distillation.sampled_softmax`) trains a student through it at a
cost that does not grow with N.
"""

import keras


@keras.saving.register_keras_serializable(package="topk_distill")
class ClassVectors(keras.layers.Layer):
    """A linear output layer with one (vector, bias) row per class.

    Args:
        num_classes: N.
        **kwargs: `keras.layers.Layer` arguments (e.g. `name`).

    Examples:
        >>> import numpy as np
        >>> layer = ClassVectors(5)
        >>> features = np.ones((2, 3), "float32")
        >>> tuple(layer(features).shape)
        (2, 5)
        >>> some = layer.logits_of(features, np.array([4, 1]))
        >>> np.allclose(some, keras.ops.take(layer(features), [4, 1], axis=1))
        True
    """

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        self.vectors = self.add_weight(
            shape=(self.num_classes, input_shape[-1]), name="vectors",
            initializer="glorot_uniform")
        self.bias = self.add_weight(shape=(self.num_classes,), name="bias",
                                    initializer="zeros")

    def call(self, features):
        return keras.ops.matmul(features, keras.ops.transpose(
            self.vectors)) + self.bias

    def logits_of(self, features, ids):
        """The logits of classes `ids` only: float [B, M] for int [M].

        A sparse read of the rows (TensorFlow's resource gather): a dense
        read of the [N, D] table would be copied whole by the step's
        update of a few rows (copy on write), an [N, D] cost per step.
        """
        import tensorflow as tf

        rows = tf.gather(self.vectors.value, ids)
        return tf.matmul(features, rows, transpose_b=True) + tf.gather(
            self.bias.value, ids)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        return dict(super().get_config(), num_classes=self.num_classes)
