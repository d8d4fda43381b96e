"""Stopping rules: a loss plateau within a wall-clock window, or a target.

The method stops training when the training loss changes by less
than a threshold within a set duration, or when a validation metric reaches
a set value. (The two rules build on `keras.callbacks.Callback`: Keras 3
keeps its `MonitorCallback` private, and neither rule is `EarlyStopping`'s
"no improvement for `patience` epochs".)
"""

import collections
import math
import time

import keras


class LossPlateauStopping(keras.callbacks.Callback):
    """Stops when the loss varied by less than `min_delta` over `window_seconds`.

    Checked after every batch. The loss must have been watched over the
    whole window: the callback keeps the (time, loss) points from the last
    one at or before `now - window_seconds` on, so at least two points span
    the window, and stops training when max - min of those points is below
    `min_delta`. With steps (or an epoch-end pause) longer than the window,
    that compares the two points around it, never one point with itself.

    Args:
        window_seconds: the window ("set duration"), in seconds.
        min_delta: the threshold.
        monitor: the training log to watch (default `"loss"`, the running
            epoch mean that `fit` reports).
        clock: a function returning seconds; `time.monotonic` by default
            (tests pass a fake one).

    Examples:
        >>> import types
        >>> now = [0.0]
        >>> stop = LossPlateauStopping(window_seconds=10, min_delta=0.01,
        ...                            clock=lambda: now[0])
        >>> stop.set_model(types.SimpleNamespace(stop_training=False))
        >>> stop.on_train_begin()
        >>> for batch, loss in enumerate([3.0, 2.0, 1.0, 1.0, 1.0]):
        ...     now[0] += 6.0  # 6 s a step, longer than half the window
        ...     stop.on_train_batch_end(batch, {"loss": loss})
        ...     if stop.model.stop_training:
        ...         break
        >>> batch, stop.stopped_at  # 1.0 at 18 s and 24 s and 30 s: flat over 12 s
        (4, 30.0)
    """

    def __init__(self, window_seconds, min_delta, monitor="loss",
                 clock=time.monotonic):
        super().__init__()
        if window_seconds <= 0 or min_delta < 0:
            raise ValueError(f"window_seconds={window_seconds}, min_delta="
                             f"{min_delta}; expected > 0 and >= 0")
        self.window_seconds = window_seconds
        self.min_delta = min_delta
        self.monitor = monitor
        self.clock = clock
        self.history = collections.deque()
        self.stopped_at = None

    def on_train_begin(self, logs=None):
        self.history.clear()
        self.start = self.clock()
        self.stopped_at = None

    def on_train_batch_end(self, batch, logs=None):
        if not logs or self.monitor not in logs:
            return
        now = self.clock()
        self.history.append((now, float(logs[self.monitor])))
        edge = now - self.window_seconds
        # Keep one point at or before the window's start: the anchor.
        while len(self.history) > 1 and self.history[1][0] <= edge:
            self.history.popleft()
        if len(self.history) < 2 or self.history[0][0] > edge:
            return  # The points do not span the window yet.
        values = [value for _, value in self.history]
        if max(values) - min(values) < self.min_delta:
            self.model.stop_training = True
            self.stopped_at = now - self.start


class TargetMetricStopping(keras.callbacks.Callback):
    """Stops at the end of the first epoch where `monitor` reaches `target`.

    Args:
        monitor: a log name, e.g. `"val_top1"`.
        target: the value to reach.
        mode: `"max"` (reach or exceed) or `"min"` (reach or go below).

    Examples:
        >>> import types
        >>> stop = TargetMetricStopping("val_top1", 0.45)
        >>> stop.set_model(types.SimpleNamespace(stop_training=False))
        >>> stop.on_epoch_end(0, {"val_top1": 0.40})
        >>> stop.on_epoch_end(1, {"val_top1": 0.46})
        >>> stop.model.stop_training, stop.stopped_epoch
        (True, 1)
    """

    def __init__(self, monitor, target, mode="max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode={mode!r}; expected 'max' or 'min'")
        self.monitor = monitor
        self.target = target
        self.mode = mode
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs:
            raise ValueError(f"TargetMetricStopping: no {self.monitor!r} in "
                             f"the epoch logs {sorted(logs or {})}; is there "
                             "validation data?")
        value = float(logs[self.monitor])
        reached = (value >= self.target if self.mode == "max" else
                   value <= self.target)
        if reached:
            self.model.stop_training = True
            self.stopped_epoch = epoch


class NonFiniteLossStopping(keras.callbacks.TerminateOnNaN):
    """Keras's `TerminateOnNaN`, keeping a message that says why.

    Checked after every batch. `message` names the likely causes: a
    learning rate too high for the data, non-finite teacher scores in
    records read without verification, or float16 overflow under mixed
    precision.

    Examples:
        >>> import types
        >>> stop = NonFiniteLossStopping()
        >>> stop.set_model(types.SimpleNamespace(stop_training=False))
        >>> stop.on_train_batch_end(7, {"loss": float("nan")})
        Batch 7: Invalid loss, terminating training
        >>> stop.model.stop_training, stop.message[:39]
        (True, 'the training loss became nan at batch 7')
    """

    def __init__(self):
        super().__init__()
        self.message = None

    def on_train_begin(self, logs=None):
        self.message = None

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        self.message = (
            f"the training loss became {float(loss)} at batch {batch}; "
            "training stopped. Likely causes: a learning rate too high "
            "(try a smaller --learning_rate), NaN or Inf teacher scores in "
            "records read without verification (the reader refuses them "
            "otherwise), or float16 overflow under mixed precision (keep "
            "the loss float32)")


class BestEpochStopping(keras.callbacks.EarlyStopping):
    """Keras's `EarlyStopping` with the best weights restored, keeping the
    latest of equally good epochs.

    Training stops once `monitor` has not improved for `patience` epochs;
    the weights kept are those of its best epoch, and of the latest such
    epoch on ties: a validation P@1 that has stopped moving (a small or
    easy validation set) keeps the student that trained longest, not the
    first to reach it.

    Args:
        monitor: a log name, e.g. `"val_top1"`.
        patience: epochs without improvement before stopping.
        mode: `"max"` or `"min"`.

    Examples:
        >>> import types
        >>> model = types.SimpleNamespace(stop_training=False, weights=0)
        >>> model.get_weights = lambda: model.weights
        >>> stop = BestEpochStopping("val_top1", patience=2)
        >>> stop.set_model(model)
        >>> stop.on_train_begin()
        >>> for epoch, value in enumerate([0.5, 0.9, 0.9, 0.8]):
        ...     model.weights = epoch
        ...     stop.on_epoch_end(epoch, {"val_top1": value})
        >>> model.stop_training, stop.best_epoch, stop.best_weights
        (True, 2, 2)
    """

    def __init__(self, monitor, patience, mode="max"):
        super().__init__(monitor, patience=patience, mode=mode,
                         restore_best_weights=True)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        current = self.get_monitor_value(logs)
        if (current is not None and epoch != self.best_epoch and
                current == self.best):
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
