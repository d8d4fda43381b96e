"""Adam that updates only the rows a sparse gradient names.

Keras 3's `Adam` takes a `tf.IndexedSlices` gradient (a sampled step's
gradient of `ClassVectors`' rows) but densifies it: every step then decays
the moments of all N rows and moves all N rows, a [N, D] cost per step.
`LazyAdam` (TensorFlow Addons' semantics, for Keras 3) updates, for a
sparse gradient, only the rows it names, their moments included: rows a
step does not use, and their moments, stay bit for bit as they were.
Dense gradients get Adam's update unchanged.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="topk_distill")
class LazyAdam(keras.optimizers.Adam):
    """Adam; with a `tf.IndexedSlices` gradient, a lazy update of its rows.

    Takes `keras.optimizers.Adam`'s arguments (`amsgrad` is not supported).

    Examples:
        >>> import numpy as np, tensorflow as tf
        >>> table = keras.Variable(np.ones((4, 2), "float32"))
        >>> optimizer = LazyAdam(learning_rate=0.1)
        >>> gradient = tf.IndexedSlices(tf.ones((1, 2)), tf.constant([2]),
        ...                             tf.constant([4, 2]))
        >>> _ = optimizer.apply_gradients([(gradient, table)])
        >>> [[round(float(x), 3) for x in row] for row in table.numpy()]
        [[1.0, 1.0], [1.0, 1.0], [0.9, 0.9], [1.0, 1.0]]

        Only row 2 moved (by the learning rate, as Adam's first step does).
    """

    def __init__(self, *args, amsgrad=False, **kwargs):
        if amsgrad:
            raise ValueError("LazyAdam does not support amsgrad=True")
        super().__init__(*args, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        # A row named several times gets its gradients summed: every entry
        # of a row computes the same new row (from the row's sum), so the
        # scatters below write it once whatever the repeats. (No
        # `tf.unique`: its size varies, and XLA miscounts it.)
        order = tf.argsort(gradient.indices)
        rows = tf.gather(gradient.indices, order)
        starts = tf.concat([[True], rows[1:] != rows[:-1]], 0)
        segment = tf.cumsum(tf.cast(starts, tf.int32)) - 1
        values = tf.gather(tf.math.unsorted_segment_sum(
            tf.gather(tf.cast(gradient.values, dtype), order), segment,
            tf.shape(rows)[0]), segment)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        alpha = (tf.cast(learning_rate, dtype) *
                 tf.sqrt(1 - tf.pow(beta_2, step)) /
                 (1 - tf.pow(beta_1, step)))
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # Sparse reads (of the tf.Variable itself): a dense read would make
        # the scatter below copy the whole [N, D] slot.
        m_rows = beta_1 * tf.gather(m.value, rows) + (1 - beta_1) * values
        v_rows = beta_2 * tf.gather(v.value, rows) + (1 - beta_2) * tf.square(
            values)
        new_rows = tf.gather(variable, rows) - (
            alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon))
        shape = tf.shape(variable, out_type=rows.dtype)
        self.assign(m, tf.IndexedSlices(m_rows, rows, shape))
        self.assign(v, tf.IndexedSlices(v_rows, rows, shape))
        self.assign(variable, tf.IndexedSlices(new_rows, rows, shape))
