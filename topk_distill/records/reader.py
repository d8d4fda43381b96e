"""Reading a record set as a `tf.data.Dataset` of parsed batches."""

import dataclasses

import tensorflow as tf

from topk_distill.records import codec, file_names, records, shards
from topk_distill.utils import configs


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How `make_dataset` reads a record set.

    Args:
        shuffle: shuffle shard order and records (for training).
        seed: shuffle seed.
        shuffle_buffer: records in the shuffle buffer.
        repeat: repeat forever.
        drop_remainder: drop a last, smaller batch.
        verify: read every shard once first (`shards.verify_shards`), so
            that a corrupt or truncated shard is named here rather than
            failing deep inside tf.data.
        skip_corrupt: with `verify`, read past corrupt or truncated shards
            (a shard's records after its first bad one are lost), logging
            how many records are skipped, instead of raising.
    """

    shuffle: bool = False
    seed: int = None
    shuffle_buffer: int = 10_000
    repeat: bool = False
    drop_remainder: bool = False
    verify: bool = True
    skip_corrupt: bool = False


def make_dataset(record_set, batch_size, options=None, num_classes=None,
                 top_k=None, **keywords):
    """Reads a top-K record set as a `tf.data.Dataset` of batches.

    Built the tf.data-guide way: shard list -> interleave(TFRecordDataset)
    -> shuffle -> batch -> parse_example on the whole batch -> prefetch.
    Unshuffled, records come in the order `preprocess` wrote them. The
    shards read are those the metadata lists (`RecordSet.files`).

    Args:
        record_set: a `RecordSet`, or the prefix or shard glob of one,
            e.g. `"out/train-*"`.
        batch_size: examples per batch.
        options: a `ReadOptions` (shuffle, seed, repeat, verify...).
        num_classes: if given, must equal the metadata's N.
        top_k: if given, must equal the metadata's K (or H).
        **keywords: instead of `options`, its fields (`shuffle=True`...).

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
    options = configs.config_from(ReadOptions, options, keywords)
    configs.refuse_others(keywords)
    record_set = records.resolve(record_set)
    check_expected(record_set, num_classes, top_k)
    files = record_set.files()
    if options.verify:
        shards.check_shards(record_set, options.skip_corrupt)
    compression = file_names.tf_compression(record_set.compression)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if options.shuffle:
        ds = ds.shuffle(len(files), seed=options.seed)

    # Unshuffled, the shards are read one after the other: records come in
    # the order they were written.
    def read(path):
        dataset = tf.data.TFRecordDataset(path, compression_type=compression)
        return dataset.ignore_errors() if options.skip_corrupt else dataset

    cycle = min(len(files), 8) if options.shuffle else 1
    ds = ds.interleave(read, cycle_length=cycle,
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=not options.shuffle)
    if options.shuffle:
        ds = ds.shuffle(options.shuffle_buffer, seed=options.seed)
    if options.repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=options.drop_remainder)
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
