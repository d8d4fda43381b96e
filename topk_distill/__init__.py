"""topk-distill: top-K knowledge distillation for text classification.

The data flow, top to bottom:
text (`inputs`) -> teacher (`teacher`) -> top-K records (`preprocessing`,
or `beam` on an Apache Beam runner; `records`) -> tf.data
(`make_distillation_dataset`) -> dense targets
(`targets`) -> loss (`losses`) -> `DistillationStudent.fit` (`student`,
`callbacks`) -> SavedModel / TFLite (`export`) -> classify and evaluate
(`evaluation`).

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
    "Teacher": "teacher",
    "load_teacher": "teacher",
    "preprocess": "preprocessing",
    "preprocess_with_beam": "beam",
    "make_dataset": "records",
    "read_metadata": "records",
    "RecordFormatError": "records",
    "make_distillation_dataset": "records",
    "DistillationStudent": "student",
    "SoftTargetCrossentropy": "losses",
    "soft_target_crossentropy": "losses",
    "soft_targets": "targets",
    "pseudo_targets": "targets",
    "LossPlateauStopping": "callbacks",
    "TargetMetricStopping": "callbacks",
    "NonFiniteLossStopping": "callbacks",
    "verify_shards": "records",
    "export_saved_model": "export",
    "export_tflite": "export",
    "evaluate": "evaluation",
    "precision_at_k": "evaluation",
    "make_teacher": "models",
    "make_student": "models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'topk_distill' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"topk_distill.{_EXPORTS[name]}"),
                    name)
    globals()[name] = value
    return value
