r"""Evaluate an exported model (teacher or student) on a labeled test file.

Accuracy: P@1 (accuracy), P@3, P@5 (top-k accuracy for single-label data)
and macro-averaged P@1 over classes. Speed: latency p50/p99 at batch 1 and
throughput at batch 256 through the serving_default signature. Size: the
SavedModel on disk.

Example:
  topk-distill evaluate --model=export/student --test=test.tsv
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("model", None, "An exported SavedModel folder.",
                    flag_values=FLAGS)
flags.DEFINE_string("test", None, "Labeled test file (.tsv or .jsonl).",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "labels.txt (default: the export's).",
                    flag_values=FLAGS)
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.",
                  flag_values=FLAGS)
flags.DEFINE_integer("latency_repeats", 200, "Single-text calls timed.",
                     lower_bound=2, flag_values=FLAGS)
flags.mark_flag_as_required("model", flag_values=FLAGS)
flags.mark_flag_as_required("test", flag_values=FLAGS)


def main(argv):
    import json
    import os

    from topk_distill import evaluation, inputs

    del argv
    names = inputs.read_labels(FLAGS.labels or os.path.join(FLAGS.model,
                                                            "labels.txt"))
    texts, labels = inputs.read_labeled(FLAGS.test, names)
    result = evaluation.evaluate(FLAGS.model, texts, labels,
                                 latency_repeats=FLAGS.latency_repeats)
    if FLAGS.format == "json":
        print(json.dumps(dict(result, model=FLAGS.model)))
        return
    print(format_table([(FLAGS.model, result)]))


def format_table(rows):
    """Formats (name, evaluate() result) rows as a text table; a figure a
    row lacks shows as n/a."""
    columns = [("P@1", "p@1", 6, ".3f", 1), ("P@3", "p@3", 6, ".3f", 1),
               ("P@5", "p@5", 6, ".3f", 1), ("mP@1", "macro_p@1", 6, ".3f", 1),
               ("p50 ms", "latency_p50_ms", 7, ".2f", 1),
               ("p99 ms", "latency_p99_ms", 7, ".2f", 1),
               ("ex/s@256", "throughput_per_s", 9, ".0f", 1),
               ("MB", "size_bytes", 8, ".2f", 1e-6)]
    header = f"{'model':<28}" + "".join(f" {title:>{width}}" for title, _,
                                        width, _, _ in columns)
    lines = [header, "-" * len(header)]
    for name, result in rows:
        cells = [f"{result[key] * scale:{width}{form}}" if key in result else
                 f"{'n/a':>{width}}" for _, key, width, form, scale in columns]
        lines.append(f"{name[-28:]:<28} " + " ".join(cells))
    return "\n".join(lines)
