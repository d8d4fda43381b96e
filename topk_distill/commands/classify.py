r"""Classify with an exported model: top-n labels and their scores.

For a text model, texts come as arguments, or one per line from --input (a
TSV's first column; bytes that are not UTF-8 are passed through as they
are). For an image model, image files come as arguments, or --input names
a folder of them (or a file listing one path a line). For a feature-vector
model, --input is a .jsonl of {"features": [...]}.

Examples:
      topk-distill classify --model=export/student "a river in Europe"
      topk-distill classify --model=export/student --input=texts.txt --format=json
      topk-distill classify --model=images/student/export cat.png dog.jpg
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("model", None, "An exported SavedModel folder.",
                    flag_values=FLAGS)
flags.DEFINE_integer("top_n", None, "Labels per input (default: all the "
                     "export answers; a multi-label export's: those at or "
                     "above its threshold).", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_string("input", None, "File of texts, one per line (image "
                    "models: a folder of images, or a file of image paths; "
                    "feature models: a .jsonl of features).",
                    flag_values=FLAGS)
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.",
                  flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 256, "Inputs per call.", lower_bound=1,
                     flag_values=FLAGS)
flags.mark_flag_as_required("model", flag_values=FLAGS)


def main(argv):
    import json

    from topk_distill.models import saved_model
    from topk_distill.serving import classification

    served = saved_model.load_saved_model(FLAGS.model)
    _, kind, _ = saved_model.signature_input(
        served.signatures["serving_default"])
    shown, examples = _inputs(kind, argv[1:])
    answers = classification.classify(served, examples, FLAGS.top_n,
                                      FLAGS.batch_size)
    for name, (names, scores) in zip(shown, answers):
        if FLAGS.format == "json":
            print(json.dumps({kind if kind != "features" else "input": name,
                              "labels": names,
                              "scores": [round(v, 6) for v in scores]}))
            continue
        print(name)
        for label, value in zip(names, scores):
            print(f"  {value:8.4f}  {label}")
        if not names:  # a multi-label export: none at its threshold
            space = saved_model.saved_label_space(FLAGS.model, None)
            print(f"  (no label at or above the threshold "
                  f"{space.threshold:.2f}; --top_n lists the best)")


def _inputs(kind, args):
    """(what to show for each input, the inputs) from the arguments and
    --input, as the model's kind wants them."""
    import os

    from topk_distill.inputs import image_files, inputs

    if kind == "features":
        if args or not FLAGS.input:
            raise ValueError(f"--model={FLAGS.model} takes feature vectors; "
                             "give them as --input=FILE.jsonl "
                             '({"features": [...]} a line), not arguments')
        located = list(inputs.iter_located(FLAGS.input))
        return [where for where, _, _ in located], [
            value for _, value, _ in located]
    if kind == "image":
        paths = list(args)
        if FLAGS.input and os.path.isdir(FLAGS.input):
            located = list(inputs.iter_located(FLAGS.input))
            return ([where for where, _, _ in located] + paths,
                    [value for _, value, _ in located] + [
                        image_files.read_image(p) for p in paths])
        if FLAGS.input:
            with open(FLAGS.input, encoding="utf-8-sig") as f:
                paths += [line.strip() for line in f if line.strip()]
        if not paths:
            raise ValueError("no image to classify; give image files as "
                             "arguments or --input=FOLDER (or a file naming "
                             "one image a line)")
        return paths, [image_files.read_image(p) for p in paths]
    for number, text in enumerate(args, 1):
        if not text.strip():
            raise ValueError(f"argument {number} is an empty text; expected "
                             "text to classify")
    texts = [t.encode("utf-8") for t in args]
    if FLAGS.input:
        with open(FLAGS.input, "rb") as f:
            for number, line in enumerate(f, 1):
                if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]  # a byte-order mark
                text = line.rstrip(b"\r\n").split(b"\t")[0]
                if not text.strip():
                    raise ValueError(f"{FLAGS.input}:{number}: empty text; "
                                     "expected one text a line")
                texts.append(text)
    if not texts and FLAGS.input:
        raise ValueError(f"--input={FLAGS.input}: no text in it; expected "
                         "one text a line")
    if not texts:
        raise ValueError("no text to classify; give texts as arguments or "
                         "--input=FILE")
    return [t.decode("utf-8", "replace") for t in texts], texts
