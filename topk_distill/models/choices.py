"""The models' named choices, importable before Keras loads (for flags):
what a classifier's [B, N] scores are (a teacher's outputs, and what a
record set stores), the text students' architectures, and how a student
trains by default."""

SCORE_KINDS = ("logits", "probabilities")
# What a teacher returns: a softmax's scores, or per-class sigmoid ones (a
# multi-label teacher).
SIGMOID_PREFIX = "sigmoid_"
TEACHER_OUTPUTS = SCORE_KINDS + tuple(SIGMOID_PREFIX + kind
                                      for kind in SCORE_KINDS)


def teacher_scores(outputs):
    """`(score kind, sigmoid)` of a `TEACHER_OUTPUTS` value: the one
    reading of its prefix.

    Examples:
        >>> teacher_scores("sigmoid_logits"), teacher_scores("probabilities")
        (('logits', True), ('probabilities', False))
    """
    sigmoid = outputs.startswith(SIGMOID_PREFIX)
    return outputs[len(SIGMOID_PREFIX) * sigmoid:], sigmoid


def bad_scores(scores, kind):
    """Which scores cannot be of `kind` (one of `TEACHER_OUTPUTS`): NaN or
    Inf, and for probabilities (softmax or sigmoid ones) any outside [0,
    1]; the one check of a teacher's scores wherever they come in.

    Returns:
        `(mask, what)`: a bool array of the bad ones, and what a score of
        that kind must be, for messages.

    Examples:
        >>> import numpy as np
        >>> bad_scores(np.array([0.2, 1.5, -3.0]), "probabilities")[0]
        array([False,  True,  True])
        >>> bad_scores(np.array([0.2, 1.5, -3.0]), "logits")[0]
        array([False, False, False])
    """
    import numpy as np

    scores = np.asarray(scores)
    finite = np.isfinite(scores)
    if kind.endswith("probabilities"):
        return (~finite | (scores < 0) | (scores > 1),
                f"a score outside [0, 1] ({kind}), or NaN or Inf")
    return ~finite, "a score that is NaN or Inf"
STUDENTS = ("mean", "bigram", "cnn", "encoder")
# How the encoder student takes its layers from the teacher's
# (`encoder_students.chosen_layers`).
LAYER_CHOICES = ("spread", "first")

# How a student trains by default: `train`'s `FitConfig` and the reference
# student `teacher` measures its teacher against. Measured on few classes
# (Debian, 57) and many (WordNet, 4,123): BENCHMARKS.md, "Defaults that
# train".
LEARNING_RATE = 5e-3  # Adam
EPOCHS = 20  # without a validation input (with one, early stopping)
PATIENCE = 3  # early stopping: epochs without a better validation score

# The encoder student fine-tunes a transformer, as the teacher's
# fine-tuning does: AdamW, a warmup to this rate, then a cosine decay to 0
# over its epochs (with a validation input, early stopping within them).
ENCODER_LEARNING_RATE = 1e-4
ENCODER_EPOCHS = 3
ENCODER_BATCH_SIZE = 32
BATCH_SIZE = 128  # the other students' batch
