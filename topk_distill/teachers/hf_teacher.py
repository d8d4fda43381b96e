"""A fine-tuned Hugging Face sequence classifier as the teacher, in Keras.

The teachers people want to distil are mostly fine-tuned Hugging Face
classifiers: a folder with `config.json` (its `id2label` names the
classes), `model.safetensors` and the tokenizer files. keras-hub builds the
encoder and its tokenizer from such a folder; this module adds the
classification head from the same safetensors weights, as Hugging Face's
`BertForSequenceClassification` (pooler: tanh(dense([CLS])) -> classifier)
and `DistilBertForSequenceClassification` ([CLS] -> ReLU pre-classifier ->
classifier) compute it, so the Keras model returns the checkpoint's own
logits (tested against a plain-numpy forward pass to 1e-4).
"""

import os

from topk_distill.inputs.label_space import LabelSpace

FAMILIES = {
    "bert": "BertForSequenceClassification",
    "distilbert": "DistilBertForSequenceClassification",
}


def is_hf_folder(path):
    """Whether `path` is a folder holding a Hugging Face `config.json`."""
    return os.path.isdir(path) and os.path.exists(
        os.path.join(path, "config.json"))


def read_config(folder):
    """The checked `config.json` of a supported classifier folder.

    Raises:
        ValueError: one line naming the folder and what it holds instead.
    """
    from topk_distill.models import encoder_models

    config = encoder_models.checkpoint_config(folder, "--teacher")
    architectures = config.get("architectures") or [config.get("model_type")]
    expected = FAMILIES.get(config.get("model_type"))
    if expected not in architectures:
        raise ValueError(
            f"--teacher={folder}: a {', '.join(map(str, architectures))} "
            f"checkpoint; expected one of {', '.join(FAMILIES.values())}")
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        raise ValueError(f"--teacher={folder}: no model.safetensors (the "
                         "weights, in safetensors format) in the folder")
    return config


def label_space(config, num_classes):
    """The `LabelSpace` of a classifier of `num_classes` classes from its
    config (`read_config`): multi-label where Transformers' `problem_type`
    says its logits are per-class sigmoid ones.

    Examples:
        >>> label_space({"problem_type": "multi_label_classification"}, 7)
        MultiLabel(7, threshold=0.5)
    """
    problem = config.get("problem_type")
    return LabelSpace.of(num_classes, problem == "multi_label_classification")


def class_names(config, folder=""):
    """The class names of `id2label`, in id order.

    Examples:
        >>> class_names({"id2label": {"1": "pos", "0": "neg"}})
        ['neg', 'pos']
    """
    id2label = config.get("id2label") or {}
    try:
        names = {int(i): str(name) for i, name in id2label.items()}
    except ValueError:
        names = {}
    if not names or sorted(names) != list(range(len(names))):
        raise ValueError(f"--teacher={folder}: config.json's id2label does "
                         "not name classes 0..N-1")
    from topk_distill.inputs import labels_file

    seen = {}
    for i in range(len(names)):
        where = f"--teacher={folder}: config.json's id2label[{i}]"
        labels_file.check_class_name(names[i], where)
        if names[i] in seen:
            raise ValueError(f"{where}: {names[i]!r} again (also class "
                             f"{seen[names[i]]}); expected each name once")
        seen[names[i]] = i
    return [names[i] for i in range(len(names))]


def make_hf_teacher(folder, sequence_length=128):
    """Builds the Keras model of a Hugging Face sequence classifier folder.

    Args:
        folder: holds `config.json` (`model_type` "bert" or "distilbert",
            `id2label`), `model.safetensors` and the tokenizer files
            (`vocab.txt`, `tokenizer_config.json`).
        sequence_length: WordPieces per text (at most the checkpoint's
            `max_position_embeddings`).

    Returns:
        (a `keras.Model` string [B] -> logits [B, N], the N class names).

    Examples:

        ```python
        model, names = make_hf_teacher("my-finetuned-bert/")
        model(tf.constant(["a text"]))      # the checkpoint's logits [1, N]
        ```
    """
    import keras
    import keras_hub
    from safetensors import safe_open

    config = read_config(folder)
    names = class_names(config, folder)
    family = config["model_type"]
    sequence_length = min(sequence_length,
                          config.get("max_position_embeddings",
                                     sequence_length))
    with safe_open(os.path.join(folder, "model.safetensors"),
                   framework="np") as weights:
        head_names = (["pre_classifier", "classifier"]
                      if family == "distilbert" else ["classifier"])
        head = {}
        for name in head_names:
            try:
                head[name] = (weights.get_tensor(f"{name}.weight"),
                              weights.get_tensor(f"{name}.bias"))
            except Exception:  # safetensors raises its own error type
                raise ValueError(f"--teacher={folder}: model.safetensors "
                                 f"has no {name}.weight/bias (a "
                                 f"{FAMILIES[family]} head)") from None
    if head["classifier"][0].shape[0] != len(names):
        raise ValueError(f"--teacher={folder}: classifier.weight has "
                         f"{head['classifier'][0].shape[0]} rows for "
                         f"{len(names)} labels in id2label")
    text = keras.Input(shape=(), dtype="string", name="text")
    if family == "bert":
        preprocess = keras_hub.models.BertTextClassifierPreprocessor(
            keras_hub.models.BertTokenizer.from_preset(folder),
            sequence_length=sequence_length)
        backbone = keras_hub.models.BertBackbone.from_preset(folder)
        _match_activation(backbone, config)
        x = backbone(preprocess(text))["pooled_output"]
    else:
        preprocess = keras_hub.models.DistilBertTextClassifierPreprocessor(
            keras_hub.models.DistilBertTokenizer.from_preset(folder),
            sequence_length=sequence_length)
        backbone = keras_hub.models.DistilBertBackbone.from_preset(folder)
        x = backbone(preprocess(text))[:, 0, :]
        pre = keras.layers.Dense(x.shape[-1], activation="relu",
                                 name="pre_classifier")
        x = pre(x)
        pre.set_weights([head["pre_classifier"][0].T,
                         head["pre_classifier"][1]])
    classifier = keras.layers.Dense(len(names), name="head")
    logits = classifier(x)
    classifier.set_weights([head["classifier"][0].T, head["classifier"][1]])
    model = keras.Model(text, logits, name=f"hf_{family}_teacher")
    return model, names


def _match_activation(backbone, config):
    """keras-hub's BERT uses the tanh approximation of GELU; Hugging Face's
    `hidden_act: "gelu"` is the exact (erf) one: use what the config says."""
    import keras

    if config.get("hidden_act", "gelu") != "gelu":
        return
    for layer in backbone.layers:
        dense = getattr(layer, "_feedforward_intermediate_dense", None)
        if dense is not None:
            dense.activation = lambda x: keras.activations.gelu(
                x, approximate=False)
