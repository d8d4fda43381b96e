"""Stage 6, distillation: the student trained from records. Batches of
labeled and unlabeled records (`mixer`), their dense targets (`targets`),
the loss (`loss_config`, `losses`), `DistillationStudent` (`student`),
stopping rules (`callbacks`), checkpoints (`backup`), clusters
(`distribute`), and `train` end to end (`training`, its settings in
`training_config`)."""
