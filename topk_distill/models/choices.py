"""The models' named choices, importable before Keras loads (for flags):
what a classifier's [B, N] scores are (a teacher's outputs, and what a
record set stores), the text students' architectures, and how a student
trains by default."""

SCORE_KINDS = ("logits", "probabilities")
# What a teacher returns: a softmax's scores, or per-class sigmoid ones (a
# multi-label teacher).
TEACHER_OUTPUTS = SCORE_KINDS + ("sigmoid_logits", "sigmoid_probabilities")
STUDENTS = ("mean", "bigram", "cnn", "transformer")

# How a student trains by default: `train`'s `FitConfig` and the reference
# student `teacher` measures its teacher against. Measured on few classes
# (Debian, 57) and many (WordNet, 4,123): BENCHMARKS.md, "Defaults that
# train".
LEARNING_RATE = 5e-3  # Adam
EPOCHS = 20  # without a validation input (with one, early stopping)
PATIENCE = 3  # early stopping: epochs without a better validation score
