"""The record set: its files, its metadata schema, and the one place both live.

A record set is `PREFIX-00000-of-00008.tfrecord[.gz]` shards plus
`PREFIX.meta.json`. Each record is a `tf.train.Example` (see `codec`) with

* its input, as the set's `input_kind` says (see `input_kinds`): `text`,
  bytes, the raw text (the default); `image`, bytes, an encoded image;
  or `features`, float[D];
* `label`: int64, the true class id, or -1 when unlabeled; in a
  multi-label set (`multi_label`, format version 3) `labels` instead:
  int64[0..L], the example's true class ids (none when unlabeled), and
  the teacher's scores are per-class sigmoid logits or probabilities;
* the teacher's targets, as `score_dtype` says:
  * `"float16"`/`"float32"` (format version 1's features): `topk_ids`,
    int64[K], the stored class ids (best first for top-K; -1 pads a record
    with fewer), absent in dense sets (K = N, ids 0..N-1); `topk_scores`,
    their scores, float32[K] or K little-endian float16 in one bytes value;
  * `"q8"`: `t`, one bytes value holding the ids (Elias-Fano) and their
    log-space values (8 bits each): see `packing`;
* `tail_mass`: float, only in sets written with a `tail_temperature` T: the
  teacher's softmax(z/T) mass outside its top-K (for the "bucket" tail).

What the stored classes are is the set's `targets`: the teacher's `"topk"`
(its K best scores, as the method keeps them), `"sampled"` (S
draws from softmax(z/T): the distinct classes drawn, each with its share
of the draws, an unbiased estimate of the teacher's distribution) or
`"mixed"` (its k best with their probabilities at T, plus S draws from the
rest weighted by the rest's mass). Sampled and mixed targets are stored as
probabilities, already at their temperature.

`RecordSet` is the metadata, as `tfds.core.DatasetInfo` is a dataset's: every
writer (`preprocess`, the Beam pipeline, the tests) builds it and every
reader takes it. Read it once per run (`RecordSet.read`) and pass it down.

Nothing here imports TensorFlow at import time, so flag definitions and
`--help` can use the allowed values; files are read and written through
`tf.io.gfile` (local paths and `gs://`), imported on first use.
"""

import dataclasses
import functools
import numbers

from topk_distill.inputs import input_kinds
from topk_distill.inputs.label_space import LabelSpace
from topk_distill.models import choices
from topk_distill.records import file_names, label_rules, set_files
from topk_distill.records.errors import RecordFormatError
from topk_distill.utils import json_files

FORMAT_VERSION = 2
# Multi-label sets: a reader of versions 1-2 would take their first label
# for the only one, so they carry a version of their own.
MULTI_LABEL_VERSION = label_rules.MULTI_LABEL_VERSION
READABLE_VERSIONS = (1, 2, 3)
KINDS = ("labeled", "unlabeled")
TARGETS = ("topk", "sampled", "mixed")
SCORE_KINDS = choices.SCORE_KINDS
SCORE_DTYPES = ("float16", "float32", "q8")
COMPRESSIONS = ("none", "gzip")


# The fields the metadata file keeps under another name (its format's).
_STORED_AS = {"width": "top_k"}




CHOICES = {"kind": KINDS, "scores": SCORE_KINDS, "targets": TARGETS,
           "score_dtype": SCORE_DTYPES, "compression": COMPRESSIONS}


def check_choices(where="", **settings):
    """Refuses a setting outside its choices (`CHOICES`), naming it.

    Examples:
        >>> check_choices(targets="topk", compression="zip")
        Traceback (most recent call last):
        ...
        topk_distill.records.errors.RecordFormatError: compression='zip'; expected one of ('none', 'gzip')
    """
    for name, value in settings.items():
        if value not in CHOICES[name]:
            raise RecordFormatError(f"{where}{name}={value!r}; expected one "
                                    f"of {CHOICES[name]}")


@dataclasses.dataclass(frozen=True)
class Shard:
    """One shard of a record set: its file name and how many records it holds."""

    file: str
    examples: int


@dataclasses.dataclass(frozen=True)
class RecordSet:
    """The metadata of a record set: what every reader must agree with.

    Args:
        kind: `"labeled"` (top-K, true labels) or `"unlabeled"` (top-H,
            label -1).
        num_classes: N.
        width: the most (class id, score) pairs a record stores: K (or H)
            for top-K, S for sampled, k + S for mixed; N when `dense`
            (stored as `top_k` in the metadata file, its name since format
            1).
        dense: all N scores stored, in class order, without ids.
        scores: `"logits"` or `"probabilities"`.
        score_dtype: `"float16"`, `"float32"` or `"q8"` (packed).
        targets: `"topk"`, `"sampled"` or `"mixed"`.
        samples: S, the draws of sampled and mixed targets.
        exact_top: k, the classes mixed targets keep exactly.
        sampling_temperature: T of sampled and mixed targets.
        seed: their sampling seed.
        compression: `"none"` or `"gzip"`.
        tail_temperature: T of the stored `tail_mass`, or `None`.
        num_examples: records in the set.
        num_shards: shard files.
        shards: each shard's file name (relative to the metadata's folder)
            and record count; the truth about which files belong to the set.
        labels: the N class names, in id order (`None` in sets written
            before the names were stored).
        labels_sha256: SHA-256 of the labels file
            (`labels_file.labels_sha256`).
        skipped_unknown_labels: input examples left out for an unknown label.
        teacher: what wrote the scores (kind, path, SHA-256).
        input: the input the examples came from.
        input_kind: what each record's input is: `"text"` (default),
            `"image"` or `"features"` (see `input_kinds`).
        feature_dim: D, the length of `"features"` inputs.
        multi_label: each record holds one or more true labels
            (`labels`) and per-class sigmoid scores; written only when
            true (single-label metadata stays as format 2 wrote it).
        max_labels: L, the most labels a multi-label record holds (0 in
            an unlabeled set).
        command: the command line that wrote the set.
        created: when (ISO 8601, UTC).
        format_version: the record format's version.
        prefix: the set's prefix, once read or written (not stored).
        pattern: the glob it was read through, if any (not stored).

    Examples:
        >>> spec = RecordSet(kind="labeled", num_classes=3000, width=20,
        ...                  num_shards=8)
        >>> spec.shard_path(3, prefix="out/train")
        'out/train-00003-of-00008.tfrecord'
        >>> RecordSet.from_json(spec.to_json()) == spec
        True
    """

    kind: str
    num_classes: int
    width: int
    dense: bool = False
    scores: str = "logits"
    score_dtype: str = "float16"
    targets: str = "topk"
    samples: int = None
    exact_top: int = None
    sampling_temperature: float = None
    seed: int = None
    compression: str = "none"
    tail_temperature: float = None
    num_examples: int = 0
    num_shards: int = 1
    shards: tuple = ()
    labels: tuple = None
    labels_sha256: str = None
    skipped_unknown_labels: int = 0
    teacher: dict = None
    input: str = None
    input_kind: str = "text"
    feature_dim: int = None
    multi_label: bool = False
    max_labels: int = None
    command: tuple = None
    created: str = None
    format_version: int = FORMAT_VERSION
    prefix: str = dataclasses.field(default=None, compare=False)
    pattern: str = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        check_choices(self._where(), **{name: getattr(self, name)
                                        for name in CHOICES})
        counts = [(name, getattr(self, name), least) for name, least in (
            ("num_classes", 1), ("width", 1), ("num_examples", 0),
            ("num_shards", 1))] + [(f"shards[{i}].examples", shard.examples,
                                    0) for i, shard in enumerate(self.shards)]
        for name, value, least in counts:
            if isinstance(value, bool) or not isinstance(
                    value, numbers.Integral) or value < least:
                raise RecordFormatError(f"{self._where()}{name}={value!r}; "
                                        f"expected an integer >= {least}")
        try:
            input_kinds.check(self.input_kind, self.feature_dim)
        except ValueError as e:
            raise RecordFormatError(f"{self._where()}{e}") from None
        rules = self.rules
        problem = rules.problem(self)
        if problem:
            raise RecordFormatError(f"{self._where()}{problem}")
        object.__setattr__(self, "format_version",
                           rules.format_version(self.format_version))

    @property
    def label_width(self):
        """L, the columns of a multi-label set's parsed `labels`: its
        `max_labels`, at least 1 (an unlabeled set's rows are all -1);
        `None` for a single-label set."""
        return self.rules.width(self)

    @functools.cached_property
    def label_space(self):
        """What the set's labels are: a `LabelSpace` of its N classes (made
        once: `verify_shards` asks it of every record)."""
        return LabelSpace.of(self.num_classes, self.multi_label)

    @property
    def rules(self):
        """What the set's metadata and records hold for its kind of label
        (`label_rules`)."""
        return label_rules.RULES[self.label_space.kind]

    @property
    def label_kind(self):
        """`"multi-label"` or `"single-label"`, for messages."""
        return self.label_space.name

    @property
    def name(self):
        """How messages name the set: the glob it was read through, else
        its prefix."""
        return self.pattern or self.prefix

    def _where(self):
        if not self.prefix:
            return ""
        return f"{file_names.metadata_path(self.prefix)}: "

    def shard_path(self, index, prefix=None):
        """Returns the path of shard `index`: `PREFIX-00003-of-00008...`."""
        return file_names.shard_path(
            prefix or self.prefix, index, self.num_shards, self.compression)

    def to_json(self):
        """The metadata as a JSON-ready dict (what `PREFIX.meta.json` holds)."""
        # Shallow (dataclasses.asdict deep-copies N class names: 0.25 s
        # at N=100,000).
        value = {_STORED_AS.get(f.name, f.name): getattr(self, f.name)
                 for f in dataclasses.fields(self)
                 if f.name not in ("prefix", "pattern")}
        value["shards"] = [dataclasses.asdict(s) for s in self.shards]
        self.rules.trim(value)
        if value["teacher"] is not None:
            value["teacher"] = dict(value["teacher"])
        for name in ("labels", "command"):
            if value[name] is not None:
                value[name] = list(value[name])
        return value

    @classmethod
    def from_json(cls, value, prefix=None, pattern=None):
        """Builds a `RecordSet` from a metadata dict (unknown keys ignored)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"prefix",
                                                             "pattern"}
        named = {stored: name for name, stored in _STORED_AS.items()}
        fields = {named.get(k, k): v for k, v in value.items()
                  if named.get(k, k) in known}
        fields["shards"] = tuple(Shard(s["file"], s["examples"])
                                 for s in fields.get("shards", ()))
        for name in ("labels", "command"):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        try:
            return cls(prefix=prefix, pattern=pattern, **fields)
        except TypeError as e:  # A required field is missing.
            where = file_names.metadata_path(prefix) if prefix else "metadata"
            raise RecordFormatError(f"{where}: {e}") from None

    @classmethod
    def read(cls, path):
        """Reads the metadata of the record set a prefix, shard or glob names.

        Args:
            path: `PREFIX`, `PREFIX.meta.json`, a shard or a glob of shards.

        Returns:
            A `RecordSet` with its `prefix` (and `pattern`, for a glob).

        Raises:
            RecordFormatError: the metadata is missing, of another format
                version, or the glob matches files of several sets.
            FileNotFoundError: nothing matches `path`.
        """
        from tensorflow.io import gfile

        if path.endswith(".meta.json"):
            path = path[:-len(".meta.json")]
        prefix = set_files.prefix_of(path)
        meta_file = file_names.metadata_path(prefix)
        if not gfile.exists(meta_file):
            raise RecordFormatError(
                f"{meta_file}: metadata file not found; every record set "
                "needs the one `preprocess` writes (an interrupted run: "
                "`preprocess --resume` with the same flags)")
        try:
            value = json_files.read_json(meta_file)
        except ValueError as e:
            raise RecordFormatError(str(e)) from None
        if not isinstance(value, dict):
            raise RecordFormatError(f"{meta_file}: expected a JSON object")
        if value.get("format_version") not in READABLE_VERSIONS:
            raise RecordFormatError(
                f"{meta_file}: format_version {value.get('format_version')}; "
                f"this reader reads versions {READABLE_VERSIONS}")
        return cls.from_json(value, prefix,
                             path if file_names.is_glob(path) else None)

    def write(self, prefix):
        """Writes `PREFIX.meta.json` atomically; returns the set read from it."""
        json_files.write_json(file_names.metadata_path(prefix), self.to_json())
        return dataclasses.replace(self, prefix=prefix, pattern=None)

    def files(self):
        """The shard files to read, as the metadata lists them
        (`set_files.listed_files`).

        Raises:
            RecordFormatError: naming the file that is extra or missing.
        """
        return set_files.listed_files(self)


def check_label_kind(record_set, label_space, holder):
    """Refuses a set whose examples have one label where `holder` (e.g.
    "the teacher") has several, or the reverse, naming both.

    Raises:
        RecordFormatError: one line naming the set, `holder` and both
            kinds.

    Examples:
        >>> spec = RecordSet(kind="labeled", num_classes=3, width=2, prefix="r")
        >>> from topk_distill.inputs.label_space import MultiLabel
        >>> check_label_kind(spec, MultiLabel(3), "the loss")
        Traceback (most recent call last):
        ...
        topk_distill.records.errors.RecordFormatError: r: single-label records; the loss is multi-label
    """
    if record_set.label_space.kind != label_space.kind:
        raise RecordFormatError(
            f"{record_set.name}: {record_set.label_kind} records; {holder} "
            f"is {label_space.name}")


def resolve(records):
    """Returns `records` if it is a `RecordSet`, else `RecordSet.read(records)`."""
    return records if isinstance(records, RecordSet) else RecordSet.read(
        records)


def read_metadata(path):
    """Reads a record set's metadata as a plain dict (see `RecordSet.read`).

    Examples:

        ```python
        read_metadata("records/train-*")["num_classes"]  # e.g. 4123
        ```
    """
    return RecordSet.read(path).to_json()
