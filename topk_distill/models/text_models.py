"""Text models: the reference teacher and the students, raw strings in,
[B, N] logits out (text preprocessing lives inside the model, so a saved
model classifies raw text)."""

import dataclasses

import keras

from topk_distill.models import choices
from topk_distill.models import class_vectors as class_vectors_layer
from topk_distill.utils import configs


def make_teacher(texts, num_classes, max_tokens=50_000, hidden_units=512):
    """Builds the reference teacher: TF-IDF over word uni- and bigrams -> MLP.

    Args:
        texts: a list or `tf.data.Dataset` of strings to fit the vocabulary.
        num_classes: N, the number of output logits.
        max_tokens: vocabulary size.
        hidden_units: width of the hidden layer.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N].

    Examples:
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


STUDENTS = choices.STUDENTS
WORD_VECTOR_STUDENTS = ("mean", "bigram", "cnn")


@dataclasses.dataclass(frozen=True)
class TextStudentConfig:
    """The shape of a word-vector student (`make_student`).

    Args:
        architecture: `"mean"`, `"bigram"` or `"cnn"`.
        max_tokens: vocabulary size.
        embedding_dim: embedding width (taken from `embeddings` if given).
        sequence_length: tokens kept per text.
        hash_buckets: bigram rows (`"bigram"` only).
        filters: convolution channels (`"cnn"` only).
        train_embeddings: `False` freezes the word vectors (e.g. those of
            `embeddings`): only the rest of the student trains.
        normalize: L2-normalise the pooled text vector before the linear
            layer (as sentence encoders and Model2Vec do).
        hidden_units: 0 (default) for the linear layer on the pooled
            vector; H > 0 puts a ReLU layer of H units (layer `"hidden"`)
            between them.
        class_vectors: the linear output layer as a
            `class_vectors.ClassVectors` (one row per class), which a
            sampled-softmax step (`DistillationStudent(sampled_classes=)`)
            trains a few rows at a time; the same logits otherwise.

    Raises:
        ValueError: an architecture that is not one of
            `WORD_VECTOR_STUDENTS`.
    """

    architecture: str = "mean"
    max_tokens: int = 20_000
    embedding_dim: int = 64
    sequence_length: int = 64
    hash_buckets: int = 20_000
    filters: int = 256
    train_embeddings: bool = True
    normalize: bool = False
    hidden_units: int = 0
    class_vectors: bool = False

    def __post_init__(self):
        if self.architecture not in WORD_VECTOR_STUDENTS:
            raise ValueError(
                f"unknown student architecture {self.architecture!r}; "
                f"expected one of {', '.join(WORD_VECTOR_STUDENTS)} (the "
                "encoder student: encoder_students)")


def make_student(texts, num_classes, config=None, embeddings=None,
                 **keywords):
    """Builds a student: word embeddings -> pooled text vector -> linear layer.

    Three architectures (`architecture`), all mapping raw strings to logits
    through one `TextVectorization` (so all export the same way, TFLite's
    token-id variant included):

    * `"mean"` (the reference): the mean of the words' embeddings.
    * `"bigram"`: fastText's model: the mean of the embeddings of the words
      and of their word bigrams, bigrams hashed into a table of
      `hash_buckets` rows (layer `"bigram_embedding"`).
    * `"cnn"`: a width-3 convolution (`filters` channels, ReLU) over the
      word embeddings, max-pooled over the text (Kim, 2014).

    The fourth student of `STUDENTS`, `"encoder"`, is the teacher's own
    first layers: `encoder_students.make_encoder_student`.

    Args:
        texts: a list or `tf.data.Dataset` of strings to fit the vocabulary
            (unused when `embeddings` brings one).
        num_classes: N, the number of output logits.
        config: a `TextStudentConfig` (architecture, vocabulary and
            embedding sizes, normalisation, hidden layer, class vectors),
            or its fields as keywords.
        embeddings: optional `(vocabulary, vectors)` to start from, e.g.
            `student_init.load(path)`: the vocabulary ("" and "[UNK]" first)
            replaces the adapted one and the word rows start from `vectors`
            float [V, D].

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N]; its
        embedding table is the layer named `"embedding"`.

    Examples:
        >>> import tensorflow as tf
        >>> student = make_student(["a cat", "a dog"], num_classes=2)
        >>> student(tf.constant(["a dog"])).shape
        TensorShape([1, 2])
        >>> bigram = make_student(["a cat", "a dog"], 2, architecture="bigram")
        >>> bigram.get_layer("embedding").input_dim  # "", [UNK], a, cat, dog
        5
    """
    c = configs.config_from(TextStudentConfig, config, keywords)
    configs.refuse_others(keywords)
    embedding_dim = c.embedding_dim
    if embeddings is not None:
        vocabulary, vectors = embeddings
        embedding_dim = vectors.shape[1]
        vectorize = keras.layers.TextVectorization(
            vocabulary=list(vocabulary)[2:],
            output_sequence_length=c.sequence_length)
    else:
        vectorize = keras.layers.TextVectorization(
            max_tokens=c.max_tokens, output_sequence_length=c.sequence_length)
        vectorize.adapt(texts)
    words = vectorize.vocabulary_size()
    text = keras.Input(shape=(), dtype="string", name="text")
    tokens = vectorize(text)
    present = keras.ops.not_equal(tokens, 0)
    embedding = keras.layers.Embedding(words, embedding_dim, name="embedding",
                                       trainable=c.train_embeddings)
    embedded = embedding(tokens)
    hash_buckets = c.hash_buckets
    if c.architecture == "bigram":
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
    if c.architecture == "cnn":
        x = keras.layers.Conv1D(c.filters, 3, padding="same",
                                activation="relu")(embedded)
        # ReLU outputs are >= 0: zeroing padding keeps it out of the max.
        x = keras.ops.max(x * present[:, :, None], axis=1)
    else:
        x = masked_mean(embedded, present)
    if c.normalize:
        x = keras.layers.UnitNormalization(name="normalize")(x)
    if c.hidden_units:
        x = keras.layers.Dense(c.hidden_units, activation="relu",
                               name="hidden")(x)
    output = (class_vectors_layer.ClassVectors if c.class_vectors else
              keras.layers.Dense)
    logits = output(num_classes, name="logits")(x)
    model = keras.Model(text, logits, name="student")
    if embeddings is not None:  # one row per word of the file's vocabulary
        embedding.embeddings.assign(vectors)
    return model


def masked_mean(vectors, present):
    """The mean of [B, L, D] over the real tokens; an empty text: zeros."""
    total = keras.ops.einsum("bt,btd->bd", present, vectors)
    count = keras.ops.maximum(keras.ops.sum(present, axis=1, keepdims=True),
                              1)
    return total / count


# `start_class_vectors`: the logits a class's own name gets, cos = 1.
CLASS_SCALE = 10.0


def start_class_vectors(student, class_texts, scale=CLASS_SCALE):
    """Starts each class's output weights at the student's own reading of
    the class's name: `scale` times the L2-normalised pooled vector of the
    name's text, bias 0. A student with frozen teacher word vectors then
    starts as a nearest-class-name classifier, which helps most when
    classes have few examples.

    Args:
        student: a `make_student` model with no hidden layer (its output
            layer reads the pooled text vector).
        class_texts: N strings, the class names as words
            (`labels_file.label_words`).
        scale: the logit of a text whose pooled vector is its class name's.

    Raises:
        ValueError: a student with a hidden layer, or N texts that do not
            match its N classes.

    Examples:
        >>> import numpy as np
        >>> student = make_student(["red cat", "blue dog"], 2, embedding_dim=4,
        ...                        normalize=True)
        >>> start_class_vectors(student, ["cat", "dog"])
        >>> logits = keras.ops.convert_to_numpy(student(np.array(["cat", "dog"])))
        >>> [round(float(x), 3) for x in np.diag(logits)]
        [10.0, 10.0]
    """
    import numpy as np

    if any(layer.name == "hidden" for layer in student.layers):
        raise ValueError("class vectors from the class names need a student "
                         "without --hidden_units (its output layer reads "
                         "the pooled text vector)")
    output = student.get_layer("logits")
    classes = getattr(output, "units", None) or output.num_classes
    if len(class_texts) != classes:
        raise ValueError(f"{len(class_texts)} class names for a student of "
                         f"{classes} classes")
    pooled = keras.Model(student.input, output.input)
    vectors = keras.ops.convert_to_numpy(pooled(np.array(
        list(class_texts), object)))
    vectors = vectors / np.maximum(
        np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if hasattr(output, "kernel"):
        output.kernel.assign(scale * vectors.T)
    else:  # ClassVectors: one row per class
        output.vectors.assign(scale * vectors)
    output.bias.assign(np.zeros(len(vectors), np.float32))
