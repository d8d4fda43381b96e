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

    import tensorflow as tf

    texts = [t.encode("utf-8") for t in argv[1:]]
    if FLAGS.input:
        with open(FLAGS.input, "rb") as f:
            texts += [line.rstrip(b"\r\n").split(b"\t")[0] for line in f]
    if not texts:
        raise ValueError("no text to classify; give texts as arguments or "
                         "--input=FILE")
    predict = tf.saved_model.load(FLAGS.model).signatures["serving_default"]
    for start in range(0, len(texts), FLAGS.batch_size):
        batch = texts[start:start + FLAGS.batch_size]
        answer = predict(text=tf.constant(batch))
        labels = answer["top_labels"].numpy()
        scores = answer["top_scores"].numpy()
        n = _top_n(labels.shape[1])
        for text, names, values in zip(batch, labels[:, :n], scores[:, :n]):
            shown = text.decode("utf-8", "replace")
            names = [name.decode("utf-8") for name in names]
            if FLAGS.format == "json":
                print(json.dumps({"text": shown, "labels": names,
                                  "scores": [round(float(v), 6)
                                             for v in values]}))
            else:
                print(shown)
                for name, value in zip(names, values):
                    print(f"  {value:8.4f}  {name}")


def _top_n(exported):
    if FLAGS.top_n is None:
        return exported
    if FLAGS.top_n > exported:
        raise ValueError(f"--top_n={FLAGS.top_n}, but {FLAGS.model} answers "
                         f"{exported} labels; export again with a larger "
                         "--top_n")
    return FLAGS.top_n
