"""The top-K record format: schema, shard writer, metadata and tf.data reader.

A record set is `PREFIX-00000-of-00008.tfrecord[.gz]` shards plus
`PREFIX.meta.json`. Each record is a `tf.train.Example` with

* `text`: bytes, the raw input text;
* `label`: int64, the true class id, or -1 when unlabeled;
* `topk_ids`: int64[K], the teacher's K best class ids, best first
  (absent in dense sets, where K = N and the ids are 0..N-1);
* `topk_scores`: the matching scores, float32[K] (`score_dtype="float32"`) or
  K little-endian float16 packed into one bytes value (`"float16"`, the
  default: half the size, restored to float32 by the reader);
* `tail_mass`: float, only in sets written with a `tail_temperature` T: the
  teacher's softmax(z/T) mass outside its top-K (for the "bucket" tail).

The metadata records what a reader must agree with: format version, N, K,
score kind (`logits` or `probabilities`), score dtype, compression, example
counts per shard, the labels file hash, the teacher and the command line.
"""

import json
import os
import re

import numpy as np
import tensorflow as tf
from absl import logging
from google.protobuf import message

FORMAT_VERSION = 1
SCORE_DTYPES = ("float16", "float32")
COMPRESSIONS = ("none", "gzip")
_SHARD_RE = re.compile(r"^(?P<prefix>.+)-\d{5}-of-(?P<count>\d{5})"
                       r"\.tfrecord(\.gz)?$")


class RecordFormatError(ValueError):
    """Records or metadata disagree with what the reader was asked for."""


def shard_path(prefix, index, num_shards, compression="none"):
    """Returns the path of shard `index`, e.g. `p-00003-of-00008.tfrecord.gz`."""
    suffix = shard_suffix(compression)
    return f"{prefix}-{index:05d}-of-{num_shards:05d}{suffix}"


def shard_suffix(compression="none"):
    """Returns a shard's file suffix: `.tfrecord` or `.tfrecord.gz`."""
    return ".tfrecord.gz" if compression == "gzip" else ".tfrecord"


def metadata_path(prefix):
    """Returns the metadata path of a record set: `PREFIX.meta.json`."""
    return prefix + ".meta.json"


def _prefix_of(path):
    """Returns the prefix of a record set named by a prefix or a shard glob."""
    if tf.io.gfile.exists(metadata_path(path)):
        return path
    files = tf.io.gfile.glob(path)
    if not files:
        raise FileNotFoundError(f"{path}: no record shard matches")
    matches = [_SHARD_RE.match(f) for f in files]
    prefixes = {m["prefix"] if m else f for m, f in zip(matches, files)}
    if len(prefixes) != 1 or not all(matches):
        raise RecordFormatError(
            f"{path}: expected the shards of one record set "
            f"(PREFIX-NNNNN-of-NNNNN.tfrecord[.gz]); it matches {sorted(prefixes)}")
    return prefixes.pop()


def serialize_batch(text, label, ids, scores, score_dtype="float16",
                    tail_mass=None):
    """Serializes a batch of records, in the graph (runs inside tf.data).

    Args:
        text: string tensor [B].
        label: int64 tensor [B]: true class ids, -1 when unlabeled.
        ids: int tensor [B, K] of class ids, best first, or `None` for dense
            records (scores of all N classes in class order).
        scores: float tensor [B, K] (or [B, N] when dense).
        score_dtype: `"float16"` (clipped to float16's range, packed
            little-endian into one bytes value) or `"float32"`.
        tail_mass: optional float [B]: the teacher's probability mass outside
            its top-K at the set's `tail_temperature`.

    Returns:
        `(records, teacher_bytes)`: string [B] serialized `tf.train.Example`s
        and int32 [B], the bytes each record spends on the teacher's output
        (its `topk_ids`, `topk_scores` and `tail_mass` entries).

    Example:
    >>> records, _ = serialize_batch(tf.constant(["a text"]),
    ...                              tf.constant([7], tf.int64),
    ...                              tf.constant([[7, 2]]),
    ...                              tf.constant([[3.5, 1.0]]))
    >>> tf.train.Example.FromString(records[0].numpy())
    """
    teacher = []
    if ids is not None:
        teacher.append(_entry("topk_ids", _feature(
            "int64_list", "Int64List", tf.cast(ids, tf.int64))))
    if score_dtype == "float16":
        teacher.append(_entry("topk_scores", _feature(
            "bytes_list", "BytesList", _packed_float16(scores)[:, None])))
    else:
        teacher.append(_entry("topk_scores", _feature(
            "float_list", "FloatList", tf.cast(scores, tf.float32))))
    if tail_mass is not None:
        teacher.append(_entry("tail_mass", _feature(
            "float_list", "FloatList", tf.cast(tail_mass, tf.float32)[:, None])))
    entries = [_entry("text", _feature("bytes_list", "BytesList",
                                       text[:, None])),
               _entry("label", _feature("int64_list", "Int64List",
                                        tf.cast(label, tf.int64)[:, None]))]
    features = _message("tensorflow.Features",
                        feature=tf.stack(entries + teacher, axis=1))
    example = _message("tensorflow.Example", features=features[:, None])
    return example, tf.add_n([_field_size(entry) for entry in teacher])


def _message(message_type, **fields):
    """Encodes one protobuf message per row; each field is a [B, n] tensor."""
    names = sorted(fields)
    values = [fields[name] for name in names]
    rows = tf.shape(values[0])[0]
    sizes = tf.stack([tf.fill([rows], tf.shape(v)[1]) for v in values], 1)
    return tf.io.encode_proto(sizes, values, names, message_type)


def _feature(kind, list_type, values):
    inner = _message(f"tensorflow.{list_type}", value=values)
    return _message("tensorflow.Feature", **{kind: inner[:, None]})


def _entry(key, feature):
    keys = tf.fill([tf.shape(feature)[0], 1], key)
    return _message("tensorflow.Features.FeatureEntry", key=keys,
                    value=feature[:, None])


def _field_size(message):
    """Bytes a length-delimited field holding `message` takes: tag + varint
    length + the message itself."""
    length = tf.strings.length(message)
    varint = 1 + sum(tf.cast(length >= 1 << (7 * i), tf.int32)
                     for i in range(1, 4))
    return 1 + varint + length


_BYTES = [bytes([i]) for i in range(256)]


def _packed_float16(scores):
    limit = np.finfo(np.float16).max
    half = tf.cast(tf.clip_by_value(tf.cast(scores, tf.float32), -limit,
                                    limit), tf.float16)
    octets = tf.reshape(tf.bitcast(half, tf.uint8), [tf.shape(half)[0], -1])
    return tf.strings.reduce_join(tf.gather(_BYTES, tf.cast(octets, tf.int32)),
                                  axis=1)


class ShardWriter:
    """Writes records into contiguous shards, each made whole before it is named.

    Shard `s` of `S` receives examples `[s*n//S, (s+1)*n//S)`. A shard is
    written under `NAME.tmp` and renamed when its last record is in, so a
    shard file with its final name is always complete.

    Args:
        prefix: output prefix; shards are `PREFIX-NNNNN-of-NNNNN.tfrecord`.
        num_examples: how many records will be written.
        num_shards: how many shards to spread them over.
        compression: `"none"` or `"gzip"`.
        first_shard: start at this shard (the ones before are complete),
            with the first record of its range.

    Example:
    >>> with ShardWriter("out/train", num_examples=10, num_shards=2) as w:
    ...     for record in records:
    ...         w.write(record)
    >>> w.counts
    [5, 5]
    """

    def __init__(self, prefix, num_examples, num_shards, compression="none",
                 first_shard=0):
        self.prefix = prefix
        self.first_shard = first_shard
        self.num_shards = num_shards
        self.compression = compression
        self.bounds = [s * num_examples // num_shards
                       for s in range(num_shards + 1)]
        self.counts = [b - a for a, b in zip(self.bounds, self.bounds[1:])]
        self._index = first_shard - 1
        self._writer = None
        self._written = self.bounds[first_shard]

    def path(self, index):
        """Returns the final path of shard `index`."""
        return shard_path(self.prefix, index, self.num_shards, self.compression)

    def __enter__(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.prefix)),
                    exist_ok=True)
        self._next_shard()
        return self

    def write(self, record):
        """Appends one serialized record, moving to the next shard when full."""
        while self._written == self.bounds[self._index + 1]:
            if self._index + 1 == self.num_shards:
                raise ValueError(f"{self.prefix}: more records than the "
                                 f"{self.bounds[-1]} announced")
            self._next_shard()
        self._writer.write(record)
        self._written += 1

    def _next_shard(self):
        """Closes and names the current shard, then opens the next one."""
        if self._writer is not None:
            self._writer.close()
            os.replace(self.path(self._index) + ".tmp", self.path(self._index))
        self._index += 1
        self._writer = None
        if self._index < self.num_shards:
            options = "GZIP" if self.compression == "gzip" else ""
            self._writer = tf.io.TFRecordWriter(
                self.path(self._index) + ".tmp", options)

    def __exit__(self, exc_type, *unused):
        if exc_type is None and self._written == self.bounds[-1]:
            while self._index < self.num_shards:
                self._next_shard()
            return
        if self._writer is not None:
            self._writer.close()  # The unfinished shard keeps its .tmp name.
        if exc_type is None:
            raise ValueError(f"{self.prefix}: {self._written} records written,"
                             f" {self.bounds[-1]} announced")


def write_json(path, value):
    """Writes a JSON file atomically (temporary file, then rename); local
    paths or any file system TensorFlow reads (`gs://`...)."""
    with tf.io.gfile.GFile(path + ".tmp", "w") as f:
        json.dump(value, f, indent=2)
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)


def write_metadata(prefix, metadata):
    """Writes `PREFIX.meta.json` atomically, with the format version."""
    write_json(metadata_path(prefix),
               dict(metadata, format_version=FORMAT_VERSION))


def read_metadata(path):
    """Reads the metadata of the record set that a shard, glob or prefix names.

    Returns:
        The metadata dict.

    Raises:
        RecordFormatError: when the file is missing or of another format
            version.
    """
    meta_file = path if path.endswith(".meta.json") else metadata_path(
        _prefix_of(path))
    if not tf.io.gfile.exists(meta_file):
        raise RecordFormatError(f"{meta_file}: metadata file not found; every "
                                "record set needs the one `preprocess` writes")
    with tf.io.gfile.GFile(meta_file) as f:
        metadata = json.load(f)
    if metadata.get("format_version") != FORMAT_VERSION:
        raise RecordFormatError(
            f"{meta_file}: format_version {metadata.get('format_version')}; "
            f"this reader reads version {FORMAT_VERSION}")
    return metadata


def parse_batch(serialized, metadata):
    """Parses a batch of serialized records into a dict of dense tensors.

    Args:
        serialized: string tensor [B].
        metadata: the record set's metadata dict.

    Returns:
        `{"text": string[B], "label": int64[B], "topk_ids": int64[B, K],
        "topk_scores": float32[B, K]}`, plus `"tail_mass": float32[B]` when
        the set was written with a tail temperature.
    """
    k, dense = metadata["top_k"], metadata["dense"]
    float16 = metadata["score_dtype"] == "float16"
    spec = {
        "text": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "topk_scores": (tf.io.FixedLenFeature([], tf.string) if float16 else
                        tf.io.FixedLenFeature([k], tf.float32)),
    }
    if not dense:
        spec["topk_ids"] = tf.io.FixedLenFeature([k], tf.int64)
    if metadata.get("tail_temperature"):
        spec["tail_mass"] = tf.io.FixedLenFeature([], tf.float32)
    batch = tf.io.parse_example(serialized, spec)
    if not dense:
        _assert_distinct_ids(batch)
    if float16:
        bits = tf.io.decode_raw(batch["topk_scores"], tf.uint16,
                                fixed_length=2 * k)
        batch["topk_scores"] = tf.cast(tf.bitcast(bits, tf.float16),
                                       tf.float32)
    if dense:
        batch["topk_ids"] = tf.broadcast_to(
            tf.range(k, dtype=tf.int64), tf.shape(batch["topk_scores"]))
    return batch


def verify_shards(file_pattern, metadata=None):
    """Reads every shard once; names any that is corrupt, truncated or short.

    Every record is also checked to be a well-formed `tf.train.Example`
    (`check_record`); one that is not raises at once, even with
    `skip_corrupt`, since TensorFlow cannot safely skip it.

    Args:
        file_pattern: glob of the shards of one record set.
        metadata: its metadata (read if not given).

    Returns:
        `{shard path: (readable records, records the metadata announces)}`.

    Raises:
        FileNotFoundError: when no shard matches.
        RecordFormatError: naming a record that is not a tf.train.Example.
    """
    metadata = metadata or read_metadata(file_pattern)
    expected = {entry["file"]: entry["examples"]
                for entry in metadata.get("shards", [])}
    compression = "GZIP" if metadata["compression"] == "gzip" else ""
    files = sorted(tf.io.gfile.glob(file_pattern))
    if not files:
        raise FileNotFoundError(f"{file_pattern}: no shard matches")
    counts = {}
    for path in files:
        readable = 0
        try:
            for record in tf.data.TFRecordDataset(path, compression):
                check_record(record.numpy(), f"{path}: record {readable}")
                readable += 1
        except tf.errors.DataLossError:
            pass
        counts[path] = (readable, expected.get(os.path.basename(path),
                                               readable))
    return counts


def check_record(record, where="record"):
    """Refuses bytes that are not a well-formed `tf.train.Example`.

    Python's protobuf parser checks them safely; TensorFlow's C++
    `parse_example` can crash the process on some malformed messages (a
    fuzzer found one), so the reader checks every record before TensorFlow
    parses it.

    Raises:
        RecordFormatError: naming `where`.
    """
    try:
        tf.train.Example.FromString(record)
    except message.DecodeError:
        raise RecordFormatError(f"{where}: not a valid tf.train.Example "
                                "(corrupt record)") from None


def _check_shards(file_pattern, metadata, skip_corrupt):
    bad = {path: counts for path, counts in
           verify_shards(file_pattern, metadata).items()
           if counts[0] != counts[1]}
    if not bad:
        return
    detail = "; ".join(f"{path}: {readable} of {expected} records readable"
                       for path, (readable, expected) in bad.items())
    if not skip_corrupt:
        raise RecordFormatError(
            f"corrupt or truncated shards: {detail}. Re-create them (delete "
            "them and run preprocess again with --resume) or read with "
            "skip_corrupt=True")
    skipped = sum(expected - readable for readable, expected in bad.values())
    logging.warning("skipping %d unreadable records: %s", skipped, detail)


def _assert_distinct_ids(batch):
    """Refuses a record whose topk_ids repeat a class (no top-K does)."""
    ids = tf.sort(batch["topk_ids"], axis=1)
    repeated = tf.reduce_any(ids[:, 1:] == ids[:, :-1], axis=1)
    tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(repeated)),
        ["a record has duplicate topk_ids; expected K distinct class ids. "
         "Its text:", tf.boolean_mask(batch["text"], repeated)[:1]])


def make_dataset(file_pattern, batch_size, shuffle=False, seed=None,
                 shuffle_buffer=10_000, repeat=False, drop_remainder=False,
                 num_classes=None, top_k=None, verify=True,
                 skip_corrupt=False):
    """Reads a top-K record set as a `tf.data.Dataset` of batches.

    Built the tf.data-guide way: shard list -> interleave(TFRecordDataset)
    -> shuffle -> batch -> parse_example on the whole batch -> prefetch.
    Unshuffled, records come in the order `preprocess` wrote them.

    Args:
        file_pattern: glob of the shards of one record set, e.g.
            `"out/train-*.tfrecord.gz"`.
        batch_size: examples per batch.
        shuffle: shuffle shard order and records (for training).
        seed: shuffle seed.
        shuffle_buffer: records in the shuffle buffer.
        repeat: repeat forever.
        drop_remainder: drop a last, smaller batch.
        num_classes: if given, must equal the metadata's N.
        top_k: if given, must equal the metadata's K (or H).
        verify: read every shard once first (`verify_shards`), so that a
            corrupt or truncated shard is named here rather than failing
            deep inside tf.data.
        skip_corrupt: with `verify`, read past corrupt or truncated shards
            (a shard's records after its first bad one are lost), logging
            how many records are skipped, instead of raising.

    Raises:
        RecordFormatError: a metadata mismatch or (with `verify`) a bad shard.

    Returns:
        A dataset of dicts `{text, label, topk_ids, topk_scores}` (see
        `parse_batch`). `read_metadata(file_pattern)` gives the metadata.

    Example:
    >>> ds = make_dataset("out/train-*.tfrecord", batch_size=64, shuffle=True)
    >>> batch = next(iter(ds))
    >>> batch["topk_ids"].shape
    TensorShape([64, 20])
    """
    metadata = read_metadata(file_pattern)
    _check_expected(file_pattern, metadata, num_classes, top_k)
    files = tf.io.gfile.glob(file_pattern)
    if not files:
        raise FileNotFoundError(f"{file_pattern}: no shard matches")
    if verify:
        _check_shards(file_pattern, metadata, skip_corrupt)
    compression = "GZIP" if metadata["compression"] == "gzip" else ""
    ds = tf.data.Dataset.from_tensor_slices(sorted(files))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    # Unshuffled, the shards are read one after the other: records come in
    # the order they were written.
    def read(path):
        records = tf.data.TFRecordDataset(path, compression_type=compression)
        return records.ignore_errors() if skip_corrupt else records

    ds = ds.interleave(read, cycle_length=min(len(files), 8) if shuffle else 1,
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=not shuffle)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda s: parse_batch(s, metadata),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_expected(file_pattern, metadata, num_classes, top_k):
    for name, expected, actual in (("N (num_classes)", num_classes,
                                    metadata["num_classes"]),
                                   ("K (top_k)", top_k, metadata["top_k"])):
        if expected is not None and expected != actual:
            raise RecordFormatError(f"{file_pattern}: records hold {name}="
                                    f"{actual}; expected {expected}")


def make_distillation_dataset(labeled_pattern=None, unlabeled_pattern=None,
                              batch_size=128, unlabeled_per_labeled=1.0,
                              shuffle=True, seed=None, num_classes=None,
                              data_service=None):
    """Mixes labeled top-K and unlabeled top-H records into training batches.

    Each batch holds `round(batch_size / (1 + r))` labeled examples and the
    rest unlabeled (label -1), `r = unlabeled_per_labeled`, spread evenly
    over the batch (so each replica's slice of it holds both kinds). An
    epoch is one pass over the labeled set; the unlabeled set repeats as
    needed. With no labeled set, an epoch is one pass over the unlabeled
    set; with `r = 0` or no unlabeled set, batches are labeled only.

    Teacher scores become log-space: stored probabilities p become log p
    (logits up to a per-example constant), so a batch's `topk_logits` mean
    the same for both kinds. K and H may differ: ids are padded with -1 and
    logits with 0 to the wider of the two.

    Args:
        labeled_pattern: glob of the labeled record set (top-K), or `None`.
        unlabeled_pattern: glob of the unlabeled record set (top-H), or
            `None`.
        batch_size: examples per batch, both kinds together.
        unlabeled_per_labeled: r, unlabeled examples per labeled one.
        shuffle: shuffle shards and records.
        seed: shuffle seed.
        num_classes: if given, both sets must have this N.
        data_service: address of a tf.data service dispatcher
            (`"grpc://host:port"`): its workers then read, parse and batch
            the records (each record once per epoch, "distributed_epoch"),
            which takes input work off the trainer. Each `fit` epoch is a
            job of its own, for one trainer; the epoch length is then
            unknown in advance (Keras finds it at the first epoch's end).

    Returns:
        A dataset of dicts `{"text", "label", "topk_ids", "topk_logits"}`
        (plus `"tail_mass"` when the labeled set has it; 0 for unlabeled
        examples), ready for `DistillationStudent.fit`.

    Example:
    >>> ds = make_distillation_dataset("rec/train-*", "rec/unlabeled-*",
    ...                                batch_size=128)
    >>> student.fit(ds, epochs=5)
    """
    if labeled_pattern is None and unlabeled_pattern is None:
        raise ValueError("expected a labeled or an unlabeled record set")
    ratio = unlabeled_per_labeled if unlabeled_pattern else 0.0
    if labeled_pattern is None or ratio <= 0:
        pattern = labeled_pattern or unlabeled_pattern
        return _finish(_distillation_part(pattern, batch_size, shuffle, seed,
                                          num_classes), pattern, batch_size,
                       data_service)
    labeled_size = max(1, round(batch_size / (1 + ratio)))
    labeled = _distillation_part(labeled_pattern, labeled_size, shuffle, seed,
                                 num_classes)
    unlabeled = _distillation_part(unlabeled_pattern,
                                   max(1, batch_size - labeled_size), shuffle,
                                   seed, num_classes, repeat=True)
    width = max(read_metadata(p)["top_k"] for p in (labeled_pattern,
                                                    unlabeled_pattern))
    with_tail = "tail_mass" in labeled.element_spec

    @tf.autograph.experimental.do_not_convert
    def combine(a, b):
        parts = [_padded(a, width, with_tail), _padded(b, width, with_tail)]
        order = _interleaving(tf.shape(a["label"])[0], tf.shape(b["label"])[0])
        return {key: tf.gather(tf.concat([p[key] for p in parts], axis=0),
                               order) for key in parts[0]}

    mixed = tf.data.Dataset.zip(labeled, unlabeled).map(
        combine, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(mixed, labeled_pattern, labeled_size, data_service)


def _finish(dataset, pattern, batch_size, data_service):
    """States the batch count (TFRecord datasets have none) for Keras's
    progress bars and epoch ends, or hands the dataset to a tf.data service
    (which splits the epoch among its workers, so the count is unknown)."""
    if data_service is None:
        steps = -(-read_metadata(pattern)["num_examples"] // batch_size)
        return dataset.apply(tf.data.experimental.assert_cardinality(
            steps)).prefetch(tf.data.AUTOTUNE)
    served = dataset.apply(tf.data.experimental.service.distribute(
        "distributed_epoch", data_service))
    # The service already splits the records among the trainers.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF)
    return served.with_options(options).prefetch(tf.data.AUTOTUNE)


def _distillation_part(pattern, batch_size, shuffle, seed, num_classes,
                       repeat=False):
    metadata = read_metadata(pattern)
    probabilities = metadata["scores"] == "probabilities"

    def to_logits(batch):
        scores = batch.pop("topk_scores")
        if probabilities:
            scores = tf.math.log(tf.maximum(scores, np.finfo(np.float32).tiny))
        return dict(batch, topk_logits=scores)

    dataset = make_dataset(pattern, batch_size, shuffle=shuffle, seed=seed,
                           repeat=repeat, num_classes=num_classes)
    return dataset.map(to_logits)


def _interleaving(first, second):
    """Row order spreading `first` rows among `second` rows evenly, so that
    any contiguous slice of a batch (a replica's share under tf.distribute)
    holds both kinds in the batch's proportion."""
    def places(count):
        return (tf.range(count, dtype=tf.float32) + 0.5) / tf.cast(
            count, tf.float32)

    return tf.argsort(tf.concat([places(first), places(second)], 0),
                      stable=True)


def _padded(batch, width, with_tail):
    pad = width - tf.shape(batch["topk_ids"])[1]
    out = dict(batch,
               topk_ids=tf.pad(batch["topk_ids"], [[0, 0], [0, pad]],
                               constant_values=-1),
               topk_logits=tf.pad(batch["topk_logits"], [[0, 0], [0, pad]]))
    if with_tail and "tail_mass" not in out:
        out["tail_mass"] = tf.zeros_like(out["topk_logits"][:, 0])
    if not with_tail:
        out.pop("tail_mass", None)
    return out
