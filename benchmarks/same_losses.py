"""The distillation loss of two checkouts on fixed batches: the same?

Usage:
  python benchmarks/same_losses.py --tree=/tmp/old
  python benchmarks/same_losses.py --tree=.
  (then compare the printed values)

With the package of --tree, a fixed student (a seeded dense layer on
feature vectors, N = 7) scores fixed batches: single-label with the
teacher's top-K (renormalised tail), labels alone, multi-label with the
teacher's sigmoid top-K, and the sampled step with every class as a
candidate; each batch's total and three terms are printed to 9 decimals.
The student is built through whichever constructor the checkout has
(0.1.0's keywords or `loss=`/`label_space=`).
"""

import argparse
import inspect
import os
import sys


def student_of(topk_distill, model, n, multi, **settings):
    """A `DistillationStudent` of either API."""
    cls = topk_distill.DistillationStudent
    loss = dict(alpha=0.8, beta=0.4, temperature=2.0)
    if "loss" in inspect.signature(cls).parameters:
        space = (topk_distill.MultiLabel(n) if multi
                 else topk_distill.SingleLabel(n))
        return cls(model, space, loss=topk_distill.LossConfig(**loss),
                   **settings)
    return cls(model, n, multi_label=multi, **loss, **settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True)
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.tree))
    import keras
    import numpy as np
    import tensorflow as tf

    import topk_distill
    from topk_distill.models import class_vectors

    print("package:", os.path.dirname(topk_distill.__file__))
    n, rng = 7, np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(n)(inputs))
    vectors = keras.Model(inputs, class_vectors.ClassVectors(n)(
        keras.layers.Dense(4)(inputs)))
    features = rng.normal(size=(6, 5)).astype("float32")
    label = np.array([3, 0, 6, -1, -1, 2])
    ids = np.array([[3, 1, 5], [0, 2, -1], [6, 4, 1], [2, 3, 0],
                    [5, -1, -1], [2, 6, 0]])
    scores = rng.normal(size=(6, 3)).astype("float32")
    labels = np.array([[3, 1], [0, -1], [6, 4], [-1, -1], [-1, -1], [2, 5]])
    batches = {
        "single top-K": (False, dict(features=features, label=label,
                                     topk_ids=ids, topk_logits=scores)),
        "labels alone": (False, dict(features=features,
                                     label=np.maximum(label, 0))),
        "multi top-K": (True, dict(features=features, label=labels[:, 0],
                                   labels=labels, topk_ids=ids,
                                   topk_logits=scores))}
    for name, (multi, batch) in batches.items():
        tensors = {k: tf.constant(v) for k, v in batch.items()}
        student = student_of(topk_distill, model, n, multi)
        total, terms = student.compute_losses(tensors, model(features))
        print(f"{name}: total {float(total):.9f} " + " ".join(
            f"{k} {float(v):.9f}" for k, v in sorted(terms.items())))
        sampled = student_of(topk_distill, vectors, n, multi,
                             sampled_classes=0)
        total, terms = sampled.compute_sampled_losses(
            tensors, sampled._features(tf.constant(features)),
            tf.constant([1, 2], tf.int32))
        print(f"{name}, sampled (every class): total {float(total):.9f}")


if __name__ == "__main__":
    sys.exit(main())
