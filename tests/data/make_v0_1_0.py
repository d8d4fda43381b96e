"""Writes `tests/data/v0.1.0/`: files as topk-distill 0.1.0 writes them.

Run once, at commit ed6b3d2 (before the subpackage layout), with
`python tests/data/make_v0_1_0.py`; its outputs are kept so that
`tests/test_compatibility.py` can check that later versions still read
them. It uses only public names, so it still runs, but running it again
writes today's files, not 0.1.0's.
"""

import os

import keras
import numpy as np

import topk_distill

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v0.1.0")
NAMES = ["animal", "plant", "tool", "food"]
TEXTS = ["a small dog", "a tall tree", "a sharp knife", "fresh bread",
         "a grey cat", "green grass", "a heavy hammer", "ripe apple"]
LABELS = [0, 1, 2, 3, 0, 1, 2, 3]


def main():
    os.makedirs(HERE, exist_ok=True)
    labels_path = os.path.join(HERE, "labels.txt")
    topk_distill.write_labels(labels_path, NAMES)
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (len(TEXTS), len(NAMES))).astype(np.float32)
    logits[np.arange(len(TEXTS)), LABELS] += 4
    ids = np.argsort(-logits, axis=1)[:, :3]
    scores = np.take_along_axis(logits, ids, 1)
    for name, settings in [
            ("labeled", dict(score_dtype="float16", compression="gzip",
                             num_shards=2)),
            ("packed", dict(score_dtype="q8")),
            ("unlabeled", dict(unlabeled=True, score_dtype="float32"))]:
        unlabeled = settings.get("unlabeled", False)
        values = (scores if not unlabeled else
                  np.exp(scores) / np.exp(logits).sum(1, keepdims=True))
        with topk_distill.RecordSetWriter(
                os.path.join(HERE, name), labels_path, len(TEXTS), top_k=3,
                teacher="tests/data/make_v0_1_0.py", input="TEXTS",
                overwrite=True, **settings) as writer:
            writer.write(TEXTS, None if unlabeled else LABELS, ids, values)
    keras.utils.set_random_seed(0)
    student = topk_distill.make_student(TEXTS, len(NAMES), embedding_dim=8)
    model = topk_distill.DistillationStudent(student, len(NAMES), alpha=0.8,
                                             beta=0.4, temperature=3.0)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    dataset = topk_distill.make_distillation_dataset(
        os.path.join(HERE, "labeled-*"), os.path.join(HERE, "unlabeled-*"),
        batch_size=4)
    model.fit(dataset, epochs=3, verbose=0)
    model.save(os.path.join(HERE, "distiller.keras"))
    student.save(os.path.join(HERE, "student.keras"))
    teacher = topk_distill.make_teacher(TEXTS, len(NAMES), hidden_units=8)
    teacher.save(os.path.join(HERE, "teacher.keras"))
    np.savez(os.path.join(HERE, "outputs.npz"),
             student=student.predict(np.array(TEXTS, object), verbose=0),
             teacher=teacher.predict(np.array(TEXTS, object), verbose=0))


if __name__ == "__main__":
    main()
