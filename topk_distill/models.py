"""Reference text models: a larger teacher and a small, fast student.

Both take a batch of raw strings (text preprocessing lives inside the model,
so a saved model classifies raw text) and return [B, N] logits.
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


def make_student(texts, num_classes, max_tokens=20_000, embedding_dim=64,
                 sequence_length=64):
    """Builds the reference student: mean of word embeddings -> linear layer.

    Args:
        texts: a list or `tf.data.Dataset` of strings to fit the vocabulary.
        num_classes: N, the number of output logits.
        max_tokens: vocabulary size.
        embedding_dim: embedding width.
        sequence_length: tokens kept per text.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N].

    Example:
    >>> student = make_student(["a cat", "a dog"], num_classes=2)
    >>> student(tf.constant(["a dog"])).shape
    TensorShape([1, 2])
    """
    vectorize = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=sequence_length)
    vectorize.adapt(texts)
    text = keras.Input(shape=(), dtype="string", name="text")
    tokens = vectorize(text)
    embedded = keras.layers.Embedding(max_tokens, embedding_dim)(tokens)
    # Mean over real tokens; an empty text averages nothing and gives zeros.
    present = keras.ops.cast(keras.ops.not_equal(tokens, 0), embedded.dtype)
    total = keras.ops.einsum("bt,btd->bd", present, embedded)
    count = keras.ops.maximum(keras.ops.sum(present, axis=1, keepdims=True), 1)
    x = total / count
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(text, logits, name="student")
