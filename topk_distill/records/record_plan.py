"""A record set's plan: its settings checked, and the metadata it will
carry, before any teacher runs (`preprocess`, Beam and `RecordSetWriter`
all start here).
"""

import dataclasses

from topk_distill.inputs import labels_file
from topk_distill.inputs.label_space import SingleLabel
from topk_distill.records import label_rules, packing, records
from topk_distill.utils import configs


@dataclasses.dataclass(frozen=True)
class RecordSettings:
    """What a record set keeps of a teacher's scores, and how it stores them:
    the settings `preprocess`, the Beam pipeline and `RecordSetWriter` share
    (each also takes them as keywords: `preprocess(..., top_k=5)`).

    Args:
        unlabeled: an unlabeled set: labels, if any, withheld (every record
            gets label -1).
        top_k: K (or H for an unlabeled set); 0 keeps all N scores (dense);
            `None`: 20, or N when there are fewer classes.
            With `targets="mixed"`, k: the classes kept exactly.
        scores: `"logits"` or `"probabilities"` to store; default logits for
            a labeled set and probabilities for an unlabeled one. Logits from
            probabilities are `log(p)` (equal to the logits up to a constant
            per example, which softmax ignores).
        score_dtype: `"float16"` (default), `"float32"` or `"q8"` (ids and
            8-bit log-space values packed in one bytes value: about half
            float16's bytes; see `packing`). float16 logits are stored
            relative to the example's top logit (a shift that leaves every
            softmax unchanged) and clipped to float16's range.
        compression: `"none"` or `"gzip"`.
        num_shards: number of output shards (at most one per example).
        tail_temperature: if set to T, each record also keeps `tail_mass`,
            the teacher's softmax(z/T) mass outside its top-K, for training
            with `tail="bucket"` at the same T.
        targets: `"topk"` (the K best scores, default), `"sampled"`
            (`samples` draws from softmax(z/T): each distinct class drawn
            with its share of the draws) or `"mixed"` (the `top_k` best with
            their probabilities at T, plus `samples` draws from the rest,
            weighted by its mass); sampled and mixed targets are unbiased
            estimates of the teacher's softmax(z/T), stored as
            probabilities.
        samples: S, the draws of sampled and mixed targets.
        sampling_temperature: T of sampled and mixed targets (train at the
            same T; unlabeled sets' targets are used at T=1).
        seed: the draws' seed; each example's draws depend on its text and
            the seed only, so resumed runs and Beam write the same bytes.

    Examples:
        >>> RecordSettings(top_k=5, score_dtype="q8").num_shards
        8
        >>> settings_of(None, {"top_k": 5}) == RecordSettings(top_k=5)
        True
    """

    unlabeled: bool = False
    top_k: int = 20
    scores: str = None
    score_dtype: str = "float16"
    compression: str = "none"
    num_shards: int = 8
    tail_temperature: float = None
    targets: str = "topk"
    samples: int = None
    sampling_temperature: float = 1.0
    seed: int = 0


def settings_of(settings, keywords, **defaults):
    """`settings` (a `RecordSettings`), or one made of `keywords` over
    `defaults`; not both.

    Raises:
        TypeError: both given, or a keyword that is not a setting.
    """
    settings = configs.config_from(RecordSettings, settings, keywords,
                                   **defaults)
    configs.refuse_others(keywords)
    return settings


def plan(labels_path, input_spec, teacher_identity, settings=None,
         input_kind="text", feature_dim=None, names=None, label_space=None):
    r"""Checks a run's settings; returns the `RecordSet` it will write
    (before its examples are counted).

    Args:
        labels_path: the `labels.txt` naming the N classes.
        input_spec: the input's name, kept in the metadata.
        teacher_identity: the teacher's description, kept in the metadata.
        settings: the `RecordSettings` (default: its defaults).
        input_kind, feature_dim: what the input's examples are
            (`inputs.describe`).
        names: the class names, if the caller read `labels_path` already.
        label_space: the teacher's `LabelSpace`: a `MultiLabel` one makes
            a multi-label set (a sigmoid teacher's top-K; its `max_labels`
            0 until the input's labels are counted); default single-label.

    Raises:
        ValueError: naming a setting that cannot make a record set.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "labels.txt")
        >>> _ = open(path, "w").write("cat\ndog\nemu\n")
        >>> p = plan(path, "x.tsv", {"kind": "external"}, RecordSettings(top_k=2))
        >>> p.kind, p.num_classes, p.width, p.scores
        ('labeled', 3, 2, 'logits')
    """
    s = settings or RecordSettings()
    space = label_space or SingleLabel()
    unlabeled, top_k, scores, targets = (s.unlabeled, s.top_k, s.scores,
                                         s.targets)
    score_dtype, samples = s.score_dtype, s.samples
    if names is None:
        names = labels_file.read_labels(labels_path)
    num_classes = len(names)
    if top_k is None:  # the default K, or every class of a smaller N
        top_k = min(RecordSettings.top_k, num_classes)
    records.check_choices(targets=targets, score_dtype=score_dtype,
                          compression=s.compression,
                          **({"scores": scores} if scores else {}))
    if s.num_shards < 1:
        raise ValueError(f"num_shards={s.num_shards}; expected at least 1")
    sampled = targets != "topk"
    width = _check_width(targets, top_k, samples, num_classes,
                         "top_h" if unlabeled else "top_k")
    if s.tail_temperature is not None and (s.tail_temperature <= 0
                                           or not top_k or sampled):
        raise ValueError(f"tail_temperature={s.tail_temperature}; expected a "
                         "positive temperature, with top-K targets (top_k "
                         "> 0; sampled and mixed targets keep the tail)")
    if sampled and scores == "logits":
        raise ValueError(f"scores='logits' with targets={targets!r}; sampled "
                         "targets are stored as probabilities")
    if sampled and not (s.sampling_temperature or 0) > 0:
        raise ValueError(f"sampling_temperature={s.sampling_temperature}; "
                         "expected > 0")
    if score_dtype == "q8" and (top_k == 0 and not sampled or
                                width > packing.MAX_WIDTH):
        raise ValueError(f"score_dtype='q8' packs 1..{packing.MAX_WIDTH} "
                         f"classes per example, not {width}; use float16")
    return records.RecordSet(
        kind="unlabeled" if unlabeled else "labeled",
        num_classes=num_classes, width=width,
        dense=top_k == 0 and not sampled,
        scores="probabilities" if sampled else scores or (
            "probabilities" if unlabeled else "logits"),
        score_dtype=score_dtype, targets=targets,
        samples=samples if sampled else None,
        exact_top=top_k if targets == "mixed" else None,
        sampling_temperature=s.sampling_temperature if sampled else None,
        seed=s.seed if sampled else None, compression=s.compression,
        tail_temperature=s.tail_temperature, num_shards=s.num_shards,
        labels=tuple(names),
        labels_sha256=labels_file.labels_sha256(labels_path),
        teacher=teacher_identity, input=input_spec, input_kind=input_kind,
        feature_dim=feature_dim, multi_label=space.multi_label,
        max_labels=label_rules.RULES[space.kind].max_labels(0))


def class_ids(plan):
    """`{class name: id}` for a labeled set's labels, `None` for an
    unlabeled set (its examples get label -1)."""
    if plan.kind == "unlabeled":
        return None
    return {name: i for i, name in enumerate(plan.labels)}


def _check_width(targets, top_k, samples, num_classes, name="top_k"):
    """The most classes a record of these targets stores (`name`: what the
    user calls `top_k`: H, `top_h`, for an unlabeled set)."""
    if targets == "topk":
        if not 0 <= top_k <= num_classes:
            raise ValueError(f"{name}={top_k}; expected 1..N={num_classes}, "
                             "or 0 for all N scores")
        return top_k or num_classes
    if not (samples or 0) >= 1:
        raise ValueError(f"samples={samples}; targets={targets!r} needs "
                         "S >= 1 draws")
    if targets == "sampled":
        return samples
    if not 1 <= top_k < num_classes:
        raise ValueError(f"top_k={top_k} with targets='mixed'; expected "
                         f"1..N-1={num_classes - 1} classes kept exactly")
    return top_k + samples
