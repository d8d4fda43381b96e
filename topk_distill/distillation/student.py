"""`DistillationStudent`: trains any Keras classifier from top-K records.

A `keras.Model` that wraps a student (inputs -> [B, N] logits) and overrides
`train_step`/`test_step` so plain `compile()` / `fit()` minimise

    L = a * CE(true label, s) + (1 - a) * softCE_T(teacher top-K, s)
        + b * CE(pseudo label, s on unlabeled examples)

on batches from `make_distillation_dataset`. The teacher never runs here:
its top-K scores come with the data. Only the wrapped student has weights,
and it is what gets saved and exported.
"""

import dataclasses

import keras
import tensorflow as tf

from topk_distill.distillation import (distribute, lazy_adam, objectives,
                                       sampled_softmax)
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs import input_kinds
from topk_distill.inputs.label_space import LabelSpace


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

    What a label is, and so the terms and training metrics, comes from
    the `label_space` (`objectives.objective_for`): a single-label space
    trains softmax terms and logs `top1`/`top5`; a multi-label one
    (`MultiLabel`: examples with one or more labels, batches with
    `labels`) trains per-class sigmoid terms (the teacher's stored scores
    its sigmoid logits, the classes it did not store negatives) and logs
    `top1` as P@1 (the best class is one of the labels).

    A batch carries its input under its kind's name (`"text"`, `"image"` or
    `"features"`: `input_kinds`); a student whose input is of another kind
    is refused at the first step, naming both.

    Args:
        student: a Keras model mapping inputs to [B, N] logits.
        label_space: N (a single-label space of N classes) or an
            `inputs.label_space.LabelSpace`.
        loss: a `LossConfig` (a, b, T, the soft term's scaling and tail);
            default `LossConfig()`. With `tail="bucket"` the teacher's
            mass outside its top-K is kept as one "rest" target matched
            against the student's mass outside those K classes (records
            written with `tail_temperature` = T, checked by
            `make_distillation_dataset(loss=...)`).
        sampled_classes: S negatives per training step (see above), or
            `None` (default) for the full softmax; 0 scores every class
            through the sampled path (the full softmax, for checks).
        proposal: with `sampled_classes`, a `sampled_softmax.Proposal` to
            draw the negatives from (e.g. by label frequency), or `None`
            (default) for uniform draws. Training-only: not saved with the
            model.
        name: model name.

    Examples:
        >>> import keras, numpy as np, tensorflow as tf
        >>> student = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        >>> model = DistillationStudent(student, 3, loss=LossConfig(
        ...     alpha=0.9, beta=0.5, temperature=2.0))
        >>> model.compile(optimizer="sgd")
        >>> batch = {"features": np.ones((2, 2), "float32"),
        ...          "label": np.array([1, -1]),            # labeled, unlabeled
        ...          "topk_ids": np.array([[1, 0], [2, -1]]),  # -1: padding
        ...          "topk_logits": np.array([[2.0, 0.0], [0.0, 0.0]], "float32")}
        >>> logs = model.train_on_batch(batch, return_dict=True)
        >>> sorted(logs)
        ['hard_loss', 'loss', 'pseudo_loss', 'soft_loss', 'top1', 'top5']
    """

    def __init__(self, student, label_space, loss=None, sampled_classes=None,
                 proposal=None, name="distillation_student", **kwargs):
        super().__init__(name=name, **kwargs)
        self.student = student
        self.label_space = LabelSpace.given(label_space)
        self.config = loss or LossConfig()  # the loss settings, held once
        self.objective = objectives.objective_for(self.label_space,
                                                  self.config)
        self.sampled_classes = sampled_classes
        if proposal is not None and proposal.num_classes != self.num_classes:
            raise ValueError(f"proposal over {proposal.num_classes} classes "
                             f"for a student of {self.num_classes}")
        self.proposal = proposal
        if sampled_classes is not None:
            self._features, self._head = sampled_softmax.features_and_head(
                student, sampled_classes, self.config)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in
                         ("loss", "hard_loss", "soft_loss", "pseudo_loss")}
        self.answer_metrics = self.objective.metrics()
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

    num_classes = property(lambda self: self.label_space.num_classes,
                           doc="N")

    @property
    def metrics(self):
        return list(self.trackers.values()) + list(self.answer_metrics)

    def compute_losses(self, batch, logits):
        """Returns the weighted total and the three terms for a batch.

        Args:
            batch: dict with `label` [B] (-1 = unlabeled; multi-label also
                `labels` [B, L]) and, for the soft and pseudo terms,
                `topk_ids` [B, W] and `topk_logits` [B, W] (and `tail_mass`
                [B] for the bucket tail).
            logits: student logits [B, N].

        Returns:
            `(total, {"hard_loss": ..., "soft_loss": ..., "pseudo_loss":
            ...})`, scalars already scaled for tf.distribute.
        """
        logits = tf.cast(logits, tf.float32)
        self.objective.check(batch)
        return self.objective.weighted(
            batch, *self.objective.row_terms(batch, logits), logits)

    def compute_sampled_losses(self, batch, features, seed):
        """As `compute_losses`, on the batch's positives and
        `sampled_classes` negatives (`sampled_softmax`): the student's
        logits of those classes only, from its features [B, D] and its
        `ClassVectors` layer. `seed`: int32 [2], the negatives' draw."""
        self.objective.check(batch)
        batch_targets = self.objective.targets(batch)
        candidates, log_weights, positives = sampled_softmax.draw_candidates(
            batch_targets[0], batch_targets[1], self.num_classes,
            self.sampled_classes or None, seed, self.proposal,
            static_shapes=bool(self.jit_compile))
        return self.objective.weighted(batch, *self.objective.sampled_terms(
            batch_targets, self._head.logits_of(features, candidates),
            log_weights, positives))

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
        if logits is not None:
            self.objective.update_metrics(self.answer_metrics, batch, logits)
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
                "label_space": self.label_space.get_config(),
                "loss": dataclasses.asdict(self.config), "name": self.name,
                "sampled_classes": self.sampled_classes}

    def compile_from_config(self, config):
        """Compiles a loaded model as it was saved (its optimizer)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)

    @classmethod
    def from_config(cls, config):
        """Reads `get_config`'s form, and 0.1.0's (the loss's fields and
        `multi_label` at the top)."""
        config = dict(config)
        config["student"] = keras.saving.deserialize_keras_object(
            config["student"])
        old = {f.name: config.pop(f.name) for f in
               dataclasses.fields(LossConfig) if f.name in config}
        loss = config.pop("loss", None)
        config["loss"] = LossConfig(**(loss or old))
        space = config.pop("label_space", None) or LabelSpace.of(
            config.pop("num_classes"), config.pop("multi_label", False))
        config["label_space"] = (space if isinstance(space, LabelSpace)
                                 else LabelSpace.from_config(space))
        return cls(**config)


# The negatives' draw: step t uses the stateless seed (t, this).
_SAMPLING_SEED = 0x5A5
