"""A tiny vision dataset drawn offline in numpy: ten shape classes on 32 x 32 RGB images.

    python examples/shapes_data.py --out /tmp/shapes.npz [--train 12000]   # or imported by tiny_vision.py

No download: every image is rendered from a seeded random draw, so the
train, validation and test sets are three independent draws (different
seeds) of the same distribution.  Each image is one shape of a random
size (radius 5-11 px), position (centre 10-22 px), rotation, foreground and
background colour (at least ``MIN_CONTRAST`` apart in mean intensity), on a
background with a random linear gradient, plus Gaussian pixel noise.  The
classes differ in form, not colour or size:

    disc, ring, square, frame (hollow square), triangle, plus, cross (a plus
    turned by 45 degrees: both turn only +-20 degrees), stripes (a disc of
    parallel bars), checker (a square of checks), crescent

Images are stored as uint8 ``[N, 3, 32, 32]``; ``normalise`` maps them to
float32 with fixed constants (no dataset statistics), so a model trained on
them (the zoo's ``tiny_vision_cnn``) needs nothing but this file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = ("disc", "ring", "square", "frame", "triangle", "plus", "cross", "stripes", "checker", "crescent")
SIZE = 32
MIN_CONTRAST = 0.25
PIXEL_NOISE = 0.06
#: Seeds of the three splits (independent draws).
SPLIT_SEEDS = {"train": 1, "val": 2, "test": 3}
DEFAULT_COUNTS = {"train": 12000, "val": 1000, "test": 1000}


def _shape_mask(label: int, u: np.ndarray, v: np.ndarray, r: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of class ``label`` in rotated coordinates ``u, v`` (pixels from the centre)."""
    radius = np.hypot(u, v)
    name = CLASSES[label]
    if name == "disc":
        return radius <= r
    if name == "ring":
        return (radius <= r) & (radius >= rng.uniform(0.45, 0.65) * r)
    if name == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8 * r
    if name == "frame":
        chebyshev = np.maximum(np.abs(u), np.abs(v))
        return (chebyshev <= 0.85 * r) & (chebyshev >= rng.uniform(0.45, 0.6) * r)
    if name == "triangle":
        inside = np.ones_like(u, dtype=bool)
        for angle in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
            inside &= u * np.cos(angle) + v * np.sin(angle) <= 0.5 * r
        return inside
    if name in ("plus", "cross"):  # their orientations differ by 45 degrees (see make_split)
        arm = rng.uniform(0.18, 0.28) * r
        return ((np.abs(u) <= arm) & (np.abs(v) <= r)) | ((np.abs(v) <= arm) & (np.abs(u) <= r))
    if name == "stripes":
        period = rng.uniform(0.5, 0.8) * r
        return (radius <= r) & (np.mod(u, period) < period / 2)
    if name == "checker":
        check = rng.uniform(0.45, 0.7) * r
        return (np.maximum(np.abs(u), np.abs(v)) <= 0.85 * r) & (
            (np.floor(u / check) + np.floor(v / check)) % 2 == 0)
    if name == "crescent":
        offset = rng.uniform(0.35, 0.6) * r
        return (radius <= r) & (np.hypot(u - offset, v) > 0.85 * r)
    raise ValueError(label)


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    while True:
        foreground, background = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        if abs(foreground.mean() - background.mean()) >= MIN_CONTRAST:
            return foreground, background


def make_split(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (uint8 ``[N, 3, 32, 32]``) and labels (int64, classes balanced)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES)).astype(np.int64)
    y_grid, x_grid = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    images = np.empty((count, 3, SIZE, SIZE), dtype=np.uint8)
    for i, label in enumerate(labels):
        r = rng.uniform(5.0, 11.0)
        cx, cy = rng.uniform(10.0, 22.0, 2)
        if CLASSES[label] in ("plus", "cross"):
            angle = np.deg2rad(rng.uniform(-20, 20) + (45 if CLASSES[label] == "cross" else 0))
        else:
            angle = rng.uniform(0, 2 * np.pi)
        dx, dy = x_grid - cx, y_grid - cy
        u, v = dx * np.cos(angle) + dy * np.sin(angle), -dx * np.sin(angle) + dy * np.cos(angle)
        mask = _shape_mask(int(label), u, v, r, rng)
        foreground, background = _colours(rng)
        gradient = rng.uniform(-0.15, 0.15, 2)
        shade = (gradient[0] * (x_grid / SIZE - 0.5) + gradient[1] * (y_grid / SIZE - 0.5))[None]
        image = np.where(mask[None], foreground[:, None, None], background[:, None, None] + shade)
        image = image + PIXEL_NOISE * rng.standard_normal(image.shape)
        images[i] = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return images, labels


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 ``(x / 255 - 0.5) / 0.25`` (fixed constants: no dataset statistics)."""
    return ((np.asarray(images, dtype=np.float32) / 255.0 - 0.5) / 0.25).astype(np.float32)


def make(counts: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """``{"x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "classes"}``, images normalised."""
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    data: dict[str, np.ndarray] = {"classes": np.array(CLASSES)}
    for split, seed in SPLIT_SEEDS.items():
        images, labels = make_split(counts[split], seed)
        data[f"x_{split}"], data[f"y_{split}"] = normalise(images), labels
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the .npz (uint8 images)")
    parser.add_argument("--train", type=int, default=DEFAULT_COUNTS["train"], help="training images")
    args = parser.parse_args()
    if args.train < len(CLASSES):
        parser.error(f"--train must be at least {len(CLASSES)} (one image per class)")
    arrays = {}
    for split, seed in SPLIT_SEEDS.items():
        count = args.train if split == "train" else DEFAULT_COUNTS[split]
        arrays[f"x_{split}"], arrays[f"y_{split}"] = make_split(count, seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, classes=np.array(CLASSES), **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{len(arrays[f'y_{s}'])} {s}" for s in SPLIT_SEEDS))


if __name__ == "__main__":
    main()
