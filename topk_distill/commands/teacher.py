"""Train the reference teacher on a labeled file and save it with labels.txt.

The reference teacher (topk_distill.models.make_teacher: TF-IDF over word
uni- and bigrams, then an MLP) lets the pipeline run end to end without an
external model. The labeled file is read into memory.
Output: DIR/teacher.keras and DIR/labels.txt (built from the file unless
--labels is given).

Example:
  topk-distill teacher --input=train.tsv --output=teacher --epochs=10
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("input", None, "Labeled input: .tsv, .jsonl or "
                    "tfds:NAME[:SPLIT].", flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "TensorFlow Datasets data directory.",
                    flag_values=FLAGS)
flags.DEFINE_string("labels", None, "An existing labels.txt to use (default: "
                    "build one from --input).", flag_values=FLAGS)
flags.DEFINE_string("output", None, "Output folder.", flag_values=FLAGS)
flags.DEFINE_integer("epochs", 10, "Training epochs.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 64, "Batch size.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Random seed.", flag_values=FLAGS)
for _name in ("input", "output"):
    flags.mark_flag_as_required(_name, flag_values=FLAGS)


def main(argv):
    import os

    import keras
    import numpy as np

    from topk_distill import inputs, models

    del argv
    keras.utils.set_random_seed(FLAGS.seed)
    examples = list(inputs.iter_examples(FLAGS.input, FLAGS.data_dir))
    names = (inputs.read_labels(FLAGS.labels) if FLAGS.labels else
             inputs.build_labels(FLAGS.input, FLAGS.data_dir))
    ids = {name: i for i, name in enumerate(names)}
    unknown = [label for _, label in examples if label not in ids]
    if unknown:
        raise inputs.InputError(f"{FLAGS.input}: label {unknown[0]!r} is not "
                                "in the labels file")
    texts = np.array([text for text, _ in examples], object)
    labels = np.array([ids[label] for _, label in examples])
    model = models.make_teacher(texts, len(names))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True),
                  metrics=["accuracy"])
    model.fit(texts, labels, batch_size=FLAGS.batch_size, epochs=FLAGS.epochs)
    os.makedirs(FLAGS.output, exist_ok=True)
    model.save(os.path.join(FLAGS.output, "teacher.keras"))
    inputs.write_labels(os.path.join(FLAGS.output, "labels.txt"), names)
    print(f"saved {FLAGS.output}/teacher.keras and labels.txt "
          f"({len(names)} classes)")
