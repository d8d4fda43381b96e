"""Reference models: a larger teacher and a small, fast student per input.

Text models take a batch of raw strings (text preprocessing lives inside
the model, so a saved model classifies raw text); image models take the
encoded image files' bytes (decoded inside, by `ImageDecoder`); feature
models take float32 [B, D]. All return [B, N] logits. `reference_teacher`
and `reference_student` pick the pair for an input kind (`input_kinds`).
"""

import keras


def make_teacher(texts, num_classes, max_tokens=50_000, hidden_units=512):
    """Builds the reference teacher: TF-IDF over word uni- and bigrams -> MLP.

    Args:
        texts: a list or `tf.data.Dataset` of strings to fit the vocabulary.
        num_classes: N, the number of output logits.
        max_tokens: vocabulary size.
        hidden_units: width of the hidden layer.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N].

    Example:
    >>> import tensorflow as tf
    >>> teacher = make_teacher(["a cat", "a dog"], num_classes=2)
    >>> teacher(tf.constant(["a cat"])).shape
    TensorShape([1, 2])
    """
    vectorize = keras.layers.TextVectorization(
        max_tokens=max_tokens, ngrams=2, output_mode="tf_idf")
    vectorize.adapt(texts)
    text = keras.Input(shape=(), dtype="string", name="text")
    x = vectorize(text)
    x = keras.layers.Dense(hidden_units, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(text, logits, name="teacher")


STUDENTS = ("mean", "bigram", "cnn", "transformer")


def make_student(texts, num_classes, max_tokens=20_000, embedding_dim=64,
                 sequence_length=None, architecture="mean", embeddings=None,
                 hash_buckets=20_000, filters=256, train_embeddings=True,
                 normalize=False, width=128, layers=2, heads=4,
                 hidden_units=0):
    """Builds a student: word embeddings -> pooled text vector -> linear layer.

    Four architectures (`architecture`), all mapping raw strings to logits
    through one `TextVectorization` (so all export the same way, TFLite's
    token-id variant included):

    * `"mean"` (the reference): the mean of the words' embeddings.
    * `"bigram"`: fastText's model: the mean of the embeddings of the words
      and of their word bigrams, bigrams hashed into a table of
      `hash_buckets` rows (layer `"bigram_embedding"`).
    * `"cnn"`: a width-3 convolution (`filters` channels, ReLU) over the
      word embeddings, max-pooled over the text (Kim, 2014).
    * `"transformer"`: a small transformer: the word embeddings projected
      to `width` (layer `"project"`), plus learned position embeddings,
      through `layers` pre-norm `keras_hub.layers.TransformerEncoder`
      blocks (`heads` heads, feed-forward width `2 * width`, padding
      masked); their mean over the real tokens, through a linear layer
      that starts at zero (layer `"transformer_out"`), is added to the
      mean of the word embeddings, so it starts as the `"mean"` student.
      Experimental: on WordNet it did not learn (BENCHMARKS.md, issue 23).
      Needs `keras-hub` (`pip install topk-distill[encoder]`).

    Args:
        texts: a list or `tf.data.Dataset` of strings to fit the vocabulary
            (unused when `embeddings` brings one).
        num_classes: N, the number of output logits.
        max_tokens: vocabulary size.
        embedding_dim: embedding width (taken from `embeddings` if given).
        sequence_length: tokens kept per text (default 64; 32 for the
            transformer, whose cost grows with it, and which runs on each
            batch's longest text only).
        architecture: one of `STUDENTS`.
        embeddings: optional `(vocabulary, vectors)` to start from, e.g.
            `student_init.load(path)`: the vocabulary ("" and "[UNK]" first)
            replaces the adapted one and the word rows start from `vectors`
            float [V, D].
        hash_buckets: bigram rows (`"bigram"` only).
        filters: convolution channels (`"cnn"` only).
        width, layers, heads: the transformer's width, blocks and attention
            heads (`"transformer"` only).
        train_embeddings: `False` freezes the word vectors (e.g. those of
            `embeddings`): only the rest of the student trains.
        normalize: L2-normalise the pooled text vector before the linear
            layer (as sentence encoders and Model2Vec do).
        hidden_units: 0 (default) for the linear layer on the pooled
            vector; H > 0 puts a ReLU layer of H units (layer `"hidden"`)
            between them.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N]; its
        embedding table is the layer named `"embedding"`.

    Example:
    >>> import tensorflow as tf
    >>> student = make_student(["a cat", "a dog"], num_classes=2)
    >>> student(tf.constant(["a dog"])).shape
    TensorShape([1, 2])
    >>> bigram = make_student(["a cat", "a dog"], 2, architecture="bigram")
    >>> bigram.get_layer("embedding").input_dim  # "", [UNK], a, cat, dog
    5
    """
    if architecture not in STUDENTS:
        raise ValueError(f"unknown student architecture {architecture!r}; "
                         f"expected one of {', '.join(STUDENTS)}")
    if sequence_length is None:
        sequence_length = 32 if architecture == "transformer" else 64
    if embeddings is not None:
        vocabulary, vectors = embeddings
        embedding_dim = vectors.shape[1]
        vectorize = keras.layers.TextVectorization(
            vocabulary=list(vocabulary)[2:],
            output_sequence_length=sequence_length)
    else:
        vectorize = keras.layers.TextVectorization(
            max_tokens=max_tokens, output_sequence_length=sequence_length)
        vectorize.adapt(texts)
    words = vectorize.vocabulary_size()
    text = keras.Input(shape=(), dtype="string", name="text")
    tokens = vectorize(text)
    present = keras.ops.not_equal(tokens, 0)
    embedding = keras.layers.Embedding(words, embedding_dim, name="embedding",
                                       trainable=train_embeddings)
    embedded = embedding(tokens)
    if architecture == "bigram":
        # fastText-style bigram hash: a bigram of words (u, v) takes row
        # (u * P - v) mod buckets of its own table. int32 arithmetic (no
        # overflow below 68,000 words) and a subtraction (an int addition
        # becomes a BiasAdd TFLite lacks) keep to TFLite's builtin ops.
        ids = keras.ops.cast(tokens, "int32")
        hashed = (ids[:, :-1] * 31_337 - ids[:, 1:]) % hash_buckets
        bigrams = keras.layers.Embedding(hash_buckets, embedding_dim,
                                         name="bigram_embedding")(hashed)
        embedded = keras.ops.concatenate([embedded, bigrams], axis=1)
        present = keras.ops.concatenate(
            [present, keras.ops.logical_and(present[:, :-1], present[:, 1:])],
            axis=1)
    present = keras.ops.cast(present, embedded.dtype)
    if architecture == "cnn":
        x = keras.layers.Conv1D(filters, 3, padding="same",
                                activation="relu")(embedded)
        # ReLU outputs are >= 0: zeroing padding keeps it out of the max.
        x = keras.ops.max(x * present[:, :, None], axis=1)
    else:
        x = _masked_mean(embedded, present)
        if architecture == "transformer":
            kept, mask = TrimPadding(name="trim_padding")(embedded, present)
            context = _masked_mean(_transformer(
                kept, mask, sequence_length, width, layers, heads), mask)
            # zero at the start: the student starts as the mean student
            x = x + keras.layers.Dense(embedding_dim, kernel_initializer=
                                       "zeros", name="transformer_out")(
                                           context)
    if normalize:
        x = keras.layers.UnitNormalization(name="normalize")(x)
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu",
                               name="hidden")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    model = keras.Model(text, logits, name="student")
    if embeddings is not None:  # one row per word of the file's vocabulary
        embedding.embeddings.assign(vectors)
    return model


@keras.saving.register_keras_serializable(package="topk_distill")
class TrimPadding(keras.layers.Layer):
    """Drops the padding columns every text of the batch has.

    `TextVectorization` pads each text to its fixed `sequence_length` (the
    token-id input a TFLite export takes); a transformer's cost grows with
    the length it runs on, so it runs on the batch's longest text only
    (at least one column). Padding is at the end of each row.

    Example:
    >>> import numpy as np
    >>> vectors = np.ones((2, 4, 3), "float32")
    >>> present = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], "float32")
    >>> kept, mask = TrimPadding()(vectors, present)
    >>> tuple(kept.shape), tuple(mask.shape)
    ((2, 2, 3), (2, 2))
    """

    def call(self, embedded, present):
        length = keras.ops.maximum(keras.ops.max(keras.ops.sum(
            keras.ops.cast(present, "int32"), axis=1)), 1)
        return embedded[:, :length], present[:, :length]

    def compute_output_spec(self, embedded, present):
        return (keras.KerasTensor((embedded.shape[0], None,
                                   embedded.shape[2]), embedded.dtype),
                keras.KerasTensor((present.shape[0], None), present.dtype))


def _masked_mean(vectors, present):
    """The mean of [B, L, D] over the real tokens; an empty text: zeros."""
    total = keras.ops.einsum("bt,btd->bd", present, vectors)
    count = keras.ops.maximum(keras.ops.sum(present, axis=1, keepdims=True),
                              1)
    return total / count


def _transformer(embedded, present, sequence_length, width, layers, heads):
    """The transformer student's blocks: [B, L, D] -> [B, L, width]."""
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError("the transformer student needs keras-hub: pip "
                          "install topk-distill[encoder]") from error
    x = keras.layers.Dense(width, name="project")(embedded)
    x = x + keras_hub.layers.PositionEmbedding(
        sequence_length, name="position_embedding")(x)
    mask = keras.ops.cast(present, "bool")
    for i in range(layers):
        x = keras_hub.layers.TransformerEncoder(
            2 * width, heads, dropout=0.1, activation="gelu",
            normalize_first=True, name=f"transformer_{i}")(
                x, padding_mask=mask)
    return keras.layers.LayerNormalization(name="final_norm")(x)


def check_encoder_folder(path, flag="--encoder"):
    """Refuses, before any work, an encoder that is not a checkpoint
    folder (a Hugging Face or keras-hub one holds config.json); remote
    presets (`hf://...`) are left to keras-hub.

    Raises:
        ValueError: naming `flag=path`.
    """
    import os

    if "://" in path:
        return
    if not os.path.isdir(path):
        raise ValueError(f"{flag}={path}: not a folder; expected an encoder "
                         "checkpoint folder (config.json, weights, vocab.txt)")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ValueError(f"{flag}={path}: no config.json in it; expected a "
                         "Hugging Face or keras-hub encoder checkpoint folder")


def make_encoder_teacher(encoder_dir, num_classes, sequence_length=128,
                         hidden_units=0, pad_to_longest=True):
    """Builds a teacher: a pre-trained BERT-family encoder + a linear head.

    Text -> the encoder's WordPiece tokenizer (`bert_inputs.BertInputs`:
    each batch padded to its longest text) -> the encoder (frozen) ->
    mean of the token vectors (padding excluded) -> L2 normalisation (the
    sentence embedding, as sentence-transformers computes it; layer
    `"embedding"`) -> the head (layer `"head"`, `make_head`: linear, or a
    small MLP). Only the head trains until `set_encoder_trainable` opens
    the encoder for fine-tuning. Needs `keras-hub`
    (`pip install topk-distill[encoder]`).

    Args:
        encoder_dir: a local checkpoint folder that
            `keras_hub.models.BertBackbone.from_preset` loads (a Hugging Face
            BERT folder: config.json, model.safetensors, vocab.txt).
        num_classes: N.
        sequence_length: the most tokens kept per text (a batch of shorter
            texts is padded only to its longest).
        hidden_units: 0 for a linear head, else the MLP head's width.
        pad_to_longest: `False` pads every text to `sequence_length`
            (keras-hub's `BertTextClassifierPreprocessor`), for an export
            that needs a fixed shape.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N].

    Example:

    ```python
    teacher = make_encoder_teacher("all-MiniLM-L6-v2/", num_classes=4123)
    embed = keras.Model(teacher.input, teacher.get_layer("embedding").output)
    ```
    """
    import keras_hub

    from topk_distill.bert_inputs import BertInputs

    tokenizer = keras_hub.models.BertTokenizer.from_preset(encoder_dir)
    preprocess = (BertInputs(tokenizer, sequence_length) if pad_to_longest
                  else keras_hub.models.BertTextClassifierPreprocessor(
                      tokenizer, sequence_length=sequence_length))
    encoder = keras_hub.models.BertBackbone.from_preset(encoder_dir)
    encoder.trainable = False
    text = keras.Input(shape=(), dtype="string", name="text")
    tokens = preprocess(text)
    vectors = encoder(tokens)["sequence_output"]
    present = keras.ops.cast(tokens["padding_mask"], vectors.dtype)
    embedding = keras.layers.UnitNormalization(name="embedding")(
        _masked_mean(vectors, present))
    logits = make_head(num_classes, hidden_units)(embedding)
    return keras.Model(text, logits, name="encoder_teacher")


def make_head(num_classes, hidden_units=0, dropout=0.1):
    """The classification head on sentence embeddings (layer `"head"`).

    Args:
        num_classes: N.
        hidden_units: 0 for `Dense(num_classes)`; otherwise a small MLP:
            `Dense(hidden_units, gelu) -> Dropout(dropout) -> Dense(N)`.
        dropout: the MLP's dropout rate.

    Returns:
        An unbuilt layer named `"head"` mapping [B, D] to logits [B, N].

    Example:
    >>> head = make_head(5, hidden_units=8)
    >>> tuple(head(keras.ops.ones((2, 3))).shape)
    (2, 5)
    >>> [tuple(w.shape) for w in head.weights]
    [(3, 8), (8,), (8, 5), (5,)]
    """
    if not hidden_units:
        return keras.layers.Dense(num_classes, name="head")
    return keras.Sequential([
        keras.layers.Dense(hidden_units, activation="gelu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(num_classes)], name="head")


def set_encoder_trainable(teacher, layers=0):
    """Opens an encoder teacher's encoder for fine-tuning.

    Args:
        teacher: a model from `make_encoder_teacher`.
        layers: 0 opens every encoder weight (embeddings included); k > 0
            only the top k transformer layers (the rest stays frozen).

    Returns:
        The number of transformer layers that train.

    Raises:
        ValueError: `layers` is negative or more than the encoder has.

    Example:

    ```python
    teacher = make_encoder_teacher("all-MiniLM-L6-v2/", num_classes=4123)
    set_encoder_trainable(teacher, layers=2)  # top 2 of 6 layers + head
    ```
    """
    encoder = next(layer for layer in teacher.layers
                   if hasattr(layer, "transformer_layers"))
    blocks = encoder.transformer_layers
    if layers < 0 or layers > len(blocks):
        raise ValueError(f"fine-tune layers={layers}; the encoder has "
                         f"{len(blocks)} transformer layers (0 means all)")
    encoder.trainable = True
    for layer in encoder.layers:  # the pooler: the teacher pools by mean
        layer.trainable = not layers and layer.name != "pooled_dense"
    for block in blocks[len(blocks) - layers:] if layers else ():
        block.trainable = True
    return layers or len(blocks)


def train_head(embeddings, labels, num_classes, epochs=30, batch_size=256,
               learning_rate=None, seed=0, verbose=0, hidden_units=0):
    """Trains a classification head on fixed sentence embeddings.

    Args:
        embeddings: float [M, D], e.g. an encoder teacher's `"embedding"`
            layer outputs.
        labels: int [M] class ids.
        num_classes: N.
        epochs, batch_size: training settings.
        learning_rate: Adam's; `None`: 1e-2 for a linear head, 1e-3 for an
            MLP head.
        seed: random seed.
        verbose: Keras verbosity.
        hidden_units: the head's shape, as `make_head`.

    Returns:
        The trained head (`make_head`); set its weights into a teacher's
        `"head"` layer of the same shape.

    Example:
    >>> import numpy as np
    >>> embeddings = np.eye(4, dtype="float32")  # 4 examples, 4 features
    >>> head = train_head(embeddings, np.array([0, 1, 2, 0]), 3, epochs=200)
    >>> head(embeddings).numpy().argmax(axis=1).tolist()
    [0, 1, 2, 0]
    """
    keras.utils.set_random_seed(seed)
    head = make_head(num_classes, hidden_units)
    model = keras.Sequential([keras.Input((embeddings.shape[1],)), head])
    if learning_rate is None:
        learning_rate = 1e-3 if hidden_units else 1e-2
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
    model.fit(embeddings, labels, batch_size=batch_size, epochs=epochs,
              verbose=verbose)
    return head


def fold_of_rows(num_rows, folds, seed=0):
    """The cross-fitting fold of each row: int [num_rows], a seeded
    permutation mod `folds` (every fold the same size, within one row).

    Example:
    >>> sorted(fold_of_rows(5, 2).tolist())
    [0, 0, 0, 1, 1]
    """
    import numpy as np

    return np.random.default_rng(seed).permutation(num_rows) % folds


def cross_fit_heads(embeddings, labels, num_classes, folds=5, seed=0,
                    **train_args):
    """Heads for cross-fitting: head k is trained on every fold but k.

    Args:
        embeddings: float [M, D].
        labels: int [M].
        num_classes: N.
        folds: k >= 2.
        seed: fold assignment and training seed.
        **train_args: passed to `train_head`.

    Returns:
        (fold: int [M], the fold of each row; heads: a list of `folds`
        trained heads). Row i, and anything derived from it (an augmented
        copy), is scored by `heads[fold[i]]`, which never saw it.
    """
    fold = fold_of_rows(len(labels), folds, seed)
    heads = [train_head(embeddings[fold != k], labels[fold != k], num_classes,
                        seed=seed + k, **train_args) for k in range(folds)]
    return fold, heads


def cross_fit_logits(embeddings, labels, num_classes, folds=5, seed=0,
                     **train_args):
    """Out-of-fold head logits: each example scored by a head that never saw it.

    A head trained on the very texts it scores is nearly one-hot on them, so
    its soft targets carry little; cross-fitting gives each labeled text the
    scores of a head trained on the other `folds - 1` folds
    (`cross_fit_heads`).

    Args: as `cross_fit_heads`.

    Returns:
        float32 [M, N] logits.
    """
    import numpy as np

    fold, heads = cross_fit_heads(embeddings, labels, num_classes, folds,
                                  seed, **train_args)
    logits = np.zeros((len(labels), num_classes), np.float32)
    for k, head in enumerate(heads):
        logits[fold == k] = keras.ops.convert_to_numpy(
            head(embeddings[fold == k]))
    return logits


@keras.saving.register_keras_serializable(package="topk_distill")
class ImageDecoder(keras.layers.Layer):
    """Encoded images (PNG, JPEG, GIF, BMP bytes) [B] -> float32 pixels in
    [0, 1], [B, size, size, channels], resized (bilinear) as they come.

    Inside the model, so a saved model classifies the image files' bytes.

    Args:
        size: the side of the decoded square images.
        channels: 3 (RGB) or 1 (grey).

    Example:
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

    Example:
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


def make_features_model(num_classes, feature_dim, hidden_units=0,
                        dropout=0.3):
    """Builds a model on feature vectors: linear, or one hidden layer.

    The reference features student is linear (`hidden_units=0`); the
    reference features teacher has 512 hidden units (ReLU) and dropout.

    Args:
        num_classes: N.
        feature_dim: D.
        hidden_units: 0 for a linear model, else the hidden layer's width.
        dropout: after the hidden layer.

    Returns:
        An uncompiled `keras.Model` mapping float32[B, D] (input named
        `features`) to logits[B, N].

    Example:
    >>> import numpy as np
    >>> make_features_model(3, feature_dim=4)(np.ones([2, 4])).shape
    TensorShape([2, 3])
    """
    features = keras.Input(shape=(feature_dim,), name="features")
    x = features
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(features, logits, name="features_model")


def reference_teacher(kind, examples, num_classes, feature_dim=None):
    """The reference teacher for an input kind (`input_kinds`): `make_teacher`
    fitted on `examples` (text), `make_image_teacher` or a features MLP."""
    if kind == "image":
        return make_image_teacher(num_classes)
    if kind == "features":
        return make_features_model(num_classes, feature_dim,
                                   hidden_units=512)
    return make_teacher(examples, num_classes)


def reference_student(kind, examples, num_classes, feature_dim=None,
                      **text_options):
    """The reference student for an input kind: `make_student` fitted on
    `examples` with `text_options` (text), `make_image_student` or a linear
    model on the features."""
    if kind == "image":
        return make_image_student(num_classes)
    if kind == "features":
        return make_features_model(num_classes, feature_dim)
    return make_student(examples, num_classes, **text_options)
