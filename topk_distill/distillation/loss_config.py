"""The distillation loss's settings, their allowed values and their defaults.

    L = a * CE(true label, s) + (1 - a) * softCE_T(teacher top-K, s)
        + b * CE(pseudo label, s on unlabeled examples)

One place says what a, b, T, the soft term's scaling and the tail may be;
`DistillationStudent`, `SoftTargetCrossentropy` and the command line all
take their defaults and checks from here. No TensorFlow at import, so
flag definitions can use it.
"""

import dataclasses

SOFT_SCALINGS = ("inverse_t", "t2")
TAILS = ("renormalize", "bucket")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Weights and temperature of the three-term distillation loss.

    Args:
        alpha: a, the hard-label weight; 0.5 < a < 1.
        beta: b, the pseudo-label weight; 0 <= b <= a.
        temperature: T > 0 for the soft term.
        soft_scaling: `"inverse_t"` (the method's 1/T, the
            default: it measured better on the bundled data, see
            BENCHMARKS.md) or `"t2"` (Hinton's T², which keeps the soft
            term's gradients the same size whatever T is).
        tail: `"renormalize"` (the teacher's top-K renormalised to sum to 1)
            or `"bucket"` (its mass outside the top-K kept as one "rest"
            target; needs records written with `tail_temperature` = T).
        strict: `False` lifts the a/b ranges (for research); a and b must
            still be non-negative and a at most 1.

    Raises:
        ValueError: naming the setting out of range.

    Examples:
        >>> LossConfig(alpha=0.9, beta=0.5).soft_factor
        0.5
        >>> LossConfig(alpha=0.4)
        Traceback (most recent call last):
        ...
        ValueError: alpha=0.4; expected 0.5 < alpha < 1 (pass strict=False to lift the range)
    """

    alpha: float = 0.9
    beta: float = 0.5
    temperature: float = 2.0
    soft_scaling: str = "inverse_t"
    tail: str = "renormalize"
    strict: bool = True

    def __post_init__(self):
        if self.strict and not 0.5 < self.alpha < 1:
            raise ValueError(f"alpha={self.alpha}; expected 0.5 < alpha < 1 "
                             "(pass strict=False to lift the range)")
        if self.strict and not 0 <= self.beta <= self.alpha:
            raise ValueError(f"beta={self.beta}; expected 0 <= beta <= "
                             f"alpha={self.alpha} (pass strict=False to lift "
                             "the range)")
        if not (0 <= self.alpha <= 1 and self.beta >= 0):
            raise ValueError(f"alpha={self.alpha}, beta={self.beta}; "
                             "expected 0 <= alpha <= 1 and beta >= 0")
        check_temperature(self.temperature)
        check_scaling(self.soft_scaling)
        if self.tail not in TAILS:
            raise ValueError(f"tail={self.tail!r}; expected one of {TAILS}")

    @property
    def soft_factor(self):
        """The soft term's factor: 1/T or T²."""
        return soft_factor(self.temperature, self.soft_scaling)

    def check_records(self, record_set):
        """Refuses records whose targets were made at another temperature
        than this loss's T: sampled or mixed targets of a labeled set
        (drawn at their T), or tail masses for `tail="bucket"`. The one
        check of it: `make_distillation_dataset(loss=...)` and `train` run
        it before any step.

        Args:
            record_set: a `RecordSet`.

        Raises:
            ValueError: naming the set and both temperatures.
        """
        if record_set.kind != "labeled":
            return
        name = record_set.name
        if record_set.targets != "topk":
            if record_set.sampling_temperature != self.temperature:
                raise ValueError(
                    f"{name}: {record_set.targets} targets drawn at "
                    f"sampling_temperature={record_set.sampling_temperature}"
                    f", but --temperature={self.temperature}; train at the "
                    "records' temperature (or write them at yours)")
            if self.tail == "bucket":
                raise ValueError(f"{name}: tail='bucket' is for top-K "
                                 "targets; sampled and mixed targets keep "
                                 "the tail already")
            return
        if self.tail != "bucket":
            return
        if not record_set.tail_temperature:
            raise ValueError(f"{name}: tail='bucket' needs records written "
                             "with --tail_temperature")
        if record_set.tail_temperature != self.temperature:
            raise ValueError(
                f"{name}: tail masses taken at tail_temperature="
                f"{record_set.tail_temperature}, but --temperature="
                f"{self.temperature}; write the records at the training "
                "temperature (preprocess --tail_temperature) or train at "
                "theirs")


def soft_factor(temperature, scaling):
    """The soft term's factor at temperature T: `1/T` or `T**2`."""
    return 1.0 / temperature if scaling == "inverse_t" else temperature**2


def check_temperature(temperature):
    """Refuses a temperature that is not positive."""
    if not temperature > 0:
        raise ValueError(f"temperature={temperature}; expected > 0")


def check_scaling(scaling):
    """Refuses a soft-term scaling other than those of `SOFT_SCALINGS`."""
    if scaling not in SOFT_SCALINGS:
        raise ValueError(f"soft_scaling={scaling!r}; expected one of "
                         f"{SOFT_SCALINGS}")
