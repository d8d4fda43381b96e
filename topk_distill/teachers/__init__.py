"""Stage 3, teachers: whatever turns a batch of inputs into [B, N] scores
(`teacher`: Keras, SavedModel, Hugging Face via `hf_teacher`, precomputed
scores), and training one (`teacher_training`, its settings
`teacher_config`; heads and cross-fitting: `cross_fitting`; fine-tuning
the encoder: `fine_tuning`; its report against a labels-only student:
`teacher_report`)."""
