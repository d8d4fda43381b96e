r"""Run a teacher once over an input; write its top-K (or top-H) records.

The input is text (.tsv, .jsonl, tfds:), images (a folder of class
subfolders of image files, or a TFDS image dataset) or feature vectors
(.jsonl of {"features": [...], "label": ...}); the records hold the same
kind (their metadata's input_kind), and the teacher must take it.

A labeled set keeps the K best teacher scores per example (raw logits by
default); with --unlabeled, the H best (softmax probabilities by default).
Output: PREFIX-NNNNN-of-NNNNN.tfrecord[.gz] shards and PREFIX.meta.json.
Each shard is written as NAME.tmp and renamed when complete; the metadata
comes last. An interrupted run continues with --resume (same flags); an
existing record set is replaced only with --overwrite. --teacher may be the
folder `topk-distill teacher` wrote; its labels.txt is then the default
--labels.
With --runner, an Apache Beam pipeline does the same work on that runner
(DirectRunner, DataflowRunner, FlinkRunner, SparkRunner...; needs
`pip install topk-distill[beam]`), e.g. on Dataflow:
  topk-distill preprocess --runner=DataflowRunner \
    --pipeline_options='--project=P --region=R --temp_location=gs://B/tmp' \
    --teacher=gs://B/teacher.keras --labels=labels.txt \
    --input='gs://B/train-*.tsv' --output=gs://B/records/train

Examples:
      topk-distill preprocess --teacher=teacher --input=train.tsv \
        --output=records/train
      topk-distill preprocess --teacher=teacher --input=unlabeled.tsv \
        --unlabeled --output=records/unlabeled
"""

import os

from absl import flags

from topk_distill import commands
from topk_distill.models import choices
from topk_distill.records import records

FLAGS = flags.FlagValues()
flags.DEFINE_string("teacher", None, "Teacher: the folder `topk-distill "
                    "teacher` wrote, a .keras file, a SavedModel folder, "
                    "an .npz of a teacher's top-K computed elsewhere (ids "
                    "and scores [examples, K], row-aligned with --input), or "
                    "a .npy of precomputed scores [examples, N] (dense: "
                    "small N only).", flag_values=FLAGS)
flags.DEFINE_enum("teacher_outputs", None, choices.TEACHER_OUTPUTS,
                  "What the teacher returns: a softmax's logits or "
                  "probabilities, or per-class sigmoid ones (a multi-label "
                  "teacher: each example's one or more labels are read, "
                  "and the records are multi-label). Default: logits, of a "
                  "softmax or, for a teacher saved as multi-label, of "
                  "sigmoids.", flag_values=FLAGS)
flags.DEFINE_string("teacher_signature", None, "SavedModel signature to call "
                    "(default: logits if it has one, else serving_default).",
                    flag_values=FLAGS)
flags.DEFINE_string("teacher_output_key", None, "SavedModel output to use "
                    "when the signature has several.", flag_values=FLAGS)
flags.DEFINE_string("input", None, "Input: .tsv (text<TAB>label), .jsonl "
                    "({\"text\" or \"features\", \"label\"}), a folder "
                    "of images (class subfolders) or tfds:NAME[:SPLIT].",
                    flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "TensorFlow Datasets data directory.",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "labels.txt: one class name per line, "
                    "line number = class id (default: the teacher's own).",
                    flag_values=FLAGS)
flags.DEFINE_string("output", None, "Output prefix, e.g. records/train.",
                    flag_values=FLAGS)
flags.DEFINE_enum("targets", "topk", records.TARGETS, "What to keep of the "
                  "teacher: topk (its K best scores), sampled (--samples "
                  "draws from softmax(z/T): an unbiased estimate of it) or "
                  "mixed (its --top_k best exactly + --samples draws from "
                  "the rest).", flag_values=FLAGS)
flags.DEFINE_integer("top_k", 20, "K: teacher scores kept per labeled "
                     "example (default 20, or N if fewer); 0 keeps all N "
                     "(dense, for baselines). With "
                     "--targets=mixed: the classes kept exactly.",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("samples", 20, "S: draws per example for "
                     "--targets=sampled|mixed (at most 255 with "
                     "--score_dtype=q8).", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_float("sampling_temperature", 1.0, "T of sampled and mixed "
                   "targets: draws from softmax(z/T). Train at the same T; "
                   "unlabeled sets' targets are used at T=1.",
                   lower_bound=1e-6, flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of the draws (each example's depend "
                     "on its text and the seed only).", flag_values=FLAGS)
flags.DEFINE_bool("unlabeled", False, "The input is unlabeled: keep --top_h "
                  "scores and write label -1.", flag_values=FLAGS)
flags.DEFINE_integer("top_h", 1, "H: teacher scores kept per unlabeled "
                     "example (1 = one pseudo label); with "
                     "--targets=mixed, the classes kept exactly.",
                     lower_bound=1, flag_values=FLAGS)
flags.DEFINE_enum("scores", None, records.SCORE_KINDS, "Scores to store "
                  "(default: logits if labeled, probabilities if "
                  "--unlabeled).", flag_values=FLAGS)
flags.DEFINE_enum("score_dtype", "float16", records.SCORE_DTYPES,
                  "Stored score encoding: float16, float32, or q8 (ids and "
                  "8-bit log-space values packed in one bytes value, about "
                  "half float16's bytes).", flag_values=FLAGS)
flags.DEFINE_float("tail_temperature", None, "If set to T, also keep the "
                   "teacher's softmax(z/T) mass outside its top-K per "
                   "example, for `train --tail=bucket` at the same T.",
                   flag_values=FLAGS)
flags.DEFINE_integer("num_shards", 8, "Output shards (at most one per "
                     "example).", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_enum("compression", "none", records.COMPRESSIONS, "Shard "
                  "compression.", flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 256, "Teacher batch size.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_bool("skip_unknown_labels", False, "Leave out examples whose "
                  "label is not in --labels (counted in the summary) instead "
                  "of stopping.", flag_values=FLAGS)
flags.DEFINE_bool("resume", False, "Continue an interrupted run with the "
                  "same flags: complete shards are kept, not recomputed.",
                  flag_values=FLAGS)
flags.DEFINE_bool("overwrite", False, "Replace a record set already at "
                  "--output (all its shards and metadata are removed first).",
                  flag_values=FLAGS)
flags.DEFINE_string("runner", None, "Run as an Apache Beam pipeline on this "
                    "runner (DirectRunner, DataflowRunner, FlinkRunner, "
                    "SparkRunner...) instead of locally.", flag_values=FLAGS)
flags.DEFINE_string("pipeline_options", "", "With --runner: more Beam "
                    "pipeline options, space-separated, e.g. '--project=P "
                    "--region=R --temp_location=gs://B/tmp'.",
                    flag_values=FLAGS)
for _name in ("teacher", "input", "output"):
    flags.mark_flag_as_required(_name, flag_values=FLAGS)


@flags.multi_flags_validator(["runner", "resume", "data_dir"],
                             message="--resume and --data_dir are for the "
                             "local tool, not with --runner",
                             flag_values=FLAGS)
def _check_runner(values):
    return not values["runner"] or not (values["resume"] or
                                        values["data_dir"])


@flags.multi_flags_validator(["resume", "overwrite"],
                             message="--resume continues a run, --overwrite "
                             "replaces it: give one", flag_values=FLAGS)
def _check_resume(values):
    return not (values["resume"] and values["overwrite"])


def main(argv):
    del argv
    from topk_distill.preprocessing import run_options
    from topk_distill.records import record_plan

    if not os.path.basename(FLAGS.output) or FLAGS.output.endswith(
            os.sep + "."):
        raise ValueError(f"--output={FLAGS.output}: a folder; expected a "
                         "record set's prefix, e.g. "
                         f"{os.path.join(FLAGS.output, 'train')} (its shards "
                         "are PREFIX-00000-of-N.tfrecord)")
    command = commands.command_line("preprocess", FLAGS)
    settings = record_plan.RecordSettings(
        unlabeled=FLAGS.unlabeled,
        # --top_k not given: 20, or every class of a smaller N
        top_k=FLAGS.top_h if FLAGS.unlabeled else (
            FLAGS.top_k if FLAGS["top_k"].present else None),
        scores=FLAGS.scores, score_dtype=FLAGS.score_dtype,
        compression=FLAGS.compression, num_shards=FLAGS.num_shards,
        tail_temperature=FLAGS.tail_temperature, targets=FLAGS.targets,
        samples=FLAGS.samples, sampling_temperature=FLAGS.sampling_temperature,
        seed=FLAGS.seed)
    options = run_options.PreprocessOptions(
        batch_size=FLAGS.batch_size, data_dir=FLAGS.data_dir,
        skip_unknown_labels=FLAGS.skip_unknown_labels, resume=FLAGS.resume,
        overwrite=FLAGS.overwrite, command=command)
    if FLAGS.runner:
        return _run_beam(settings, options)
    if FLAGS.teacher.endswith(".npz"):
        return _run_sparse(settings, options)
    from topk_distill.preprocessing import preprocessing
    from topk_distill.teachers import teacher

    model = teacher.load_teacher(FLAGS.teacher, FLAGS.teacher_outputs,
                                 FLAGS.teacher_signature,
                                 FLAGS.teacher_output_key)
    preprocessing.preprocess(model, FLAGS.input, FLAGS.labels, FLAGS.output,
                             settings, options)


def _run_sparse(settings, options):
    """--teacher=FILE.npz: top-K computed elsewhere, written as they are."""
    import dataclasses

    from topk_distill.inputs.label_space import LabelSpace
    from topk_distill.preprocessing import record_writer

    if FLAGS.targets != "topk" or FLAGS.tail_temperature or FLAGS.resume:
        raise ValueError(f"--teacher={FLAGS.teacher}: a top-K file gives "
                         "--targets=topk records only (no --tail_temperature"
                         ", no --resume)")
    if not FLAGS.labels:
        raise ValueError(f"--teacher={FLAGS.teacher} needs --labels (the "
                         "labels.txt its class ids index)")
    given = FLAGS["top_h" if FLAGS.unlabeled else "top_k"].present
    scores, sigmoid = choices.teacher_scores(FLAGS.teacher_outputs or
                                             "logits")
    record_writer.preprocess_sparse(
        FLAGS.teacher, FLAGS.input, FLAGS.labels, FLAGS.output,
        dataclasses.replace(settings, top_k=settings.top_k if given else None,
                            scores=scores),
        dataclasses.replace(options, batch_size=4096),
        label_space=LabelSpace.of(None, sigmoid))


def _run_beam(settings, options):
    try:
        from topk_distill.preprocessing import beam
    except ImportError as e:
        raise ImportError(f"--runner needs Apache Beam ({e}); install it with"
                          " `pip install topk-distill[beam]`") from e
    from topk_distill.teachers.teacher import TeacherSource

    record_set = beam.preprocess_with_beam(
        TeacherSource(FLAGS.teacher, FLAGS.teacher_outputs,
                      FLAGS.teacher_signature, FLAGS.teacher_output_key),
        FLAGS.input, FLAGS.labels, FLAGS.output, settings, options,
        pipeline_args=[f"--runner={FLAGS.runner}"] +
        FLAGS.pipeline_options.split())
    print(f"{FLAGS.output}: {record_set.num_examples} examples in "
          f"{record_set.num_shards} shards, written on {FLAGS.runner}")
