"""Image models: encoded image bytes in (decoded inside, by
`ImageDecoder`), [B, N] logits out."""

import keras


@keras.saving.register_keras_serializable(package="topk_distill")
class ImageDecoder(keras.layers.Layer):
    """Encoded images (PNG, JPEG, GIF, BMP bytes) [B] -> float32 pixels in
    [0, 1], [B, size, size, channels], resized (bilinear) as they come.

    Inside the model, so a saved model classifies the image files' bytes.

    Args:
        size: the side of the decoded square images.
        channels: 3 (RGB) or 1 (grey).

    Examples:
        >>> import tensorflow as tf
        >>> png = tf.io.encode_png(tf.zeros([5, 7, 3], tf.uint8))
        >>> ImageDecoder(size=4)(tf.stack([png, png])).shape
        TensorShape([2, 4, 4, 3])
    """

    def __init__(self, size=32, channels=3, **kwargs):
        super().__init__(**kwargs)
        self.size = size
        self.channels = channels

    def call(self, images):
        import tensorflow as tf

        shape = [self.size, self.size, self.channels]

        def decode(data):
            image = tf.io.decode_image(data, channels=self.channels,
                                       expand_animations=False)
            image = tf.image.resize(tf.cast(image, tf.float32), shape[:2])
            return tf.ensure_shape(image / 255.0, shape)

        return tf.map_fn(decode, images, fn_output_signature=tf.TensorSpec(
            shape, tf.float32))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return dict(super().get_config(), size=self.size,
                    channels=self.channels)


def make_image_student(num_classes, image_size=32, channels=3,
                       filters=(16, 32, 64)):
    """Builds the reference image student: a small convolutional network.

    Encoded image bytes -> `ImageDecoder` -> per width in `filters`: a 3x3
    convolution (ReLU) and 2x2 max-pooling -> global average pooling ->
    a linear layer.

    Args:
        num_classes: N.
        image_size: the side images are resized to.
        channels: 3 (RGB) or 1.
        filters: the convolutions' widths.

    Returns:
        An uncompiled `keras.Model` mapping string[B] (image bytes) to
        logits[B, N]; its input is named `image`.

    Examples:
        >>> import tensorflow as tf
        >>> student = make_image_student(num_classes=5, image_size=8)
        >>> png = tf.io.encode_png(tf.zeros([8, 8, 3], tf.uint8))
        >>> student(tf.stack([png])).shape
        TensorShape([1, 5])
    """
    image = keras.Input(shape=(), dtype="string", name="image")
    x = ImageDecoder(image_size, channels)(image)
    for width in filters:
        x = keras.layers.Conv2D(width, 3, padding="same",
                                activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(image, logits, name="image_student")


def make_image_teacher(num_classes, image_size=64, channels=3,
                       widths=(64, 128, 256, 512), dropout=0.3, shift=0.1):
    """Builds the reference image teacher: a wider, deeper network.

    Encoded image bytes -> `ImageDecoder` (at twice the student's side by
    default: the teacher sees finer detail) -> random shifts while training
    (by up to `shift` of the side) -> per width in `widths`: two 3x3
    convolutions with batch normalisation (ReLU) and 2x2 max-pooling ->
    global average pooling -> dropout -> a linear layer.

    Args:
        num_classes: N.
        image_size: the side images are resized to.
        channels: 3 (RGB) or 1.
        widths: the blocks' convolution widths.
        dropout: before the last layer.
        shift: the training-time translation, as a fraction of the side.

    Returns:
        An uncompiled `keras.Model` mapping string[B] (image bytes) to
        logits[B, N]; its input is named `image`.
    """
    image = keras.Input(shape=(), dtype="string", name="image")
    x = ImageDecoder(image_size, channels)(image)
    if shift:
        x = keras.layers.RandomTranslation(shift, shift,
                                           fill_mode="nearest")(x)
    for width in widths:
        for _ in range(2):
            x = keras.layers.Conv2D(width, 3, padding="same",
                                    use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(image, logits, name="image_teacher")
