"""`DistillationStudent`: trains any Keras classifier from top-K records.

A `keras.Model` that wraps a student (inputs -> [B, N] logits) and overrides
`train_step`/`test_step` so plain `compile()` / `fit()` minimise

    L = a * CE(true label, s) + (1 - a) * softCE_T(teacher top-K, s)
        + b * CE(pseudo label, s on unlabeled examples)

on batches from `make_distillation_dataset`. The teacher never runs here:
its top-K scores come with the data. Only the wrapped student has weights,
and it is what gets saved and exported.
"""

import keras
import tensorflow as tf

from topk_distill.distillation import (distribute, lazy_adam, losses,
                                       multilabel_losses, sampled_softmax,
                                       targets)
from topk_distill.inputs import input_kinds
from topk_distill.distillation.loss_config import LossConfig


@keras.saving.register_keras_serializable(package="topk_distill")
class DistillationStudent(keras.Model):
    """Wraps a student model for top-K distillation with `fit`.

    The three terms come from one fused pass over the student's [B, N]
    logits (`losses.row_crossentropies`: each target sits on a few classes,
    so no dense [B, N] target is built). Each term is a per-example mean
    over the whole batch, rows of the other kind (hard and soft: labeled;
    pseudo: unlabeled) weighing 0, divided by the replica count under
    tf.distribute, as Keras losses are.

    With `sampled_classes=S`, a training step scores only a candidate set
    of classes (`sampled_softmax`: the batch's labels and stored ids,
    exactly, plus S negatives drawn uniformly or from a `proposal`, their
    logits corrected by the log of their expected count), so its cost does
    not grow with N.
    The student's last layer must then be a `ClassVectors` (class rows
    [N, D]: the step's gradient reaches only the rows it used; `compile`'s
    default optimizer is then `LazyAdam`, which updates only those; on
    several replicas the replicas' rows are gathered, still sparse). The
    student itself stays a full-softmax model: `call`, evaluation and its
    export compute all N logits. Training logs no top-1/top-5 then (they
    need all N logits; validation reports them).

    With `multi_label=True`, examples have one or more labels and the
    student scores each class with a sigmoid: the three terms are binary
    cross-entropies (`multilabel_losses`; the teacher's stored scores are
    its sigmoid logits, the classes it did not store negatives), and
    training logs `top1` as P@1 (the best class is one of the labels).
    With `sampled_classes` too, the negatives' share of each term is
    estimated from the same draws (`sampled_binary_crossentropies`).

    A batch carries its input under its kind's name (`"text"`, `"image"` or
    `"features"`: `input_kinds`); a student whose input is of another kind
    is refused at the first step, naming both.

    Args:
        student: a Keras model mapping inputs to [B, N] logits.
        num_classes: N.
        alpha: a, the hard-label weight; 0.5 < a < 1.
        beta: b, the pseudo-label weight; 0 <= b <= a.
        temperature: T > 0 for the soft term.
        soft_scaling: `"inverse_t"` (1/T, the method's) or `"t2"`
            (Hinton's T²); see `LossConfig`.
        tail: `"renormalize"` (teacher top-K renormalised to sum to 1) or
            `"bucket"` (its mass outside the top-K kept as one "rest" target
            matched against the student's mass outside those K classes;
            needs records written with `tail_temperature` = T, checked by
            `make_distillation_dataset(loss=...)`).
        strict: `False` lifts the a/b ranges (for research); a and b must
            still be non-negative.
        name: model name.
        loss_config: a `LossConfig`, instead of `alpha` ... `strict`.
        sampled_classes: S negatives per training step (see above), or
            `None` (default) for the full softmax; 0 scores every class
            through the sampled path (the full softmax, for checks).
        multi_label: examples with one or more labels (batches with
            `labels`), per-class sigmoid terms.
        proposal: with `sampled_classes`, a `sampled_softmax.Proposal` to
            draw the negatives from (e.g. by label frequency), or `None`
            (default) for uniform draws. Training-only: not saved with the
            model.

    Example:
    >>> import keras, numpy as np, tensorflow as tf
    >>> student = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    >>> model = DistillationStudent(student, num_classes=3, alpha=0.9,
    ...                             beta=0.5, temperature=2.0)
    >>> model.compile(optimizer="sgd")
    >>> batch = {"features": np.ones((2, 2), "float32"),
    ...          "label": np.array([1, -1]),            # labeled, unlabeled
    ...          "topk_ids": np.array([[1, 0], [2, -1]]),  # -1: padding
    ...          "topk_logits": np.array([[2.0, 0.0], [0.0, 0.0]], "float32")}
    >>> logs = model.train_on_batch(batch, return_dict=True)
    >>> sorted(logs)
    ['hard_loss', 'loss', 'pseudo_loss', 'soft_loss', 'top1', 'top5']
    """

    def __init__(self, student, num_classes, alpha=LossConfig.alpha,
                 beta=LossConfig.beta, temperature=LossConfig.temperature,
                 soft_scaling=LossConfig.soft_scaling, tail=LossConfig.tail,
                 strict=True, name="distillation_student", loss_config=None,
                 sampled_classes=None, proposal=None, multi_label=False,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        # the loss settings, held once (`alpha`, `beta`, ... read them)
        self.config = loss_config or LossConfig(
            alpha, beta, temperature, soft_scaling, tail, strict)
        self.student = student
        self.num_classes = num_classes
        self.sampled_classes = sampled_classes
        if proposal is not None and proposal.num_classes != num_classes:
            raise ValueError(f"proposal over {proposal.num_classes} classes "
                             f"for a student of {num_classes}")
        self.proposal = proposal
        self.multi_label = multi_label
        if multi_label and self.config.tail == "bucket":
            raise ValueError("multi_label=True: the classes outside the "
                             "stored K are negatives, no tail='bucket'")
        if sampled_classes is not None:
            self._features, self._head = sampled_softmax.features_and_head(
                student, sampled_classes, self.config)
        # The bucket tail's soft term (dense targets with a "rest" column).
        self.soft_loss = losses.SoftTargetCrossentropy(
            self.config.temperature, self.config.soft_scaling,
            name="soft_loss")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in
                         ("loss", "hard_loss", "soft_loss", "pseudo_loss")}
        self.top1 = (keras.metrics.Mean(name="top1") if multi_label else
                     keras.metrics.SparseCategoricalAccuracy(name="top1"))
        self.top5 = keras.metrics.SparseTopKCategoricalAccuracy(
            k=min(5, num_classes), name="top5")
        # Nothing of its own to build: ready when the student is.
        self.built = student.built
        # A subclassed student's kind cannot be told: not checked.
        self.input_kind = (input_kinds.model_kind(student) or (None,))[0]

    def compile(self, optimizer="adam", **kwargs):
        """Configures training; the loss and metrics are the model's own.

        The optimizer is built here, in the distribution strategy's scope,
        so that a distributed `fit` has nothing left to build.

        Args:
            optimizer: a Keras optimizer or its name (`"adam"`: `LazyAdam`
                with `sampled_classes`).
            **kwargs: other `keras.Model.compile` arguments (not `loss`,
                `metrics`).
        """
        for name in ("loss", "metrics", "weighted_metrics"):
            if kwargs.get(name) is not None:
                raise ValueError(f"DistillationStudent computes its own loss "
                                 f"and metrics; got {name}={kwargs[name]!r}")
        if optimizer == "adam":
            optimizer = self.default_optimizer()
        super().compile(optimizer=optimizer, **kwargs)
        with self.distribute_strategy.scope():
            self.optimizer.build(self.student.trainable_variables)

    def default_optimizer(self, learning_rate=0.001):
        """Adam, or with `sampled_classes` `LazyAdam` (which updates only
        the class rows a step used)."""
        if self.sampled_classes is None:
            return keras.optimizers.Adam(learning_rate)
        return lazy_adam.LazyAdam(learning_rate)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras's TF trainer would average a distributed batch over replicas
        # to build the model symbolically, which fails on string inputs.
        # Everything is built already: the student when it was made, the
        # optimizer in `compile`.
        return

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    alpha = property(lambda self: self.config.alpha, doc="a")
    beta = property(lambda self: self.config.beta, doc="b")
    temperature = property(lambda self: self.config.temperature, doc="T")
    tail = property(lambda self: self.config.tail, doc="the soft tail")
    soft_factor = property(lambda self: self.config.soft_factor,
                           doc="the soft term's factor, 1/T or T**2")

    @property
    def metrics(self):
        return list(self.trackers.values()) + [self.top1] + (
            [] if self.multi_label else [self.top5])

    def compute_losses(self, batch, logits):
        """Returns the weighted total and the three terms for a batch.

        Args:
            batch: dict with `label` [B] (-1 = unlabeled) and, for the soft
                and pseudo terms, `topk_ids` [B, W] and `topk_logits` [B, W]
                (and `tail_mass` [B] for the bucket tail).
            logits: student logits [B, N].

        Returns:
            `(total, {"hard_loss": ..., "soft_loss": ..., "pseudo_loss":
            ...})`, scalars already scaled for tf.distribute.
        """
        logits = tf.cast(logits, tf.float32)
        if ("labels" in batch) != self.multi_label:
            raise ValueError(
                f"a batch of {'multi' if 'labels' in batch else 'single'}"
                f"-label examples for DistillationStudent(multi_label="
                f"{self.multi_label})")
        if self.multi_label:
            hard, soft, pseudo = multilabel_losses.batch_crossentropies(
                batch, logits, self.temperature)
            return self._weighted(batch, hard, soft, pseudo)
        # Every target sits on a few classes (the label; the stored top-K
        # or top-H): `losses.row_crossentropies` computes the three terms
        # per row in one pass over [B, N], with no dense target.
        label, ids, soft_targets, pseudo_targets = self._targets(batch)
        hard, soft, pseudo = losses.row_crossentropies(
            logits, tf.maximum(label, 0), ids, soft_targets, pseudo_targets,
            self.temperature)
        return self._weighted(batch, hard, soft, pseudo, logits)

    def _targets(self, batch):
        """`(label, ids, soft, pseudo)`: the batch's labels [B], stored ids
        [B, W] and the soft (labeled rows, at T) and pseudo (unlabeled rows)
        targets [B, W] on them."""
        label = batch["label"]
        labeled, unlabeled = label >= 0, label < 0
        if "topk_ids" not in batch:
            ids = tf.zeros_like(label)[:, None]
            nothing = tf.zeros(tf.shape(ids))
            return label, ids, nothing, nothing
        ids = batch["topk_ids"]
        scores = tf.cast(batch["topk_logits"], tf.float32)
        soft_targets = tf.where(labeled[:, None], targets.topk_probabilities(
            ids, scores / self.temperature), 0.0)
        if self.tail == "bucket":  # its soft term apart, dense
            soft_targets = tf.zeros_like(soft_targets)
        pseudo_targets = tf.where(unlabeled[:, None],
                                  targets.topk_probabilities(ids, scores), 0.0)
        return label, ids, soft_targets, pseudo_targets

    def _weighted(self, batch, hard, soft, pseudo, logits=None):
        """The total and the terms: each a mean over the whole batch, rows
        of the other kind counting 0."""
        label = batch["label"]
        labeled, unlabeled = label >= 0, label < 0
        terms = {"hard_loss": losses.batch_mean(hard, labeled)}
        if "topk_ids" in batch:
            terms["soft_loss"] = (
                losses.bucket_soft_loss(self.soft_loss, batch, logits,
                                        self.num_classes)
                if self.tail == "bucket"
                else self.soft_factor * losses.batch_mean(soft, labeled))
            terms["pseudo_loss"] = losses.batch_mean(pseudo, unlabeled)
        total = self.alpha * terms["hard_loss"] + (
            (1.0 - self.alpha) * terms.get("soft_loss", 0.0) +
            self.beta * terms.get("pseudo_loss", 0.0))
        return total, terms

    def compute_sampled_losses(self, batch, features, seed):
        """As `compute_losses`, on the batch's positives and
        `sampled_classes` negatives (`sampled_softmax`): the student's
        logits of those classes only, from its features [B, D] and its
        `ClassVectors` layer. `seed`: int32 [2], the negatives' draw."""
        if self.multi_label:
            label, ids, soft_targets, pseudo_targets = (
                multilabel_losses.batch_targets(batch, self.temperature))
        else:
            label, ids, soft_targets, pseudo_targets = self._targets(batch)
        candidates, log_weights, positives = sampled_softmax.draw_candidates(
            label, ids, self.num_classes, self.sampled_classes or None, seed,
            self.proposal, static_shapes=bool(self.jit_compile))
        logits = self._head.logits_of(features, candidates)
        if self.multi_label:
            terms = sampled_softmax.sampled_binary_crossentropies(
                logits, log_weights, positives, label, ids, soft_targets,
                pseudo_targets, self.temperature, self.num_classes)
        else:
            terms = sampled_softmax.sampled_crossentropies(
                logits, log_weights, positives, tf.maximum(label, 0), ids,
                soft_targets, pseudo_targets, self.temperature)
        return self._weighted(batch, *terms)

    def train_step(self, data):
        batch, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        sampled = self.sampled_classes is not None
        with tf.GradientTape() as tape:
            if sampled:
                # No top-1/top-5 then: they need all N logits (validation
                # has them).
                logits = None
                seed = tf.stack([tf.cast(self.optimizer.iterations,
                                         tf.int32),
                                 tf.constant(_SAMPLING_SEED)])
                total, terms = self.compute_sampled_losses(
                    batch, self._features(self._inputs(batch),
                                          training=True), seed)
            else:
                logits = self(self._inputs(batch), training=True)
                total, terms = self.compute_losses(batch, logits)
            scaled = self.optimizer.scale_loss(total)
        weights = self.student.trainable_weights
        gradients = tape.gradient(scaled, weights)
        self.optimizer.apply_gradients(zip(gradients, weights))
        return self._update_metrics(batch, logits, total, terms)

    def test_step(self, data):
        batch, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        logits = self(self._inputs(batch), training=False)
        total, terms = self.compute_losses(batch, logits)
        return self._update_metrics(batch, logits, total, terms)

    def _inputs(self, batch):
        """The batch's input, once it is of the student's kind."""
        kind, inputs = input_kinds.batch_input(batch)
        if self.input_kind is not None:
            input_kinds.check_matches(self.input_kind, kind,
                                      f"student {self.student.name!r}")
        return inputs

    def _update_metrics(self, batch, logits, total, terms):
        # Losses come divided by the replica count (see Keras's
        # scale_loss_for_distribution); the trackers show per-example means.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        for name, value in dict(terms, loss=total).items():
            self.trackers[name].update_state(value * replicas)
        if logits is not None and self.multi_label:
            self.top1.update_state(multilabel_losses.precision_at_1(
                batch["labels"], logits), sample_weight=_labels(batch)[1])
        elif logits is not None:
            label, labeled = _labels(batch)
            self.top1.update_state(label, logits, sample_weight=labeled)
            self.top5.update_state(label, logits, sample_weight=labeled)
        results = {m.name: m.result() for m in self.metrics
                   if logits is not None or m in self.trackers.values()}
        if distribute.is_multi_worker(tf.distribute.get_strategy()):
            # Keras averages a multi-worker step's outputs with
            # strategy.reduce("MEAN", value, axis=0), which needs rank 1
            # (tensorflow/tensorflow#72388); a [1] value reduces to a scalar.
            results = {name: value[None] for name, value in results.items()}
        return results

    def get_config(self):
        """Everything `__init__` takes, the student serialised: a
        `DistillationStudent` saved as `.keras` loads back as one."""
        return {"student": keras.saving.serialize_keras_object(self.student),
                "num_classes": self.num_classes, "alpha": self.alpha,
                "beta": self.beta, "temperature": self.temperature,
                "soft_scaling": self.config.soft_scaling, "tail": self.tail,
                "strict": self.config.strict, "name": self.name,
                "sampled_classes": self.sampled_classes,
                "multi_label": self.multi_label}

    def compile_from_config(self, config):
        """Compiles a loaded model as it was saved (its optimizer)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["student"] = keras.saving.deserialize_keras_object(
            config["student"])
        return cls(**config)


# The negatives' draw: step t uses the stateless seed (t, this).
_SAMPLING_SEED = 0x5A5


def _labels(batch):
    """Returns (class ids with -1 made 0, float weights: 1 labeled, 0 not)."""
    return (tf.maximum(batch["label"], 0),
            tf.cast(batch["label"] >= 0, tf.float32))
