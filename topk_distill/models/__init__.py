"""Stage 2, models: the Keras architectures teachers and students are built
from (`text_models`, `encoder_models` with `bert_inputs`, `image_models`,
`feature_models`; the pair per input kind: `reference_models`), student
word vectors from a teacher's encoder (`student_init`; trained towards its
sentence embeddings: `tokenlearn`), and the SavedModel
every trained classifier is written as and loaded from (`saved_model`),
and the named choices flags offer before Keras loads (`choices`)."""

import importlib

# Keras layers 0.1.0 defined in `topk_distill/models.py`: `.keras` files
# saved by it name that module (see `topk_distill._MOVED`).
_MOVED = {"ImageDecoder": "image_models"}


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MOVED[name]}"),
                   name)
