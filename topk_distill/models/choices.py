"""The models' named choices, importable before Keras loads (for flags):
what a classifier's [B, N] scores are (a teacher's outputs, and what a
record set stores), and the text students' architectures."""

SCORE_KINDS = ("logits", "probabilities")
# What a teacher returns: a softmax's scores, or per-class sigmoid ones (a
# multi-label teacher).
TEACHER_OUTPUTS = SCORE_KINDS + ("sigmoid_logits", "sigmoid_probabilities")
STUDENTS = ("mean", "bigram", "cnn", "transformer")
