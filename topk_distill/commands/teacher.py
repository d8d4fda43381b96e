"""Train a teacher on a labeled file and save it with labels.txt.

With --encoder=DIR (the teacher to use): a pre-trained BERT-family encoder
(a local checkpoint folder, e.g. all-MiniLM-L6-v2; needs
`pip install topk-distill[encoder]`) with a head trained on the labeled
file: linear, or a small MLP with --hidden_units. The encoder's sentence
embeddings are computed once (or read from --embeddings) and the head
trains on them. --fine_tune then trains the encoder (all of it, or its top
--fine_tune_layers) with the head on the texts for --fine_tune_epochs
(AdamW, --learning_rate reached by a linear warmup, then cosine decay):
the method's fine-tuned teacher. Fast on a GPU; on a CPU each
epoch costs about three forward passes of the encoder (shorten
--sequence_length for short texts). Saved as the SavedModel
OUTPUT/saved_model; with --fine_tune, its encoder also as a checkpoint
folder OUTPUT/encoder (for `student-init --encoder=OUTPUT/encoder`).
--cross_fit_folds=k also writes OUTPUT/cross_fit_logits.npy: logits for every input row from a head that
did not see it (with --fine_tune, from a teacher fine-tuned without it: k
more fine-tuning runs on (k-1)/k of the rows each), for
`preprocess --teacher=OUTPUT/cross_fit_logits.npy` on the same file (soft
targets of a teacher on its own training texts are nearly one-hot).

Without --encoder: the reference teacher for the input's kind
(topk_distill.models.reference_teacher), saved as OUTPUT/teacher.keras.
For text, TF-IDF over word uni- and bigrams, then an MLP: a small fixture
for tests and quick checks, no stronger than a bag-of-words student. For
images (a folder of class subfolders, or a TFDS image dataset), a
convolutional network (image_models.make_image_teacher; train it for more
--epochs). For feature vectors (.jsonl of "features"), an MLP.

OUTPUT (with its labels.txt) is a valid `preprocess --teacher`. The labeled
file is read into memory; labels.txt is built from it unless --labels is
given. Each run also measures the teacher against the reference student
trained on the labels alone, on --validation or on --validation_fraction
of the input held out (the final teacher still trains on all of it, except
a fine-tuned one, trained once without it), prints
both top-1 accuracies, warns when the teacher is not the stronger one, and
keeps them in OUTPUT/report.json.

Examples:
      topk-distill teacher --input=train.tsv --output=teacher \
        --encoder=all-MiniLM-L6-v2 --cross_fit_folds=5
      topk-distill teacher --input=train.tsv --output=teacher \
        --encoder=all-MiniLM-L6-v2 --epochs=30 --fine_tune --fine_tune_layers=2
      topk-distill teacher --input=train.tsv --output=teacher --epochs=10
"""

from absl import flags

from topk_distill.models import choices
from topk_distill.teachers.teacher_config import TeacherConfig

FLAGS = flags.FlagValues()
_DEFAULT = TeacherConfig()  # the flags' defaults
flags.DEFINE_string("input", None, "Labeled input: .tsv, .jsonl, a folder "
                    "of images in class subfolders or tfds:NAME[:SPLIT].",
                    flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "TensorFlow Datasets data directory.",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "An existing labels.txt to use (default: "
                    "build one from --input).", flag_values=FLAGS)
flags.DEFINE_string("output", None, "Output folder.", flag_values=FLAGS)
flags.DEFINE_string("encoder", None, "A local BERT-family checkpoint folder "
                    "(config.json, model.safetensors, vocab.txt).",
                    flag_values=FLAGS)
flags.DEFINE_string("embeddings", None, "With --encoder: the encoder's "
                    "embeddings of --input (.npy [rows, hidden]), to skip "
                    "computing them.", flag_values=FLAGS)
flags.DEFINE_integer("cross_fit_folds", _DEFAULT.cross_fit_folds,
                     "With --encoder: also write "
                     "out-of-fold logits for --input (k folds, k >= 2; with "
                     "--fine_tune, one more fine-tuning run per fold).",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("epochs", _DEFAULT.epochs, "Training epochs (the "
                     "encoder head: 30 is a good start).", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("batch_size", _DEFAULT.batch_size,
                     "Batch size.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("seed", _DEFAULT.seed, "Random seed.", flag_values=FLAGS)
flags.DEFINE_string("validation", None, "A labeled file to measure the "
                    "teacher and the reference student on (default: carve "
                    "--validation_fraction of --input off for it).",
                    flag_values=FLAGS)
flags.DEFINE_float("validation_fraction", _DEFAULT.validation_fraction,
                   "Part of --input held out "
                   "to compare the teacher with the reference student (0: "
                   "no comparison).", lower_bound=0.0, upper_bound=0.5,
                   flag_values=FLAGS)
flags.DEFINE_integer("student_epochs", choices.EPOCHS, "Most training "
                     "epochs of the reference student the teacher is "
                     "measured against (train's default rate; early "
                     "stopping on a tenth of its rows).",
                     lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("hidden_units", _DEFAULT.hidden_units,
                     "With --encoder: 0 for a linear "
                     "head, else the width of a small MLP head.",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("sequence_length", _DEFAULT.sequence_length,
                     "With --encoder: tokens kept "
                     "per text.", lower_bound=2, flag_values=FLAGS)
flags.DEFINE_bool("multi_label", False, "Examples have one or more labels "
                  "(.tsv: separated by '|'; .jsonl: \"labels\": [...]): "
                  "an encoder with a per-class sigmoid head, trained with "
                  "binary cross-entropy; top-1 is then P@1. Needs "
                  "--encoder.", flag_values=FLAGS)
flags.DEFINE_bool("fine_tune", False, "With --encoder: after the head, "
                  "fine-tune the encoder and the head on --input.",
                  flag_values=FLAGS)
flags.DEFINE_integer("fine_tune_layers", 0, "With --fine_tune: the top "
                     "transformer layers that train (0: all the encoder).",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("fine_tune_epochs", _DEFAULT.fine_tune_epochs,
                     "With --fine_tune: epochs.",
                     lower_bound=1, flag_values=FLAGS)
flags.DEFINE_float("learning_rate", _DEFAULT.learning_rate,
                   "With --fine_tune: the peak "
                   "learning rate (> 0).", flag_values=FLAGS)
flags.DEFINE_float("warmup_fraction", _DEFAULT.warmup_fraction,
                   "With --fine_tune: the part of "
                   "the steps spent warming the learning rate up.",
                   lower_bound=0.0, upper_bound=1.0, flag_values=FLAGS)
flags.DEFINE_bool("overwrite", False, "Replace what --output holds (a "
                  "non-empty --output is refused without it).",
                  flag_values=FLAGS)
for _name in ("input", "output"):
    flags.mark_flag_as_required(_name, flag_values=FLAGS)
flags.register_validator("learning_rate", lambda v: v > 0,
                         message="expected a positive number",
                         flag_values=FLAGS)
flags.register_validator("cross_fit_folds", lambda k: k != 1,
                         message="--cross_fit_folds needs at least 2 folds",
                         flag_values=FLAGS)


def main(argv):
    from topk_distill.inputs.label_space import LabelSpace
    from topk_distill.teachers import teacher_report, teacher_training
    from topk_distill.utils import json_files

    del argv
    config = TeacherConfig(
        encoder=FLAGS.encoder, embeddings=FLAGS.embeddings,
        cross_fit_folds=FLAGS.cross_fit_folds, epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size, seed=FLAGS.seed,
        validation=FLAGS.validation,
        validation_fraction=FLAGS.validation_fraction,
        student_epochs=FLAGS.student_epochs, hidden_units=FLAGS.hidden_units,
        sequence_length=FLAGS.sequence_length,
        fine_tune=FLAGS.fine_tune_layers if FLAGS.fine_tune else None,
        fine_tune_epochs=FLAGS.fine_tune_epochs,
        learning_rate=FLAGS.learning_rate,
        warmup_fraction=FLAGS.warmup_fraction,
        label_space=LabelSpace.of(None, FLAGS.multi_label))
    written = teacher_training.train_teacher(
        FLAGS.input, FLAGS.output, config, labels_path=FLAGS.labels,
        data_dir=FLAGS.data_dir, overwrite=FLAGS.overwrite)
    for path in written:
        print(f"saved {path}")
        if path.endswith("report.json"):
            print(teacher_report.comparison_line(json_files.read_json(path)))
    print(f"{FLAGS.output} is a teacher: topk-distill preprocess "
          f"--teacher={FLAGS.output} ...")
