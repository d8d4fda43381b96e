"""The models' named choices, importable before Keras loads (for flags):
what a classifier's [B, N] scores are (a teacher's outputs, and what a
record set stores), and the text students' architectures."""

SCORE_KINDS = ("logits", "probabilities")
STUDENTS = ("mean", "bigram", "cnn", "transformer")
