"""Stage 2, models: the Keras architectures teachers and students are built
from (`text_models`, `encoder_models` with `bert_inputs`, `image_models`,
`feature_models`; the pair per input kind: `reference_models`), student
word vectors from a teacher's encoder (`student_init`; trained towards its
sentence embeddings: `tokenlearn`), the files a trained classifier is
written as: the SavedModel it is also loaded from (`saved_model`) and
TFLite for phones (`tflite_export`), and the named choices flags offer
before Keras loads (`choices`)."""

import importlib

# The modules whose Keras classes the models this package saves may hold
# (`register_keras_classes`).
KERAS_MODULES = ("class_vectors", "bert_inputs", "image_models")

# Keras layers 0.1.0 defined in `topk_distill/models.py`: `.keras` files
# saved by it name that module (see `topk_distill._MOVED`).
_MOVED = {"ImageDecoder": "image_models"}


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MOVED[name]}"),
                   name)


def register_keras_classes():
    """Registers every Keras class a `.keras` file this package wrote may
    hold (Keras finds a class by its registered name only once the module
    that defines it is imported), keras-hub's too when it is installed;
    run before `keras.saving.load_model`.

    Examples:
        >>> register_keras_classes()
        >>> import keras
        >>> keras.saving.get_registered_object("topk_distill>ClassVectors")
        <class 'topk_distill.models.class_vectors.ClassVectors'>
    """
    for name in KERAS_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    try:  # the encoder teacher and student hold keras-hub layers
        import keras_hub  # noqa: F401 (registers them)
    except ImportError:
        pass
