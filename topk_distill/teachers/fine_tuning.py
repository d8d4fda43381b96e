"""Fine-tuning an encoder teacher, and scoring texts with it cheaply.

`fine_tune` trains a BERT-family encoder teacher
(`encoder_models.make_encoder_teacher`) end to end on labeled texts, in batches
of texts of similar length (`length_batches`), which an encoder that pads each
batch to its longest text (`bert_inputs.BertInputs`) runs about twice as fast;
`predict_by_length` scores texts the same way. `train_encoder_teacher` trains
one on some rows (head, then optionally fine-tuning), and
`cross_fit_fine_tuned` gives out-of-fold logits from one fine-tuned teacher per
fold. `teacher_training.train_teacher` (the `teacher` command) runs them.
"""

import dataclasses

import numpy as np

from topk_distill.utils import configs, progress


def train_encoder_teacher(teacher, texts, labels, vectors, rows,
                          head_settings, tuning=None):
    """Trains an encoder teacher on some rows: its head on the frozen
    encoder's `vectors` (`cross_fitting.train_head`), then, with `tuning`,
    encoder and head together on the texts (`fine_tune`).

    Args:
        teacher: a `encoder_models.make_encoder_teacher` model; trained in
        place.
        texts: string [M]; labels: int [M]; vectors: float [M, D], the
            pretrained encoder's embeddings of `texts`.
        rows: int [R], the rows to train on.
        head_settings: `cross_fitting.train_head` keywords (epochs, seed...).
        tuning: `fine_tune` keywords (layers, epochs, learning_rate...), or
            `None` to keep the encoder frozen.
    """
    from topk_distill.teachers import cross_fitting

    head = cross_fitting.train_head(vectors[rows], labels[rows],
                                    teacher.output.shape[-1], **head_settings)
    teacher.get_layer("head").set_weights(head.get_weights())
    if tuning:
        fine_tune(teacher, texts[rows], labels[rows], **tuning)


def fine_tuned_fold(make_teacher, texts, labels, vectors, fold, k,
                    head_settings, tuning):
    """The encoder teacher of one cross-fitting fold, and its logits on it.

    A fresh teacher (`make_teacher()`) is trained on every row outside fold
    `k` (`train_encoder_teacher`: head, then fine-tuning; seeds offset by
    k), then scores the rows of fold `k`, which neither its head nor its
    encoder saw.

    Args:
        make_teacher: returns a new `encoder_models.make_encoder_teacher`
        model. texts, labels, vectors, head_settings, tuning: as
            `train_encoder_teacher`.
        fold: int [M], each row's fold (`cross_fitting.fold_of_rows`); k: the
            fold scored.

    Returns:
        `(teacher, logits float32 [rows of fold k, N])`.
    """
    teacher = make_teacher()
    train_encoder_teacher(
        teacher, texts, labels, vectors, np.flatnonzero(fold != k),
        {**head_settings, "seed": head_settings.get("seed", 0) + k},
        {**tuning, "seed": tuning.get("seed", 0) + k})
    return teacher, predict_by_length(teacher, texts[fold == k], verbose=0)


def cross_fit_fine_tuned(make_teacher, texts, labels, vectors, folds,
                         head_settings, tuning):
    """Out-of-fold logits of fine-tuned teachers: one per fold, each
    trained (head, then encoder) on the other folds (`fine_tuned_fold`).

    A fine-tuned teacher is nearly one-hot on the texts it trained on, so
    its soft targets there carry its memory, not its knowledge; each row
    here is scored by a teacher that never saw it. Costs `folds` fine-tuning
    runs on `(folds - 1) / folds` of the rows each: with 2 folds, one run's
    worth in all.

    Args: as `fine_tuned_fold`, with `folds` (k >= 2) for `fold` and `k`;
        rows are assigned by `cross_fitting.fold_of_rows(M, folds,
        head_settings' seed)`, as the frozen encoder's cross-fitted heads are.

    Returns:
        float32 [M, N] logits.
    """
    from topk_distill.teachers import cross_fitting

    fold = cross_fitting.fold_of_rows(len(texts), folds,
                                      head_settings.get("seed", 0))
    logits = None
    for k in range(folds):
        _, part = fine_tuned_fold(make_teacher, texts, labels, vectors, fold,
                                  k, head_settings, tuning)
        if logits is None:
            logits = np.zeros((len(texts), part.shape[1]), np.float32)
        logits[fold == k] = part
    return logits


def predict_by_length(model, texts, batch_size=256, verbose="auto"):
    """`model.predict` on texts sorted by length, rows back in input order.

    An encoder that pads each batch to its longest text
    (`bert_inputs.BertInputs`) runs about twice as fast on batches of texts
    of similar length (BENCHMARKS.md, "Padding to the longest text").

    Args:
        model: a Keras model taking string [B].
        texts: string [M].
        batch_size: texts per batch.
        verbose: Keras verbosity.

    Returns:
        The model's outputs for `texts`, in their order.
    """
    texts = np.asarray(texts, object)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = model.predict(texts[order], batch_size=batch_size,
                        verbose=progress.fit_verbose(verbose))
    restored = np.empty_like(out)
    restored[order] = out
    return restored


@dataclasses.dataclass(frozen=True)
class FineTuning:
    """A fine-tuning run's settings (`fine_tune`).

    Args:
        layers: 0 fine-tunes every encoder weight, k > 0 the top k layers.
        epochs: the run's length.
        batch_size: the run's batch size.
        learning_rate: the peak learning rate (5e-5 as keras-hub's
            classifiers use).
        warmup_fraction: the part of the steps spent warming up.
        weight_decay: AdamW's decoupled weight decay.
        seed: random seed.
    """

    layers: int = 0
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0


def fine_tune(teacher, texts, labels, tuning=None, verbose="auto",
              **keywords):
    """Fine-tunes an encoder teacher end to end on labeled texts.

    The encoder (all of it, or its top `layers` transformer layers) and the
    head train together with AdamW and keras-hub's usual recipe: a small
    learning rate, reached by a linear warmup over the first
    `warmup_fraction` of the steps, then a cosine decay to 0. Train the head
    on the frozen encoder first (`cross_fitting.train_head`): a fitted head
    keeps the first steps from pulling the encoder's features apart.

    Args:
        teacher: a model from `encoder_models.make_encoder_teacher`.
        texts: string [M].
        labels: int [M], or multi-hot float [M, N]
            (`cross_fitting.loss_for`).
        tuning: a `FineTuning` (layers, epochs, batch size, rate...).
        verbose: Keras verbosity.
        **keywords: instead of `tuning`, its fields (`layers=2`...).

    Returns:
        The Keras `History` of the run.

    Examples:

        ```python
        teacher = encoder_models.make_encoder_teacher("all-MiniLM-L6-v2/", 60)
        fine_tune(teacher, texts, labels, layers=2, epochs=3)
        ```
    """
    import keras

    from topk_distill.models import encoder_models, encoder_students
    from topk_distill.teachers import cross_fitting

    run = configs.config_from(FineTuning, tuning, keywords)
    configs.refuse_others(keywords)
    keras.utils.set_random_seed(run.seed)
    encoder_models.set_encoder_trainable(teacher, run.layers)
    steps = run.epochs * -(-len(texts) // run.batch_size)
    teacher.compile(
        optimizer=encoder_students.fine_tuning_optimizer(
            run.learning_rate, steps, run.warmup_fraction, run.weight_decay),
        loss=cross_fitting.loss_for(labels))
    batches = length_batches(texts, labels, run.batch_size, run.seed)
    return teacher.fit(batches, epochs=run.epochs,
                       verbose=progress.fit_verbose(verbose))


def length_batches(texts, labels, batch_size, seed=0, window=64):
    """Shuffled batches of texts of about the same length, for `fit`.

    Each epoch shuffles the texts, sorts each run of `window` batches by
    length (characters) and cuts it into batches, then shuffles the order of
    the batches: every batch is random but holds texts of similar length, so
    an encoder that pads each batch to its longest text
    (`bert_inputs.BertInputs`) spends little on padding. There are
    `ceil(M / batch_size)` batches per epoch, as with plain shuffling.

    Args:
        texts: string [M]; labels: int [M].
        batch_size: texts per batch.
        seed: the shuffles' seed (epoch e uses `seed + e`).
        window: batches sorted together.

    Returns:
        A `keras.utils.PyDataset` of `(texts, labels)` batches.

    Examples:
        >>> import numpy as np
        >>> texts = np.array(["a", "bbbb", "cc", "ddd", "eeeeee", "f"], object)
        >>> batches = length_batches(texts, np.arange(6), batch_size=2)
        >>> len(batches)
        3
        >>> sorted(sorted(len(t) for t in batches[i][0].numpy())
        ...        for i in range(3))
        [[1, 1], [2, 3], [4, 6]]
    """
    import keras

    texts, labels = np.asarray(texts, object), np.asarray(labels)
    lengths = np.array([len(t) for t in texts])

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self._order()

        def _order(self):
            rng = np.random.default_rng(seed + self.epoch)
            order = rng.permutation(len(texts))
            step = batch_size * window
            order = np.concatenate([
                chunk[np.argsort(lengths[chunk], kind="stable")]
                for chunk in np.split(order, range(step, len(order), step))])
            cuts = np.split(order, range(batch_size, len(order), batch_size))
            self.batches = [cuts[i] for i in rng.permutation(len(cuts))]

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            import tensorflow as tf

            rows = self.batches[index]  # Keras takes no object arrays
            return tf.constant(list(texts[rows])), labels[rows]

        def on_epoch_end(self):
            self.epoch += 1
            self._order()

    return Batches()
