"""Distil into your own Keras student with plain compile() / fit().

Usage (after examples/quickstart.sh has written runs/quickstart/records):
  python examples/custom_student.py runs/quickstart

Builds a student of your own (here: TF-IDF over character trigrams, then a
small MLP), wraps it in DistillationStudent, trains it on the
top-K and pseudo-label records, and saves the student alone.
"""

import os
import sys

import keras

import topk_distill


def my_student(texts, num_classes):
    vectorize = keras.layers.TextVectorization(
        max_tokens=4096, split="character", ngrams=(3,), output_mode="tf_idf")
    vectorize.adapt(texts)
    text = keras.Input(shape=(), dtype="string", name="text")
    x = keras.layers.Dense(128, activation="relu")(vectorize(text))
    return keras.Model(text, keras.layers.Dense(num_classes)(x))


def main(workdir):
    records = os.path.join(workdir, "records")
    metadata = topk_distill.read_metadata(os.path.join(records, "train"))
    num_classes = metadata["num_classes"]
    data = topk_distill.make_distillation_dataset(
        os.path.join(records, "train-*"), os.path.join(records, "unlabeled-*"),
        batch_size=32, unlabeled_per_labeled=0.5, seed=0)
    texts = topk_distill.make_dataset(os.path.join(records, "train-*"),
                                      256).map(lambda batch: batch["text"])
    model = topk_distill.DistillationStudent(
        my_student(texts, num_classes), num_classes,
        loss=topk_distill.LossConfig(alpha=0.8, beta=0.3, temperature=2.0))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(data, epochs=5, callbacks=[
        topk_distill.LossPlateauStopping(window_seconds=30, min_delta=1e-3)])
    path = os.path.join(workdir, "my_student.keras")
    model.student.save(path)
    print(f"saved {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/quickstart")
