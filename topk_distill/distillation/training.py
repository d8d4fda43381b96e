"""Train a student from record sets: what `topk-distill train` does.

The student is the one `StudentConfig` names (`networks.make_network`):
for text, a word-vector student (`text_models.make_student`) or the
encoder student (`encoder_students.make_encoder_student`); for images and
feature vectors, their kind's reference student
(`reference_models.reference_student`).

In steps: resolve (settings and records checked before any work) -> build
(`make_distillation_dataset`, the network, `DistillationStudent`) -> fit
(the stopping rules, checkpoints for restarts and, on a cluster, the
strategy `TF_CONFIG` asks for) -> write (`DIR/student.keras`,
`DIR/labels.txt`, `DIR/history.json` and the SavedModel `DIR/export`).
The output folder is held for the run: a second run into it is refused.
"""

import contextlib
import dataclasses
import os

from topk_distill.distillation import distribute, networks, training_config
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs import input_kinds, inputs, labels_file
from topk_distill.records import records
from topk_distill.utils import json_files, metrics, outputs


def train_student(output, labeled=None, unlabeled=None, labels_path=None,
                  validation=None, baseline=None, loss=None, student=None,
                  fit=None, data_service=None, logdir=None, data_dir=None,
                  backup_dir=None, settings=None, verbose="auto",
                  **keywords):
    """Trains a student (`networks.make_network`) from records.

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

    Examples:

        ```python
        train_student("student", labeled="records/train-*",
                      unlabeled="records/unlabeled-*", epochs=10)
        ```
    """
    student, fit = training_config.configs_of(student, fit, **keywords)
    run = _resolve(output, labeled, unlabeled, labels_path, validation,
                   baseline, loss, student, fit.for_student(
                       student.architecture), backup_dir)
    with (outputs.locked(output, "--output") if not run.worker
          else contextlib.nullcontext()):
        model, train = _build(run, data_service)
        validation_data = _validation(validation, run.names,
                                      run.fit.batch_size, run.input_kind,
                                      run.feature_dim, data_dir,
                                      run.label_space)
        history = _fit(model, train, validation_data, run, output,
                       backup_dir, logdir, verbose)
        if not run.worker:
            _write(output, model, history, validation_data, run, settings)
    return history


@dataclasses.dataclass(frozen=True)
class _Run:
    """What one `train_student` run trains on and how, once resolved."""

    sets: tuple  # (labeled, unlabeled) `RecordSet`s or None
    names: list
    input_kind: str
    feature_dim: int
    label_space: object  # a `LabelSpace`
    student: training_config.StudentConfig
    fit: training_config.FitConfig
    loss: LossConfig
    strategy: object
    worker: str

    @property
    def chosen(self):
        return [s for s in self.sets if s is not None]

    def settings(self):
        """What a checkpoint belongs to (`TrainingBackup`): the model,
        the records (each set's prefix, size and labels) and what shapes
        the steps (loss, rate, batches, seed); a rerun with other ones is
        refused. Stopping rules may change between runs."""
        student = dataclasses.asdict(self.student)
        del student["sampled_proposal"]  # the draws, not the weights
        fit = {k: getattr(self.fit, k) for k in (
            "learning_rate", "batch_size", "unlabeled_per_labeled",
            "min_confidence", "seed")}
        return dict(
            num_classes=len(self.names), input_kind=self.input_kind,
            feature_dim=self.feature_dim, **student,
            records=[None if s is None else [
                os.path.abspath(s.prefix) if s.prefix else s.name,
                s.num_examples, s.labels_sha256] for s in self.sets],
            loss=dataclasses.asdict(self.loss), fit=fit)


def _resolve(output, labeled, unlabeled, labels_path, validation, baseline,
             loss, student, fit, backup_dir):
    """Checks a run's settings and records before any work; returns its
    `_Run`."""
    from topk_distill.models import encoder_models

    if fit.plateau_seconds and distribute.cluster_config():
        # Each worker would time the window on its own clock and could stop
        # a step before the others, which then wait for it forever.
        raise ValueError("--plateau_seconds stops on each worker's own clock;"
                         " with TF_CONFIG (several workers) use --epochs or "
                         "--target_accuracy")
    for folder, flag in ((output, "--output"), (backup_dir, "--backup_dir")):
        if folder:
            outputs.check_writable(folder, flag)
    if fit.target_accuracy is not None and not validation:
        raise ValueError("--target_accuracy needs --validation")
    if student.architecture == "encoder":
        encoder_models.check_encoder_folder(student.encoder)
    if baseline == "hard":
        unlabeled, loss = None, LossConfig(alpha=1.0, beta=0.0, strict=False)
    sets = tuple(records.resolve(p) if p else None
                 for p in (labeled, unlabeled))
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
    for record_set in chosen[1:]:
        records.check_label_kind(record_set, chosen[0].label_space,
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
    if student.sampled_proposal != "uniform" and not student.sampled_classes:
        raise ValueError(f"--sampled_proposal={student.sampled_proposal} "
                         "draws a sampled softmax's classes, but this run "
                         f"trains on all N={len(names)} (--sampled_classes="
                         "0, or fewer than 20,000 classes); add "
                         "--sampled_classes=K or drop it")
    strategy = distribute.strategy_from_environment()
    for record_set in chosen:
        distribute.check_shards_per_worker(record_set, strategy)
    return _Run(sets, names, input_kind, feature_dim,
                chosen[0].label_space.with_classes(len(names)),
                student, fit, loss or LossConfig(), strategy,
                distribute.worker_name(strategy))


def _build(run, data_service):
    """The training batches and the compiled `DistillationStudent`."""
    import keras

    from topk_distill.distillation import mixer
    from topk_distill.distillation import student as distillation_student

    keras.utils.set_random_seed(run.fit.seed)
    fit, sampled = run.fit, run.student.sampled_classes or None
    train = mixer.make_distillation_dataset(
        *run.sets, batch_size=fit.batch_size,
        unlabeled_per_labeled=fit.unlabeled_per_labeled, seed=fit.seed,
        num_classes=len(run.names), data_service=data_service,
        loss=run.loss, min_confidence=fit.min_confidence)
    with run.strategy.scope():
        network = networks.make_network(run.student, run.chosen, run.names,
                                        run.input_kind, run.feature_dim,
                                        sampled)
        model = distillation_student.DistillationStudent(
            network, run.label_space, loss=run.loss,
            sampled_classes=sampled,
            proposal=networks.proposal(run.student, run.sets,
                                       len(run.names)))
        model.compile(optimizer=networks.optimizer(model, run.student, fit,
                                                   train))
    return model, train


def _fit(model, train, validation_data, run, output, backup_dir, logdir,
         verbose):
    """`model.fit` with the run's stopping rules and checkpoints."""
    from topk_distill.distillation import callbacks
    from topk_distill.utils import progress

    nan_stop = callbacks.NonFiniteLossStopping()
    chosen = _callbacks(output, backup_dir, run.worker, run.fit, logdir,
                        run.settings(), validation_data is not None)
    history = model.fit(
        train, epochs=run.fit.epochs_for(validation_data is not None),
        callbacks=chosen + [nan_stop], validation_data=validation_data,
        shuffle=False,
        verbose=2 if run.worker else progress.fit_verbose(verbose))
    if nan_stop.message:
        raise ValueError(nan_stop.message)
    return history


def _write(output, model, history, validation_data, run, settings):
    """`OUTPUT/student.keras` (and `multi_label.json` beside it),
    `labels.txt`, the SavedModel `export` and `history.json`."""
    from topk_distill.models import saved_model

    model.student.save(os.path.join(output, "student.keras"))
    labels_file.write_labels(os.path.join(output, "labels.txt"), run.names)
    space = run.label_space.fitted(lambda: _threshold(
        model.student, validation_data, run.input_kind,
        run.label_space.num_classes))
    space.write_settings(os.path.join(output, saved_model.MULTI_LABEL_NAME))
    saved_model.export_saved_model(
        model.student, os.path.join(output, "export"), run.names,
        label_space=space)
    json_files.write_json(
        os.path.join(output, "history.json"),
        {"flags": settings or {}, "history": history.history,
         **({"kept_epoch": kept_epoch(history)} if validation_data else {}),
         **({"threshold": space.threshold} if space.threshold else {})})


def kept_epoch(history):
    """The epoch (1-based) whose weights a validated run keeps: the best
    validation P@1 (the latest, on ties), as `BestEpochStopping` restores
    it.

    Examples:
        >>> import types
        >>> kept_epoch(types.SimpleNamespace(history={
        ...     "val_top1": [0.2, 0.5, 0.5, 0.4]}))
        3
    """
    values = history.history["val_top1"]
    return 1 + max(range(len(values)), key=lambda i: (values[i], i))


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
    for record_set, names in zip(record_sets[1:], stored[1:]):
        if names != stored[0]:
            first = record_sets[0]
            raise ValueError(
                f"{record_set.name} ({record_set.kind}, N={len(names)}) and "
                f"{first.name} ({first.kind}, N={len(stored[0])}) were made "
                "with different labels files; expected one class list")
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


def _validation(path, names, batch_size, input_kind, feature_dim, data_dir,
                label_space):
    if not path:
        return None
    import tensorflow as tf

    inputs.check_kind(path, input_kind, feature_dim, "the records", data_dir,
                      flag="--validation")
    examples, labels = labels_file.read_labeled(path, names, data_dir,
                                                label_space)
    columns = dict(label_space.label_columns(labels))
    columns[input_kind] = input_kinds.as_batch(examples, input_kind)
    return tf.data.Dataset.from_tensor_slices(columns).batch(batch_size)


def _threshold(student, validation_data, input_kind, num_classes):
    """A multi-label student's threshold: the one of best micro-F1 on the
    validation data (its top `metrics.ANSWERS` answers), else
    0.5."""
    if validation_data is None:
        return 0.5
    import numpy as np
    import tensorflow as tf

    answers, probabilities, labels = [], [], []
    for batch in validation_data:
        found = tf.math.top_k(tf.sigmoid(student(batch[input_kind])),
                              min(metrics.ANSWERS, num_classes))
        answers.append(found.indices.numpy())
        probabilities.append(found.values.numpy())
        labels.append(batch["labels"].numpy())
    return metrics.best_threshold(
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
