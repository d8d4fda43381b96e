"""Train a student from record sets: what `topk-distill train` does.

The student is the one `StudentConfig` names (`make_network`): for text, a
word-vector student (`text_models.make_student`) or the encoder student
(`encoder_students.make_encoder_student`); for images and feature vectors,
their kind's reference student (`reference_models.reference_student`).

records -> `make_distillation_dataset` -> `DistillationStudent.fit` (with
the stopping rules, checkpoints for restarts and, on a cluster, the
strategy `TF_CONFIG` asks for) -> `DIR/student.keras`, `DIR/labels.txt`,
`DIR/history.json` and the SavedModel `DIR/export`.
"""

import dataclasses
import os

from topk_distill.distillation import (distribute, multilabel_metrics,
                                       training_config)
from topk_distill.inputs import input_kinds, inputs, labels_file
from topk_distill.records import records
from topk_distill.utils import json_files, outputs
from topk_distill.distillation.loss_config import LossConfig


def train_student(output, labeled=None, unlabeled=None, labels_path=None,
                  validation=None, baseline=None, loss=None, student=None,
                  fit=None, data_service=None, logdir=None, data_dir=None,
                  backup_dir=None, settings=None, verbose="auto",
                  **keywords):
    """Trains a student (`make_network`) from records.

    Args:
        output: the output folder.
        labeled: the labeled record set (a `RecordSet`, prefix or glob), or
            `None`.
        unlabeled: the unlabeled record set, or `None`.
        labels_path: `labels.txt`; default: the class names the records'
            metadata holds.
        validation: a labeled input of the records' kind (`.tsv`/`.jsonl`,
            an image folder, `tfds:`); reports `val_top1` and `val_top5`
            each epoch, stops once `val_top1` has not improved for
            `fit.patience` epochs and keeps the best epoch's weights.
        baseline: `"hard"` trains on the labels alone (a=1, no teacher).
        loss: a `LossConfig` (default: its defaults).
        student: a `training_config.StudentConfig`: which text student
            (architecture, width, vocabulary, starting vectors...).
        fit: a `training_config.FitConfig`: batches, optimizer, stopping,
            seed.
        data_service: a tf.data service dispatcher's address.
        logdir: TensorBoard log folder.
        data_dir: TFDS data directory, for a `tfds:` validation input.
        backup_dir: checkpoints for restarts (default `OUTPUT/backup`).
        settings: a dict stored in `history.json` (e.g. the command's flags).
        verbose: Keras `fit` verbosity.
        **keywords: instead of `student` or `fit`, their fields
            (`epochs=3, hidden_units=8, ...`).

    Returns:
        The Keras `History`.

    Raises:
        ValueError: naming the setting or record set at fault.

    Example:

    ```python
    train_student("student", labeled="records/train-*",
                  unlabeled="records/unlabeled-*", epochs=10)
    ```
    """
    import keras

    from topk_distill.distillation import callbacks, mixer
    from topk_distill.distillation import student as distillation_student
    from topk_distill.models import encoder_models, saved_model
    from topk_distill.utils import progress

    student, fit = training_config.configs_of(student, fit, **keywords)
    fit = fit.for_student(student.architecture)
    if fit.plateau_seconds and distribute.cluster_config():
        # Each worker would time the window on its own clock and could stop
        # a step before the others, which then wait for it forever.
        raise ValueError("--plateau_seconds stops on each worker's own clock;"
                         " with TF_CONFIG (several workers) use --epochs or "
                         "--target_accuracy")
    for folder, flag in ((output, "--output"), (backup_dir, "--backup_dir")):
        if folder:
            outputs.check_writable(folder, flag)
    strategy = distribute.strategy_from_environment()
    worker = distribute.worker_name(strategy)
    if fit.target_accuracy is not None and not validation:
        raise ValueError("--target_accuracy needs --validation")
    keras.utils.set_random_seed(fit.seed)
    if student.architecture == "encoder":
        encoder_models.check_encoder_folder(student.encoder)
    if baseline == "hard":
        unlabeled, loss = None, LossConfig(alpha=1.0, beta=0.0, strict=False)
    loss = loss or LossConfig()
    sets = [records.resolve(p) if p else None
            for p in (labeled, unlabeled)]
    for record_set, flag, expected in zip(sets, ("--labeled", "--unlabeled"),
                                          records.KINDS):
        if record_set is not None and record_set.kind != expected:
            raise ValueError(
                f"{flag}: {record_set.name} holds {record_set.kind} "
                f"records; expected {expected} ones (preprocess "
                f"{'without' if expected == 'labeled' else 'with'} "
                "--unlabeled writes them)")
    chosen = [s for s in sets if s is not None]
    if not chosen:
        raise ValueError("--labeled or --unlabeled is required "
                         "(--baseline=hard needs --labeled)")
    names = class_names(chosen, labels_path)
    input_kind, feature_dim = input_kind_of(chosen)
    multi_label = chosen[0].multi_label
    for record_set in chosen[1:]:
        records.check_label_kind(record_set, multi_label,
                                 f"the labeled set {chosen[0].name}")
    for asked, flag in ((student.init_class_vectors, "--init_class_vectors"),
                        (student.architecture == "encoder",
                         "--student=encoder")):
        if asked and input_kind != "text":
            raise ValueError(f"{flag} is for text students; these records "
                             f"hold {input_kind} inputs")
    student = dataclasses.replace(
        student, sampled_classes=training_config.sampled_classes_for(
            student, len(names), input_kind))
    sampled = student.sampled_classes or None  # 0: the full softmax
    for record_set in chosen:
        distribute.check_shards_per_worker(record_set, strategy)
    train = mixer.make_distillation_dataset(
        *sets, batch_size=fit.batch_size,
        unlabeled_per_labeled=fit.unlabeled_per_labeled, seed=fit.seed,
        num_classes=len(names), data_service=data_service, loss=loss,
        min_confidence=fit.min_confidence)
    with strategy.scope():
        network = make_network(student, chosen, names, input_kind,
                               feature_dim, sampled)
        model = distillation_student.DistillationStudent(
            network, len(names), loss_config=loss, sampled_classes=sampled,
            proposal=_proposal(student, sets, len(names)),
            multi_label=multi_label)
        model.compile(optimizer=_optimizer(model, student, fit, train))
    nan_stop = callbacks.NonFiniteLossStopping()
    # what a checkpoint's weights fit: a rerun with others is refused
    model_settings = dict(num_classes=len(names), input_kind=input_kind,
                          feature_dim=feature_dim,
                          **dataclasses.asdict(student))
    del model_settings["sampled_proposal"]  # the draws, not the weights
    validation_data = _validation(validation, names, fit.batch_size,
                                  input_kind, feature_dim, data_dir,
                                  multi_label)
    chosen_callbacks = _callbacks(output, backup_dir, worker, fit, logdir,
                                  model_settings, validation_data is not None)
    history = model.fit(
        train, epochs=fit.epochs_for(validation_data is not None),
        callbacks=chosen_callbacks + [nan_stop],
        validation_data=validation_data,
        shuffle=False, verbose=2 if worker else progress.fit_verbose(verbose))
    if nan_stop.message:
        raise ValueError(nan_stop.message)
    if worker:
        return history
    os.makedirs(output, exist_ok=True)
    model.student.save(os.path.join(output, "student.keras"))
    labels_file.write_labels(os.path.join(output, "labels.txt"), names)
    threshold = (_threshold(model.student, validation_data, input_kind,
                            len(names)) if multi_label else None)
    if multi_label:  # beside student.keras: `export` reads it back
        saved_model.write_multi_label(os.path.join(
            output, saved_model.MULTI_LABEL_NAME), threshold)
    saved_model.export_saved_model(
        model.student, os.path.join(output, "export"), names,
        multi_label=multi_label, threshold=threshold)
    json_files.write_json(
        os.path.join(output, "history.json"),
        {"flags": settings or {}, "history": history.history,
         **({"kept_epoch": kept_epoch(history)} if validation_data else {}),
         **({"threshold": threshold} if multi_label else {})})
    return history


def make_network(student, record_sets, names, input_kind="text",
                 feature_dim=None, sampled=None):
    """The student network a `StudentConfig` names, for these records.

    Text records: `text_models.make_student` (its vocabulary from the
    records' texts, or the `student-init` file's vectors; class vectors
    from the names when asked), or the encoder student
    (`encoder_students.make_encoder_student`); image and feature records:
    their kind's reference student.

    Args:
        student: a `training_config.StudentConfig`.
        record_sets: the `RecordSet`s it trains on (their texts fit a
            learnt vocabulary).
        names: the N class names.
        input_kind, feature_dim: the records' inputs.
        sampled: the sampled softmax's negatives, or `None` (full).

    Returns:
        An uncompiled `keras.Model`: inputs [B] (or [B, D]) to logits
        [B, N].
    """
    from topk_distill.models import (encoder_students, reference_models,
                                     student_init, text_models)
    from topk_distill.records import reader

    if input_kind != "text":
        return reference_models.reference_student(input_kind, None,
                                                  len(names), feature_dim)
    if student.architecture == "encoder":
        return encoder_students.make_encoder_student(
            student.encoder, len(names), layers=student.student_layers,
            choice=student.layer_choice, labels=names,
            teacher_head=student.teacher_head)
    embeddings = (student_init.load(student.init_embeddings)
                  if student.init_embeddings else None)
    network = text_models.make_student(
        None if embeddings else reader.texts(record_sets), len(names),
        max_tokens=student.max_tokens, embedding_dim=student.embedding_dim,
        architecture=student.architecture, embeddings=embeddings,
        train_embeddings=not student.freeze_embeddings,
        normalize=student.normalize, hidden_units=student.hidden_units,
        class_vectors=sampled is not None)
    if student.init_class_vectors:
        text_models.start_class_vectors(
            network, [labels_file.label_words(n) for n in names])
    return network


def _optimizer(model, student, fit, train):
    """Adam (lazy for a sampled step) at the fit's rate; the encoder
    student's AdamW with warmup and decay over the fit's epochs."""
    if student.architecture != "encoder":
        return model.default_optimizer(fit.learning_rate)
    from topk_distill.models import encoder_students

    steps = int(train.cardinality())
    if steps <= 0:  # a filtered or served dataset: its count is not known
        raise ValueError("--student=encoder decays its rate over a known "
                         "number of steps; it cannot train with "
                         "--data_service or from unlabeled records alone "
                         "with --min_confidence")
    return encoder_students.fine_tuning_optimizer(fit.learning_rate,
                                                  steps * fit.epochs)


def kept_epoch(history):
    """The epoch (1-based) whose weights a validated run keeps: the best
    validation P@1 (the latest, on ties), as `BestEpochStopping` restores
    it.

    Example:
    >>> import types
    >>> kept_epoch(types.SimpleNamespace(history={
    ...     "val_top1": [0.2, 0.5, 0.5, 0.4]}))
    3
    """
    values = history.history["val_top1"]
    return 1 + max(range(len(values)), key=lambda i: (values[i], i))


def _proposal(student, sets, num_classes):
    """The sampled step's `Proposal` by label frequency, when asked for:
    the labeled set's labels, else the unlabeled set's pseudo labels."""
    if not student.sampled_classes or student.sampled_proposal != "labels":
        return None
    from topk_distill.distillation import sampled_softmax
    from topk_distill.records import reader

    labeled, unlabeled = sets
    return sampled_softmax.Proposal(reader.label_counts(
        labeled or unlabeled, num_classes))


def class_names(record_sets, labels_path=None):
    """The class names the record sets were written with.

    Args:
        record_sets: `RecordSet`s.
        labels_path: a `labels.txt` to use instead of the names stored in
            the metadata; it must be the file the records were made with.

    Returns:
        The N class names, in id order.

    Raises:
        ValueError: the sets disagree with `labels_path` or each other, or
            (sets written before names were stored) no `labels_path`.
    """
    if labels_path:
        names = labels_file.read_labels(labels_path)
        digest = labels_file.labels_sha256(labels_path)
        for record_set in record_sets:
            if record_set.labels_sha256 not in (None, digest):
                raise ValueError(
                    f"{record_set.name}: records were made with another "
                    f"labels file than --labels={labels_path}")
        return names
    stored = [r.labels for r in record_sets]
    if any(names is None for names in stored):
        old = next(r for r in record_sets if r.labels is None)
        raise ValueError(f"{old.name}: its metadata does not name the "
                         "classes (written by an older version); pass "
                         "--labels=the labels.txt it was made with")
    if any(names != stored[0] for names in stored):
        raise ValueError("the labeled and unlabeled records were made with "
                         "different labels files")
    return list(stored[0])


def input_kind_of(record_sets):
    """The input kind and feature length the record sets share.

    Raises:
        ValueError: the sets hold inputs of different kinds.
    """
    kinds = {(r.input_kind, r.feature_dim) for r in record_sets}
    if len(kinds) > 1:
        raise ValueError(f"{record_sets[-1].name}: its records hold "
                         f"{record_sets[-1].input_kind} inputs, but "
                         f"{record_sets[0].name}'s hold "
                         f"{record_sets[0].input_kind}; expected one kind")
    return kinds.pop()


def _validation(path, names, batch_size, input_kind="text",
                feature_dim=None, data_dir=None, multi_label=False):
    if not path:
        return None
    import tensorflow as tf

    inputs.check_kind(path, input_kind, feature_dim, "the records", data_dir,
                      flag="--validation")
    examples, labels = labels_file.read_labeled(path, names, data_dir,
                                                multi_label)
    columns = {input_kind: input_kinds.as_batch(examples, input_kind)}
    if multi_label:
        columns["labels"] = tf.constant(labels_file.padded(labels))
        columns["label"] = columns["labels"][:, 0]
    else:
        columns["label"] = tf.constant(labels, tf.int64)
    return tf.data.Dataset.from_tensor_slices(columns).batch(batch_size)


def _threshold(student, validation_data, input_kind, num_classes):
    """A multi-label student's threshold: the one of best micro-F1 on the
    validation data (its top `multilabel_metrics.ANSWERS` answers), else
    0.5."""
    if validation_data is None:
        return 0.5
    import numpy as np
    import tensorflow as tf

    answers, probabilities, labels = [], [], []
    for batch in validation_data:
        found = tf.math.top_k(tf.sigmoid(student(batch[input_kind])),
                              min(multilabel_metrics.ANSWERS, num_classes))
        answers.append(found.indices.numpy())
        probabilities.append(found.values.numpy())
        labels.append(batch["labels"].numpy())
    return multilabel_metrics.best_threshold(
        np.concatenate(answers), np.concatenate(probabilities),
        np.concatenate(labels), num_classes)[0]


def _callbacks(output, backup_dir, worker, fit, logdir, model_settings,
               validated):
    import keras

    from topk_distill.distillation import backup, callbacks

    # Saves weights, optimizer and epoch after every epoch; a killed run
    # started again with the same command continues from there. Each worker
    # of a cluster keeps its own copy (they hold the same weights).
    folder = backup_dir or os.path.join(output, "backup")
    if worker:
        folder += f"-{worker}"
    chosen = [backup.TrainingBackup(folder, model_settings)]
    if fit.plateau_seconds:
        chosen.append(callbacks.LossPlateauStopping(fit.plateau_seconds,
                                                    fit.plateau_delta))
    if validated:
        # Stop once validation P@1 stops improving; keep its best epoch.
        chosen.append(callbacks.BestEpochStopping("val_top1",
                                                  fit.patience))
    if fit.target_accuracy is not None:
        chosen.append(callbacks.TargetMetricStopping("val_top1",
                                                     fit.target_accuracy))
    if logdir and not worker:
        chosen.append(keras.callbacks.TensorBoard(logdir))
    return chosen
