"""topk-distill: top-K knowledge distillation for classification with many
labels: of texts, images or feature vectors (`input_kinds`).

The data flow, top to bottom:
text, images or feature vectors (`inputs`) -> teacher (`teacher`, trained
by `teacher_training`, fine-tuned by `fine_tuning`) ->
top-K records (each run planned by `record_plan`, then written by
`preprocessing`, or `beam` on an Apache Beam runner, or `record_writer`
for a teacher run elsewhere; the record set is `records`, its codec
`codec`, its files `shards`) -> tf.data
(`reader`, `mixer`; more texts: `augmentation`) -> the student (`models`,
its word vectors from the teacher's encoder: `student_init`) -> dense targets (`targets`) -> loss (`loss_config`,
`losses`) -> `DistillationStudent.fit` (`student`, `callbacks`, checkpoints
`backup`; run by
`training`, on a cluster with `distribute`) -> SavedModel / TFLite
(`export`) -> classify (`serving`) and evaluate (`evaluation`).

Names are imported on first use, so `import topk_distill` (and the command
line's `--help`) does not import TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "InputError": "inputs",
    "read_labels": "inputs",
    "write_labels": "inputs",
    "iter_examples": "inputs",
    "INPUT_KINDS": "input_kinds",
    "Teacher": "teacher",
    "load_teacher": "teacher",
    "train_teacher": "teacher_training",
    "fine_tune": "fine_tuning",
    "preprocess": "preprocessing",
    "preprocess_with_beam": "beam",
    "RecordSetWriter": "record_writer",
    "preprocess_sparse": "record_writer",
    "RecordSet": "records",
    "RecordFormatError": "records",
    "read_metadata": "records",
    "ShardWriter": "shards",
    "verify_shards": "shards",
    "make_dataset": "reader",
    "make_distillation_dataset": "mixer",
    "LossConfig": "loss_config",
    "DistillationStudent": "student",
    "SoftTargetCrossentropy": "losses",
    "soft_target_crossentropy": "losses",
    "row_crossentropies": "losses",
    "topk_probabilities": "targets",
    "soft_targets": "targets",
    "pseudo_targets": "targets",
    "LossPlateauStopping": "callbacks",
    "TargetMetricStopping": "callbacks",
    "NonFiniteLossStopping": "callbacks",
    "TrainingBackup": "backup",
    "train_student": "training",
    "export_saved_model": "export",
    "export_tflite": "export",
    "load_saved_model": "serving",
    "classify": "serving",
    "evaluate": "evaluation",
    "precision_at_k": "evaluation",
    "make_teacher": "models",
    "make_student": "models",
    "make_encoder_teacher": "models",
    "make_head": "models",
    "ImageDecoder": "models",
    "make_image_teacher": "models",
    "make_image_student": "models",
    "make_features_model": "models",
    "make_init": "student_init",
    "augment": "augmentation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'topk_distill' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"topk_distill.{_EXPORTS[name]}"),
                    name)
    globals()[name] = value
    return value
