"""Train a teacher on a labeled file and save it with labels.txt.

Without --encoder: the reference teacher (topk_distill.models.make_teacher:
TF-IDF over word uni- and bigrams, then an MLP), saved as DIR/teacher.keras.

With --encoder=DIR: a pre-trained BERT-family encoder (a local checkpoint
folder, e.g. all-MiniLM-L6-v2; needs `pip install topk-distill[encoder]`)
with a linear head trained on the labeled file; the encoder stays frozen,
so its sentence embeddings are computed once (or read from --embeddings)
and the head trains on them. Saved as the SavedModel DIR/saved_model (its
`logits` signature is what preprocess calls: --teacher=DIR/saved_model
--teacher_signature=logits). --cross_fit_folds=k also writes
DIR/cross_fit_logits.npy: logits for every input row from a head that did
not see it, for `preprocess --teacher=DIR/cross_fit_logits.npy` on the same
file (soft targets of a head on its own training texts are nearly one-hot).

The labeled file is read into memory; labels.txt is built from it unless
--labels is given.

Example:
  topk-distill teacher --input=train.tsv --output=teacher --epochs=10
  topk-distill teacher --input=train.tsv --output=teacher \
    --encoder=all-MiniLM-L6-v2 --cross_fit_folds=5
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
flags.DEFINE_string("encoder", None, "A local BERT-family checkpoint folder "
                    "(config.json, model.safetensors, vocab.txt).",
                    flag_values=FLAGS)
flags.DEFINE_string("embeddings", None, "With --encoder: the encoder's "
                    "embeddings of --input (.npy [rows, hidden]), to skip "
                    "computing them.", flag_values=FLAGS)
flags.DEFINE_integer("cross_fit_folds", 0, "With --encoder: also write "
                     "out-of-fold logits for --input (k folds, k >= 2).",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("epochs", 10, "Training epochs (default 10; the "
                     "encoder head: 30 is a good start).", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 64, "Batch size.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Random seed.", flag_values=FLAGS)
for _name in ("input", "output"):
    flags.mark_flag_as_required(_name, flag_values=FLAGS)
flags.register_validator("cross_fit_folds", lambda k: k != 1,
                         message="--cross_fit_folds needs at least 2 folds",
                         flag_values=FLAGS)


def main(argv):
    import os

    import keras
    import numpy as np

    from topk_distill import inputs

    del argv
    keras.utils.set_random_seed(FLAGS.seed)
    names = (inputs.read_labels(FLAGS.labels) if FLAGS.labels else
             inputs.build_labels(FLAGS.input, FLAGS.data_dir))
    texts, labels = inputs.read_labeled(FLAGS.input, names, FLAGS.data_dir)
    texts, labels = np.array(texts, object), np.array(labels)
    os.makedirs(FLAGS.output, exist_ok=True)
    inputs.write_labels(os.path.join(FLAGS.output, "labels.txt"), names)
    if FLAGS.encoder:
        return _encoder_teacher(texts, labels, names)
    from topk_distill import models

    model = models.make_teacher(texts, len(names))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True),
                  metrics=["accuracy"])
    model.fit(texts, labels, batch_size=FLAGS.batch_size, epochs=FLAGS.epochs)
    model.save(os.path.join(FLAGS.output, "teacher.keras"))
    print(f"saved {FLAGS.output}/teacher.keras and labels.txt "
          f"({len(names)} classes)")


def _encoder_teacher(texts, labels, names):
    import os

    import keras
    import numpy as np

    from topk_distill import export, models

    teacher = models.make_encoder_teacher(FLAGS.encoder, len(names))
    if FLAGS.embeddings:
        embeddings = np.load(FLAGS.embeddings).astype(np.float32)
        if embeddings.shape[0] != len(texts):
            raise ValueError(f"--embeddings={FLAGS.embeddings}: "
                             f"{embeddings.shape[0]} rows for {len(texts)} "
                             f"examples in {FLAGS.input}")
    else:
        embed = keras.Model(teacher.input, teacher.get_layer(
            "embedding").output)
        embeddings = embed.predict(texts, batch_size=FLAGS.batch_size)
    settings = dict(epochs=FLAGS.epochs, seed=FLAGS.seed, verbose=1)
    head = models.train_head(embeddings, labels, len(names), **settings)
    teacher.get_layer("head").set_weights(head.get_weights())
    path = export.export_saved_model(
        teacher, os.path.join(FLAGS.output, "saved_model"), names)
    print(f"saved {path} and labels.txt ({len(names)} classes)")
    if FLAGS.cross_fit_folds:
        logits = models.cross_fit_logits(embeddings, labels, len(names),
                                         folds=FLAGS.cross_fit_folds,
                                         **settings)
        np.save(os.path.join(FLAGS.output, "cross_fit_logits.npy"), logits)
        print(f"saved {FLAGS.output}/cross_fit_logits.npy "
              f"({FLAGS.cross_fit_folds} folds)")
