r"""Export a trained model as a SavedModel answering its top-n labels.

Signatures: serving_default (Predict: text -> top_ids, top_labels,
top_scores), classify (TF Serving Classify: serialized tf.Example with a
'text' feature -> classes, scores), probabilities (text -> all N) and
logits (text -> all N). A multi-label model (one `train` saved, with
multi_label.json beside it, or a multi-label SavedModel) exports as
multi-label, with its threshold. An image model's take image_bytes (the encoded
files; {"b64": ...} over REST) and an 'image' feature; a feature-vector
model's take features (float [B, D]) and a 'features' feature.
With --tflite, also OUTPUT/model.tflite (raw text in; needs the Flex
delegate for its string ops) and OUTPUT/model_token_ids.tflite (token ids
in, builtin ops only; vocabulary in model_token_ids.tflite.vocab.txt); for
an image model, model.tflite (image bytes in, Flex) and model_pixels.tflite
(decoded pixels in, builtin ops only); for a feature-vector model,
model.tflite (builtin ops); for the encoder student, model_token_ids.tflite
only (WordPiece ids in: its tokenizer's TF Text ops are in no TFLite
runtime). An --output that holds anything is replaced
only with --overwrite; the export is written beside it and moved in whole.

Examples:
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
flags.DEFINE_bool("overwrite", False, "Replace what --output already holds "
                  "(the old export is removed entirely).", flag_values=FLAGS)
flags.mark_flag_as_required("model", flag_values=FLAGS)
flags.mark_flag_as_required("output", flag_values=FLAGS)


def main(argv):
    import os

    from topk_distill.inputs import labels_file
    from topk_distill.models import saved_model
    from topk_distill.teachers import teacher
    from topk_distill.utils import outputs

    del argv
    output = FLAGS.output.rstrip("/") or FLAGS.output
    outputs.check_new(output, "--output", FLAGS.overwrite)
    try:
        loaded = teacher.load_teacher(FLAGS.model)
    except ValueError as e:  # its messages name --teacher, this flag --model
        raise ValueError(str(e).replace("--teacher=", "--model=", 1)) from None
    labels_path = FLAGS.labels or loaded.labels_path
    if labels_path is None:
        raise ValueError(f"--model={FLAGS.model} has no labels.txt beside "
                         "it; pass --labels")
    names = labels_file.read_labels(labels_path)
    if loaded.num_classes != len(names):
        raise ValueError(f"--model={FLAGS.model} returns {loaded.num_classes}"
                         f" scores but {labels_path} names {len(names)} "
                         "classes")
    # Everything is written beside --output, then moved in: an export that
    # fails leaves no half of itself, and one that succeeds no old file.
    with outputs.built_beside(output) as work:
        names_written = _write(loaded, names, work)
    for name in names_written:
        path = os.path.join(output, name) if name else output
        size = saved_model.saved_model_size(path)
        print(f"wrote {path} ({size / 1e6:.2f} MB)")


def _write(loaded, names, folder):
    """Writes the SavedModel (and TFLite files) into `folder`; returns the
    names written in it ("" for the SavedModel itself)."""
    import os

    from topk_distill.models import encoder_students, saved_model
    from topk_distill.models import tflite_export

    saved_model.export_saved_model(loaded.model, folder, names, FLAGS.top_n,
                                   label_space=loaded.label_space)
    written = [""]
    variants = {"text": (("model.tflite", False),
                         ("model_token_ids.tflite", True)),
                "image": (("model.tflite", False),
                          ("model_pixels.tflite", True)),
                "features": (("model.tflite", False),)}
    if FLAGS.tflite:
        kind = loaded.input_kind[0] if loaded.input_kind else "text"
        chosen = variants[kind]
        if encoder_students.is_encoder_student(loaded.model):
            chosen = chosen[1:]  # WordPiece ids in
        for name, token_ids in chosen:
            tflite_export.export_tflite(
                loaded.model, os.path.join(folder, name), FLAGS.top_n,
                token_ids)
            written.append(name)
    return written
