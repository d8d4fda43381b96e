r"""Train the reference student from top-K records (or on hard labels only).

Reads the labeled top-K records (--labeled) and, optionally, the unlabeled
top-H records (--unlabeled), and minimises
  alpha*CE(true, s) + (1-alpha)*softCE_T(teacher top-K, s) + beta*CE(pseudo, s)
with, for text records, the student --student names (text preprocessing
inside the model): "mean", the reference, averages word embeddings;
"bigram" adds hashed word bigrams, as fastText; "cnn" convolves them; then
a linear layer; their word vectors random or, with --init_embeddings, from
`topk-distill student-init` (the teacher's encoder). "encoder" keeps
--student_layers of the transformer layers of --encoder (a BERT-family
checkpoint folder: the fine-tuned teacher's OUTPUT/encoder), with its
WordPiece tokenizer, mean-pooled, and a linear head (the teacher's, saved
beside its encoder, when it is for the same classes); it fine-tunes with
AdamW, a warmup and a cosine decay over --epochs (default 3, batches of
32, rate 1e-4).
Image and feature-vector records get their kind's reference student
(reference_models.reference_student: a small convolutional network; a linear
layer); the text flags do not apply to them.
--baseline=hard trains the same student on the labels alone.
--student=auto (needs --validation) trains each candidate student (train's
own, fastText's bigrams, with --init_embeddings the frozen normalised
mean of those vectors: plain, with --init_class_vectors, or behind a hidden
layer, and with --encoder the encoder student) on the labels alone and
distilled, keeps the best by validation P@1
among those answering a text within --max_latency_ms, and writes the table
to DIR/choice.json.
With --validation, stops once validation P@1 has not improved for
--patience epochs and keeps the weights of its best epoch (up to --epochs,
default 100, a cap it rarely reaches); without it, runs --epochs (default
20). Either way it also stops when the training loss varied by less than
--plateau_delta over --plateau_seconds, or when validation P@1 reaches
--target_accuracy.
The class names come from the records' metadata (--labels overrides).
Output: DIR/student.keras, DIR/labels.txt, DIR/history.json and DIR/export
(the SavedModel of `topk-distill export --top_n=5`). A killed run
started again with the same command continues from its last complete epoch
(checkpoints in --backup_dir). A NaN loss stops training with its likely
causes.
Several machines: set TF_CONFIG on each and run the same command on all of
them; training then uses tf.distribute.MultiWorkerMirroredStrategy, each
worker reads its share of the shards, and the chief (worker 0) writes the
output (see docs/scale.md).

Examples:
      topk-distill train --labeled='records/train-*' \
        --unlabeled='records/unlabeled-*' --validation=valid.tsv \
        --output=student
"""

from absl import flags

from topk_distill import commands
from topk_distill.distillation import training_config
from topk_distill.distillation.loss_config import (SOFT_SCALINGS, TAILS,
                                                   LossConfig)
from topk_distill.models import choices

FLAGS = flags.FlagValues()
flags.DEFINE_string("labeled", None, "Glob of the labeled top-K records.",
                    flag_values=FLAGS)
flags.DEFINE_string("unlabeled", None, "Glob of the unlabeled top-H records.",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "labels.txt the records were made with "
                    "(default: the class names in their metadata).",
                    flag_values=FLAGS)
flags.DEFINE_string("validation", None, "Labeled validation input of the "
                    "records' kind (.tsv, .jsonl, image folder or "
                    "tfds:NAME[:SPLIT]); reports val_top1/val_top5 each "
                    "epoch.", flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "TensorFlow Datasets data directory "
                    "(for a tfds: --validation).", flag_values=FLAGS)
flags.DEFINE_string("output", None, "Output folder.", flag_values=FLAGS)
flags.DEFINE_float("alpha", LossConfig.alpha, "a: hard-label weight, "
                   "0.5 < a < 1.", flag_values=FLAGS)
flags.DEFINE_float("beta", LossConfig.beta, "b: pseudo-label weight, "
                   "0 <= b <= a.", flag_values=FLAGS)
flags.DEFINE_float("temperature", LossConfig.temperature, "T for the soft "
                   "term.", lower_bound=1e-6, flag_values=FLAGS)
flags.DEFINE_enum("soft_scaling", LossConfig.soft_scaling, SOFT_SCALINGS,
                  "Soft-term factor: 1/T (inverse_t, the method's; "
                  "measured better on WordNet) or T^2 (t2, Hinton).",
                  flag_values=FLAGS)
flags.DEFINE_enum("tail", LossConfig.tail, TAILS,
                  "Teacher mass outside its top-K: renormalised away, or kept "
                  "as one 'rest' target (records need --tail_temperature at "
                  "the same T).", flag_values=FLAGS)
flags.DEFINE_float("unlabeled_per_labeled", 1.0, "Unlabeled examples per "
                   "labeled one in each batch (0: labeled examples only).",
                   flag_values=FLAGS)
flags.DEFINE_float("min_confidence", 0.0, "Train on the unlabeled "
                   "examples whose teacher's top class has at least this "
                   "probability (Noisy Student, FixMatch); 0 keeps all.",
                   flag_values=FLAGS)
flags.DEFINE_enum("baseline", "none", ["none", "hard"], "hard: train on the "
                  "labels only (alpha=1, no teacher terms).", flag_values=FLAGS)
flags.DEFINE_integer("epochs", None, "Epochs; with --validation the cap "
                     f"(default {training_config.MAX_EPOCHS}; early stopping "
                     "ends sooner), without it the count (default "
                     f"{training_config.EPOCHS}); --student=encoder: the "
                     "rate's decay length either way (default "
                     f"{choices.ENCODER_EPOCHS}).", flag_values=FLAGS)
flags.DEFINE_integer("patience", training_config.FitConfig.patience,
                     "With --validation: stop after this many epochs "
                     "without a better val_top1, keeping the best epoch.",
                     flag_values=FLAGS)
flags.DEFINE_integer("batch_size", None, "Batch size (default "
                     f"{choices.BATCH_SIZE}; {choices.ENCODER_BATCH_SIZE} "
                     "for --student=encoder).", flag_values=FLAGS)
flags.DEFINE_float("learning_rate", None, "Learning rate (> 0): Adam's "
                   f"(default {choices.LEARNING_RATE}), or for "
                   "--student=encoder AdamW's peak (default "
                   f"{choices.ENCODER_LEARNING_RATE}).", flag_values=FLAGS)
flags.DEFINE_enum("student", "mean", choices.STUDENTS + ("auto",),
                  "Student architecture: mean, bigram, cnn (word vectors, "
                  "text_models.make_student); encoder (--student_layers "
                  "of --encoder's layers; needs keras-hub); auto: train "
                  "the candidate students on the labels alone and "
                  "distilled, keep the best on --validation (within "
                  "--max_latency_ms).", flag_values=FLAGS)
flags.DEFINE_string("encoder", None, "The encoder student's BERT-family "
                    "checkpoint folder (the fine-tuned teacher's "
                    "OUTPUT/encoder; with --student=auto, the encoder "
                    "student is a candidate).", flag_values=FLAGS)
flags.DEFINE_integer("student_layers", 2, "The encoder student's "
                     "transformer layers, taken from --encoder's.",
                     flag_values=FLAGS)
flags.DEFINE_enum("layer_choice", "spread", choices.LAYER_CHOICES,
                  "Which of --encoder's layers the student keeps: spread "
                  "evenly from its first (every other one for half its "
                  "depth, as DistilBERT starts) or its first ones.",
                  flag_values=FLAGS)
flags.DEFINE_bool("teacher_head", True, "Start the encoder student's head "
                  "at the teacher's, saved beside its encoder (--encoder/"
                  "classifier_head.npz), when there is one.",
                  flag_values=FLAGS)
flags.DEFINE_bool("keep_candidates", False, "With --student=auto: keep "
                  "every candidate's folder in OUTPUT/candidates/.",
                  flag_values=FLAGS)
flags.DEFINE_float("max_latency_ms", None, "With --student=auto: keep only "
                   "candidates answering one text within this many ms.",
                   lower_bound=0.0, flag_values=FLAGS)
flags.DEFINE_string("init_embeddings", None, "A student-init .npz: the "
                    "student's vocabulary and starting word vectors (its "
                    "width overrides --embedding_dim).", flag_values=FLAGS)
flags.DEFINE_bool("freeze_embeddings", False, "Keep the word vectors as "
                  "they start (the teacher's, with --init_embeddings).",
                  flag_values=FLAGS)
flags.DEFINE_bool("normalize", False, "L2-normalise the student's pooled "
                  "text vector before its linear layer.", flag_values=FLAGS)
flags.DEFINE_bool("init_class_vectors", False, "Start each class's output "
                  "weights at the student's reading of the class's name "
                  "(its words: WordNet's 'physical_entity.00001930' reads "
                  "'physical entity'); no --hidden_units. Best with frozen "
                  "teacher vectors and few examples per class.",
                  flag_values=FLAGS)
flags.DEFINE_integer("hidden_units", 0, "A ReLU layer of this many units "
                     "between the student's pooled text vector and its "
                     "output layer (0: none).", flag_values=FLAGS)
flags.DEFINE_integer("sampled_classes", None, "Train each step on the "
                     "batch's classes (labels, stored ids) plus this many "
                     "classes drawn uniformly, their logits corrected for "
                     "the draw, instead of all N (a sampled softmax: a step's "
                     "cost no longer grows with N; the student's output "
                     "layer is a ClassVectors and the export still answers "
                     "from all N); 0: the full softmax. Default: 1024 from "
                     "20,000 classes on, else 0. Text students.",
                     flag_values=FLAGS)
flags.DEFINE_enum("sampled_proposal", "uniform", training_config.PROPOSALS,
                  "With sampled classes, draw them uniformly, or by how "
                  "often each class is a label in the training records "
                  "(half uniform, half by frequency: for skewed labels).",
                  flag_values=FLAGS)
flags.DEFINE_integer("embedding_dim", 64, "Student embedding width.",
                     flag_values=FLAGS)
flags.DEFINE_integer("max_tokens", 20000, "Student vocabulary size.",
                     flag_values=FLAGS)
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
flags.mark_flag_as_required("output", flag_values=FLAGS)


# The settings' own checks (training_config.CHECKS), run when flags parse.
for _name, (_check, _expected) in training_config.CHECKS.items():
    flags.register_validator(_name, _check, message=f"expected {_expected}",
                             flag_values=FLAGS)


def main(argv):
    from topk_distill.distillation import training

    del argv
    student, fit, loss = _configs()
    if FLAGS.student == "auto":
        return _choose(student, fit, loss)
    if FLAGS.max_latency_ms is not None:
        raise ValueError("--max_latency_ms chooses among candidates: "
                         "it needs --student=auto")
    history = training.train_student(
        FLAGS.output, _data(), loss=loss, student=student, fit=fit, baseline=FLAGS.baseline,
        settings=commands.set_flags(FLAGS), verbose="auto")
    if FLAGS.validation:
        kept = training.kept_epoch(history)
        print(f"kept epoch {kept} of {len(history.history['loss'])} "
              f"(val_top1 {history.history['val_top1'][kept - 1]:.4f})")
    print(f"saved {FLAGS.output}/student.keras and the SavedModel "
          f"{FLAGS.output}/export (top-5 answers; `topk-distill export` for "
          "other settings)")


def _data():
    """The flags as a `TrainingData`: what the run reads."""
    return training_config.TrainingData(
        labeled=FLAGS.labeled, unlabeled=FLAGS.unlabeled,
        validation=FLAGS.validation, labels_path=FLAGS.labels,
        data_dir=FLAGS.data_dir)


def _configs():
    """The flags as `(StudentConfig, FitConfig, LossConfig)`."""
    if FLAGS.encoder and FLAGS.student not in ("encoder", "auto"):
        raise ValueError(f"--encoder is the encoder student's checkpoint; "
                         f"--student={FLAGS.student} does not read it (use "
                         "--student=encoder or --student=auto)")
    student = training_config.StudentConfig(
        architecture="mean" if FLAGS.student == "auto" else FLAGS.student,
        embedding_dim=FLAGS.embedding_dim,
        max_tokens=FLAGS.max_tokens, init_embeddings=FLAGS.init_embeddings,
        freeze_embeddings=FLAGS.freeze_embeddings, normalize=FLAGS.normalize,
        hidden_units=FLAGS.hidden_units,
        init_class_vectors=FLAGS.init_class_vectors,
        sampled_classes=FLAGS.sampled_classes,
        sampled_proposal=FLAGS.sampled_proposal, encoder=FLAGS.encoder,
        student_layers=FLAGS.student_layers, layer_choice=FLAGS.layer_choice,
        teacher_head=FLAGS.teacher_head)
    fit = training_config.FitConfig(
        unlabeled_per_labeled=FLAGS.unlabeled_per_labeled,
        epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate, patience=FLAGS.patience,
        min_confidence=FLAGS.min_confidence,
        plateau_seconds=FLAGS.plateau_seconds,
        plateau_delta=FLAGS.plateau_delta,
        target_accuracy=FLAGS.target_accuracy, seed=FLAGS.seed,
        data_service=FLAGS.data_service, logdir=FLAGS.logdir,
        backup_dir=FLAGS.backup_dir)
    loss = LossConfig(FLAGS.alpha, FLAGS.beta, FLAGS.temperature,
                      FLAGS.soft_scaling, FLAGS.tail)
    return student, fit, loss


def _choose(student, fit, loss):
    """--student=auto: every candidate trained, the best kept."""
    from topk_distill.distillation import selection

    if FLAGS.baseline != "none":
        raise ValueError("--student=auto trains every candidate on "
                         "the labels alone and distilled; drop "
                         "--baseline")
    ranked = selection.choose_student(
        FLAGS.output, _data(), loss=loss, student=student, fit=fit,
        choice=training_config.ChoiceConfig(
            max_latency_ms=FLAGS.max_latency_ms,
            keep_candidates=FLAGS.keep_candidates),
        settings=commands.set_flags(FLAGS))
    print(f"saved {FLAGS.output}/student.keras ({ranked[0]['candidate']}"
          f", {ranked[0]['training']}), its SavedModel {FLAGS.output}/"
          f"export and the table {FLAGS.output}/choice.json")
