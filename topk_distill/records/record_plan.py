"""A record set's plan: its settings checked, and the metadata it will
carry, before any teacher runs (`preprocess`, Beam and `RecordSetWriter`
all start here).
"""

from topk_distill.inputs import labels_file
from topk_distill.records import packing, records


def plan(labels_path, input_spec, teacher_identity, unlabeled=False,
         top_k=20, scores=None, score_dtype="float16", compression="none",
         num_shards=8, tail_temperature=None, targets="topk", samples=None,
         sampling_temperature=1.0, seed=0, input_kind="text",
         feature_dim=None, names=None):
    r"""Checks a run's settings; returns the `RecordSet` it will write
    (before its examples are counted).

    Args:
        labels_path: the `labels.txt` naming the N classes.
        input_spec: the input's name, kept in the metadata.
        teacher_identity: the teacher's description, kept in the metadata.
        unlabeled, top_k, ..., feature_dim: as in `preprocess`.
        names: the class names, if the caller read `labels_path` already.

    Raises:
        ValueError: naming a setting that cannot make a record set.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.txt")
    >>> _ = open(path, "w").write("cat\ndog\nemu\n")
    >>> p = plan(path, "x.tsv", {"kind": "external"}, top_k=2)
    >>> p.kind, p.num_classes, p.top_k, p.scores
    ('labeled', 3, 2, 'logits')
    """
    if names is None:
        names = labels_file.read_labels(labels_path)
    num_classes = len(names)
    records.check_choices(targets=targets, score_dtype=score_dtype,
                          compression=compression,
                          **({"scores": scores} if scores else {}))
    if num_shards < 1:
        raise ValueError(f"num_shards={num_shards}; expected at least 1")
    sampled = targets != "topk"
    width = _check_width(targets, top_k, samples, num_classes,
                         "top_h" if unlabeled else "top_k")
    if tail_temperature is not None and (tail_temperature <= 0 or not top_k
                                         or sampled):
        raise ValueError(f"tail_temperature={tail_temperature}; expected a "
                         "positive temperature, with top-K targets (top_k "
                         "> 0; sampled and mixed targets keep the tail)")
    if sampled and scores == "logits":
        raise ValueError(f"scores='logits' with targets={targets!r}; sampled "
                         "targets are stored as probabilities")
    if sampled and not (sampling_temperature or 0) > 0:
        raise ValueError(f"sampling_temperature={sampling_temperature}; "
                         "expected > 0")
    if score_dtype == "q8" and (top_k == 0 and not sampled or
                                width > packing.MAX_WIDTH):
        raise ValueError(f"score_dtype='q8' packs 1..{packing.MAX_WIDTH} "
                         f"classes per example, not {width}; use float16")
    return records.RecordSet(
        kind="unlabeled" if unlabeled else "labeled",
        num_classes=num_classes, top_k=width,
        dense=top_k == 0 and not sampled,
        scores="probabilities" if sampled else scores or (
            "probabilities" if unlabeled else "logits"),
        score_dtype=score_dtype, targets=targets,
        samples=samples if sampled else None,
        exact_top=top_k if targets == "mixed" else None,
        sampling_temperature=sampling_temperature if sampled else None,
        seed=seed if sampled else None, compression=compression,
        tail_temperature=tail_temperature, num_shards=num_shards,
        labels=tuple(names),
        labels_sha256=labels_file.labels_sha256(labels_path),
        teacher=teacher_identity, input=input_spec, input_kind=input_kind,
        feature_dim=feature_dim)


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
