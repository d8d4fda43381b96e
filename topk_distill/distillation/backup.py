"""Checkpoints for restarts: written whole or not at all, checked on load.

`train` saves the student's weights, its optimizer and the epoch after
every epoch; a killed run started again with the same command goes on from
there. Keras's `BackupAndRestore` does that, but writes its two files in
place: a full disk or a file-size limit mid-write leaves a truncated
`latest.weights.h5` that every rerun then fails to open, naming no file.
`TrainingBackup` writes each file under a temporary name and renames it,
so the files there are always the last complete save. h5py crashes the
process (a segmentation fault) when a write fails, so before the weights
are written their room is claimed with `posix_fallocate`, which fails
cleanly. It keeps the
settings that define the model beside them and refuses a rerun whose
model differs, and it names the file and the folder when one cannot be
read or written.
"""

import errno
import json
import os

import keras
import tensorflow as tf

SETTINGS_FILE = "model_settings.json"


class TrainingBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with atomic saves and clear errors.

    Args:
        backup_dir: the folder of the checkpoint (created on the first save,
            removed when training ends).
        model_settings: a JSON-able dict of what defines the run (the
            model's architecture, width, vocabulary..., and what it trains
            on). Stored beside the checkpoint; a later run with other
            settings is refused instead of resuming from another run's
            weights.

    Raises (from `fit`):
        ValueError: the backup was made with other settings, or a file of
            it does not load (both name `backup_dir` and how to start
            afresh).
        OSError: a checkpoint could not be written (naming the folder).

    Examples:

        >>> import tempfile
        >>> backup = TrainingBackup(tempfile.mkdtemp() + "/backup",
        ...                         {"embedding_dim": 64})
        >>> backup.model_settings
        {'embedding_dim': 64}
    """

    def __init__(self, backup_dir, model_settings=None):
        super().__init__(backup_dir)
        self.model_settings = dict(model_settings or {})
        self._settings_path = os.path.join(backup_dir, SETTINGS_FILE)

    def on_train_begin(self, logs=None):
        fresh = (f"remove {self.backup_dir} to start afresh (its epochs are "
                 "lost), or rerun with the flags that made it")
        if tf.io.gfile.exists(self._settings_path):
            with tf.io.gfile.GFile(self._settings_path) as f:
                try:
                    stored = json.loads(f.read())
                except ValueError:
                    stored = None
            if not isinstance(stored, dict):
                raise ValueError(f"{self._settings_path}: damaged; {fresh}")
            differ = sorted(k for k in set(stored) | set(self.model_settings)
                            if stored.get(k) != self.model_settings.get(k))
            if differ:
                raise ValueError(
                    f"{self.backup_dir}: the backup of another run (" +
                    ", ".join(
                        f"{k}={stored.get(k)!r}, now "
                        f"{self.model_settings.get(k)!r}" for k in differ)
                    + f"); {fresh}")
        for path in (self._weights_path, self._training_metadata_path):
            if tf.io.gfile.exists(_temporary(path)):  # a save cut short
                tf.io.gfile.remove(_temporary(path))
        try:
            self._load_model()
        except (OSError, ValueError, KeyError, TypeError) as e:
            damaged = (self._training_metadata_path
                       if isinstance(e, (KeyError, TypeError,
                                         json.JSONDecodeError))
                       else self._weights_path)
            raise ValueError(f"{damaged}: the checkpoint does not load "
                             f"({_reason(e)}); {fresh}") from None

    def _save_model(self):
        try:
            tf.io.gfile.makedirs(self.backup_dir)
            if not tf.io.gfile.exists(self._settings_path):
                _replace(self._settings_path,
                         lambda path: _write_text(
                             path, json.dumps(self.model_settings, indent=1,
                                              sort_keys=True)))
            _replace(self._weights_path, lambda path: self.model.save_weights(
                path, overwrite=True), room=self._room())
            _replace(self._training_metadata_path, lambda path: _write_text(
                path, json.dumps({"epoch": self._current_epoch,
                                  "batch": self._last_batch_seen})))
        except OSError as e:
            raise OSError(f"{self.backup_dir}: cannot write the checkpoint "
                          f"({_reason(e)}); free space there or pass "
                          "--backup_dir=another folder") from None

    def _room(self):
        """Bytes the weights file will take, with a margin: the last one's
        size, or (first save) that of the weights and optimizer state."""
        if tf.io.gfile.exists(self._weights_path):
            size = tf.io.gfile.stat(self._weights_path).length
        else:
            variables = list(self.model.weights)
            if self.model.optimizer is not None:
                variables += list(self.model.optimizer.variables)
            size = sum(int(v.numpy().nbytes) for v in variables)
        return int(size * 1.1) + (1 << 20)


def _temporary(path):
    """Where `path` is written before it is renamed (Keras wants weights
    files to end in `.weights.h5`)."""
    folder, name = os.path.split(path)
    return os.path.join(folder, "tmp-" + name)


def _replace(path, write, room=0):
    """`write(temporary)`, then the temporary file renamed onto `path`;
    first, for a local file, `room` bytes claimed for it (an OSError if
    the disk or a file-size limit has not that much)."""
    temporary = _temporary(path)
    try:
        if room and "://" not in temporary and hasattr(os,
                                                       "posix_fallocate"):
            with open(temporary, "wb") as f:
                try:
                    os.posix_fallocate(f.fileno(), 0, room)
                except OSError as e:
                    if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                        raise  # no room; not: a file system without it
        write(temporary)
        tf.io.gfile.rename(temporary, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(temporary):
            tf.io.gfile.remove(temporary)


def _write_text(path, text):
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(text)


def _reason(error):
    text = str(error).strip().splitlines()
    return text[0][:160] if text else type(error).__name__
