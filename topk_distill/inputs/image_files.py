"""Image inputs: a folder of class subfolders of images, each file checked
to decode."""

import os
from topk_distill.inputs import input_kinds
from topk_distill.inputs.errors import InputError


def iter_image_folder(folder, verify=True):
    """A folder of class subfolders of images, or (unlabeled) of images."""
    entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
    classes = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    if not classes:
        for name in entries:
            path = os.path.join(folder, name)
            yield path, read_image(path, verify), None
        return
    loose = [e for e in entries if e not in classes]
    if loose:
        raise InputError(f"{os.path.join(folder, loose[0])}: a file beside "
                         "the class subfolders; expected every image in a "
                         "subfolder named for its class")
    for label in classes:
        for root, dirs, files in os.walk(os.path.join(folder, label)):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(f for f in files if not f.startswith(".")):
                path = os.path.join(root, name)
                yield path, read_image(path, verify), label


def read_image(path, verify=True):
    """An image file's bytes, once they are known to decode (with
    `verify`: `check_image`)."""
    if not path.lower().endswith(input_kinds.IMAGE_EXTENSIONS):
        raise InputError(f"{path}: not an image file; expected one of "
                         f"{', '.join(input_kinds.IMAGE_EXTENSIONS)} in an "
                         "image folder")
    with open(path, "rb") as f:
        data = f.read()
    if verify:
        check_image(data, path)
    return data


def check_image(data, path):
    """Refuses image bytes that do not decode.

    Raises:
        InputError: naming `path` and TensorFlow's reason.
    """
    import tensorflow as tf

    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        problem = str(e).strip().splitlines()[0][:120] if str(e).strip() \
            else type(e).__name__
        raise InputError(f"{path}: the image does not decode ({problem}); "
                         "expected a whole PNG, JPEG, GIF or BMP file"
                         ) from None
