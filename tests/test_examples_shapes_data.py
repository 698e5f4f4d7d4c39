"""The shapes dataset of examples/shapes_data.py (fast) and examples/tiny_vision.py end to end (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import shapes_data  # noqa: E402


def test_splits_are_seeded_balanced_uint8_and_independent():
    a_images, a_labels = shapes_data.make_split(60, seed=5)
    b_images, b_labels = shapes_data.make_split(60, seed=5)
    c_images, _ = shapes_data.make_split(60, seed=6)
    assert a_images.shape == (60, 3, 32, 32) and a_images.dtype == np.uint8
    assert np.array_equal(a_images, b_images) and np.array_equal(a_labels, b_labels)
    assert not np.array_equal(a_images, c_images)
    assert np.bincount(a_labels, minlength=len(shapes_data.CLASSES)).tolist() == [6] * len(shapes_data.CLASSES)
    assert len(set(shapes_data.SPLIT_SEEDS.values())) == len(shapes_data.SPLIT_SEEDS)


def test_every_class_draws_a_visible_shape_of_its_own_form():
    """Every mask covers part (not all) of the image, and no two classes' masks agree at a fixed draw."""
    y, x = np.mgrid[0:32, 0:32].astype(np.float64) + 0.5
    masks = []
    for label, name in enumerate(shapes_data.CLASSES):
        angle = np.deg2rad(45 if name == "cross" else 0)  # a cross is a plus turned by 45 degrees
        u = (x - 16) * np.cos(angle) + (y - 16) * np.sin(angle)
        v = -(x - 16) * np.sin(angle) + (y - 16) * np.cos(angle)
        masks.append(shapes_data._shape_mask(label, u, v, 9.0, np.random.default_rng(0)))
    for name, mask in zip(shapes_data.CLASSES, masks):
        assert 10 < mask.sum() < 0.5 * mask.size, name
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert np.mean(masks[i] != masks[j]) > 0.02, (shapes_data.CLASSES[i], shapes_data.CLASSES[j])


def test_foreground_and_background_keep_their_contrast():
    images, labels = shapes_data.make_split(200, seed=9)
    # shape and background differ in mean intensity by at least MIN_CONTRAST (noise only widens it)
    intensity = images.astype(np.float64).mean(axis=1).reshape(len(images), -1) / 255
    spread = np.quantile(intensity, 0.99, axis=1) - np.quantile(intensity, 0.01, axis=1)
    assert np.all(spread > shapes_data.MIN_CONTRAST)
    assert len(np.unique(labels)) == len(shapes_data.CLASSES)


def test_normalise_uses_fixed_constants():
    out = shapes_data.normalise(np.array([0, 255, 128], dtype=np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-2.0, 2.0, (128 / 255 - 0.5) / 0.25], rtol=0, atol=1e-6)


def test_cli_refuses_too_few_images_and_writes_nothing(tmp_path):
    target = tmp_path / "shapes.npz"
    done = subprocess.run([sys.executable, str(EXAMPLES / "shapes_data.py"), "--out", str(target), "--train", "3"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--train must be at least 10" in done.stderr
    assert not target.exists()


@pytest.mark.slow
def test_tiny_vision_example_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / "tiny_vision.py"), "--out", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    # the compiled design computes what the fake-quantized model computes
    assert report["qat_spintronc_sim_accuracy"] == report["qat_fake_quant_accuracy"]
    assert report["float_accuracy"] > 0.8  # a trained classifier of 10 classes, not a constant
    assert report["accuracy_at_10pct_variation"]["mean"] > 0.1
    assert len(report["accuracy_at_10pct_variation_verified_column_sums"]["per_device_seed"]) == 3
    # the fake-quantized network with the same device draws in every layer is the simulator's result
    sensitivity = report["layer_sensitivity_at_10pct"]
    assert sensitivity["all_layers"] == pytest.approx(report["accuracy_at_10pct_variation"]["mean"], abs=1e-12)
    assert [row["name"] for row in sensitivity["layers"]] == ["0", "3", "6", "10"]
    assert (tmp_path / "report.md").exists()
