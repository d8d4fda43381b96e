"""Shared fixtures: a tiny labeled text set, its labels file and teachers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TEXTS = {
    "animal": ["a cat sat on the mat", "the dog barked at night",
               "a horse ran in the field", "the bird sang a song"],
    "food": ["red apple pie with cream", "bread and butter for tea",
             "a bowl of hot soup", "fresh cheese and grapes"],
    "finance": ["stocks fell sharply today", "the bank raised rates",
                "bonds rallied on news", "the market closed higher"],
}


@pytest.fixture
def labeled_tsv(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("".join(f"{text}\t{label}\n" for label, texts in
                            TEXTS.items() for text in texts), encoding="utf-8")
    return str(path)


@pytest.fixture
def labels_txt(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("".join(f"{name}\n" for name in sorted(TEXTS)),
                    encoding="utf-8")
    return str(path)


@pytest.fixture
def all_texts():
    return [text for texts in TEXTS.values() for text in texts]


@pytest.fixture
def keras_teacher_path(tmp_path, all_texts):
    from topk_distill import models

    model = models.make_teacher(all_texts, num_classes=len(TEXTS),
                                hidden_units=8)
    path = str(tmp_path / "teacher.keras")
    model.save(path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _two_logical_cpus():
    """Splits the CPU in two logical devices (for the MirroredStrategy test);
    must run before TensorFlow initialises its devices."""
    import tensorflow as tf

    cpu, = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


_two_logical_cpus()


def write_record_set(prefix, texts, labels, ids, scores, num_classes,
                     scores_kind="logits", score_dtype="float32",
                     compression="none", num_shards=1, tail_mass=None,
                     tail_temperature=None, labels_sha256=None):
    """Writes a record set from Python lists, as `preprocess` would.

    `ids=None` writes a dense set (scores of all N classes in class order).
    Returns the set's shard glob.
    """
    import numpy as np
    import tensorflow as tf

    from topk_distill import records

    serialized, _ = records.serialize_batch(
        tf.constant(texts), tf.constant(labels, tf.int64),
        None if ids is None else tf.constant(np.array(ids)),
        tf.constant(np.array(scores, np.float32)), score_dtype,
        None if tail_mass is None else tf.constant(tail_mass, tf.float32))
    with records.ShardWriter(prefix, len(texts), num_shards,
                             compression) as writer:
        for record in serialized.numpy():
            writer.write(record)
    records.write_metadata(prefix, {
        "kind": "labeled" if labels[0] >= 0 else "unlabeled",
        "num_classes": num_classes, "top_k": len(scores[0]),
        "dense": ids is None, "scores": scores_kind,
        "score_dtype": score_dtype, "compression": compression,
        "tail_temperature": tail_temperature, "num_examples": len(texts),
        "shards": [{"file": os.path.basename(writer.path(i)), "examples": n}
                   for i, n in enumerate(writer.counts)],
        "labels_sha256": labels_sha256})
    return prefix + "-*"
