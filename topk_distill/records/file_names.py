"""A record set's file names: `PREFIX-00000-of-00008.tfrecord[.gz]` shards,
`PREFIX.meta.json`, and a running write's `PREFIX.run.json`."""

import re


SHARD_RE = re.compile(r"^(?P<prefix>.+)-\d{5}-of-(?P<count>\d{5})"
                      r"\.tfrecord(\.gz)?$")


def shard_path(prefix, index, num_shards, compression="none"):
    """Returns the path of shard `index`, e.g. `p-00003-of-00008.tfrecord`."""
    suffix = shard_suffix(compression)
    return f"{prefix}-{index:05d}-of-{num_shards:05d}{suffix}"


def tf_compression(compression="none"):
    """TFRecord's name for a record set's `compression`: `"GZIP"` or `""`.

    Examples:
        >>> tf_compression("gzip"), tf_compression("none")
        ('GZIP', '')
    """
    return "GZIP" if compression == "gzip" else ""


def shard_suffix(compression="none"):
    """Returns a shard's file suffix: `.tfrecord` or `.tfrecord.gz`."""
    return ".tfrecord.gz" if compression == "gzip" else ".tfrecord"


def metadata_path(prefix):
    """Returns the metadata path of a record set: `PREFIX.meta.json`."""
    return prefix + ".meta.json"


def existing_files(prefix):
    """Files of a record set at `prefix`: shards (of any count, finished or
    `.tmp`), metadata and an interrupted run's `PREFIX.run.json`."""
    from tensorflow.io import gfile

    return sorted(gfile.glob(prefix + "-[0-9][0-9][0-9][0-9][0-9]-of-*") +
                  [p for p in (metadata_path(prefix), run_path(prefix))
                   if gfile.exists(p)])


def run_path(prefix):
    """Returns `PREFIX.run.json`: a running `preprocess`'s plan."""
    return prefix + ".run.json"


def is_glob(path):
    return any(c in path for c in "*?[")
