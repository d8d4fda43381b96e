import types

import pytest

from topk_distill.distillation.callbacks import (LossPlateauStopping,
                                                 TargetMetricStopping)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _drive(callback, losses, seconds_per_batch, clock):
    model = types.SimpleNamespace(stop_training=False)
    callback.set_model(model)
    callback.on_train_begin()
    for step, loss in enumerate(losses):
        clock.now += seconds_per_batch
        callback.on_train_batch_end(step, {"loss": loss})
        if model.stop_training:
            return step
    return None


def test_plateau_stops_once_a_whole_window_is_flat():
    clock = FakeClock()
    stop = LossPlateauStopping(window_seconds=10, min_delta=0.01, clock=clock)
    losses = [5.0 - 0.5 * i for i in range(8)] + [1.0] * 20
    step = _drive(stop, losses, seconds_per_batch=1.0, clock=clock)
    # Flat from step 8 on; the window [t-10, t] is flat from step 18.
    assert step == 18
    assert stop.stopped_at == 19.0


def test_plateau_waits_for_a_full_window():
    clock = FakeClock()
    stop = LossPlateauStopping(window_seconds=100, min_delta=1.0, clock=clock)
    assert _drive(stop, [1.0] * 50, seconds_per_batch=1.0, clock=clock) is None


def test_plateau_keeps_going_while_loss_moves():
    clock = FakeClock()
    stop = LossPlateauStopping(window_seconds=5, min_delta=0.1, clock=clock)
    losses = [10.0 - 0.2 * i for i in range(40)]
    assert _drive(stop, losses, seconds_per_batch=1.0, clock=clock) is None


def test_plateau_monitors_another_log_and_validates():
    clock = FakeClock()
    stop = LossPlateauStopping(2, 0.5, monitor="soft_loss", clock=clock)
    model = types.SimpleNamespace(stop_training=False)
    stop.set_model(model)
    stop.on_train_begin()
    for step in range(5):
        clock.now += 1
        stop.on_train_batch_end(step, {"loss": step, "soft_loss": 1.0})
    assert model.stop_training
    with pytest.raises(ValueError, match="window_seconds=0"):
        LossPlateauStopping(0, 0.1)


def test_target_metric_stopping():
    stop = TargetMetricStopping("val_top1", 0.5)
    model = types.SimpleNamespace(stop_training=False)
    stop.set_model(model)
    stop.on_epoch_end(0, {"val_top1": 0.3})
    assert not model.stop_training
    stop.on_epoch_end(1, {"val_top1": 0.5})
    assert model.stop_training and stop.stopped_epoch == 1
    with pytest.raises(ValueError, match="no 'val_top1' in the epoch logs"):
        stop.on_epoch_end(2, {"top1": 0.9})
    low = TargetMetricStopping("val_loss", 1.0, mode="min")
    low.set_model(model)
    model.stop_training = False
    low.on_epoch_end(0, {"val_loss": 0.9})
    assert model.stop_training


def test_plateau_needs_two_points_spanning_the_window():
    # Steps longer than the window: each window holds one point; max - min
    # of one point is 0, which once stopped training at the first batch.
    clock = FakeClock()
    stop = LossPlateauStopping(window_seconds=5, min_delta=0.01, clock=clock)
    assert _drive(stop, [5.0, 4.0, 3.0, 2.0], seconds_per_batch=6.0,
                  clock=clock) is None
    # Flat from the third step: the points at 18 s and 24 s span 6 s.
    assert _drive(stop, [5.0, 4.0, 3.0, 3.0, 3.0], seconds_per_batch=6.0,
                  clock=clock) == 3


def test_a_pause_longer_than_the_window_compares_across_it():
    # A 61 s epoch-end pause with a 60 s window: the first batch after the
    # pause is compared with the last one before it.
    clock = FakeClock()
    stop = LossPlateauStopping(window_seconds=60, min_delta=0.01, clock=clock)
    model = types.SimpleNamespace(stop_training=False)
    stop.set_model(model)
    stop.on_train_begin()
    for step, (seconds, loss) in enumerate([(1, 2.0), (61, 1.5), (1, 1.5)]):
        clock.now += seconds
        stop.on_train_batch_end(step, {"loss": loss})
        assert not model.stop_training, step
    clock.now += 61
    stop.on_train_batch_end(3, {"loss": 1.5})
    assert model.stop_training and stop.stopped_at == 124.0
