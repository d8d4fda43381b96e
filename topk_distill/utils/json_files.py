"""JSON files, written whole or not at all, and read back."""

import json


def write_json(path, value):
    """Writes a JSON file atomically (temporary file, then rename); local
    paths or any file system TensorFlow reads (`gs://`...)."""
    from tensorflow.io import gfile

    with gfile.GFile(path + ".tmp", "w") as f:
        # One write, not one per token; NaN and infinity are not JSON.
        f.write(json.dumps(value, indent=1, allow_nan=False))
    gfile.rename(path + ".tmp", path, overwrite=True)


def read_json(path):
    """Reads a JSON file (local or any file system TensorFlow reads);
    `None` if there is none.

    Raises:
        ValueError: naming `path`, if it is not valid JSON (cut short or
            damaged).
    """
    from tensorflow.io import gfile

    if not gfile.exists(path):
        return None
    with gfile.GFile(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError as e:
        raise ValueError(
            f"{path}: not valid JSON ({getattr(e, 'msg', e)} at line "
            f"{getattr(e, 'lineno', '?')}); the file is damaged or cut "
            "short") from None
