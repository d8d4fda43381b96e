"""The encoder teacher: a pre-trained BERT-family encoder, mean-pooled, with
a classification head; opened for fine-tuning by `set_encoder_trainable`."""

import json
import os

import keras

from topk_distill.models import text_models


def check_encoder_folder(path, flag="--encoder"):
    """Refuses, before any work, an encoder that is not a BERT-family
    checkpoint folder (`checkpoint_config`); remote presets (`hf://...`)
    are left to keras-hub.

    Raises:
        ValueError: naming `flag=path`.
    """
    if "://" in path:
        return
    if not os.path.isdir(path):
        raise ValueError(f"{flag}={path}: not a folder; expected an encoder "
                         "checkpoint folder (config.json, weights, vocab.txt)")
    config = checkpoint_config(path, flag)
    kind = config.get("model_type") or config.get("class_name")
    if kind not in ("bert", "BertBackbone"):
        raise ValueError(f"{flag}={path}: a {kind} checkpoint; expected a "
                         "BERT-family encoder (model_type \"bert\")")


def checkpoint_config(path, flag):
    """The `config.json` of a Hugging Face or keras-hub checkpoint folder,
    checked against what the folder holds: a JSON object naming its model
    (Hugging Face's `model_type`, keras-hub's `class_name`), and a
    WordPiece vocabulary (Hugging Face's `vocab.txt`, keras-hub's
    `assets/tokenizer/vocabulary.txt`) of as many tokens as the model's
    embedding has rows.

    Args:
        path: the folder.
        flag: the flag that named it, for messages.

    Returns:
        The config, a dict.

    Raises:
        ValueError: one line naming `flag=path`, the file and what was
            expected.

    Examples:
        >>> import json, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = open(f"{folder}/config.json", "w").write(json.dumps(
        ...     {"model_type": "bert", "vocab_size": 5}))
        >>> _ = open(f"{folder}/vocab.txt", "w").write("[PAD]\\n[UNK]\\n")
        >>> checkpoint_config(folder, "--encoder")
        Traceback (most recent call last):
        ...
        ValueError: --encoder=...: vocab.txt holds 2 tokens for a model of vocab_size 5; expected the vocabulary the model was trained with
    """
    where = os.path.join(path, "config.json")
    if not os.path.isfile(where):
        raise ValueError(f"{flag}={path}: no config.json in it; expected a "
                         "Hugging Face or keras-hub checkpoint folder")
    try:
        with open(where, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{flag}={path}: unreadable config.json ({e})"
                         ) from None
    if not isinstance(config, dict) or not (
            config.get("model_type") or config.get("class_name")):
        raise ValueError(f"{flag}={path}: config.json names no model "
                         "(no \"model_type\"); expected a Hugging Face or "
                         "keras-hub checkpoint's config")
    if config.get("class_name"):  # keras-hub
        key, inner = "vocabulary_size", config.get("config") or {}
        vocabulary = os.path.join("assets", "tokenizer", "vocabulary.txt")
    else:
        key, inner, vocabulary = "vocab_size", config, "vocab.txt"
    size = inner.get(key) if isinstance(inner, dict) else None
    if isinstance(size, int) and os.path.isfile(os.path.join(path,
                                                             vocabulary)):
        with open(os.path.join(path, vocabulary), encoding="utf-8") as f:
            tokens = sum(1 for _ in f)
        if tokens != size:
            raise ValueError(f"{flag}={path}: {vocabulary} holds {tokens} "
                             f"tokens for a model of {key} {size}; expected "
                             "the vocabulary the model was trained with")
    return config


def make_encoder_teacher(encoder_dir, num_classes, sequence_length=128,
                         hidden_units=0, pad_to_longest=True):
    """Builds a teacher: a pre-trained BERT-family encoder + a linear head.

    Text -> the encoder's WordPiece tokenizer (`bert_inputs.BertInputs`:
    each batch padded to its longest text) -> the encoder (frozen) ->
    mean of the token vectors (padding excluded) -> L2 normalisation (the
    sentence embedding, as sentence-transformers computes it; layer
    `"embedding"`) -> the head (layer `"head"`, `make_head`: linear, or a
    small MLP). Only the head trains until `set_encoder_trainable` opens
    the encoder for fine-tuning. Needs `keras-hub`
    (`pip install topk-distill[encoder]`).

    Args:
        encoder_dir: a local checkpoint folder that
            `keras_hub.models.BertBackbone.from_preset` loads (a Hugging Face
            BERT folder: config.json, model.safetensors, vocab.txt).
        num_classes: N.
        sequence_length: the most tokens kept per text (a batch of shorter
            texts is padded only to its longest).
        hidden_units: 0 for a linear head, else the MLP head's width.
        pad_to_longest: `False` pads every text to `sequence_length`
            (keras-hub's `BertTextClassifierPreprocessor`), for an export
            that needs a fixed shape.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N].

    Examples:

        ```python
        teacher = make_encoder_teacher("all-MiniLM-L6-v2/", num_classes=4123)
        embed = keras.Model(teacher.input, teacher.get_layer("embedding").output)
        ```
    """
    import keras_hub

    from topk_distill.models.bert_inputs import BertInputs

    tokenizer = keras_hub.models.BertTokenizer.from_preset(encoder_dir)
    preprocess = (BertInputs(tokenizer, sequence_length) if pad_to_longest
                  else keras_hub.models.BertTextClassifierPreprocessor(
                      tokenizer, sequence_length=sequence_length))
    encoder = keras_hub.models.BertBackbone.from_preset(encoder_dir)
    encoder.trainable = False
    text = keras.Input(shape=(), dtype="string", name="text")
    tokens = preprocess(text)
    vectors = encoder(tokens)["sequence_output"]
    present = keras.ops.cast(tokens["padding_mask"], vectors.dtype)
    embedding = keras.layers.UnitNormalization(name="embedding")(
        text_models.masked_mean(vectors, present))
    logits = make_head(num_classes, hidden_units)(embedding)
    return keras.Model(text, logits, name="encoder_teacher")


def make_head(num_classes, hidden_units=0, dropout=0.1):
    """The classification head on sentence embeddings (layer `"head"`).

    Args:
        num_classes: N.
        hidden_units: 0 for `Dense(num_classes)`; otherwise a small MLP:
            `Dense(hidden_units, gelu) -> Dropout(dropout) -> Dense(N)`.
        dropout: the MLP's dropout rate.

    Returns:
        An unbuilt layer named `"head"` mapping [B, D] to logits [B, N].

    Examples:
        >>> head = make_head(5, hidden_units=8)
        >>> tuple(head(keras.ops.ones((2, 3))).shape)
        (2, 5)
        >>> [tuple(w.shape) for w in head.weights]
        [(3, 8), (8,), (8, 5), (5,)]
    """
    if not hidden_units:
        return keras.layers.Dense(num_classes, name="head")
    return keras.Sequential([
        keras.layers.Dense(hidden_units, activation="gelu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(num_classes)], name="head")


def set_encoder_trainable(teacher, layers=0):
    """Opens an encoder teacher's encoder for fine-tuning.

    Args:
        teacher: a model from `make_encoder_teacher`.
        layers: 0 opens every encoder weight (embeddings included); k > 0
            only the top k transformer layers (the rest stays frozen).

    Returns:
        The number of transformer layers that train.

    Raises:
        ValueError: `layers` is negative or more than the encoder has.

    Examples:

        ```python
        teacher = make_encoder_teacher("all-MiniLM-L6-v2/", num_classes=4123)
        set_encoder_trainable(teacher, layers=2)  # top 2 of 6 layers + head
        ```
    """
    encoder = next(layer for layer in teacher.layers
                   if hasattr(layer, "transformer_layers"))
    blocks = encoder.transformer_layers
    if layers < 0 or layers > len(blocks):
        raise ValueError(f"fine-tune layers={layers}; the encoder has "
                         f"{len(blocks)} transformer layers (0 means all)")
    encoder.trainable = True
    for layer in encoder.layers:  # the pooler: the teacher pools by mean
        layer.trainable = not layers and layer.name != "pooled_dense"
    for block in blocks[len(blocks) - layers:] if layers else ():
        block.trainable = True
    return layers or len(blocks)


def save_encoder(teacher, encoder_dir, path, labels=None):
    """Saves an encoder teacher's encoder (fine-tuned or not) and its
    tokenizer as a keras-hub preset folder, with its linear head beside
    them (`encoder_students.save_head`): what `student-init --encoder`,
    `teacher --encoder` and the encoder student (`train --student=encoder`)
    start from.

    Args:
        teacher: a model from `make_encoder_teacher`.
        encoder_dir: the checkpoint folder the teacher was made from (its
            WordPiece vocabulary, which fine-tuning does not change).
        path: the folder to write.
        labels: the teacher's N class names, kept with its head.

    Returns:
        `path`.

    Examples:

        ```python
        save_encoder(teacher, "all-MiniLM-L6-v2/", "teacher/encoder", names)
        ```
    """
    import keras_hub

    from topk_distill.models import encoder_students

    backbone = next(layer for layer in teacher.layers
                    if isinstance(layer, keras_hub.models.Backbone))
    backbone.save_to_preset(path)
    keras_hub.models.BertTokenizer.from_preset(encoder_dir).save_to_preset(
        path)
    encoder_students.save_head(teacher, path, labels)
    return path
