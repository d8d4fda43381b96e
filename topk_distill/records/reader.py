"""Reading a record set as a `tf.data.Dataset` of parsed batches."""

import tensorflow as tf

from topk_distill.records import codec, file_names, records, shards


def make_dataset(record_set, batch_size, shuffle=False, seed=None,
                 shuffle_buffer=10_000, repeat=False, drop_remainder=False,
                 num_classes=None, top_k=None, verify=True,
                 skip_corrupt=False):
    """Reads a top-K record set as a `tf.data.Dataset` of batches.

    Built the tf.data-guide way: shard list -> interleave(TFRecordDataset)
    -> shuffle -> batch -> parse_example on the whole batch -> prefetch.
    Unshuffled, records come in the order `preprocess` wrote them. The
    shards read are those the metadata lists (`RecordSet.files`).

    Args:
        record_set: a `RecordSet`, or the prefix or shard glob of one,
            e.g. `"out/train-*"`.
        batch_size: examples per batch.
        shuffle: shuffle shard order and records (for training).
        seed: shuffle seed.
        shuffle_buffer: records in the shuffle buffer.
        repeat: repeat forever.
        drop_remainder: drop a last, smaller batch.
        num_classes: if given, must equal the metadata's N.
        top_k: if given, must equal the metadata's K (or H).
        verify: read every shard once first (`shards.verify_shards`), so
            that a corrupt or truncated shard is named here rather than
            failing deep inside tf.data.
        skip_corrupt: with `verify`, read past corrupt or truncated shards
            (a shard's records after its first bad one are lost), logging
            how many records are skipped, instead of raising.

    Returns:
        A dataset of dicts `{text, label, topk_ids, topk_scores}` (see
        `codec.parse_batch`).

    Raises:
        RecordFormatError: a metadata mismatch or (with `verify`) a bad shard.

    Examples:

        ```python
        ds = make_dataset("out/train-*", batch_size=64, shuffle=True)
        batch = next(iter(ds))
        batch["topk_ids"].shape  # TensorShape([64, 20])
        ```
    """
    record_set = records.resolve(record_set)
    check_expected(record_set, num_classes, top_k)
    files = record_set.files()
    if verify:
        shards.check_shards(record_set, skip_corrupt)
    compression = file_names.tf_compression(record_set.compression)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)

    # Unshuffled, the shards are read one after the other: records come in
    # the order they were written.
    def read(path):
        dataset = tf.data.TFRecordDataset(path, compression_type=compression)
        return dataset.ignore_errors() if skip_corrupt else dataset

    ds = ds.interleave(read, cycle_length=min(len(files), 8) if shuffle else 1,
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=not shuffle)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda s: codec.parse_batch(s, record_set),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def check_expected(record_set, num_classes=None, top_k=None):
    """Refuses a set whose N or K differs from what the caller expects.

    Raises:
        RecordFormatError: naming the set and both values.
    """
    for name, expected, actual in (("N (num_classes)", num_classes,
                                    record_set.num_classes),
                                   ("K (top_k)", top_k, record_set.width)):
        if expected is not None and expected != actual:
            raise records.RecordFormatError(
                f"{record_set.name}: records hold "
                f"{name}={actual}; expected {expected}")


def label_counts(record_set, num_classes=None, batch_size=4096):
    """How often each class is a label in a record set: its true labels
    (every one of a multi-label record's), or in an unlabeled set its
    pseudo labels (each record's first stored id, the teacher's top-1).

    Returns:
        int64 numpy array [N].
    """
    import numpy as np

    record_set = records.resolve(record_set)
    num_classes = num_classes or record_set.num_classes
    counts = np.zeros(num_classes, np.int64)
    for batch in make_dataset(record_set, batch_size, verify=False):
        if record_set.kind == "unlabeled":
            labels = batch["topk_ids"].numpy()[:, 0]
        else:
            labels = batch[record_set.label_space.batch_key].numpy(
            ).reshape(-1)
        counts += np.bincount(labels[labels >= 0], minlength=num_classes)
    return counts


def texts(record_sets, batch_size=1024):
    """The texts of one or more record sets, as a dataset of string batches
    (for fitting a student's vocabulary); shards are not verified again."""
    datasets = [make_dataset(r, batch_size, verify=False).map(
        lambda b: b["text"]) for r in record_sets]
    out = datasets[0]
    for more in datasets[1:]:
        out = out.concatenate(more)
    return out
