r"""Train the reference student from top-K records (or on hard labels only).

Reads the labeled top-K records (--labeled) and, optionally, the unlabeled
top-H records (--unlabeled), and minimises
  alpha*CE(true, s) + (1-alpha)*softCE_T(teacher top-K, s) + beta*CE(pseudo, s)
with the reference student (topk_distill.models.make_student: word embeddings
averaged, then a linear layer; text preprocessing inside the model).
--baseline=hard trains the same student on the labels alone.
Stops after --epochs, or earlier when the training loss varied by less than
--plateau_delta over --plateau_seconds, or when validation top-1 accuracy
reaches --target_accuracy.
Output: DIR/student.keras, DIR/labels.txt, DIR/history.json and DIR/export
(the SavedModel of `topk-distill export --top_n=5`). A killed run
started again with the same command continues from its last complete epoch
(checkpoints in --backup_dir). A NaN loss stops training with its likely
causes.
Several machines: set TF_CONFIG on each and run the same command on all of
them; training then uses tf.distribute.MultiWorkerMirroredStrategy, each
worker reads its share of the shards, and the chief (worker 0) writes the
output (see README, "Scale").

Example:
  topk-distill train --labeled='records/train-*' \
    --unlabeled='records/unlabeled-*' --labels=teacher/labels.txt \
    --validation=valid.tsv --output=student --epochs=10
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("labeled", None, "Glob of the labeled top-K records.",
                    flag_values=FLAGS)
flags.DEFINE_string("unlabeled", None, "Glob of the unlabeled top-H records.",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "labels.txt the records were made with.",
                    flag_values=FLAGS)
flags.DEFINE_string("validation", None, "Labeled validation file (.tsv or "
                    ".jsonl); reports val_top1/val_top5 each epoch.",
                    flag_values=FLAGS)
flags.DEFINE_string("output", None, "Output folder.", flag_values=FLAGS)
flags.DEFINE_float("alpha", 0.9, "a: hard-label weight, 0.5 < a < 1.",
                   flag_values=FLAGS)
flags.DEFINE_float("beta", 0.5, "b: pseudo-label weight, 0 <= b <= a.",
                   flag_values=FLAGS)
flags.DEFINE_float("temperature", 2.0, "T for the soft term.",
                   lower_bound=1e-6, flag_values=FLAGS)
flags.DEFINE_enum("soft_scaling", "inverse_t", ["inverse_t", "t2"],
                  "Soft-term factor: 1/T (the source document; measured "
                  "better on WordNet) or T^2 (Hinton).",
                  flag_values=FLAGS)
flags.DEFINE_enum("tail", "renormalize", ["renormalize", "bucket"],
                  "Teacher mass outside its top-K: renormalised away, or kept "
                  "as one 'rest' target (records need --tail_temperature).",
                  flag_values=FLAGS)
flags.DEFINE_float("unlabeled_per_labeled", 1.0, "Unlabeled examples per "
                   "labeled one in each batch.", lower_bound=0,
                   flag_values=FLAGS)
flags.DEFINE_enum("baseline", "none", ["none", "hard"], "hard: train on the "
                  "labels only (alpha=1, no teacher terms).", flag_values=FLAGS)
flags.DEFINE_integer("epochs", 10, "Maximum epochs.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 128, "Batch size.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.",
                   lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("embedding_dim", 64, "Student embedding width.",
                     lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("max_tokens", 20000, "Student vocabulary size.",
                     lower_bound=2, flag_values=FLAGS)
flags.DEFINE_float("plateau_seconds", None, "Stop when the training loss "
                   "varied by less than --plateau_delta over this many "
                   "seconds.", flag_values=FLAGS)
flags.DEFINE_float("plateau_delta", 1e-3, "Threshold for --plateau_seconds.",
                   flag_values=FLAGS)
flags.DEFINE_float("target_accuracy", None, "Stop once validation top-1 "
                   "accuracy reaches this (needs --validation).",
                   flag_values=FLAGS)
flags.DEFINE_string("data_service", None, "Address of a tf.data service "
                    "dispatcher (grpc://HOST:PORT) whose workers read and "
                    "batch the records.", flag_values=FLAGS)
flags.DEFINE_string("logdir", None, "TensorBoard log folder.",
                    flag_values=FLAGS)
flags.DEFINE_string("backup_dir", None, "Checkpoint folder for resuming an "
                    "interrupted run (default: OUTPUT/backup; removed when "
                    "training ends).", flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Random seed.", flag_values=FLAGS)
flags.mark_flag_as_required("labels", flag_values=FLAGS)
flags.mark_flag_as_required("output", flag_values=FLAGS)


@flags.multi_flags_validator(["labeled", "unlabeled", "baseline"],
                             message="--labeled or --unlabeled is required "
                             "(--baseline=hard needs --labeled)",
                             flag_values=FLAGS)
def _check_sets(values):
    if values["baseline"] == "hard":
        return values["labeled"] is not None
    return values["labeled"] is not None or values["unlabeled"] is not None


@flags.multi_flags_validator(["target_accuracy", "validation"],
                             message="--target_accuracy needs --validation",
                             flag_values=FLAGS)
def _check_target(values):
    return values["target_accuracy"] is None or values["validation"]


def main(argv):
    import json
    import os
    import shutil

    import keras

    from topk_distill import (callbacks, export, inputs, models, records,
                              student)

    del argv
    strategy = _strategy()
    worker = _worker_name(strategy)
    keras.utils.set_random_seed(FLAGS.seed)
    names = inputs.read_labels(FLAGS.labels)
    sets = [p for p in (FLAGS.labeled, FLAGS.unlabeled) if p]
    if FLAGS.baseline == "hard":
        sets = [FLAGS.labeled]
    for pattern in sets:
        metadata = records.read_metadata(pattern)
        _check_labels(pattern, metadata, FLAGS.labels)
        _check_shards(pattern, metadata, strategy)
    train = records.make_distillation_dataset(
        FLAGS.labeled, None if FLAGS.baseline == "hard" else FLAGS.unlabeled,
        batch_size=FLAGS.batch_size,
        unlabeled_per_labeled=FLAGS.unlabeled_per_labeled, seed=FLAGS.seed,
        num_classes=len(names), data_service=FLAGS.data_service)
    texts = _texts(records, sets)
    with strategy.scope():
        model = student.DistillationStudent(
            models.make_student(texts, len(names), max_tokens=FLAGS.max_tokens,
                                embedding_dim=FLAGS.embedding_dim),
            len(names), **_loss_settings())
        model.compile(optimizer=keras.optimizers.Adam(FLAGS.learning_rate))
    nan_stop = callbacks.NonFiniteLossStopping()
    history = model.fit(
        train, epochs=FLAGS.epochs,
        callbacks=_callbacks(callbacks, keras, worker) + [nan_stop],
        validation_data=_validation(inputs, names), shuffle=False,
        verbose=2 if os.environ.get("CI") or worker else "auto")
    if nan_stop.message:
        raise ValueError(nan_stop.message)
    if worker:
        return
    os.makedirs(FLAGS.output, exist_ok=True)
    model.student.save(os.path.join(FLAGS.output, "student.keras"))
    shutil.copyfile(FLAGS.labels, os.path.join(FLAGS.output, "labels.txt"))
    export.export_saved_model(model.student,
                              os.path.join(FLAGS.output, "export"), names)
    with open(os.path.join(FLAGS.output, "history.json"), "w") as f:
        json.dump({"flags": {k: v.value for k, v in FLAGS._flags().items()
                             if v.present}, "history": history.history}, f,
                  indent=1)
    print(f"saved {FLAGS.output}/student.keras and the SavedModel "
          f"{FLAGS.output}/export (top-5 answers; `topk-distill export` for "
          "other settings)")


def _strategy():
    """MultiWorkerMirroredStrategy when TF_CONFIG names a cluster, else the
    default strategy. Made before any other TensorFlow op runs, as
    MultiWorkerMirroredStrategy requires."""
    import json
    import os

    import tensorflow as tf

    config = os.environ.get("TF_CONFIG")
    if not config:
        return tf.distribute.get_strategy()
    try:
        json.loads(config)["cluster"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"TF_CONFIG={config!r}: expected JSON with "
                         "\"cluster\" and \"task\" (see README, "
                         "\"Scale\")") from e
    if FLAGS.plateau_seconds:
        # Each worker would time the window on its own clock and could stop
        # a step before the others, which then wait for it forever.
        raise ValueError("--plateau_seconds stops on each worker's own clock;"
                         " with TF_CONFIG (several workers) use --epochs or "
                         "--target_accuracy")
    return tf.distribute.MultiWorkerMirroredStrategy()


def _worker_name(strategy):
    """None on one machine or on the cluster's chief (worker 0 when the
    cluster has no "chief" task); else the task, e.g. "worker-1"."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    kind, index = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    if kind == "chief" or (kind == "worker" and index == 0 and not has_chief):
        return None
    return f"{kind}-{index}"


def _loss_settings():
    if FLAGS.baseline == "hard":
        return dict(alpha=1.0, beta=0.0, strict=False)
    return dict(alpha=FLAGS.alpha, beta=FLAGS.beta,
                temperature=FLAGS.temperature,
                soft_scaling=FLAGS.soft_scaling, tail=FLAGS.tail)


def _check_labels(pattern, metadata, labels_path):
    from topk_distill import inputs

    if metadata.get("labels_sha256") not in (None, inputs.labels_sha256(
            labels_path)):
        raise ValueError(f"{pattern}: records were made with another labels "
                         f"file than --labels={labels_path}")


def _check_shards(pattern, metadata, strategy):
    """Workers of a cluster read whole shards: each needs one at least."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return
    spec = resolver.cluster_spec()
    workers = sum(spec.num_tasks(kind) for kind in ("chief", "worker")
                  if kind in spec.as_dict())
    if len(metadata["shards"]) < workers:
        raise ValueError(f"{pattern}: {len(metadata['shards'])} shard(s) for "
                         f"{workers} workers; each worker reads whole shards, "
                         "so write at least as many shards as workers "
                         "(`topk-distill preprocess --num_shards`)")


def _texts(records, patterns):
    """All record texts, to fit the student's vocabulary (the shards were
    verified when the training dataset was made)."""
    datasets = [records.make_dataset(p, 1024, verify=False).map(
        lambda b: b["text"]) for p in patterns]
    texts = datasets[0]
    for more in datasets[1:]:
        texts = texts.concatenate(more)
    return texts


def _validation(inputs, names):
    if not FLAGS.validation:
        return None
    import tensorflow as tf

    texts, labels = inputs.read_labeled(FLAGS.validation, names)
    return tf.data.Dataset.from_tensor_slices({
        "text": tf.constant(texts), "label": tf.constant(labels, tf.int64)
    }).batch(FLAGS.batch_size)


def _callbacks(callbacks, keras, worker):
    import os

    # Saves weights, optimizer and epoch after every epoch; a killed run
    # started again with the same command continues from there. Each worker
    # of a cluster keeps its own copy (they hold the same weights).
    backup = FLAGS.backup_dir or os.path.join(FLAGS.output, "backup")
    if worker:
        backup += f"-{worker}"
    chosen = [keras.callbacks.BackupAndRestore(backup)]
    if FLAGS.plateau_seconds:
        chosen.append(callbacks.LossPlateauStopping(FLAGS.plateau_seconds,
                                                    FLAGS.plateau_delta))
    if FLAGS.target_accuracy is not None:
        chosen.append(callbacks.TargetMetricStopping("val_top1",
                                                     FLAGS.target_accuracy))
    if FLAGS.logdir and not worker:
        chosen.append(keras.callbacks.TensorBoard(FLAGS.logdir))
    return chosen
