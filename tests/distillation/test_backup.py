"""TrainingBackup: checkpoints written whole, refused when they do not fit."""

import os
import resource

import keras
import pytest

from tests.distillation.test_training import record_sets  # noqa: F401
from topk_distill.distillation import backup, mixer
from topk_distill.models import text_models
from topk_distill.distillation.student import DistillationStudent


class _Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill after epoch 2")


def _fit(record_sets, folder, extra=(), dim=8, settings=None):  # noqa: F811
    keras.utils.set_random_seed(0)
    data = mixer.make_distillation_dataset(*record_sets, batch_size=6, seed=0)
    model = DistillationStudent(
        text_models.make_student(["a cat"], 3, embedding_dim=dim), 3)
    model.compile(optimizer="adam")
    callback = backup.TrainingBackup(
        folder, settings or {"embedding_dim": dim})
    return model.fit(data, epochs=4, verbose=0,
                     callbacks=[callback] + list(extra))


def test_a_killed_run_resumes_after_its_last_epoch(tmp_path, record_sets):  # noqa: F811
    folder = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(record_sets, folder, [_Crash()])
    assert sorted(os.listdir(folder)) == [
        "latest.weights.h5", backup.SETTINGS_FILE, "training_metadata.json"]
    assert len(_fit(record_sets, folder).history["loss"]) == 2  # 3 and 4
    assert not os.path.exists(folder)  # removed once training ended


def test_a_backup_of_another_model_is_refused(tmp_path, record_sets):  # noqa: F811
    folder = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(record_sets, folder, [_Crash()])
    with pytest.raises(ValueError, match=(
            f"{folder}: the backup of another run "
            r"\(embedding_dim=8, now 4\); remove .* to start afresh")):
        _fit(record_sets, folder, dim=4)


def test_a_damaged_checkpoint_is_named(tmp_path, record_sets):  # noqa: F811
    folder = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(record_sets, folder, [_Crash()])
    weights = os.path.join(folder, "latest.weights.h5")
    with open(weights, "r+b") as f:
        f.truncate(os.path.getsize(weights) // 2)
    with pytest.raises(ValueError, match=f"{weights}: the checkpoint does "
                       "not load"):
        _fit(record_sets, folder)


class _FileSizeLimit(keras.callbacks.Callback):
    """From the end of epoch 2 on, files may not grow past 2 KB (as
    `ulimit -f` sets it); Python ignores SIGXFSZ, so writes fail."""

    def __init__(self):
        super().__init__()
        self.saved = resource.getrlimit(resource.RLIMIT_FSIZE)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (2048, self.saved[1]))

    def restore(self):
        resource.setrlimit(resource.RLIMIT_FSIZE, self.saved)


def test_a_file_size_fault_keeps_the_last_good_checkpoint(
        tmp_path, record_sets):  # noqa: F811
    folder = str(tmp_path / "backup")
    limit = _FileSizeLimit()
    # the limit callback runs before the backup's save of the same epoch
    keras.utils.set_random_seed(0)
    data = mixer.make_distillation_dataset(*record_sets, batch_size=6, seed=0)
    model = DistillationStudent(text_models.make_student(["a cat"], 3,
                                                         embedding_dim=8), 3)
    model.compile(optimizer="adam")
    try:
        with pytest.raises(OSError, match=f"{folder}: cannot write the "
                           "checkpoint"):
            model.fit(data, epochs=4, verbose=0, callbacks=[
                limit, backup.TrainingBackup(folder, {"embedding_dim": 8})])
    finally:
        limit.restore()
    assert not [name for name in os.listdir(folder) if "tmp-" in name]
    # the rerun starts after epoch 1, the last complete save
    assert len(_fit(record_sets, folder).history["loss"]) == 3


class _CrashAt(keras.callbacks.Callback):
    """Ctrl-C at the end of epoch `epoch` (`batch=None`) or after its
    batch `batch`."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.crash, self.batch, self.epoch = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.crash and batch == self.batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.crash and self.batch is None:
            raise KeyboardInterrupt


@pytest.mark.parametrize("epoch,batch,left", [
    (0, None, 3), (2, None, 1), (0, 0, 4), (1, 0, 3), (3, 0, 1)])
def test_interrupted_anywhere_resumes_from_the_last_good_epoch(
        tmp_path, record_sets, epoch, batch, left):  # noqa: F811
    """Five points of a 4-epoch run: the rerun trains only the epochs the
    last complete checkpoint had not."""
    folder = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(record_sets, folder, [_CrashAt(epoch, batch)])
    assert len(_fit(record_sets, folder).history["loss"]) == left
    assert not os.path.exists(folder)
