"""topk-distill: top-K knowledge distillation for classification with many
labels: of texts, images or feature vectors.

The package's folders are the stages of its data flow, top to bottom; a
stage imports only from the stages above it:

* `utils`: shared helpers (where commands write, progress bars, JSON).
* `inputs`: text, images or feature vectors, and their labels.
* `models`: the Keras architectures, and the SavedModel format.
* `teachers`: a teacher loaded (Keras, SavedModel, Hugging Face, scores)
  or trained.
* `records`: the record set: schema, codec, shards, writer, reader.
* `preprocessing`: the teacher run once over an input -> top-K records.
* `distillation`: records -> tf.data -> `DistillationStudent.fit`.
* `serving`: the exported student: TFLite, classify, evaluate.
* `commands` (with `cli`): the `topk-distill` command line.

Names are imported on first use, so `import topk_distill` (and the command
line's `--help`) does not import TensorFlow.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.2.0"

_EXPORTS = {
    "InputError": "inputs.errors",
    "read_labels": "inputs.labels_file",
    "write_labels": "inputs.labels_file",
    "iter_examples": "inputs.inputs",
    "LabelSpace": "inputs.label_space",
    "SingleLabel": "inputs.label_space",
    "MultiLabel": "inputs.label_space",
    "INPUT_KINDS": "inputs.input_kinds",
    "Teacher": "teachers.teacher",
    "load_teacher": "teachers.teacher",
    "TeacherSource": "teachers.teacher",
    "train_teacher": "teachers.teacher_training",
    "TeacherConfig": "teachers.teacher_config",
    "fine_tune": "teachers.fine_tuning",
    "FineTuning": "teachers.fine_tuning",
    "preprocess": "preprocessing.preprocessing",
    "PreprocessOptions": "preprocessing.run_options",
    "preprocess_with_beam": "preprocessing.beam",
    "RecordSetWriter": "preprocessing.record_writer",
    "preprocess_sparse": "preprocessing.record_writer",
    "RecordSettings": "records.record_plan",
    "RecordSet": "records.records",
    "RecordFormatError": "records.records",
    "read_metadata": "records.records",
    "ShardWriter": "records.shards",
    "verify_shards": "records.shards",
    "make_dataset": "records.reader",
    "ReadOptions": "records.reader",
    "make_distillation_dataset": "distillation.mixer",
    "LossConfig": "distillation.loss_config",
    "DistillationStudent": "distillation.student",
    "objective_for": "distillation.objectives",
    "SoftTargetCrossentropy": "distillation.losses",
    "soft_target_crossentropy": "distillation.losses",
    "row_crossentropies": "distillation.losses",
    "topk_probabilities": "distillation.targets",
    "soft_targets": "distillation.targets",
    "pseudo_targets": "distillation.targets",
    "LossPlateauStopping": "distillation.callbacks",
    "TargetMetricStopping": "distillation.callbacks",
    "BestEpochStopping": "distillation.callbacks",
    "NonFiniteLossStopping": "distillation.callbacks",
    "TrainingBackup": "distillation.backup",
    "train_student": "distillation.training",
    "choose_student": "distillation.selection",
    "StudentConfig": "distillation.training_config",
    "FitConfig": "distillation.training_config",
    "TrainingData": "distillation.training_config",
    "ChoiceConfig": "distillation.training_config",
    "export_saved_model": "models.saved_model",
    "export_tflite": "models.tflite_export",
    "load_saved_model": "models.saved_model",
    "classify": "serving.classification",
    "evaluate": "serving.evaluation",
    "top_k_accuracy": "utils.metrics",
    "precision_at_k": "utils.metrics",
    "make_teacher": "models.text_models",
    "make_student": "models.text_models",
    "TextStudentConfig": "models.text_models",
    "make_encoder_teacher": "models.encoder_models",
    "make_head": "models.encoder_models",
    "make_encoder_student": "models.encoder_students",
    "ImageDecoder": "models.image_models",
    "make_image_teacher": "models.image_models",
    "make_image_student": "models.image_models",
    "make_features_model": "models.feature_models",
    "make_init": "models.student_init",
    "ClassVectors": "models.class_vectors",
    "LazyAdam": "distillation.lazy_adam",
    "Proposal": "distillation.sampled_softmax",
    "multilabel_crossentropies": "distillation.multilabel_losses",
    "sigmoid_probabilities": "distillation.multilabel_losses",
    "multilabel_report": "utils.metrics",
    "best_threshold": "utils.metrics",
    "label_counts": "records.reader",
    "augment": "inputs.augmentation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'topk_distill' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"topk_distill.{_EXPORTS[name]}"),
                    name)
    globals()[name] = value
    return value


# Modules of 0.1.0 (one flat folder) that files saved by it name: Keras's
# `.keras` config keeps each registered class's module, and falls back on
# importing it when the class is not registered yet in this process.
_MOVED = {"topk_distill.student": "topk_distill.distillation.student",
          "topk_distill.losses": "topk_distill.distillation.losses",
          "topk_distill.bert_inputs": "topk_distill.models.bert_inputs"}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a 0.1.0 module path as the module that holds it now."""

    def find_spec(self, name, path=None, target=None):
        if name in _MOVED:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(_MOVED[spec.name])

    def exec_module(self, module):
        pass


sys.meta_path.append(_MovedModules())
