"""Stopping rules: a loss plateau within a wall-clock window, or a target.

The source document stops training when the training loss changes by less
than a threshold within a set duration, or when a validation metric reaches
a set value.
"""

import collections
import math
import time

import keras


class LossPlateauStopping(keras.callbacks.Callback):
    """Stops when the loss varied by less than `min_delta` over `window_seconds`.

    Checked after every batch: the callback keeps the (time, loss) pairs of
    the last `window_seconds` of wall-clock time; once it has seen a whole
    window, it stops training if max - min of the monitored value over the
    window is below `min_delta`.

    Args:
        window_seconds: the window ("set duration"), in seconds.
        min_delta: the threshold.
        monitor: the training log to watch (default `"loss"`, the running
            epoch mean that `fit` reports).
        clock: a function returning seconds; `time.monotonic` by default
            (tests pass a fake one).

    Example:
    >>> stop = LossPlateauStopping(window_seconds=600, min_delta=1e-3)
    >>> model.fit(dataset, epochs=1000, callbacks=[stop])
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
        while self.history[0][0] < now - self.window_seconds:
            self.history.popleft()
        if now - self.start < self.window_seconds:
            return
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

    Example:
    >>> model.fit(train, validation_data=val, epochs=100,
    ...           callbacks=[TargetMetricStopping("val_top1", 0.45)])
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


class NonFiniteLossStopping(keras.callbacks.Callback):
    """Stops training when the loss becomes NaN or infinite, saying why.

    Checked after every batch. The message names the likely causes: a
    learning rate too high for the data, non-finite teacher scores in
    records written by another tool, or float16 overflow under mixed
    precision.

    Example:
    >>> stop = NonFiniteLossStopping()
    >>> model.fit(dataset, callbacks=[stop])
    >>> stop.message  # None, or what happened and what to try
    """

    def __init__(self):
        super().__init__()
        self.message = None

    def on_train_begin(self, logs=None):
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        self.model.stop_training = True
        self.message = (
            f"the training loss became {float(loss)} at batch {batch}; "
            "training stopped. Likely causes: a learning rate too high "
            "(try a smaller --learning_rate), NaN or Inf teacher scores in "
            "records not written by `preprocess` (it refuses them), or "
            "float16 overflow under mixed precision (keep the loss float32)")
