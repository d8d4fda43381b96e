"""The encoder student: the teacher's own first layers, as DistilBERT starts.

A BERT-family teacher's checkpoint folder (`teacher --fine_tune` writes the
fine-tuned one to `OUTPUT/encoder`; any keras-hub or Hugging Face BERT
folder works) gives the student its WordPiece tokenizer, its embeddings and
`layers` of its transformer layers (`chosen_layers`: spread over the
teacher's depth, DistilBERT's choice, or its first ones), mean-pooled and
L2-normalised as the teacher pools, then a linear head: the teacher's own
(`save_head`, written beside the encoder) when it is for the same classes.
Raw strings in, each batch padded to its longest text (`bert_inputs`).
"""

import os

import keras
import numpy as np

from topk_distill.models import choices, text_models

LAYER_CHOICES = choices.LAYER_CHOICES
# The teacher's linear head, beside its encoder (`save_head`).
HEAD_FILE = "classifier_head.npz"


def chosen_layers(total, layers, choice="spread"):
    """Which of the teacher's `total` transformer layers the student keeps.

    Args:
        total: the teacher's layer count.
        layers: the student's, 1 to `total`.
        choice: `"spread"`: evenly over the teacher's depth from its first
            layer (every other one when `layers` is half of `total`, as
            DistilBERT starts); `"first"`: its first `layers`.

    Returns:
        The teacher's layer indices, in order.

    Raises:
        ValueError: `layers` out of range, or an unknown `choice`.

    Examples:
        >>> chosen_layers(6, 3), chosen_layers(6, 2), chosen_layers(6, 2, "first")
        ([0, 2, 4], [0, 3], [0, 1])
    """
    if choice not in LAYER_CHOICES:
        raise ValueError(f"layer choice {choice!r}; expected one of "
                         f"{', '.join(LAYER_CHOICES)}")
    if not 1 <= layers <= total:
        raise ValueError(f"student layers={layers}; the encoder has {total} "
                         f"transformer layers (expected 1 to {total})")
    if choice == "first":
        return list(range(layers))
    return [i * total // layers for i in range(layers)]


def make_encoder_student(encoder_dir, num_classes, layers=2,
                         choice="spread", sequence_length=64, labels=None,
                         teacher_head=True):
    """Builds the encoder student: L of an encoder's layers and a head.

    Text -> the encoder's WordPiece tokenizer (`bert_inputs.BertInputs`,
    each batch padded to its longest text, at most `sequence_length`
    tokens) -> the encoder's embeddings and the transformer layers of
    `chosen_layers` (their weights copied; layer `"encoder"`, a keras-hub
    `BertBackbone` of `layers` layers) -> the mean of the token vectors
    (padding excluded), L2-normalised (layer `"embedding"`) -> a linear
    head (layer `"head"`), started at the teacher's (`load_head`) when
    `teacher_head` and the folder holds one, else at random. Everything
    trains. Needs `keras-hub` (`pip install topk-distill[encoder]`).

    Args:
        encoder_dir: a BERT-family checkpoint folder (keras-hub preset or
            Hugging Face: config.json, weights, vocab.txt).
        num_classes: N.
        layers: the student's transformer layers.
        choice: which of the teacher's (`LAYER_CHOICES`).
        sequence_length: the most tokens kept per text.
        labels: the N class names, checked against the head's (if it
            names them).
        teacher_head: start the head from the folder's `HEAD_FILE`.

    Returns:
        An uncompiled `keras.Model` mapping string[B] to logits[B, N]; its
        `from_teacher_head` says whether its head is the teacher's.

    Raises:
        ValueError: `layers`/`choice` out of range, or a teacher head for
            other classes (pass `teacher_head=False` to start at random).

    Examples:

        ```python
        student = make_encoder_student("teacher/encoder", 4123, layers=2)
        student(tf.constant(["a small dog"]))  # logits [1, 4123]
        ```
    """
    import keras_hub

    from topk_distill.models.bert_inputs import BertInputs

    source = keras_hub.models.BertBackbone.from_preset(encoder_dir)
    picked = chosen_layers(source.num_layers, layers, choice)
    head = load_head(encoder_dir) if teacher_head else None
    if head is not None:
        _check_head(head, encoder_dir, num_classes, source.hidden_dim, labels)
    config = dict(source.get_config(), num_layers=layers, name="encoder")
    encoder = keras_hub.models.BertBackbone.from_config(config)
    for name in ("token_embedding", "position_embedding",
                 "segment_embedding", "embeddings_layer_norm",
                 "pooled_dense"):
        encoder.get_layer(name).set_weights(
            source.get_layer(name).get_weights())
    for mine, theirs in zip(encoder.transformer_layers, picked):
        mine.set_weights(source.transformer_layers[theirs].get_weights())
    encoder.get_layer("pooled_dense").trainable = False  # pooled by mean
    tokenizer = keras_hub.models.BertTokenizer.from_preset(encoder_dir)
    text = keras.Input(shape=(), dtype="string", name="text")
    tokens = BertInputs(tokenizer, sequence_length, name="bert_inputs")(text)
    vectors = encoder(tokens)["sequence_output"]
    present = keras.ops.cast(tokens["padding_mask"], vectors.dtype)
    embedding = keras.layers.UnitNormalization(name="embedding")(
        text_models.masked_mean(vectors, present))
    output = keras.layers.Dense(num_classes, name="head")
    logits = output(embedding)
    if head is not None:
        output.set_weights([head["kernel"], head["bias"]])
    student = keras.Model(text, logits, name="encoder_student")
    # whether the head starts at the teacher's (else at random)
    student.from_teacher_head = head is not None
    return student


def save_head(teacher, path, labels=None):
    """Writes an encoder teacher's linear head beside its encoder
    (`path/HEAD_FILE`: kernel [D, N], bias [N], and the class names), for
    `make_encoder_student` to start from. An MLP head is not written: the
    student's head is linear.

    Args:
        teacher: a model from `encoder_models.make_encoder_teacher`.
        path: the encoder folder (`encoder_models.save_encoder`'s).
        labels: the N class names, or `None`.

    Returns:
        The file written, or `None` for an MLP head.
    """
    head = teacher.get_layer("head")
    if not isinstance(head, keras.layers.Dense):
        return None
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in head.weights)
    target = os.path.join(path, HEAD_FILE)
    with open(target + ".tmp", "wb") as f:
        np.savez(f, kernel=kernel, bias=bias,
                 labels=np.array(labels if labels is not None else [], str))
    os.replace(target + ".tmp", target)
    return target


def load_head(encoder_dir):
    """The teacher head saved beside an encoder (`save_head`): a dict of
    `kernel`, `bias` and `labels` (a list, empty when not named), or
    `None` when the folder holds none."""
    path = os.path.join(encoder_dir, HEAD_FILE)
    if "://" in encoder_dir or not os.path.isfile(path):
        return None
    try:
        with np.load(path) as saved:
            head = {"kernel": saved["kernel"].astype(np.float32),
                    "bias": saved["bias"].astype(np.float32),
                    "labels": [str(x) for x in saved["labels"]]}
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a teacher head file (expected "
                         f"kernel, bias and labels arrays): {error}") from None
    return head


def _check_head(head, encoder_dir, num_classes, width, labels):
    kernel, bias = head["kernel"], head["bias"]
    where = os.path.join(encoder_dir, HEAD_FILE)
    if kernel.shape != (width, len(bias)) or not np.isfinite(kernel).all():
        raise ValueError(f"{where}: a head of shape {kernel.shape} with "
                         f"finite weights was expected as [{width}, N]")
    if len(bias) != num_classes or (
            labels is not None and head["labels"]
            and list(labels) != head["labels"]):
        raise ValueError(f"{where}: the teacher's head is for other classes "
                         f"({len(bias)}) than the records' ({num_classes}); "
                         "pass --noteacher_head to start the head at random")


def fine_tuning_optimizer(learning_rate, steps, warmup_fraction=0.1,
                          weight_decay=0.01):
    """AdamW as encoders are fine-tuned (keras-hub's recipe, the teacher's
    and the encoder student's): a linear warmup to `learning_rate` over the
    first `warmup_fraction` of `steps`, then a cosine decay to 0; the
    decoupled weight decay spares biases and layer norms.

    Examples:
        >>> optimizer = fine_tuning_optimizer(1e-4, steps=100)
        >>> float(optimizer.learning_rate)  # step 0: warming up from 0
        0.0
        >>> _ = optimizer.iterations.assign(10)
        >>> round(float(optimizer.learning_rate), 8)  # warmed up
        0.0001
    """
    warmup = int(steps * warmup_fraction)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(steps - warmup, 1), warmup_target=learning_rate,
        warmup_steps=warmup)
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def token_id_model(student):
    """The encoder student after its tokenizer: int32 token ids [B, L] in
    (the tokenizer's `[CLS] ... [SEP]`, 0 is padding), logits out; what
    its TFLite file runs with builtin ops only.

    Returns:
        `(model, vocabulary)`: the model and the tokenizer's WordPieces in
        id order.
    """
    prepare = student.get_layer("bert_inputs")
    encoder = student.get_layer("encoder")
    pad = prepare.tokenizer.pad_token_id
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    present = keras.ops.not_equal(ids, pad)
    vectors = encoder({"token_ids": ids,
                       "segment_ids": keras.ops.zeros_like(ids),
                       "padding_mask": present})["sequence_output"]
    embedding = student.get_layer("embedding")(text_models.masked_mean(
        vectors, keras.ops.cast(present, vectors.dtype)))
    logits = student.get_layer("head")(embedding)
    return (keras.Model(ids, logits, name="encoder_student_ids"),
            prepare.tokenizer.get_vocabulary())


def is_encoder_student(model):
    """Whether `model` is a `make_encoder_student` model."""
    return any(layer.name == "bert_inputs" for layer in model.layers) and any(
        layer.name == "encoder" for layer in model.layers)
