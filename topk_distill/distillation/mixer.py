"""Training batches: labeled top-K and unlabeled top-H records, mixed.

`make_distillation_dataset` reads one or two record sets, turns their
scores into log-space (`codec.as_logits`), pads K and H to one width and
interleaves the two kinds evenly within each batch, ready for
`DistillationStudent.fit`.
"""

import tensorflow as tf

from topk_distill.distillation import training_config
from topk_distill.models import choices
from topk_distill.records import codec, reader, records
from topk_distill.utils import configs


def make_distillation_dataset(labeled=None, unlabeled=None, fit=None,
                              loss=None, num_classes=None, shuffle=True,
                              **keywords):
    """Mixes labeled top-K and unlabeled top-H records into training batches.

    Each batch holds `round(batch_size / (1 + r))` labeled examples and the
    rest unlabeled (label -1), `r = unlabeled_per_labeled`, spread evenly
    over the batch (so each replica's slice of it holds both kinds). An
    epoch is one pass over the labeled set; the unlabeled set repeats as
    needed. With no labeled set, an epoch is one pass over the unlabeled
    set; with `r = 0` or no unlabeled set, batches are labeled only.

    Teacher scores become log-space: stored probabilities p become log p
    (logits up to a per-example constant), so a batch's `topk_logits` mean
    the same for both kinds. Sampled and mixed targets q, stored at their
    temperature T, are used as they are: a labeled set's become T log q
    (so the soft term's softmax(./T) gives back q), an unlabeled set's
    log q (the pseudo term's softmax at T=1 gives back q). K and H may
    differ: ids are padded with -1 and logits with 0 to the wider of the
    two.

    Args:
        labeled: the labeled record set (top-K): a `RecordSet`, or its
            prefix or shard glob; or `None`.
        unlabeled: the unlabeled record set (top-H), likewise; or `None`.
        fit: the `FitConfig` whose batches these are; read here:
            `batch_size` (both kinds together; default 128),
            `unlabeled_per_labeled` (r), `seed` (the shuffle's),
            `min_confidence` (keep only the unlabeled examples whose
            teacher's top class has at least this probability:
            `confidence`; Noisy Student and FixMatch keep only confident
            pseudo labels) and `data_service` (a tf.data service
            dispatcher's address, `"grpc://host:port"`: its workers then
            read, parse and batch the records, each once per epoch,
            "distributed_epoch"; each `fit` epoch is then a job of its own,
            its length unknown in advance).
        loss: the `LossConfig` the batches are for: the sets are checked
            against it first (`LossConfig.check_records`: targets drawn,
            or tail masses taken, at its temperature).
        num_classes: if given, both sets must have this N.
        shuffle: shuffle shards and records.
        **keywords: instead of `fit`, its fields (`batch_size=64`...).

    Returns:
        A dataset of dicts `{"text", "label", "topk_ids", "topk_logits"}`
        (plus `"tail_mass"` when the labeled set has tail masses; 0 for
        unlabeled examples; and multi-label sets' `"labels"` [B, L], their
        scores as sigmoid logits), ready for `DistillationStudent.fit`.

    Examples:

        ```python
        ds = make_distillation_dataset("rec/train-*", "rec/unlabeled-*",
                                       batch_size=128)
        student.fit(ds, epochs=5)
        ```
    """
    if labeled is None and unlabeled is None:
        raise ValueError("expected a labeled or an unlabeled record set")
    fit = configs.config_from(training_config.FitConfig, fit, keywords)
    configs.refuse_others(keywords)
    batch_size = fit.batch_size or choices.BATCH_SIZE
    seed, min_confidence = fit.seed, fit.min_confidence
    sets = [records.resolve(s) if s is not None else None
            for s in (labeled, unlabeled)]
    labeled, unlabeled = sets
    for record_set in sets:
        if loss is not None and record_set is not None:
            loss.check_records(record_set)
    ratio = fit.unlabeled_per_labeled if unlabeled else 0.0
    problem = (min_confidence and unlabeled is not None
               and unlabeled.rules.confidence_problem(unlabeled))
    if problem:
        raise ValueError(f"min_confidence={min_confidence}: {problem}")
    if labeled is None or ratio <= 0:
        only = labeled or unlabeled
        part = _part(only, batch_size, shuffle, seed, num_classes)
        if only is unlabeled and min_confidence:
            part = _confident(part, unlabeled, min_confidence, batch_size,
                              num_classes)
            only = None  # fewer examples than the set holds: count unknown
        return _finish(part, only, batch_size, fit.data_service)
    records.check_label_kind(unlabeled, labeled.label_space,
                             f"the labeled set {labeled.name}")
    labeled_size = max(1, round(batch_size / (1 + ratio)))
    first = _part(labeled, labeled_size, shuffle, seed, num_classes)
    second = _confident(
        _part(unlabeled, max(1, batch_size - labeled_size), shuffle, seed,
              num_classes, repeat=True),
        unlabeled, min_confidence, max(1, batch_size - labeled_size),
        num_classes)
    width = max(labeled.width, unlabeled.width)
    tail = "tail_mass" in first.element_spec
    label_width = max(labeled.label_width or 1, unlabeled.label_width or 1)
    padded_keys = labeled.rules.padded_keys

    @tf.autograph.experimental.do_not_convert
    def combine(a, b):
        parts = [_padded(part, width, tail, padded_keys, label_width)
                 for part in (a, b)]
        order = interleaving(tf.shape(a["label"])[0], tf.shape(b["label"])[0])
        return {key: tf.gather(tf.concat([p[key] for p in parts], axis=0),
                               order) for key in parts[0]}

    mixed = tf.data.Dataset.zip(first, second).map(
        combine, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(mixed, labeled, labeled_size, fit.data_service)


def _finish(dataset, record_set, batch_size, data_service):
    """States the batch count (TFRecord datasets have none) for Keras's
    progress bars and epoch ends, or hands the dataset to a tf.data service
    (which splits the epoch among its workers, so the count is unknown).
    `record_set=None`: a filtered set, whose count is not stated."""
    if data_service is None and record_set is None:
        return dataset.prefetch(tf.data.AUTOTUNE)
    if data_service is None:
        steps = -(-record_set.num_examples // batch_size)
        return dataset.apply(tf.data.experimental.assert_cardinality(
            steps)).prefetch(tf.data.AUTOTUNE)
    served = dataset.apply(tf.data.experimental.service.distribute(
        "distributed_epoch", data_service))
    # The service already splits the records among the trainers.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF)
    return served.with_options(options).prefetch(tf.data.AUTOTUNE)


def _part(record_set, batch_size, shuffle, seed, num_classes, repeat=False):
    """One set's batches, with scores in log-space as `topk_logits`."""
    score_kind = record_set.scores
    scale = 1.0
    if record_set.targets != "topk" and record_set.kind == "labeled":
        scale = float(record_set.sampling_temperature)

    def to_logits(batch):
        logits = codec.as_logits(batch.pop("topk_scores"), score_kind,
                                 record_set.label_space.activation)
        return dict(batch, topk_logits=logits * scale if scale != 1.0 else
                    logits)

    dataset = reader.make_dataset(record_set, batch_size, shuffle=shuffle,
                                  seed=seed, repeat=repeat,
                                  num_classes=num_classes)
    return dataset.map(to_logits)


def confidence(record_set, ids, logits):
    """The teacher's probability of its top class, per example, from a
    set's batch (`ids` [B, W], -1 padding; `logits` [B, W] as the mixer
    makes them): exact for stored probabilities (exp of the best log p),
    the top class's share of the draws for sampled targets, and for stored
    logits their softmax over the W stored classes (an upper bound: the
    mass outside them is not known).

    Examples:
        >>> import tensorflow as tf
        >>> from topk_distill.records.records import RecordSet
        >>> probs = RecordSet(kind="unlabeled", num_classes=9, width=2,
        ...                   scores="probabilities")
        >>> ids = tf.constant([[3, -1], [1, 2]])
        >>> logits = tf.math.log(tf.constant([[0.6, 1.0], [0.3, 0.2]]))
        >>> [round(float(p), 3) for p in confidence(probs, ids, logits)]
        [0.6, 0.3]
    """
    valid = ids >= 0
    logits = tf.where(valid, tf.cast(logits, tf.float32), -float("inf"))
    best = tf.reduce_max(logits, axis=1)
    if record_set.scores == "probabilities" or record_set.targets != "topk":
        return tf.exp(best)
    return tf.exp(best - tf.reduce_logsumexp(logits, axis=1))


def _confident(dataset, record_set, min_confidence, batch_size,
               num_classes):
    """The set's examples whose `confidence` is at least `min_confidence`,
    batched again to `batch_size`; all of them for 0.

    Raises:
        ValueError: no example of the set is that confident (a repeated
            set filtered to nothing would never yield a batch).
    """
    if not min_confidence:
        return dataset
    best, kept = 0.0, 0
    for batch in _part(record_set, 8192, False, None, num_classes):
        found = confidence(record_set, batch["topk_ids"],
                           batch["topk_logits"])
        best = max(best, float(tf.reduce_max(found)))
        kept += int(tf.reduce_sum(tf.cast(found >= min_confidence,
                                          tf.int32)))
    if not kept:
        raise ValueError(
            f"min_confidence={min_confidence} keeps none of "
            f"{record_set.name}'s {record_set.num_examples} examples (the "
            f"teacher's most confident: {best:.3f})")

    def keep(row):
        return confidence(record_set, row["topk_ids"][None],
                          row["topk_logits"][None])[0] >= min_confidence

    return dataset.unbatch().filter(keep).batch(batch_size)


def interleaving(first, second):
    """Row order spreading `first` rows among `second` rows evenly, so that
    any contiguous slice of a batch (a replica's share under tf.distribute)
    holds both kinds in the batch's proportion.

    Examples:
        >>> import tensorflow as tf
        >>> kinds = tf.gather(list("LLLLLLUU"), interleaving(6, 2))
        >>> b"".join(kinds.numpy())
        b'LLULLLUL'
    """
    def places(count):
        return (tf.range(count, dtype=tf.float32) + 0.5) / tf.cast(
            count, tf.float32)

    return tf.argsort(tf.concat([places(first), places(second)], 0),
                      stable=True)


def _padded(batch, width, tail, padded_keys, label_width):
    """A batch's ids and logits padded to `width`, its `padded_keys` (a
    multi-label set's `labels`) to `label_width`; with `tail` (the labeled
    set has tail masses), a `tail_mass` of 0 where it has none."""
    pad = width - tf.shape(batch["topk_ids"])[1]
    out = dict(batch,
               topk_ids=tf.pad(batch["topk_ids"], [[0, 0], [0, pad]],
                               constant_values=-1),
               topk_logits=tf.pad(batch["topk_logits"], [[0, 0], [0, pad]]))
    for key in padded_keys:
        out[key] = tf.pad(batch[key], [[0, 0], [0, label_width - tf.shape(
            batch[key])[1]]], constant_values=-1)
    if not tail:
        out.pop("tail_mass", None)
    elif "tail_mass" not in out:
        out["tail_mass"] = tf.zeros_like(out["topk_logits"][:, 0])
    return out
