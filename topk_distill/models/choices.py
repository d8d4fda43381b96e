"""The models' named choices, importable before Keras loads (for flags):
what a classifier's [B, N] scores are (a teacher's outputs, and what a
record set stores), the text students' architectures, and how a student
trains by default."""

SCORE_KINDS = ("logits", "probabilities")
# What a teacher returns: a softmax's scores, or per-class sigmoid ones (a
# multi-label teacher).
TEACHER_OUTPUTS = SCORE_KINDS + ("sigmoid_logits", "sigmoid_probabilities")
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
