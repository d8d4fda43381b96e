"""Tokenlearn: student word vectors trained to reproduce the teacher's
sentence embeddings (Model2Vec's Tokenlearn step).

A static student reads a text as the mean of its words' vectors. Where
`student_init` gives each word the encoder's vector for it, this trains
the whole table so that each training text's mean points where the
encoder's sentence embedding of the text points: `student-init
--method=tokenlearn` (`student_init.make_init`) runs both.
"""

import numpy as np

from topk_distill.utils.pca import pca


def sentence_embeddings(encoder_dir, texts, batch_size=128,
                        sequence_length=64, verbose=1):
    """The encoder's sentence embedding of each text: its output vectors
    mean-pooled over the text's WordPieces ([CLS] and [SEP] included, as
    sentence-transformers pools), L2-normalised.

    Returns:
        float32 [len(texts), D0].
    """
    import keras

    from topk_distill.models import encoder_models

    teacher = encoder_models.make_encoder_teacher(
        encoder_dir, num_classes=1, sequence_length=sequence_length)
    embed = keras.Model(teacher.input, teacher.get_layer("embedding").output)
    return embed.predict(np.array(list(texts), object), batch_size=batch_size,
                         verbose=verbose).astype(np.float32)


def tokenlearn(table, texts, targets, epochs=10, batch_size=256,
               learning_rate=1e-3, seed=0, verbose=1):
    """Word vectors trained to reproduce the teacher's sentence embeddings.

    Tokenlearn's step (Model2Vec): a static student reads a text as the
    mean of its words' vectors, so those vectors are trained until that
    mean, through a linear map `W`, points where the teacher's sentence
    embedding of the text points (cosine loss; the targets PCA-reduced to
    the table's width). The result is the trained table times `W`: the
    normalised mean of a text's rows then approximates the direction of
    its (reduced) teacher embedding, and each word's weight in that mean
    is learnt as its vector's length.

    Args:
        table: the starting table, `(words, vectors)` as `make_init` and
            `load` return it: V words ("" and "[UNK]" first) and float32
            [V, D].
        texts: the texts (raw; standardised as the student does).
        targets: float [len(texts), D0], D0 >= D: the teacher's sentence
            embedding of each text (`sentence_embeddings`).
        epochs: the fit's passes over the texts.
        batch_size: texts per step.
        learning_rate: Adam's.
        seed: random seed.
        verbose: Keras `fit` verbosity.

    Returns:
        (float32 [V, D] vectors, scaled as `reduce` scales them; the
        final mean cosine similarity to the targets).

    Raises:
        ValueError: texts and targets of different lengths.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> words = ["", "[UNK]", "red", "blue", "cat", "dog"]
        >>> texts = ["red cat", "blue cat", "red dog", "blue dog"] * 8
        >>> meaning = {"red": [1, 0, 0], "blue": [0, 1, 0], "cat": [0, 0, 1],
        ...            "dog": [0, 0, -1]}
        >>> targets = np.array([np.add(*(meaning[w] for w in t.split()))
        ...                     for t in texts], np.float32)
        >>> start = rng.normal(size=(6, 3)).astype(np.float32)
        >>> _, cosine = tokenlearn((words, start), texts, targets, epochs=200,
        ...                        batch_size=32, learning_rate=0.05, verbose=0)
        >>> cosine > 0.99
        True
    """
    import keras
    import tensorflow as tf

    words, vectors = table
    if len(texts) != len(targets):
        raise ValueError(f"{len(texts)} texts but {len(targets)} target "
                         "embeddings; expected one each")
    dim = vectors.shape[1]
    targets = np.asarray(targets, np.float32)
    if targets.shape[1] > dim:
        targets = pca(targets, dim)
    elif targets.shape[1] < dim:
        raise ValueError(f"target embeddings of width {targets.shape[1]} "
                         f"for {dim}-d vectors; expected at least {dim}")
    keras.utils.set_random_seed(seed)
    vectorize = keras.layers.TextVectorization(vocabulary=list(words)[2:])
    tokens = keras.Input(shape=(None,), dtype="int64")
    embedding = keras.layers.Embedding(
        len(words), dim, embeddings_initializer=keras.initializers.Constant(
            vectors))
    present = keras.ops.cast(keras.ops.not_equal(tokens, 0), "float32")
    summed = keras.ops.sum(embedding(tokens) * present[..., None], axis=1)
    mean = summed / keras.ops.maximum(
        keras.ops.sum(present, axis=1, keepdims=True), 1.0)
    mapped = keras.layers.Dense(
        dim, use_bias=False, kernel_initializer="identity")(mean)
    model = keras.Model(tokens, mapped)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.CosineSimilarity())
    data = tf.data.Dataset.from_tensor_slices(
        (np.array(list(texts), object), targets)).shuffle(
        len(texts), seed=seed).batch(batch_size).map(
        lambda t, y: (vectorize(t), y))
    history = model.fit(data, epochs=epochs, verbose=verbose)
    table = keras.ops.convert_to_numpy(
        embedding.embeddings) @ keras.ops.convert_to_numpy(
        model.layers[-1].kernel)
    table[0] = 0.0  # padding
    table *= 0.05 / np.sqrt(3) / max(np.sqrt(np.mean(table[1:] ** 2)),
                                     1e-12)
    return table.astype(np.float32), -float(history.history["loss"][-1])
