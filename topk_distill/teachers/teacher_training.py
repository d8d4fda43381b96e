"""Train a teacher on a labeled file: what `topk-distill teacher` does.

Two teachers:

* the reference teacher for the input's kind
  (`reference_models.reference_teacher`: for text, TF-IDF over word uni- and
  bigrams, then an MLP; for images, a convolutional network; for feature
  vectors, an MLP), trained from scratch, saved as `DIR/teacher.keras`;
* with an encoder, a pre-trained BERT-family encoder plus a head (linear,
  or a small MLP) trained on its sentence embeddings
  (`encoder_models.make_encoder_teacher`), saved as the SavedModel
  `DIR/saved_model`. The encoder stays frozen, unless fine-tuned: then,
  after the head, the encoder (all of it or its top layers) and the head
  train together on the texts (`fine_tuning.fine_tune`), as the source
  document's fine-tuned BERT teacher does. Cross-fitting also writes
  `DIR/cross_fit_logits.npy`, each input row scored by a head that did not
  see it (with fine-tuning, by a teacher whose head and encoder were both
  trained without it: one fine-tuning run per fold).

Both write `DIR/labels.txt`; the folder is a valid `preprocess --teacher`.
A teacher is only worth distilling if it beats the student, so each run
also measures both on held-out data (`validation`, or a part of the input
carved off for it): the teacher trained without those examples, and the
reference student (`text_models.make_student`) trained on the same labels
alone; `DIR/report.json` keeps the two accuracies. A fine-tuned teacher is
trained once, without the carved-off part (fine-tuning twice would double
the dearest step); a frozen encoder's head is trained again on everything.
"""

import os

import numpy as np

from topk_distill.inputs import inputs, labels_file
from topk_distill.inputs.label_space import LabelSpace, SingleLabel
from topk_distill.models import choices
from topk_distill.utils import json_files, outputs, progress
from topk_distill.teachers.fine_tuning import (cross_fit_fine_tuned,
                                               predict_by_length,
                                               train_encoder_teacher)


def train_teacher(input_spec, output, labels_path=None, encoder=None,
                  embeddings=None, cross_fit_folds=0, epochs=10,
                  batch_size=64, seed=0, data_dir=None, verbose="auto",
                  validation=None, validation_fraction=0.1,
                  student_epochs=None, hidden_units=0, sequence_length=128,
                  fine_tune=None, fine_tune_epochs=3, learning_rate=5e-5,
                  warmup_fraction=0.1, overwrite=False, label_space=None):
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
            `fine_tuning.cross_fit_fine_tuned`).
        epochs, batch_size, seed: training settings.
        data_dir: TFDS data directory.
        verbose: Keras verbosity.
        validation: a labeled file to measure the teacher and the reference
            student on; `None` carves `validation_fraction` of the input
            off for it (those examples then train the final teacher too).
        validation_fraction: the part carved off (0 skips the comparison).
        student_epochs: training epochs of the reference student (default
            `choices.EPOCHS`, at `train`'s default rate).
        hidden_units: with `encoder`, 0 for a linear head, else the width
            of a small MLP head (`encoder_models.make_head`).
        sequence_length: with `encoder`, tokens kept per text.
        fine_tune: with `encoder`, `None` keeps it frozen; 0 fine-tunes all
            of it, k > 0 its top k transformer layers
            (`fine_tuning.fine_tune`).
        fine_tune_epochs, learning_rate, warmup_fraction: the fine-tuning
            run (AdamW, linear warmup then cosine decay).
        overwrite: replace what `output` holds; without it a non-empty
            `output` is refused.
        label_space: `MultiLabel()`: examples have one or more labels
            (`inputs`): an encoder teacher with a per-class sigmoid head
            (binary cross-entropy), its SavedModel exported as multi-label
            (so `load_teacher` knows it); top-1 is then P@1 (the best class
            is one of the labels), for the teacher and the reference
            student. Default single-label.

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
    for name, value in (("cross_fit_folds", cross_fit_folds),
                        ("embeddings", embeddings)):
        if value and not encoder:
            raise ValueError(f"--{name}={value} needs --encoder=DIR (the "
                             "reference teacher has no such option)")
    space = label_space or SingleLabel()
    if space.multi_label and not encoder:
        raise ValueError("a multi-label teacher is an encoder with a sigmoid "
                         "head: pass --encoder=DIR")
    if encoder:
        from topk_distill.models import encoder_models

        encoder_models.check_encoder_folder(encoder)
    outputs.check_new(output, "--output", overwrite)
    kind = inputs.describe(input_spec, data_dir)
    if encoder and kind[0] != "text":
        raise ValueError(f"--encoder={encoder} encodes text, but "
                         f"{input_spec} holds {kind[0]} inputs; train the "
                         "reference teacher (no --encoder)")
    keras.utils.set_random_seed(seed)
    names = (labels_file.read_labels(labels_path) if labels_path else
             labels_file.build_labels(input_spec, data_dir, space))
    texts, label_ids = labels_file.read_labeled(input_spec, names, data_dir,
                                                space)
    space = space.with_classes(len(names))
    texts, labels = _as_array(texts, kind[0]), space.fit_targets(label_ids)
    present = sorted({i for ids in label_ids for i in ids})
    if len(present) < 2:
        found = (f"only class {names[present[0]]!r}" if present
                 else "no example")
        raise ValueError(f"{input_spec}: {found}; a teacher needs examples "
                         "of at least two classes")
    if cross_fit_folds > len(labels):
        raise ValueError(f"--cross_fit_folds={cross_fit_folds}, but "
                         f"{input_spec} has {len(labels)} examples; expected "
                         "at most one fold per example")
    held_out = _held_out(texts, labels, names, validation,
                         validation_fraction, seed, data_dir, kind, space)
    # Built beside `output`, moved in whole at the end: a teacher stopped
    # half-way leaves no folder that looks finished.
    final = output
    with outputs.built_beside(final) as output:
        labels_out = os.path.join(output, "labels.txt")
        labels_file.write_labels(labels_out, names)
        if encoder:
            tuning = None if fine_tune is None else dict(
                layers=fine_tune, epochs=fine_tune_epochs,
                learning_rate=learning_rate,
                warmup_fraction=warmup_fraction, batch_size=batch_size,
                seed=seed, verbose=verbose)
            written = _encoder_teacher(
                texts, labels, names, output, encoder, embeddings,
                cross_fit_folds, epochs, seed, batch_size, verbose,
                held_out, hidden_units, sequence_length, tuning)
        else:
            written = [_reference_teacher(
                texts, labels, names, output, epochs, batch_size, verbose,
                held_out, kind)]
        written.append(labels_out)
        if held_out:
            held_out["student_top1"] = _student_top1(
                texts, labels, names, held_out, student_epochs, seed, kind)
            report = {key: held_out[key] for key in (
                "teacher", "teacher_top1", "student_top1", "examples",
                "source")}
            if space.multi_label:
                report["multi_label"] = True
            written.append(os.path.join(output, "report.json"))
            json_files.write_json(written[-1], report)
    return [os.path.join(final, os.path.relpath(path, output))
            for path in written]


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
              kind, space):
    """The held-out examples and what trains while they are held out:
    {"fit": rows of the input, "texts", "labels", "examples", "source"}, or
    `None` without a comparison."""
    if validation:
        inputs.check_kind(validation, *kind, "the training input's examples",
                          data_dir, flag="--validation")
        held_texts, held_labels = labels_file.read_labeled(
            validation, names, data_dir, space)
        return dict(fit=np.arange(len(texts)),
                    texts=_as_array(held_texts, kind[0]),
                    labels=space.fit_targets(held_labels),
                    examples=len(held_texts), source=validation)
    count = int(round(len(texts) * fraction))
    if count < 1 or count >= len(texts):
        return None
    held, fit = _carve(np.arange(len(texts)), count, seed)
    return dict(fit=fit, texts=texts[held], labels=labels[held],
                examples=count,
                source=f"{fraction:.0%} of the input, carved off")


def _carve(rows, count, seed):
    """`count` of `rows` drawn at random (`seed`), and the rest; each part
    in ascending order."""
    order = np.random.default_rng(seed).permutation(rows)
    return np.sort(order[:count]), np.sort(order[count:])


def _student_top1(texts, labels, names, held_out, epochs, seed, kind):
    """The reference student, on the labels alone, on the held-out data:
    at `train`'s rate, for at most `epochs` (default `choices.EPOCHS`)
    with early stopping on a tenth of its training rows."""
    import keras

    from topk_distill.models import reference_models
    from topk_distill.teachers import cross_fitting

    keras.utils.set_random_seed(seed)
    fit = held_out["fit"]
    # A tenth of its rows watch it: training stops once their loss stops
    # falling (`train`'s patience), the best epoch kept.
    count = len(fit) // 10 if len(fit) >= 20 else 0
    watch, rows = _carve(fit, count, seed)
    student = reference_models.reference_student(
        kind[0], texts[fit], len(names), kind[1])
    student.compile(
        optimizer=keras.optimizers.Adam(choices.LEARNING_RATE),
        loss=cross_fitting.loss_for(labels))
    student.fit(
        _fit_input(texts[rows]), labels[rows], batch_size=128,
        epochs=epochs or choices.EPOCHS, verbose=0,
        validation_data=((_fit_input(texts[watch]), labels[watch])
                         if count else None),
        callbacks=[keras.callbacks.EarlyStopping(
            "val_loss", patience=choices.PATIENCE,
            restore_best_weights=True)] if count else [])
    return _top1(student, held_out)


def _top1(model, held_out):
    examples = held_out["texts"]
    if examples.dtype == object and len(examples) and isinstance(
            examples[0], str):
        logits = predict_by_length(model, examples, verbose=0)
    else:
        logits = model.predict(_fit_input(examples), batch_size=512,
                               verbose=0)
    best = np.argmax(logits, axis=1)
    labels = held_out["labels"]
    if labels.ndim == 2:  # multi-hot: P@1, the best class one of the labels
        return float(np.mean(labels[np.arange(len(best)), best]))
    return float(np.mean(best == labels))


def _reference_teacher(texts, labels, names, output, epochs, batch_size,
                       verbose, held_out, kind):
    import keras

    from topk_distill.models import reference_models

    def fitted(rows):
        model = reference_models.reference_teacher(
            kind[0], texts[rows], len(names), kind[1])
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
        model.fit(_fit_input(texts[rows]), labels[rows], batch_size=batch_size,
                  epochs=epochs, verbose=progress.fit_verbose(verbose))
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

    from topk_distill.models import encoder_models, saved_model
    from topk_distill.teachers import cross_fitting

    teacher = encoder_models.make_encoder_teacher(
        encoder, len(names), sequence_length, hidden_units)
    if embeddings:
        try:
            vectors = np.load(embeddings, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"--embeddings={embeddings}: not a numeric .npy"
                             f" array ({str(e).splitlines()[0]}); expected "
                             "float [examples, D]") from None
        if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.number):
            raise ValueError(f"--embeddings={embeddings}: a {vectors.dtype} "
                             f"array of shape {vectors.shape}; expected "
                             "float [examples, D]")
        vectors = vectors.astype(np.float32)
        if not np.isfinite(vectors).all():
            row = int(np.argwhere(~np.isfinite(vectors))[0, 0])
            raise ValueError(f"--embeddings={embeddings}: row {row} holds "
                             "NaN or Inf; expected finite vectors")
        if vectors.shape[0] != len(texts):
            raise ValueError(f"--embeddings={embeddings}: {vectors.shape[0]} "
                             f"rows for {len(texts)} examples; expected one "
                             "row each")
    else:
        embed = keras.Model(teacher.input, teacher.get_layer(
            "embedding").output)
        vectors = predict_by_length(embed, texts, verbose=verbose)
    settings = dict(epochs=epochs, seed=seed, hidden_units=hidden_units,
                    verbose=progress.fit_verbose(verbose))
    fit = held_out["fit"] if held_out else np.arange(len(texts))
    train_encoder_teacher(teacher, texts, labels, vectors, fit, settings,
                          tuning)
    if held_out:
        held_out["teacher"] = _describe(hidden_units, tuning)
        held_out["teacher_top1"] = _top1(teacher, held_out)
    if not tuning and len(fit) < len(texts):
        train_encoder_teacher(teacher, texts, labels, vectors,
                              np.arange(len(texts)), settings, None)
    space = LabelSpace.of(len(names), labels.ndim == 2)  # multi-hot: multi
    written = [saved_model.export_saved_model(
        teacher, os.path.join(output, "saved_model"), names,
        label_space=space)]
    if tuning:  # the fine-tuned encoder, for student-init and students
        written.append(encoder_models.save_encoder(
            teacher, encoder, os.path.join(output, "encoder"), names))
    if cross_fit_folds and tuning:
        def make_teacher():
            return encoder_models.make_encoder_teacher(
                encoder, len(names), sequence_length, hidden_units)

        logits = cross_fit_fine_tuned(make_teacher, texts, labels, vectors,
                                      cross_fit_folds, settings, tuning)
    elif cross_fit_folds:
        logits = cross_fitting.cross_fit_logits(
            vectors, labels, len(names), folds=cross_fit_folds, **settings)
    if cross_fit_folds:
        written.append(os.path.join(output, "cross_fit_logits.npy"))
        np.save(written[-1], logits)
    return written


def _describe(hidden_units, tuning):
    """The encoder teacher's choices, as report.json names them."""
    head = f"MLP head ({hidden_units})" if hidden_units else "linear head"
    if not tuning:
        return f"encoder (frozen) + {head}"
    part = (f"top {tuning['layers']} layers" if tuning["layers"]
            else "all layers")
    return (f"encoder fine-tuned ({part}, {tuning['epochs']} epochs) + "
            f"{head}")
