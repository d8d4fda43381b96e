r"""Evaluate an exported model (teacher or student) on a labeled test file.

Accuracy: P@1 (accuracy), P@3, P@5 (top-k accuracy for single-label data)
and macro-averaged P@1 over classes. Speed: latency p50/p99 at batch 1 and
throughput at batch 256 through the serving_default signature. Size: the
SavedModel on disk.

Examples:
      topk-distill evaluate --model=export/student --test=test.tsv
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("model", None, "An exported SavedModel folder.",
                    flag_values=FLAGS)
flags.DEFINE_string("test", None, "Labeled test input of the model's kind "
                    "(.tsv, .jsonl, image folder or tfds:NAME[:SPLIT]).",
                    flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "TensorFlow Datasets data directory.",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "labels.txt (default: the export's).",
                    flag_values=FLAGS)
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.",
                  flag_values=FLAGS)
flags.DEFINE_integer("latency_repeats", 200, "Single-text calls timed.",
                     lower_bound=2, flag_values=FLAGS)
flags.DEFINE_integer("throughput_batches", 20, "Batches of 256 examples "
                     "timed for the throughput.", lower_bound=1,
                     flag_values=FLAGS)
flags.mark_flag_as_required("model", flag_values=FLAGS)
flags.mark_flag_as_required("test", flag_values=FLAGS)


def main(argv):
    import json
    import os

    from topk_distill.inputs import inputs, labels_file
    from topk_distill.models import saved_model
    from topk_distill.serving import evaluation

    del argv
    saved_model.require_saved_model(FLAGS.model, "model")
    labels_path = FLAGS.labels or os.path.join(FLAGS.model, "labels.txt")
    if not FLAGS.labels and not os.path.exists(labels_path):
        raise OSError(f"--model={FLAGS.model}: no labels.txt beside the "
                      "SavedModel; pass --labels")
    names = labels_file.read_labels(labels_path)
    space = saved_model.saved_label_space(FLAGS.model, len(names))
    texts, labels = labels_file.read_labeled(FLAGS.test, names, FLAGS.data_dir,
                                             space)
    result = evaluation.evaluate(
        FLAGS.model, texts, labels, latency_repeats=FLAGS.latency_repeats,
        throughput_batches=FLAGS.throughput_batches,
        input_kind=inputs.describe(FLAGS.test, FLAGS.data_dir)[0])
    if FLAGS.format == "json":
        print(json.dumps(dict(result, model=FLAGS.model)))
        return
    print(evaluation.format_table([(FLAGS.model, result)], space))
