"""`TeacherConfig`: how `train_teacher` trains a teacher, checked once.

No TensorFlow at import, so the `teacher` command's flags can read their
defaults from it.
"""

import dataclasses

from topk_distill.inputs.label_space import SingleLabel


@dataclasses.dataclass(frozen=True)
class TeacherConfig:
    """A teacher run's settings (`train_teacher`, `topk-distill teacher`).

    Args:
        encoder: a local BERT-family checkpoint folder (config.json,
            model.safetensors, vocab.txt); `None` trains the reference
            teacher.
        embeddings: with `encoder`, a `.npy` of the encoder's embeddings of
            the input ([rows, hidden]), to skip computing them.
        cross_fit_folds: with `encoder`, k >= 2 also writes out-of-fold
            logits for every input row (with `fine_tune`, k more
            fine-tuning runs, each on (k - 1) / k of the rows:
            `fine_tuning.cross_fit_fine_tuned`).
        epochs: training epochs of the head (or the reference teacher).
        batch_size: training batch size.
        seed: random seed.
        validation: a labeled file to measure the teacher and the reference
            student on; `None` carves `validation_fraction` of the input
            off for it (those examples then train the final teacher too).
        validation_fraction: the part carved off (0 skips the comparison).
        student_epochs: training epochs of the reference student (default
            `choices.EPOCHS`, at `train`'s default rate).
        hidden_units: with `encoder`, 0 for a linear head, else the width
            of a small MLP head (`encoder_models.make_head`).
        sequence_length: with `encoder`, tokens kept per text.
        fine_tune: with `encoder`, `None` keeps it frozen; 0 fine-tunes all
            of it, k > 0 its top k transformer layers
            (`fine_tuning.fine_tune`).
        fine_tune_epochs: the fine-tuning run's epochs.
        learning_rate: its peak rate (AdamW).
        warmup_fraction: the part of its steps spent warming up (linear
            warmup, then cosine decay).
        label_space: `MultiLabel()`: examples have one or more labels
            (`inputs`): an encoder teacher with a per-class sigmoid head
            (binary cross-entropy), its SavedModel exported as multi-label
            (so `load_teacher` knows it); top-1 is then P@1 (the best class
            is one of the labels), for the teacher and the reference
            student. Default single-label.

    Raises:
        ValueError: naming the setting that cannot be used.

    Examples:
        >>> TeacherConfig(encoder="minilm", fine_tune=0).describe()
        'encoder fine-tuned (all layers, 3 epochs) + linear head'
        >>> TeacherConfig(fine_tune=0)
        Traceback (most recent call last):
        ...
        ValueError: fine-tuning needs an encoder (--encoder=DIR); the reference teacher has none
    """

    encoder: str = None
    embeddings: str = None
    cross_fit_folds: int = 0
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    validation: str = None
    validation_fraction: float = 0.1
    student_epochs: int = None
    hidden_units: int = 0
    sequence_length: int = 128
    fine_tune: int = None
    fine_tune_epochs: int = 3
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    label_space: object = None

    def __post_init__(self):
        if self.label_space is None:
            object.__setattr__(self, "label_space", SingleLabel())
        if self.cross_fit_folds == 1 or self.cross_fit_folds < 0:
            raise ValueError(f"cross_fit_folds={self.cross_fit_folds}; "
                             "expected 0 (none) or at least 2 folds")
        if self.fine_tune is not None and not self.encoder:
            raise ValueError("fine-tuning needs an encoder (--encoder=DIR); "
                             "the reference teacher has none")
        for name in ("cross_fit_folds", "embeddings"):
            if getattr(self, name) and not self.encoder:
                raise ValueError(f"--{name}={getattr(self, name)} needs "
                                 "--encoder=DIR (the reference teacher has "
                                 "no such option)")
        if not (self.encoder or self.label_space.has_reference_teacher):
            raise ValueError("a multi-label teacher is an encoder with a "
                             "sigmoid head: pass --encoder=DIR")

    def tuning(self, verbose):
        """The fine-tuning run's settings (`fine_tuning.fine_tune`), or
        `None` for a frozen encoder."""
        if self.fine_tune is None:
            return None
        return dict(layers=self.fine_tune, epochs=self.fine_tune_epochs,
                    learning_rate=self.learning_rate,
                    warmup_fraction=self.warmup_fraction,
                    batch_size=self.batch_size, seed=self.seed,
                    verbose=verbose)

    def describe(self):
        """The encoder teacher's choices, as report.json names them."""
        head = (f"MLP head ({self.hidden_units})" if self.hidden_units
                else "linear head")
        if self.fine_tune is None:
            return f"encoder (frozen) + {head}"
        part = (f"top {self.fine_tune} layers" if self.fine_tune
                else "all layers")
        return (f"encoder fine-tuned ({part}, {self.fine_tune_epochs} "
                f"epochs) + {head}")
