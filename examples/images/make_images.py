"""Writes the image example's data: coloured shapes on noise, 48 classes.

Each class is a shape (circle, ring, square, diamond, cross, triangle,
horizontal bar, vertical bar) in a colour (red, orange, yellow, green,
blue, purple): 8 x 6 = 48 classes, named `SHAPE_COLOUR`. An image is 64x64
RGB: a grey background of random brightness, the shape at a random place
and size, its colour jittered (so neighbouring colours overlap), a smaller
distractor shape of any class, and pixel noise. Classes share shapes and
colours, so a teacher's scores say which classes an image is close to:
what distillation passes on.

Three folders of class subfolders of PNG files, the
`keras.utils.image_dataset_from_directory` convention: `labeled/`,
`unlabeled/` (its labels are not used: `preprocess --unlabeled`) and
`test/`. Deterministic for a seed; needs numpy only (PNG written with zlib).

Usage: python examples/images/make_images.py OUT [--labeled=40]
           [--unlabeled=100] [--test=20] [--seed=0]
  (images per class in each folder)
"""

import argparse
import os
import struct
import zlib

import numpy as np

SHAPES = ("circle", "ring", "square", "diamond", "cross", "triangle",
          "hbar", "vbar")
COLOURS = {"red": (0.9, 0.15, 0.15), "orange": (0.95, 0.55, 0.1),
           "yellow": (0.9, 0.85, 0.15), "green": (0.15, 0.7, 0.25),
           "blue": (0.15, 0.3, 0.9), "purple": (0.6, 0.2, 0.85)}
SIZE = 64


def class_names():
    """The 48 class names, `SHAPE_COLOUR`, sorted (the class ids' order)."""
    return sorted(f"{s}_{c}" for s in SHAPES for c in COLOURS)


def _mask(shape, dx, dy, r):
    ax, ay = np.abs(dx), np.abs(dy)
    d = np.hypot(dx, dy)
    thin = 0.32 * r
    return {"circle": d <= r,
            "ring": (d <= r) & (d >= 0.55 * r),
            "square": np.maximum(ax, ay) <= 0.8 * r,
            "diamond": ax + ay <= r,
            "cross": ((ax <= thin) & (ay <= r)) | ((ay <= thin) & (ax <= r)),
            "triangle": (dy >= -r) & (dy <= 0.7 * r) & (
                ax <= (dy + r) * 0.55),
            "hbar": (ay <= thin) & (ax <= r),
            "vbar": (ax <= thin) & (ay <= r)}[shape]


def _draw(image, shape, colour, rng, radius):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    cx, cy = rng.uniform(radius, SIZE - radius, size=2)
    mask = _mask(shape, xx - cx, yy - cy, radius)
    rgb = np.clip(np.array(COLOURS[colour]) + rng.normal(0, 0.12, 3) +
                  rng.normal(0, 0.08), 0, 1)
    image[mask] = rgb


def make_image(name, rng):
    """One float [64, 64, 3] image of class `name` (`SHAPE_COLOUR`)."""
    image = np.empty((SIZE, SIZE, 3), np.float32)
    image[:] = rng.uniform(0.25, 0.75)
    other = rng.choice(SHAPES), rng.choice(list(COLOURS))
    _draw(image, *other, rng, rng.uniform(6, 10))
    shape, colour = name.split("_")
    _draw(image, shape, colour, rng, rng.uniform(12, 22))
    return np.clip(image + rng.normal(0, 0.15, image.shape), 0, 1)


def png_bytes(image):
    """A float [H, W, 3] image in [0, 1] as PNG bytes (8-bit RGB)."""
    height, width, _ = image.shape
    pixels = np.round(image * 255).astype(np.uint8)
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return (struct.pack(">I", len(data)) + body +
                struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0,
                                       0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def write_folder(folder, per_class, seed):
    """Writes `per_class` images of each class under `folder/CLASS/`."""
    rng = np.random.default_rng(seed)
    for name in class_names():
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        for i in range(per_class):
            with open(os.path.join(folder, name, f"{i:04d}.png"), "wb") as f:
                f.write(png_bytes(make_image(name, rng)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--labeled", type=int, default=40)
    parser.add_argument("--unlabeled", type=int, default=100)
    parser.add_argument("--test", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for offset, (part, count) in enumerate((("labeled", args.labeled),
                                            ("unlabeled", args.unlabeled),
                                            ("test", args.test))):
        write_folder(os.path.join(args.out, part), count,
                     seed=args.seed * 10 + offset)
    total = len(class_names()) * (args.labeled + args.unlabeled + args.test)
    print(f"{args.out}: {total} images of {len(class_names())} classes "
          f"({args.labeled}/{args.unlabeled}/{args.test} per class: labeled/"
          "unlabeled/test)")


if __name__ == "__main__":
    main()
