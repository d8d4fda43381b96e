"""Heads trained on fixed sentence embeddings, and cross-fitting: each
example scored by a head that never saw it."""

import dataclasses

import keras
import numpy as np

from topk_distill.inputs.label_space import MultiLabel
from topk_distill.models import encoder_models
from topk_distill.utils import configs


def loss_for(labels):
    """The loss of a classifier's logits against `labels`: class ids [M]
    (a softmax's cross-entropy), or multi-hot [M, N] (one or more labels
    per example: per-class sigmoid binary cross-entropy).

    Examples:
        >>> import numpy as np
        >>> type(loss_for(np.zeros((2, 3)))).__name__
        'BinaryCrossentropy'
    """
    return _LOSSES[np.ndim(labels)](from_logits=True)


# By the targets' rank, as Keras's own losses take them.
_LOSSES = {1: keras.losses.SparseCategoricalCrossentropy,
           2: keras.losses.BinaryCrossentropy}


def multi_hot(label_ids, num_classes):
    """Each example's class ids (tuples) as float32 [M, N] 0/1 targets.

    Examples:
        >>> multi_hot([(0, 2), (1,)], 3).tolist()
        [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    return MultiLabel(num_classes).fit_targets(label_ids)


@dataclasses.dataclass(frozen=True)
class HeadTraining:
    """How `train_head` fits a head (Adam, full batches of embeddings).

    Args:
        epochs: passes over the embeddings.
        batch_size: embeddings per step.
        learning_rate: Adam's; `None`: 1e-2 for a linear head, 1e-3 for an
            MLP head.
        seed: random seed.
    """

    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = None
    seed: int = 0


def train_head(embeddings, labels, num_classes, hidden_units=0,
               training=None, verbose=0, **keywords):
    """Trains a classification head on fixed sentence embeddings.

    Args:
        embeddings: float [M, D], e.g. an encoder teacher's `"embedding"`
            layer outputs.
        labels: int [M] class ids, or multi-hot float [M, N] (a
            multi-label head: `loss_for`).
        num_classes: N.
        hidden_units: the head's shape, as `make_head`.
        training: a `HeadTraining` (epochs, batch size, rate, seed).
        verbose: Keras verbosity.
        **keywords: instead of `training`, its fields (`epochs=200`...).

    Returns:
        The trained head (`make_head`); set its weights into a teacher's
        `"head"` layer of the same shape.

    Examples:
        >>> import numpy as np
        >>> embeddings = np.eye(4, dtype="float32")  # 4 examples, 4 features
        >>> head = train_head(embeddings, np.array([0, 1, 2, 0]), 3, epochs=200)
        >>> head(embeddings).numpy().argmax(axis=1).tolist()
        [0, 1, 2, 0]
    """
    run = configs.config_from(HeadTraining, training, keywords)
    configs.refuse_others(keywords)
    keras.utils.set_random_seed(run.seed)
    head = encoder_models.make_head(num_classes, hidden_units)
    model = keras.Sequential([keras.Input((embeddings.shape[1],)), head])
    learning_rate = run.learning_rate
    if learning_rate is None:
        learning_rate = 1e-3 if hidden_units else 1e-2
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=loss_for(labels))
    model.fit(embeddings, labels, batch_size=run.batch_size,
              epochs=run.epochs, verbose=verbose)
    return head


def fold_of_rows(num_rows, folds, seed=0):
    """The cross-fitting fold of each row: int [num_rows], a seeded
    permutation mod `folds` (every fold the same size, within one row).

    Examples:
        >>> sorted(fold_of_rows(5, 2).tolist())
        [0, 0, 0, 1, 1]
    """
    import numpy as np

    return np.random.default_rng(seed).permutation(num_rows) % folds


def cross_fit_heads(embeddings, labels, num_classes, folds=5, seed=0,
                    **train_args):
    """Heads for cross-fitting: head k is trained on every fold but k.

    Args:
        embeddings: float [M, D].
        labels: int [M].
        num_classes: N.
        folds: k >= 2.
        seed: fold assignment and training seed.
        **train_args: passed to `train_head`.

    Returns:
        (fold: int [M], the fold of each row; heads: a list of `folds`
        trained heads). Row i, and anything derived from it (an augmented
        copy), is scored by `heads[fold[i]]`, which never saw it.
    """
    fold = fold_of_rows(len(labels), folds, seed)
    heads = [train_head(embeddings[fold != k], labels[fold != k], num_classes,
                        seed=seed + k, **train_args) for k in range(folds)]
    return fold, heads


def cross_fit_logits(embeddings, labels, num_classes, folds=5, seed=0,
                     **train_args):
    """Out-of-fold head logits: each example scored by a head that never saw it.

    A head trained on the very texts it scores is nearly one-hot on them, so
    its soft targets carry little; cross-fitting gives each labeled text the
    scores of a head trained on the other `folds - 1` folds
    (`cross_fit_heads`).

    Args: as `cross_fit_heads`.

    Returns:
        float32 [M, N] logits.
    """
    import numpy as np

    fold, heads = cross_fit_heads(embeddings, labels, num_classes, folds,
                                  seed, **train_args)
    logits = np.zeros((len(labels), num_classes), np.float32)
    for k, head in enumerate(heads):
        logits[fold == k] = keras.ops.convert_to_numpy(
            head(embeddings[fold == k]))
    return logits
