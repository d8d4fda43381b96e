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

import dataclasses
import os

import numpy as np

from topk_distill.inputs import inputs, labels_file
from topk_distill.models import choices
from topk_distill.teachers import teacher_config
from topk_distill.utils import configs, json_files, outputs, progress
from topk_distill.teachers.fine_tuning import (cross_fit_fine_tuned,
                                               predict_by_length,
                                               train_encoder_teacher)


def train_teacher(input_spec, output, config=None, labels_path=None,
                  data_dir=None, verbose="auto", overwrite=False, **keywords):
    """Trains a teacher on a labeled input and saves it in `output`.

    Args:
        input_spec: a labeled `.tsv`, `.jsonl`, image folder or
            `tfds:NAME[:SPLIT]`.
        output: the output folder.
        config: a `TeacherConfig` (the encoder or the reference teacher,
            fine-tuning, cross-fitting, the held-out comparison), or its
            fields as keywords.
        labels_path: a `labels.txt` to use (default: the sorted label names
            of the input).
        data_dir: TFDS data directory.
        verbose: Keras verbosity.
        overwrite: replace what `output` holds; without it a non-empty
            `output` is refused.

    Returns:
        The paths written, e.g. `["DIR/teacher.keras", "DIR/labels.txt",
        "DIR/report.json"]`.

    Raises:
        ValueError: naming the file or setting at fault.

    Examples:

        ```python
        train_teacher("train.tsv", "teacher", encoder="all-MiniLM-L6-v2",
                      cross_fit_folds=5, epochs=30)
        ```
    """
    config = configs.config_from(teacher_config.TeacherConfig, config,
                                 keywords)
    configs.refuse_others(keywords)
    data = _read(input_spec, labels_path, data_dir, config, output,
                 overwrite)
    held_out = _held_out(data, config, data_dir)
    # Built beside `output`, moved in whole at the end: a teacher stopped
    # half-way leaves no folder that looks finished.
    with outputs.built_beside(output) as folder:
        labels_out = os.path.join(folder, "labels.txt")
        labels_file.write_labels(labels_out, data.names)
        build = _encoder_teacher if config.encoder else _reference_teacher
        written, measured = build(data, config, folder, verbose, held_out)
        written.append(labels_out)
        if held_out:
            written.append(os.path.join(folder, "report.json"))
            json_files.write_json(written[-1], dict(
                measured, student_top1=_student_top1(data, held_out, config),
                examples=held_out.count, source=held_out.source,
                multi_label=data.space.multi_label))
    return [os.path.join(output, os.path.relpath(path, folder))
            for path in written]


@dataclasses.dataclass(frozen=True)
class _Data:
    """The input a teacher trains on, read whole and checked."""

    examples: np.ndarray  # objects (str or bytes), or float32 [M, D]
    label_ids: list  # tuples of class ids
    labels: np.ndarray  # what `fit` takes: ids [M] or multi-hot [M, N]
    names: list
    space: object  # the `LabelSpace`, of N classes
    kind: tuple  # (input kind, feature dim)


@dataclasses.dataclass(frozen=True)
class _HeldOut:
    """The examples both models are measured on, and the rows of the
    input that train while they are held out."""

    fit: np.ndarray
    examples: np.ndarray
    label_ids: list
    count: int
    source: str


def _read(input_spec, labels_path, data_dir, config, output, overwrite):
    """Checks the run and reads its input; returns its `_Data`."""
    import keras

    if config.encoder:
        from topk_distill.models import encoder_models

        encoder_models.check_encoder_folder(config.encoder)
    outputs.check_new(output, "--output", overwrite)
    kind = inputs.describe(input_spec, data_dir)
    if config.encoder and kind[0] != "text":
        raise ValueError(f"--encoder={config.encoder} encodes text, but "
                         f"{input_spec} holds {kind[0]} inputs; train the "
                         "reference teacher (no --encoder)")
    keras.utils.set_random_seed(config.seed)
    space = config.label_space
    names = (labels_file.read_labels(labels_path) if labels_path else
             labels_file.build_labels(input_spec, data_dir, space))
    examples, label_ids = labels_file.read_labeled(input_spec, names,
                                                   data_dir, space)
    space = space.with_classes(len(names))
    present = sorted({i for ids in label_ids for i in ids})
    if len(present) < 2:
        found = (f"only class {names[present[0]]!r}" if present
                 else "no example")
        raise ValueError(f"{input_spec}: {found}; a teacher needs examples "
                         "of at least two classes")
    if config.cross_fit_folds > len(label_ids):
        raise ValueError(f"--cross_fit_folds={config.cross_fit_folds}, but "
                         f"{input_spec} has {len(label_ids)} examples; "
                         "expected at most one fold per example")
    return _Data(_as_array(examples, kind[0]), label_ids,
                 space.fit_targets(label_ids), names, space, kind)


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


def _held_out(data, config, data_dir):
    """The `_HeldOut` examples (`config.validation`, or a part of the
    input carved off), or `None` without a comparison."""
    if config.validation:
        inputs.check_kind(config.validation, *data.kind,
                          "the training input's examples", data_dir,
                          flag="--validation")
        examples, label_ids = labels_file.read_labeled(
            config.validation, data.names, data_dir, data.space)
        return _HeldOut(np.arange(len(data.examples)),
                        _as_array(examples, data.kind[0]), label_ids,
                        len(examples), config.validation)
    count = int(round(len(data.examples) * config.validation_fraction))
    if count < 1 or count >= len(data.examples):
        return None
    held, fit = _carve(np.arange(len(data.examples)), count, config.seed)
    return _HeldOut(fit, data.examples[held],
                    [data.label_ids[i] for i in held], count,
                    f"{config.validation_fraction:.0%} of the input, "
                    "carved off")


def _carve(rows, count, seed):
    """`count` of `rows` drawn at random (`seed`), and the rest; each part
    in ascending order."""
    order = np.random.default_rng(seed).permutation(rows)
    return np.sort(order[:count]), np.sort(order[count:])


def _student_top1(data, held_out, config):
    """The reference student, on the labels alone, on the held-out data:
    at `train`'s rate, for at most `config.student_epochs` (default
    `choices.EPOCHS`) with early stopping on a tenth of its training
    rows."""
    import keras

    from topk_distill.models import reference_models
    from topk_distill.teachers import cross_fitting

    keras.utils.set_random_seed(config.seed)
    examples, labels, fit = data.examples, data.labels, held_out.fit
    # A tenth of its rows watch it: training stops once their loss stops
    # falling (`train`'s patience), the best epoch kept.
    count = len(fit) // 10 if len(fit) >= 20 else 0
    watch, rows = _carve(fit, count, config.seed)
    student = reference_models.reference_student(
        data.kind[0], examples[fit], len(data.names), data.kind[1])
    student.compile(
        optimizer=keras.optimizers.Adam(choices.LEARNING_RATE),
        loss=cross_fitting.loss_for(labels))
    student.fit(
        _fit_input(examples[rows]), labels[rows], batch_size=128,
        epochs=config.student_epochs or choices.EPOCHS, verbose=0,
        validation_data=((_fit_input(examples[watch]), labels[watch])
                         if count else None),
        callbacks=[keras.callbacks.EarlyStopping(
            "val_loss", patience=choices.PATIENCE,
            restore_best_weights=True)] if count else [])
    return _top1(student, held_out)


def _top1(model, held_out):
    """P@1 on the held-out examples: the best class one of the labels."""
    examples = held_out.examples
    if examples.dtype == object and len(examples) and isinstance(
            examples[0], str):
        logits = predict_by_length(model, examples, verbose=0)
    else:
        logits = model.predict(_fit_input(examples), batch_size=512,
                               verbose=0)
    best = np.argmax(logits, axis=1)
    return float(np.mean([b in ids for b, ids in zip(best,
                                                    held_out.label_ids)]))


def _reference_teacher(data, config, output, verbose, held_out):
    """The reference teacher for the input's kind, trained from scratch;
    returns `([its .keras path], what report.json says of it)`."""
    import keras

    from topk_distill.models import reference_models

    examples, labels, kind = data.examples, data.labels, data.kind

    def fitted(rows):
        model = reference_models.reference_teacher(
            kind[0], examples[rows], len(data.names), kind[1])
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
        model.fit(_fit_input(examples[rows]), labels[rows],
                  batch_size=config.batch_size, epochs=config.epochs,
                  verbose=progress.fit_verbose(verbose))
        return model

    model = fitted(np.arange(len(examples)))
    measured = {}
    if held_out:
        same = len(held_out.fit) == len(examples)
        measured = dict(teacher=REFERENCE_TEACHERS[kind[0]],
                        teacher_top1=_top1(model if same else fitted(
                            held_out.fit), held_out))
    path = os.path.join(output, "teacher.keras")
    model.save(path)
    return [path], measured


# What report.json calls each kind's reference teacher.
REFERENCE_TEACHERS = {"text": "reference (TF-IDF + MLP)",
                      "image": "reference (convolutional network)",
                      "features": "reference (MLP)"}


def _encoder_teacher(data, config, output, verbose, held_out):
    """An encoder with a head, the head trained on its sentence embeddings
    (and with `config.fine_tune` the encoder too); returns `(the paths
    written, what report.json says of it)`."""
    from topk_distill.models import encoder_models, saved_model

    teacher = encoder_models.make_encoder_teacher(
        config.encoder, len(data.names), config.sequence_length,
        config.hidden_units)
    vectors = _vectors(teacher, data.examples, config.embeddings, verbose)
    settings = dict(epochs=config.epochs, seed=config.seed,
                    hidden_units=config.hidden_units,
                    verbose=progress.fit_verbose(verbose))
    tuning = config.tuning(verbose)
    everything = np.arange(len(data.examples))
    fit = held_out.fit if held_out else everything
    train_encoder_teacher(teacher, data.examples, data.labels, vectors, fit,
                          settings, tuning)
    measured = {}
    if held_out:
        measured = dict(teacher=config.describe(),
                        teacher_top1=_top1(teacher, held_out))
    if not tuning and len(fit) < len(data.examples):
        train_encoder_teacher(teacher, data.examples, data.labels, vectors,
                              everything, settings, None)
    written = [saved_model.export_saved_model(
        teacher, os.path.join(output, "saved_model"), data.names,
        label_space=data.space)]
    if tuning:  # the fine-tuned encoder, for student-init and students
        written.append(encoder_models.save_encoder(
            teacher, config.encoder, os.path.join(output, "encoder"),
            data.names))
    if config.cross_fit_folds:
        written.append(os.path.join(output, "cross_fit_logits.npy"))
        np.save(written[-1], _cross_fit_logits(data, config, vectors,
                                               settings, tuning))
    return written, measured


def _vectors(teacher, examples, embeddings, verbose):
    """The encoder's sentence embeddings of the texts: read from the
    `embeddings` .npy (checked), or computed."""
    import keras

    if not embeddings:
        embed = keras.Model(teacher.input, teacher.get_layer(
            "embedding").output)
        return predict_by_length(embed, examples, verbose=verbose)
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
    if vectors.shape[0] != len(examples):
        raise ValueError(f"--embeddings={embeddings}: {vectors.shape[0]} "
                         f"rows for {len(examples)} examples; expected one "
                         "row each")
    return vectors


def _cross_fit_logits(data, config, vectors, settings, tuning):
    """Every row's logits from a teacher that did not see it (with
    fine-tuning, one fine-tuning run per fold)."""
    from topk_distill.models import encoder_models
    from topk_distill.teachers import cross_fitting

    if not tuning:
        return cross_fitting.cross_fit_logits(
            vectors, data.labels, len(data.names),
            folds=config.cross_fit_folds, **settings)

    def make_teacher():
        return encoder_models.make_encoder_teacher(
            config.encoder, len(data.names), config.sequence_length,
            config.hidden_units)

    return cross_fit_fine_tuned(make_teacher, data.examples, data.labels,
                                vectors, config.cross_fit_folds, settings,
                                tuning)

