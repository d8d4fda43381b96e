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
from topk_distill.utils import configs, json_files, metrics, outputs


def train_student(output, data=None, loss=None, student=None, fit=None,
                  baseline=None, settings=None, verbose="auto", **keywords):
    """Trains a student (`networks.make_network`) from records.

    Args:
        output: the output folder.
        data: a `training_config.TrainingData`: the labeled and unlabeled
            record sets, the labels file and the validation input.
        loss: a `LossConfig` (default: its defaults).
        student: a `training_config.StudentConfig`: which student
            (architecture, width, vocabulary, starting vectors...).
        fit: a `training_config.FitConfig`: batches, optimizer, stopping,
            seed, and where `fit` logs, keeps checkpoints and reads batches
            from (a tf.data service).
        baseline: `"hard"` trains on the labels alone (a=1, no teacher).
        settings: a dict stored in `history.json` (e.g. the command's flags).
        verbose: Keras `fit` verbosity.
        **keywords: instead of `data`, `student` or `fit`, their fields
            (`labeled="records/train-*", epochs=3, hidden_units=8, ...`).

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
    data = configs.config_from(training_config.TrainingData, data, keywords)
    student, fit = training_config.configs_of(student, fit, **keywords)
    run = _resolve(output, data, baseline, loss, student,
                   fit.for_student(student.architecture))
    with (outputs.locked(output, "--output") if not run.worker
          else contextlib.nullcontext()):
        model, train = _build(run)
        validation_data = _validation(data, run)
        history = _fit(model, train, validation_data, run, output, verbose)
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


def _resolve(output, data, baseline, loss, student, fit):
    """Checks a run's settings and records before any work; returns its
    `_Run`."""
    from topk_distill.models import encoder_models

    if fit.plateau_seconds and distribute.cluster_config():
        # Each worker would time the window on its own clock and could stop
        # a step before the others, which then wait for it forever.
        raise ValueError("--plateau_seconds stops on each worker's own clock;"
                         " with TF_CONFIG (several workers) use --epochs or "
                         "--target_accuracy")
    for folder, flag in ((output, "--output"),
                         (fit.backup_dir, "--backup_dir")):
        if folder:
            outputs.check_writable(folder, flag)
    if fit.target_accuracy is not None and not data.validation:
        raise ValueError("--target_accuracy needs --validation")
    if student.architecture == "encoder":
        encoder_models.check_encoder_folder(student.encoder)
    if baseline == "hard":
        loss = LossConfig(alpha=1.0, beta=0.0, strict=False)
    sets = _record_sets(data, baseline)
    chosen = [s for s in sets if s is not None]
    names = class_names(chosen, data.labels_path)
    input_kind, feature_dim = input_kind_of(chosen)
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


def _record_sets(data, baseline):
    """`(labeled, unlabeled)` record sets (`None` where not given; no
    unlabeled one for `baseline="hard"`), each of its kind and both of one
    label kind."""
    sets = tuple(records.resolve(p) if p else None for p in (
        data.labeled, None if baseline == "hard" else data.unlabeled))
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
    for record_set in chosen[1:]:
        records.check_label_kind(record_set, chosen[0].label_space,
                                 f"the labeled set {chosen[0].name}")
    return sets


def _build(run):
    """The training batches and the compiled `DistillationStudent`."""
    import keras

    from topk_distill.distillation import mixer
    from topk_distill.distillation import student as distillation_student

    keras.utils.set_random_seed(run.fit.seed)
    fit, sampled = run.fit, run.student.sampled_classes or None
    train = mixer.make_distillation_dataset(
        *run.sets, fit=fit, loss=run.loss, num_classes=len(run.names))
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


def _fit(model, train, validation_data, run, output, verbose):
    """`model.fit` with the run's stopping rules and checkpoints."""
    from topk_distill.distillation import callbacks
    from topk_distill.utils import progress

    nan_stop = callbacks.NonFiniteLossStopping()
    chosen = _callbacks(output, run.worker, run.fit, run.settings(),
                        validation_data is not None)
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


def _validation(data, run):
    """The validation input's batches, or `None` without one."""
    if not data.validation:
        return None
    import tensorflow as tf

    inputs.check_kind(data.validation, run.input_kind, run.feature_dim,
                      "the records", data.data_dir, flag="--validation")
    examples, labels = labels_file.read_labeled(
        data.validation, run.names, data.data_dir, run.label_space)
    columns = dict(run.label_space.label_columns(labels))
    columns[run.input_kind] = input_kinds.as_batch(examples, run.input_kind)
    return tf.data.Dataset.from_tensor_slices(columns).batch(
        run.fit.batch_size)


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


def _callbacks(output, worker, fit, model_settings, validated):
    import keras

    from topk_distill.distillation import backup, callbacks

    # Saves weights, optimizer and epoch after every epoch; a killed run
    # started again with the same command continues from there. Each worker
    # of a cluster keeps its own copy (they hold the same weights).
    folder = fit.backup_dir or os.path.join(output, "backup")
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
    if fit.logdir and not worker:
        chosen.append(keras.callbacks.TensorBoard(fit.logdir))
    return chosen
