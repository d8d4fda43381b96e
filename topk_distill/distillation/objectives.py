"""What a student minimises for each kind of label: the targets, the
three terms (full or on sampled classes) and the training metrics.

`objective_for(label_space, loss)` looks the objective up by the space's
kind; `DistillationStudent` holds one and asks it, never a flag:

* `SingleLabelObjective`: one class per example; softmax cross-entropies
  (`losses.row_crossentropies`, `sampled_softmax.sampled_crossentropies`);
  metrics top-1 and top-5 accuracy.
* `MultiLabelObjective`: one or more classes per example; per-class
  sigmoid binary cross-entropies, the classes the teacher did not store
  negatives (`multilabel_losses`,
  `sampled_softmax.sampled_binary_crossentropies`); metric `top1`, P@1
  (the best class is one of the labels).

Each term is a per-example mean over the whole batch, rows of the other
kind (hard and soft: labeled; pseudo: unlabeled) weighing 0, divided by
the replica count under tf.distribute, as Keras losses are.
"""

import keras
import tensorflow as tf

from topk_distill.distillation import (losses, multilabel_losses,
                                       sampled_softmax, targets)


class Objective:
    """The loss terms and metrics of one label space (a base class).

    Args:
        label_space: an `inputs.label_space.LabelSpace`.
        loss: a `LossConfig` (a, b, T, the soft term's scaling and tail).
    """

    def __init__(self, label_space, loss):
        self.label_space = label_space
        self.loss = loss

    def check(self, batch):
        """Refuses a batch whose labels are of another kind."""
        found = "multi-label" if "labels" in batch else "single-label"
        if found != self.label_space.name:
            raise ValueError(f"a batch of {found} examples for a "
                             f"{self.label_space.name} student "
                             f"({self.label_space!r})")

    def targets(self, batch):
        """`(labels, ids, soft, pseudo)`: the batch's true labels, stored
        ids [B, W] and the soft (labeled rows, at T) and pseudo (unlabeled
        rows) targets [B, W] on them."""
        raise NotImplementedError

    def row_terms(self, batch, logits):
        """`(hard, soft, pseudo)` per row [B] from all N logits."""
        raise NotImplementedError

    def sampled_terms(self, batch_targets, candidate_logits, log_weights,
                      positives):
        """`(hard, soft, pseudo)` per row [B] from the logits of drawn
        candidate classes (`sampled_softmax.draw_candidates`)."""
        raise NotImplementedError

    def metrics(self):
        """New Keras metrics of the batches' ranked answers."""
        raise NotImplementedError

    def update_metrics(self, metrics, batch, logits):
        """Adds a batch's logits [B, N] to `metrics` (from `metrics()`)."""
        raise NotImplementedError

    def weighted(self, batch, hard, soft, pseudo, logits=None):
        """`(total, terms)`: each term a mean over the whole batch, rows of
        the other kind counting 0, and `a*hard + (1-a)*soft + b*pseudo`."""
        labeled = batch["label"] >= 0
        terms = {"hard_loss": losses.batch_mean(hard, labeled)}
        if "topk_ids" in batch:
            terms["soft_loss"] = self.soft_term(batch, soft, labeled, logits)
            terms["pseudo_loss"] = losses.batch_mean(pseudo, ~labeled)
        loss = self.loss
        total = loss.alpha * terms["hard_loss"] + (
            (1.0 - loss.alpha) * terms.get("soft_loss", 0.0) +
            loss.beta * terms.get("pseudo_loss", 0.0))
        return total, terms

    def soft_term(self, batch, soft, labeled, logits):
        """The soft term's batch mean, scaled by 1/T or T**2."""
        return self.loss.soft_factor * losses.batch_mean(soft, labeled)


class SingleLabelObjective(Objective):
    """Softmax terms over N classes; metrics top-1 and top-5 accuracy.

    With `tail="bucket"`, the soft term keeps the teacher's mass outside
    its top-K as one "rest" target (`losses.bucket_soft_loss`, dense).

    Examples:
        >>> import numpy as np
        >>> from topk_distill.distillation.loss_config import LossConfig
        >>> from topk_distill.inputs.label_space import SingleLabel
        >>> objective = SingleLabelObjective(SingleLabel(3), LossConfig())
        >>> batch = {"label": np.array([2])}
        >>> hard, _, _ = objective.row_terms(batch, np.array([[0.0, 0.0, 0.0]]))
        >>> round(float(hard[0]), 4)  # log 3
        1.0986
    """

    def __init__(self, label_space, loss):
        super().__init__(label_space, loss)
        self.bucket = losses.SoftTargetCrossentropy(
            loss.temperature, loss.soft_scaling, name="soft_loss")

    def targets(self, batch):
        label = batch["label"]
        labeled = label >= 0
        if "topk_ids" not in batch:
            ids = tf.zeros_like(label)[:, None]
            nothing = tf.zeros(tf.shape(ids))
            return label, ids, nothing, nothing
        ids = batch["topk_ids"]
        scores = tf.cast(batch["topk_logits"], tf.float32)
        soft = tf.where(labeled[:, None], targets.topk_probabilities(
            ids, scores / self.loss.temperature), 0.0)
        if self.loss.tail == "bucket":  # its soft term apart, dense
            soft = tf.zeros_like(soft)
        pseudo = tf.where(labeled[:, None], 0.0,
                          targets.topk_probabilities(ids, scores))
        return label, ids, soft, pseudo

    def row_terms(self, batch, logits):
        # Every target sits on a few classes (the label; the stored top-K
        # or top-H): one pass over [B, N], no dense target.
        label, ids, soft, pseudo = self.targets(batch)
        return losses.row_crossentropies(
            logits, tf.maximum(label, 0), ids, soft, pseudo,
            self.loss.temperature)

    def sampled_terms(self, batch_targets, candidate_logits, log_weights,
                      positives):
        label, ids, soft, pseudo = batch_targets
        return sampled_softmax.sampled_crossentropies(
            candidate_logits, log_weights, positives, tf.maximum(label, 0),
            ids, soft, pseudo, self.loss.temperature)

    def soft_term(self, batch, soft, labeled, logits):
        if self.loss.tail == "bucket":
            return losses.bucket_soft_loss(self.bucket, batch, logits,
                                           self.label_space.num_classes)
        return super().soft_term(batch, soft, labeled, logits)

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="top1"),
                keras.metrics.SparseTopKCategoricalAccuracy(
                    k=min(5, self.label_space.num_classes), name="top5")]

    def update_metrics(self, metrics, batch, logits):
        label = batch["label"]
        weight = tf.cast(label >= 0, tf.float32)
        for metric in metrics:
            metric.update_state(tf.maximum(label, 0), logits,
                                sample_weight=weight)


class MultiLabelObjective(Objective):
    """Per-class sigmoid terms; metric `top1`, P@1.

    Examples:
        >>> import numpy as np
        >>> from topk_distill.distillation.loss_config import LossConfig
        >>> from topk_distill.inputs.label_space import MultiLabel
        >>> objective = MultiLabelObjective(MultiLabel(2), LossConfig())
        >>> batch = {"label": np.array([0]), "labels": np.array([[0, 1]])}
        >>> hard, _, _ = objective.row_terms(batch, np.array([[0.0, 0.0]]))
        >>> round(float(hard[0]), 4)  # log 2 for each class
        0.6931
    """

    def __init__(self, label_space, loss):
        if loss.tail == "bucket":
            raise ValueError("a multi-label student treats the classes "
                             "outside the stored K as negatives: no "
                             "tail='bucket'")
        super().__init__(label_space, loss)

    def targets(self, batch):
        return multilabel_losses.batch_targets(batch, self.loss.temperature)

    def row_terms(self, batch, logits):
        return multilabel_losses.multilabel_crossentropies(
            logits, *self.targets(batch), self.loss.temperature)

    def sampled_terms(self, batch_targets, candidate_logits, log_weights,
                      positives):
        return sampled_softmax.sampled_binary_crossentropies(
            candidate_logits, log_weights, positives, batch_targets,
            self.loss.temperature, self.label_space.num_classes)

    def metrics(self):
        return [keras.metrics.Mean(name="top1")]

    def update_metrics(self, metrics, batch, logits):
        metrics[0].update_state(
            multilabel_losses.precision_at_1(batch["labels"], logits),
            sample_weight=tf.cast(batch["label"] >= 0, tf.float32))


OBJECTIVES = {"single": SingleLabelObjective, "multi": MultiLabelObjective}


def objective_for(label_space, loss):
    """The `Objective` of `label_space`'s kind, with the `LossConfig`."""
    return OBJECTIVES[label_space.kind](label_space, loss)
