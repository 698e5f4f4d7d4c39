"""The keyword dataset's signal processing (numpy MFCC, augmentation), without espeak-ng,
and the examples end to end (slow)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import keyword_data  # noqa: E402


def test_mfcc_shape_and_a_tone_lands_in_its_mel_band():
    t = np.arange(keyword_data.RATE) / keyword_data.RATE
    low, high = (keyword_data.mfcc(np.sin(2 * np.pi * f * t)) for f in (300.0, 3000.0))
    assert low.shape == (keyword_data.FRAMES, keyword_data.COEFFICIENTS) and np.isfinite(low).all()
    # recover the log-mel energies from the orthonormal DCT's first coefficients: the tones differ
    assert not np.allclose(low.mean(axis=0), high.mean(axis=0), atol=1.0)
    peak = np.argmax(keyword_data.MEL_FILTERS @ np.abs(np.fft.rfft(np.sin(2 * np.pi * 300 * t[:512]), 512)))
    assert peak < keyword_data.MELS // 2  # 300 Hz is a low mel band


def test_augment_is_one_second_seeded_and_at_the_asked_snr():
    clip = np.sin(2 * np.pi * 440 * np.arange(6000) / keyword_data.RATE)
    a = keyword_data.augment(clip, np.random.default_rng(3))
    b = keyword_data.augment(clip, np.random.default_rng(3))
    assert a.shape == (keyword_data.RATE,) and np.array_equal(a, b)
    noise_only = keyword_data.augment(np.zeros(10), np.random.default_rng(3))
    assert np.allclose(noise_only, 0)  # the noise is scaled to the signal: silence stays silent


def _run(script, *args, cwd):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs iverilog for --backend rtl")
def test_digits_example_end_to_end(tmp_path):
    _run("digits.py", "--out", str(tmp_path), "--seeds", "2", "--backend", "rtl", cwd=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "report.md").exists() and [r["seed"] for r in report["per_seed"]] == [0, 1]
    for seed in report["per_seed"]:
        # the compiled design computes what the fake-quantized model computes
        assert seed["same_prediction_fraction"] == 1.0
        assert seed["compiled_vs_fake_quant_points"] == 0.0
        assert seed["test"]["float"] > 0.9  # a trained classifier, not a constant
    # the generated Verilog, simulated by Icarus, gives the simulator's outputs bit for bit
    assert report["rtl"]["simulator"] == "icarus" and report["rtl"]["bit_exact_vs_sim"]
    assert report["rtl"]["samples"] == 8
    # validation and training images are make_digits_mlp.py's training split, cut in two; its test split is kept
    import digits
    import make_digits_mlp

    split = digits.load_split()
    x_train, x_test, _, _ = make_digits_mlp.load_split()
    assert np.array_equal(split.x_test, x_test)
    rows = lambda *parts: sorted(row.tobytes() for part in parts for row in part)  # noqa: E731
    assert rows(split.x_train, split.x_val) == rows(x_train) and len(split.x_val) == report["validation_samples"]


@pytest.mark.slow
@pytest.mark.skipif(not keyword_data.espeak_available(), reason="needs espeak-ng")
def test_wake_word_example_end_to_end(tmp_path):
    _run("wake_word.py", "--out", str(tmp_path), cwd=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    for name in ("qat", "variation_aware"):
        r = report["results"][name]
        assert abs(r["spintronc_sim_accuracy"] - r["fake_quant_accuracy"]) <= 0.005
        assert r["accuracy_at_10pct_variation"]["mean"] > 1 / 6  # better than chance
