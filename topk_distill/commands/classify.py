r"""Classify texts with an exported model: top-n labels and their scores.

Texts come as arguments, or one per line from --input (a TSV's first
column; bytes that are not UTF-8 are passed through as they are).

Example:
  topk-distill classify --model=export/student "a river in Europe"
  topk-distill classify --model=export/student --input=texts.txt --format=json
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("model", None, "An exported SavedModel folder.",
                    flag_values=FLAGS)
flags.DEFINE_integer("top_n", None, "Labels per text (default: all the "
                     "export answers).", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_string("input", None, "File of texts, one per line.",
                    flag_values=FLAGS)
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.",
                  flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 256, "Texts per call.", lower_bound=1,
                     flag_values=FLAGS)
flags.mark_flag_as_required("model", flag_values=FLAGS)


def main(argv):
    import json

    from topk_distill import serving

    texts = [t.encode("utf-8") for t in argv[1:]]
    if FLAGS.input:
        with open(FLAGS.input, "rb") as f:
            texts += [line.rstrip(b"\r\n").split(b"\t")[0] for line in f]
    if not texts:
        raise ValueError("no text to classify; give texts as arguments or "
                         "--input=FILE")
    answers = serving.classify(FLAGS.model, texts, FLAGS.top_n,
                               FLAGS.batch_size)
    for text, (names, scores) in zip(texts, answers):
        shown = text.decode("utf-8", "replace")
        if FLAGS.format == "json":
            print(json.dumps({"text": shown, "labels": names,
                              "scores": [round(v, 6) for v in scores]}))
            continue
        print(shown)
        for name, value in zip(names, scores):
            print(f"  {value:8.4f}  {name}")
