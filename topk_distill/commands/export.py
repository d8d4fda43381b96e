r"""Export a trained model as a SavedModel answering its top-n labels.

Signatures: serving_default (Predict: text -> top_ids, top_labels,
top_scores), classify (TF Serving Classify: serialized tf.Example with a
'text' feature -> classes, scores), probabilities (text -> all N) and
logits (text -> all N). An image model's take image_bytes (the encoded
files; {"b64": ...} over REST) and an 'image' feature; a feature-vector
model's take features (float [B, D]) and a 'features' feature.
With --tflite, also OUTPUT/model.tflite (raw text in; needs the Flex
delegate for its string ops) and OUTPUT/model_token_ids.tflite (token ids
in, builtin ops only; vocabulary in model_token_ids.tflite.vocab.txt); for
an image model, model.tflite (image bytes in, Flex) and model_pixels.tflite
(decoded pixels in, builtin ops only); for a feature-vector model,
model.tflite (builtin ops).

Example:
  topk-distill export --model=student/student.keras --output=export/student \
    --top_n=5 --tflite
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("model", None, "A .keras model (inputs [B] -> logits "
                    "[B, N]), e.g. student/student.keras.", flag_values=FLAGS)
flags.DEFINE_string("labels", None, "labels.txt (default: the one beside "
                    "--model).", flag_values=FLAGS)
flags.DEFINE_string("output", None, "Output SavedModel folder.",
                    flag_values=FLAGS)
flags.DEFINE_integer("top_n", 5, "Labels per answer.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_bool("tflite", False, "Also write the TFLite variants.",
                  flag_values=FLAGS)
flags.mark_flag_as_required("model", flag_values=FLAGS)
flags.mark_flag_as_required("output", flag_values=FLAGS)


def main(argv):
    import os

    from topk_distill import export, inputs, teacher

    del argv
    loaded = teacher.load_teacher(FLAGS.model)
    labels_path = FLAGS.labels or loaded.labels_path
    if labels_path is None:
        raise ValueError(f"--model={FLAGS.model} has no labels.txt beside "
                         "it; pass --labels")
    names = inputs.read_labels(labels_path)
    if loaded.num_classes != len(names):
        raise ValueError(f"--model={FLAGS.model} returns {loaded.num_classes}"
                         f" scores but {labels_path} names {len(names)} "
                         "classes")
    export.export_saved_model(loaded.model, FLAGS.output, names, FLAGS.top_n)
    written = [FLAGS.output]
    variants = {"text": (("model.tflite", False),
                         ("model_token_ids.tflite", True)),
                "image": (("model.tflite", False),
                          ("model_pixels.tflite", True)),
                "features": (("model.tflite", False),)}
    if FLAGS.tflite:
        kind = loaded.input_kind[0] if loaded.input_kind else "text"
        for name, token_ids in variants[kind]:
            path = os.path.join(FLAGS.output, name)
            export.export_tflite(loaded.model, path, FLAGS.top_n, token_ids)
            written.append(path)
    for path in written:
        print(f"wrote {path} ({export.saved_model_size(path) / 1e6:.2f} MB)")
