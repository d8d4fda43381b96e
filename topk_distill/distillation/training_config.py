"""The settings of `train`: what it reads, which student it builds, and
how it fits.

All are plain dataclasses, checked when made, and importable without
TensorFlow: `train`'s flags take their checks from `CHECKS` (one place for
each rule), `train_student` takes the objects (or their fields as
keywords: `configs_of`).
"""

import dataclasses
import math

from topk_distill.models import choices
from topk_distill.utils import configs

# setting -> (test, what is expected), for the settings checked one by one.
CHECKS = {
    "learning_rate": (lambda v: v is None or v > 0, "a positive number"),
    "unlabeled_per_labeled": (lambda v: v >= 0,
                              "a number >= 0 (0: labeled examples only)"),
    "plateau_seconds": (lambda v: v is None or v > 0,
                        "a positive number of seconds"),
    "plateau_delta": (lambda v: v >= 0, "a number >= 0"),
    "min_confidence": (lambda v: 0 <= v < 1, "a probability in [0, 1)"),
    "target_accuracy": (lambda v: v is None or 0 < v <= 1,
                        "a number in (0, 1]"),
    "epochs": (lambda v: v is None or v >= 1, "a positive integer"),
    "patience": (lambda v: v >= 1, "a positive integer"),
    "batch_size": (lambda v: v is None or v >= 1, "a positive integer"),
    "student_layers": (lambda v: v >= 1, "a positive integer"),
    "embedding_dim": (lambda v: v >= 1, "a positive integer"),
    "max_tokens": (lambda v: v >= 2, "an integer >= 2"),
    "hidden_units": (lambda v: v >= 0, "0 (none) or more"),
    "sampled_classes": (lambda v: v is None or v >= 0,
                        "0 (the full softmax) or more sampled classes"),
}

# How `train` fits by default (`FitConfig`): the rate and epoch count of
# `choices` (the teacher's reference student trains with them too); with a
# validation input, early stopping. Measured: BENCHMARKS.md, "Defaults that
# train".
LEARNING_RATE = choices.LEARNING_RATE
EPOCHS = choices.EPOCHS  # without a validation input
MAX_EPOCHS = 100  # with one: a cap that early stopping reaches first
PATIENCE = choices.PATIENCE  # epochs without a better val P@1, then stop

# Where a sampled step draws its negatives (`StudentConfig`).
PROPOSALS = ("uniform", "labels")

# `sampled_classes=None`: the sampled softmax, with this many negatives,
# from this many classes on (measured: BENCHMARKS.md, "A million labels":
# 2.4x faster per example at N=20,000, about even at N=4,123).
SAMPLED_CLASSES = 1024
SAMPLED_FROM = 20_000


def sampled_classes_for(config, num_classes, input_kind="text"):
    """The negatives a student of `config` samples for N classes: its own
    choice, or (`None`) `SAMPLED_CLASSES` from `SAMPLED_FROM` classes on;
    0 for the full softmax (always, for image and feature students).
    Multi-label students take the same choice (their sigmoids' negatives
    then drawn).

    Raises:
        ValueError: sampled classes asked of an image or feature student.

    Examples:
        >>> sampled_classes_for(StudentConfig(), 4123)
        0
        >>> sampled_classes_for(StudentConfig(), 100_000)
        1024
        >>> sampled_classes_for(StudentConfig(sampled_classes=64), 4123)
        64
    """
    chosen = config.sampled_classes
    if config.architecture == "encoder":
        if chosen:
            raise ValueError(f"--sampled_classes={chosen} is for the word-"
                             "vector students; the encoder student's head "
                             "is a full linear layer")
        return 0
    if input_kind != "text":
        if chosen:
            raise ValueError(f"--sampled_classes={chosen} is for text "
                             f"students; these records hold {input_kind} "
                             "inputs")
        return 0
    if chosen is None:
        return SAMPLED_CLASSES if num_classes >= SAMPLED_FROM else 0
    return chosen


def _check(config):
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{field.name}={value}; expected a finite "
                             "number")
        test, expected = CHECKS.get(field.name, (None, None))
        if test and not test(value):
            raise ValueError(f"{field.name}={value}; expected {expected}")


@dataclasses.dataclass(frozen=True)
class StudentConfig:
    """The text student `train` builds (`text_models.make_student`; image
    and feature records get `reference_models.reference_student`'s).

    Args:
        architecture: one of `choices.STUDENTS`.
        embedding_dim: the student's width.
        max_tokens: the student's vocabulary size.
        init_embeddings: a `student_init` file (`topk-distill
            student-init`): the student's vocabulary and starting word
            vectors (its width then overrides `embedding_dim`).
        freeze_embeddings: keep the word vectors as they start (with
            `init_embeddings`: the teacher's); only the rest trains.
        normalize: L2-normalise the student's pooled text vector.
        hidden_units: a ReLU layer of this many units before the student's
            output layer (0: none).
        sampled_classes: train on the batch's classes plus this many
            sampled negatives per step (`DistillationStudent(
            sampled_classes=)`; the output layer a `ClassVectors`); 0 for
            the full softmax; `None` (default): `SAMPLED_CLASSES` from
            `SAMPLED_FROM` classes on, else the full softmax (text
            students; BENCHMARKS.md, "A million labels").
        init_class_vectors: start each class's output weights at the
            student's reading of the class's name (`text_models.
            start_class_vectors`; no hidden layer; best with frozen
            teacher vectors).
        sampled_proposal: with sampled classes, draw the negatives
            `"uniform"`ly (default) or by `"labels"` frequency in the
            training records (`sampled_softmax.Proposal`: half uniform,
            half by frequency).
        encoder: the encoder student's checkpoint folder (`architecture=
            "encoder"`: `encoder_students.make_encoder_student`), e.g. the
            fine-tuned teacher's `OUTPUT/encoder`.
        student_layers: the encoder student's transformer layers.
        layer_choice: which of the encoder's layers it keeps
            (`choices.LAYER_CHOICES`).
        teacher_head: start the encoder student's head at the teacher's
            (saved beside its encoder) when the folder holds one.

    Raises:
        ValueError: naming the setting and what was expected.

    Examples:
        >>> StudentConfig(freeze_embeddings=True)
        Traceback (most recent call last):
        ...
        ValueError: --freeze_embeddings needs --init_embeddings (frozen random vectors learn nothing)
    """

    architecture: str = "mean"
    embedding_dim: int = 64
    max_tokens: int = 20_000
    init_embeddings: str = None
    freeze_embeddings: bool = False
    normalize: bool = False
    hidden_units: int = 0
    sampled_classes: int = None
    sampled_proposal: str = "uniform"
    init_class_vectors: bool = False
    encoder: str = None
    student_layers: int = 2
    layer_choice: str = "spread"
    teacher_head: bool = True

    def __post_init__(self):
        if self.architecture not in choices.STUDENTS:
            raise ValueError(f"architecture={self.architecture!r}; expected "
                             f"one of {', '.join(choices.STUDENTS)}")
        if self.layer_choice not in choices.LAYER_CHOICES:
            raise ValueError(f"layer_choice={self.layer_choice!r}; expected "
                             f"one of {', '.join(choices.LAYER_CHOICES)}")
        if self.sampled_proposal not in PROPOSALS:
            raise ValueError(f"sampled_proposal={self.sampled_proposal!r}; "
                             f"expected one of {', '.join(PROPOSALS)}")
        _check(self)
        if self.init_class_vectors and self.hidden_units:
            raise ValueError("--init_class_vectors needs a student without "
                             "--hidden_units (its output layer reads the "
                             "pooled text vector)")
        if self.freeze_embeddings and not self.init_embeddings:
            raise ValueError("--freeze_embeddings needs --init_embeddings "
                             "(frozen random vectors learn nothing)")
        if self.init_embeddings and self.embedding_dim != 64:
            raise ValueError(f"--embedding_dim={self.embedding_dim}: the "
                             "width of learnt word vectors; --init_embeddings"
                             "'s vectors set the width (drop one)")
        if self.architecture == "encoder":
            self._check_encoder()

    def _check_encoder(self):
        if not self.encoder:
            raise ValueError("--student=encoder needs --encoder (a BERT-"
                             "family checkpoint folder: the fine-tuned "
                             "teacher's OUTPUT/encoder)")
        word_vectors = [name for name, off in (
            ("init_embeddings", None), ("freeze_embeddings", False),
            ("normalize", False), ("hidden_units", 0),
            ("init_class_vectors", False), ("embedding_dim", 64),
            ("max_tokens", 20_000)) if getattr(self, name) != off]
        if word_vectors:
            raise ValueError(f"--{word_vectors[0]} is for the word-vector "
                             "students; the encoder student takes its "
                             "vocabulary, vectors and width from --encoder")


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """How `train` fits the student: its batches, optimizer and stopping.

    With a validation input, training stops once validation P@1 has not
    improved for `patience` epochs and keeps the weights of its best epoch
    (`callbacks.BestEpochStopping`; the latest of equally good ones), within
    `epochs` (default `MAX_EPOCHS`, a cap
    it rarely reaches); without one it runs `epochs` (default `EPOCHS`).

    Args:
        unlabeled_per_labeled: unlabeled examples per labeled one per batch
            (0: labeled examples only).
        epochs: the epoch count, or with validation the cap; `None`: the
            default of each case (`epochs_for`).
        batch_size: the batch size; `None`: the student's default
            (`for_student`: 128; the encoder student's 32).
        learning_rate: the rate; `None`: the student's default
            (`for_student`: Adam at `LEARNING_RATE`; the encoder student
            AdamW, warmup and decay, at `choices.ENCODER_LEARNING_RATE`).
        patience: with validation, epochs without a better validation P@1
            before training stops.
        min_confidence: train on the unlabeled examples whose teacher's top
            class has at least this probability (`mixer.confidence`); 0
            (default) keeps them all.
        plateau_seconds: stop when the loss varied by less than
            `plateau_delta` over this many seconds (not on a cluster).
        plateau_delta: see `plateau_seconds`.
        target_accuracy: stop once `val_top1` reaches it (needs a
            validation input).
        seed: random seed.
        data_service: a tf.data service dispatcher's address
            (`grpc://HOST:PORT`) that reads and batches the records.
        logdir: a TensorBoard log folder.
        backup_dir: checkpoints for restarts (default `OUTPUT/backup`).

    Raises:
        ValueError: naming the setting and what was expected.

    Examples:
        >>> FitConfig(learning_rate=0)
        Traceback (most recent call last):
        ...
        ValueError: learning_rate=0; expected a positive number
    """

    unlabeled_per_labeled: float = 1.0
    epochs: int = None
    batch_size: int = None
    learning_rate: float = None
    patience: int = PATIENCE
    min_confidence: float = 0.0
    plateau_seconds: float = None
    plateau_delta: float = 1e-3
    target_accuracy: float = None
    seed: int = 0
    data_service: str = None
    logdir: str = None
    backup_dir: str = None

    def __post_init__(self):
        _check(self)

    def for_student(self, architecture):
        """This config with its `None` settings made the student's
        defaults: the encoder student fine-tunes (`ENCODER_*` of
        `choices`: its epochs are also the decay's length), the others
        train at `LEARNING_RATE` in batches of `BATCH_SIZE`.

        Examples:
            >>> FitConfig().for_student("mean").learning_rate
            0.005
            >>> tuned = FitConfig(batch_size=8).for_student("encoder")
            >>> tuned.learning_rate, tuned.batch_size, tuned.epochs
            (0.0001, 8, 3)
        """
        encoder = architecture == "encoder"
        chosen = dict(
            learning_rate=(choices.ENCODER_LEARNING_RATE if encoder
                           else LEARNING_RATE),
            batch_size=(choices.ENCODER_BATCH_SIZE if encoder
                        else choices.BATCH_SIZE),
            epochs=choices.ENCODER_EPOCHS if encoder else None)
        return dataclasses.replace(self, **{
            name: getattr(self, name) if getattr(self, name) is not None
            else value for name, value in chosen.items()})

    def epochs_for(self, validated):
        """The epochs `fit` runs at most: `epochs`, or its default with
        (`MAX_EPOCHS`, early stopping ends sooner) or without
        (`EPOCHS`) a validation input.

        Examples:
            >>> FitConfig().epochs_for(validated=False), FitConfig().epochs_for(True)
            (20, 100)
            >>> FitConfig(epochs=7).epochs_for(validated=True)
            7
        """
        if self.epochs is not None:
            return self.epochs
        return MAX_EPOCHS if validated else EPOCHS


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """What a `train_student` run reads: its record sets, their class
    names and the validation input.

    Args:
        labeled: the labeled record set (a `RecordSet`, prefix or glob), or
            `None`.
        unlabeled: the unlabeled record set, or `None`.
        validation: a labeled input of the records' kind (`.tsv`/`.jsonl`,
            an image folder, `tfds:`); `val_top1` is measured on it each
            epoch, and training stops once it has not improved for
            `FitConfig.patience` epochs, keeping the best epoch's weights.
        labels_path: `labels.txt`; default: the class names the records'
            metadata holds.
        data_dir: the TFDS data folder, for a `tfds:` validation input.

    Examples:
        >>> TrainingData(labeled="records/train-*").unlabeled is None
        True
    """

    labeled: object = None
    unlabeled: object = None
    validation: str = None
    labels_path: str = None
    data_dir: str = None


@dataclasses.dataclass(frozen=True)
class ChoiceConfig:
    """How `train --student=auto` (`selection.choose_student`) chooses.

    Args:
        max_latency_ms: the budget per text at batch 1 (the export's
            median over single validation texts), or `None`.
        latency_repeats: single-text calls timed per candidate.
        keep_candidates: keep every candidate's folder in
            `OUTPUT/candidates/` (the winner's then copied to the output).

    Examples:
        >>> ChoiceConfig(max_latency_ms=0)
        Traceback (most recent call last):
        ...
        ValueError: --max_latency_ms=0; expected a positive number of milliseconds
    """

    max_latency_ms: float = None
    latency_repeats: int = 200
    keep_candidates: bool = False

    def __post_init__(self):
        if self.max_latency_ms is not None and not self.max_latency_ms > 0:
            raise ValueError(f"--max_latency_ms={self.max_latency_ms}; "
                             "expected a positive number of milliseconds")
        if isinstance(self.latency_repeats, bool) or not isinstance(
                self.latency_repeats, int) or self.latency_repeats < 1:
            raise ValueError(f"latency_repeats={self.latency_repeats!r}; "
                             "expected a positive integer")


def configs_of(student=None, fit=None, **keywords):
    """`(StudentConfig, FitConfig)`: the ones given, or made of `keywords`
    (each keyword goes to the config with that field).

    Raises:
        TypeError: a keyword that is no config's field, or a keyword for a
            config given whole.

    Examples:
        >>> student, fit = configs_of(epochs=3, hidden_units=8)
        >>> fit.epochs, student.hidden_units
        (3, 8)
    """
    made = (configs.config_from(StudentConfig, student, keywords),
            configs.config_from(FitConfig, fit, keywords))
    configs.refuse_others(keywords)
    return made
