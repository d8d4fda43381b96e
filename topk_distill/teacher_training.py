"""Train a teacher on a labeled file: what `topk-distill teacher` does.

Two teachers:

* the reference teacher for the input's kind (`models.reference_teacher`:
  for text, TF-IDF over word uni- and bigrams, then an MLP; for images, a
  convolutional network; for feature vectors, an MLP), trained from
  scratch, saved as `DIR/teacher.keras`;
* with an encoder, a pre-trained BERT-family encoder plus a head (linear,
  or a small MLP) trained on its sentence embeddings
  (`models.make_encoder_teacher`), saved as the SavedModel
  `DIR/saved_model`. The encoder stays frozen, unless fine-tuned: then,
  after the head, the encoder (all of it or its top layers) and the head
  train together on the texts (`fine_tune`), as the source document's
  fine-tuned BERT teacher does. Cross-fitting also writes
  `DIR/cross_fit_logits.npy`, each input row scored by a head that did not
  see it (with fine-tuning, by a teacher whose head and encoder were both
  trained without it: one fine-tuning run per fold).

Both write `DIR/labels.txt`; the folder is a valid `preprocess --teacher`.
A teacher is only worth distilling if it beats the student, so each run
also measures both on held-out data (`validation`, or a part of the input
carved off for it): the teacher trained without those examples, and the
reference student (`models.make_student`) trained on the same labels
alone; `DIR/report.json` keeps the two accuracies. A fine-tuned teacher is
trained once, without the carved-off part (fine-tuning twice would double
the dearest step); a frozen encoder's head is trained again on everything.
"""

import json
import os

import numpy as np

from topk_distill import inputs


def train_teacher(input_spec, output, labels_path=None, encoder=None,
                  embeddings=None, cross_fit_folds=0, epochs=10,
                  batch_size=64, seed=0, data_dir=None, verbose="auto",
                  validation=None, validation_fraction=0.1,
                  student_epochs=10, hidden_units=0, sequence_length=128,
                  fine_tune=None, fine_tune_epochs=3, learning_rate=5e-5,
                  warmup_fraction=0.1):
    """Trains a teacher on a labeled input and saves it in `output`.

    Args:
        input_spec: a labeled `.tsv`, `.jsonl`, image folder or
            `tfds:NAME[:SPLIT]`.
        output: the output folder.
        labels_path: a `labels.txt` to use (default: the sorted label names
            of the input).
        encoder: a local BERT-family checkpoint folder (config.json,
            model.safetensors, vocab.txt); `None` trains the reference
            teacher.
        embeddings: with `encoder`, a `.npy` of the encoder's embeddings of
            the input ([rows, hidden]), to skip computing them.
        cross_fit_folds: with `encoder`, k >= 2 also writes out-of-fold
            logits for every input row (with `fine_tune`, k more
            fine-tuning runs, each on (k - 1) / k of the rows:
            `cross_fit_fine_tuned`).
        epochs, batch_size, seed: training settings.
        data_dir: TFDS data directory.
        verbose: Keras verbosity.
        validation: a labeled file to measure the teacher and the reference
            student on; `None` carves `validation_fraction` of the input
            off for it (those examples then train the final teacher too).
        validation_fraction: the part carved off (0 skips the comparison).
        student_epochs: training epochs of the reference student.
        hidden_units: with `encoder`, 0 for a linear head, else the width
            of a small MLP head (`models.make_head`).
        sequence_length: with `encoder`, tokens kept per text.
        fine_tune: with `encoder`, `None` keeps it frozen; 0 fine-tunes all
            of it, k > 0 its top k transformer layers (`fine_tune`).
        fine_tune_epochs, learning_rate, warmup_fraction: the fine-tuning
            run (AdamW, linear warmup then cosine decay).

    Returns:
        The paths written, e.g. `["DIR/teacher.keras", "DIR/labels.txt",
        "DIR/report.json"]`.

    Raises:
        ValueError: naming the file or setting at fault.

    Example:

    ```python
    train_teacher("train.tsv", "teacher", encoder="all-MiniLM-L6-v2",
                  cross_fit_folds=5, epochs=30)
    ```
    """
    import keras

    if cross_fit_folds == 1 or cross_fit_folds < 0:
        raise ValueError(f"cross_fit_folds={cross_fit_folds}; expected 0 "
                         "(none) or at least 2 folds")
    if fine_tune is not None and not encoder:
        raise ValueError("fine-tuning needs an encoder (--encoder=DIR); the "
                         "reference teacher has none")
    kind = inputs.describe(input_spec, data_dir)
    if encoder and kind[0] != "text":
        raise ValueError(f"--encoder={encoder} encodes text, but "
                         f"{input_spec} holds {kind[0]} inputs; train the "
                         "reference teacher (no --encoder)")
    keras.utils.set_random_seed(seed)
    names = (inputs.read_labels(labels_path) if labels_path else
             inputs.build_labels(input_spec, data_dir))
    texts, labels = inputs.read_labeled(input_spec, names, data_dir)
    texts, labels = _as_array(texts, kind[0]), np.array(labels)
    held_out = _held_out(texts, labels, names, validation,
                         validation_fraction, seed, data_dir, kind)
    os.makedirs(output, exist_ok=True)
    labels_out = os.path.join(output, "labels.txt")
    inputs.write_labels(labels_out, names)
    if encoder:
        tuning = None if fine_tune is None else dict(
            layers=fine_tune, epochs=fine_tune_epochs,
            learning_rate=learning_rate, warmup_fraction=warmup_fraction,
            batch_size=batch_size, seed=seed, verbose=verbose)
        written = _encoder_teacher(texts, labels, names, output, encoder,
                                   embeddings, cross_fit_folds, epochs, seed,
                                   batch_size, verbose, held_out,
                                   hidden_units, sequence_length, tuning)
    else:
        written = [_reference_teacher(texts, labels, names, output, epochs,
                                      batch_size, verbose, held_out, kind)]
    written.append(labels_out)
    if held_out:
        held_out["student_top1"] = _student_top1(
            texts, labels, names, held_out, student_epochs, seed, kind)
        report = {key: held_out[key] for key in (
            "teacher", "teacher_top1", "student_top1", "examples", "source")}
        written.append(os.path.join(output, "report.json"))
        with open(written[-1], "w") as f:
            json.dump(report, f, indent=1)
    return written


def comparison_line(report):
    """What `topk-distill teacher` prints of `report.json`.

    Example:
    >>> print(comparison_line({"teacher": "reference (TF-IDF + MLP)",
    ...                        "teacher_top1": 0.68, "student_top1": 0.72,
    ...                        "examples": 2100, "source": "10% of x.tsv"}))
    held-out top-1 on 2100 examples (10% of x.tsv): teacher (reference (TF-IDF + MLP)) 0.6800, reference student on the labels alone 0.7200
    warning: the teacher is not stronger than the student; distilling from it will not help (use an encoder teacher: --encoder, or fine-tune one: --fine_tune)
    """
    line = (f"held-out top-1 on {report['examples']} examples "
            f"({report['source']}): teacher ({report['teacher']}) "
            f"{report['teacher_top1']:.4f}, "
            "reference student on the labels alone "
            f"{report['student_top1']:.4f}")
    if report["teacher_top1"] <= report["student_top1"]:
        line += ("\nwarning: the teacher is not stronger than the student; "
                 "distilling from it will not help (use an encoder teacher:"
                 " --encoder, or fine-tune one: --fine_tune)")
    return line


def _as_array(examples, kind):
    """Inputs as one array: objects (str or bytes), or float32 [M, D]."""
    if kind == "features":
        return np.asarray(examples, np.float32)
    out = np.empty(len(examples), object)
    out[:] = examples
    return out


def _fit_input(examples):
    """What Keras `fit` takes: image bytes as a string tensor (its array
    adapter refuses object arrays of bytes), other inputs as they are."""
    if examples.dtype == object and len(examples) and isinstance(
            examples[0], bytes):
        import tensorflow as tf

        return tf.constant(list(examples))
    return examples


def _held_out(texts, labels, names, validation, fraction, seed, data_dir,
              kind):
    """The held-out examples and what trains while they are held out:
    {"fit": rows of the input, "texts", "labels", "examples", "source"}, or
    `None` without a comparison."""
    if validation:
        inputs.check_kind(validation, *kind, "the training input's examples",
                          data_dir, flag="--validation")
        held_texts, held_labels = inputs.read_labeled(validation, names,
                                                      data_dir)
        return dict(fit=np.arange(len(texts)),
                    texts=_as_array(held_texts, kind[0]),
                    labels=np.array(held_labels), examples=len(held_texts),
                    source=validation)
    count = int(round(len(texts) * fraction))
    if count < 1 or count >= len(texts):
        return None
    order = np.random.default_rng(seed).permutation(len(texts))
    held, fit = np.sort(order[:count]), np.sort(order[count:])
    return dict(fit=fit, texts=texts[held], labels=labels[held],
                examples=count,
                source=f"{fraction:.0%} of the input, carved off")


def _student_top1(texts, labels, names, held_out, epochs, seed, kind):
    """The reference student, on the labels alone, on the held-out data."""
    import keras

    from topk_distill import models

    keras.utils.set_random_seed(seed)
    fit = held_out["fit"]
    student = models.reference_student(kind[0], texts[fit], len(names),
                                       kind[1])
    student.compile(optimizer=keras.optimizers.Adam(5e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(
                        from_logits=True))
    student.fit(_fit_input(texts[fit]), labels[fit], batch_size=128,
                epochs=epochs, verbose=0)
    return _top1(student, held_out)


def _top1(model, held_out):
    examples = held_out["texts"]
    if examples.dtype == object and len(examples) and isinstance(
            examples[0], str):
        logits = predict_by_length(model, examples, verbose=0)
    else:
        logits = model.predict(_fit_input(examples), batch_size=512,
                               verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == held_out["labels"]))


def _reference_teacher(texts, labels, names, output, epochs, batch_size,
                       verbose, held_out, kind):
    import keras

    from topk_distill import models

    def fitted(rows):
        model = models.reference_teacher(kind[0], texts[rows], len(names),
                                         kind[1])
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
        model.fit(_fit_input(texts[rows]), labels[rows], batch_size=batch_size,
                  epochs=epochs, verbose=verbose)
        return model

    everything = np.arange(len(texts))
    model = fitted(everything)
    if held_out:
        held_out["teacher"] = {
            "text": "reference (TF-IDF + MLP)",
            "image": "reference (convolutional network)",
            "features": "reference (MLP)"}[kind[0]]
        same = len(held_out["fit"]) == len(texts)
        held_out["teacher_top1"] = _top1(
            model if same else fitted(held_out["fit"]), held_out)
    path = os.path.join(output, "teacher.keras")
    model.save(path)
    return path


def _encoder_teacher(texts, labels, names, output, encoder, embeddings,
                     cross_fit_folds, epochs, seed, batch_size, verbose,
                     held_out, hidden_units, sequence_length, tuning):
    import keras

    from topk_distill import export, models

    teacher = models.make_encoder_teacher(encoder, len(names),
                                          sequence_length, hidden_units)
    if embeddings:
        vectors = np.load(embeddings).astype(np.float32)
        if vectors.shape[0] != len(texts):
            raise ValueError(f"--embeddings={embeddings}: {vectors.shape[0]} "
                             f"rows for {len(texts)} examples; expected one "
                             "row each")
    else:
        embed = keras.Model(teacher.input, teacher.get_layer(
            "embedding").output)
        vectors = predict_by_length(embed, texts, verbose=verbose)
    settings = dict(epochs=epochs, seed=seed, hidden_units=hidden_units,
                    verbose=1 if verbose == "auto" else verbose)
    fit = held_out["fit"] if held_out else np.arange(len(texts))
    train_encoder_teacher(teacher, texts, labels, vectors, fit, settings,
                          tuning)
    if held_out:
        held_out["teacher"] = _describe(hidden_units, tuning)
        held_out["teacher_top1"] = _top1(teacher, held_out)
    if not tuning and len(fit) < len(texts):
        train_encoder_teacher(teacher, texts, labels, vectors,
                              np.arange(len(texts)), settings, None)
    written = [export.export_saved_model(
        teacher, os.path.join(output, "saved_model"), names)]
    if cross_fit_folds and tuning:
        def make_teacher():
            return models.make_encoder_teacher(encoder, len(names),
                                               sequence_length, hidden_units)

        logits = cross_fit_fine_tuned(make_teacher, texts, labels, vectors,
                                      cross_fit_folds, settings, tuning)
    elif cross_fit_folds:
        logits = models.cross_fit_logits(vectors, labels, len(names),
                                         folds=cross_fit_folds, **settings)
    if cross_fit_folds:
        written.append(os.path.join(output, "cross_fit_logits.npy"))
        np.save(written[-1], logits)
    return written


def train_encoder_teacher(teacher, texts, labels, vectors, rows,
                          head_settings, tuning=None):
    """Trains an encoder teacher on some rows: its head on the frozen
    encoder's `vectors` (`models.train_head`), then, with `tuning`, encoder
    and head together on the texts (`fine_tune`).

    Args:
        teacher: a `models.make_encoder_teacher` model; trained in place.
        texts: string [M]; labels: int [M]; vectors: float [M, D], the
            pretrained encoder's embeddings of `texts`.
        rows: int [R], the rows to train on.
        head_settings: `models.train_head` keywords (epochs, seed...).
        tuning: `fine_tune` keywords (layers, epochs, learning_rate...), or
            `None` to keep the encoder frozen.
    """
    from topk_distill import models

    head = models.train_head(vectors[rows], labels[rows],
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
        make_teacher: returns a new `models.make_encoder_teacher` model.
        texts, labels, vectors, head_settings, tuning: as
            `train_encoder_teacher`.
        fold: int [M], each row's fold (`models.fold_of_rows`); k: the fold
            scored.

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
        rows are assigned by `models.fold_of_rows(M, folds, head_settings'
        seed)`, as the frozen encoder's cross-fitted heads are.

    Returns:
        float32 [M, N] logits.
    """
    from topk_distill import models

    fold = models.fold_of_rows(len(texts), folds,
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
    out = model.predict(texts[order], batch_size=batch_size, verbose=verbose)
    restored = np.empty_like(out)
    restored[order] = out
    return restored


def fine_tune(teacher, texts, labels, layers=0, epochs=3, batch_size=32,
              learning_rate=5e-5, warmup_fraction=0.1, weight_decay=0.01,
              seed=0, verbose="auto"):
    """Fine-tunes an encoder teacher end to end on labeled texts.

    The encoder (all of it, or its top `layers` transformer layers) and the
    head train together with AdamW and keras-hub's usual recipe: a small
    learning rate, reached by a linear warmup over the first
    `warmup_fraction` of the steps, then a cosine decay to 0. Train the head
    on the frozen encoder first (`models.train_head`): a fitted head keeps
    the first steps from pulling the encoder's features apart.

    Args:
        teacher: a model from `models.make_encoder_teacher`.
        texts: string [M]; labels: int [M].
        layers: 0 fine-tunes every encoder weight, k > 0 the top k layers.
        epochs, batch_size: the run's length and batch.
        learning_rate: the peak learning rate (5e-5 as keras-hub's
            classifiers use).
        warmup_fraction: the part of the steps spent warming up.
        weight_decay: AdamW's decoupled weight decay.
        seed: random seed.
        verbose: Keras verbosity.

    Returns:
        The Keras `History` of the run.

    Example:

    ```python
    teacher = models.make_encoder_teacher("all-MiniLM-L6-v2/", 60)
    fine_tune(teacher, texts, labels, layers=2, epochs=3)
    ```
    """
    import keras

    from topk_distill import models

    keras.utils.set_random_seed(seed)
    models.set_encoder_trainable(teacher, layers)
    steps = epochs * -(-len(texts) // batch_size)
    warmup = int(steps * warmup_fraction)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(steps - warmup, 1), warmup_target=learning_rate,
        warmup_steps=warmup)
    teacher.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = length_batches(texts, labels, batch_size, seed)
    return teacher.fit(batches, epochs=epochs, verbose=verbose)


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

    Example:
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


def _describe(hidden_units, tuning):
    """The encoder teacher's choices, as report.json names them."""
    head = f"MLP head ({hidden_units})" if hidden_units else "linear head"
    if not tuning:
        return f"encoder (frozen) + {head}"
    part = (f"top {tuning['layers']} layers" if tuning["layers"]
            else "all layers")
    return (f"encoder fine-tuned ({part}, {tuning['epochs']} epochs) + "
            f"{head}")
