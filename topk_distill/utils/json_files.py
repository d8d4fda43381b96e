"""JSON files written whole or not at all."""

import json


def write_json(path, value):
    """Writes a JSON file atomically (temporary file, then rename); local
    paths or any file system TensorFlow reads (`gs://`...)."""
    from tensorflow.io import gfile

    with gfile.GFile(path + ".tmp", "w") as f:
        # One write, not one per token; NaN and infinity are not JSON.
        f.write(json.dumps(value, indent=1, allow_nan=False))
    gfile.rename(path + ".tmp", path, overwrite=True)
