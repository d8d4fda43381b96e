"""What a classifier's [B, N] scores are: `"logits"` or `"probabilities"`
(a teacher's outputs, and what a record set stores)."""

SCORE_KINDS = ("logits", "probabilities")
