"""A keyword-spotting dataset made offline with espeak-ng, and MFCC features in numpy.

    python examples/keyword_data.py --out /tmp/keywords.npz     # or imported by wake_word.py

Six keywords are spoken by espeak-ng in 7 English accents x 4 voice variants
(male/female formant sets), each at 4 seeded (speed, pitch) draws from
120-220 words/min and pitch 25-80.  Every clip is trimmed, placed at a random
offset in a 1 s window (time shift), mixed with white/brown background noise
at 5-20 dB SNR, and turned into 48 x 13 MFCCs (25 ms Hamming frames, 20 ms
hop, 40 mel bands, log, DCT-II), standardised per coefficient with the
training set's statistics and clipped at 3 sigma.  The split is by voice: a quarter of the
(accent, variant) pairs are held out, so the test set is made of unseen
voices; another ``VALIDATION_VOICES`` pairs form a validation set (also unseen
in training) on which training recipes are chosen, so that the test set is
used only to report.  Everything is seeded; the result is cached in one .npz.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.fft import dct
from scipy.io import wavfile
from scipy.signal import resample_poly

KEYWORDS = ("yes", "no", "up", "down", "stop", "go")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m3", "f2", "f4")
PROSODY_DRAWS = 4
RATE = 16_000
FRAME, HOP, FFT, MELS, COEFFICIENTS, FRAMES = 400, 320, 512, 40, 13, 48
AUGMENT_TRAIN, AUGMENT_TEST = 4, 4
CLIP_SIGMAS = 3.0
VALIDATION_VOICES = 4


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _speak(word: str, voice: str, speed: int, pitch: int, folder: Path, name: str) -> np.ndarray:
    path = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), word],
                   check=True, capture_output=True)
    rate, samples = wavfile.read(path)
    audio = resample_poly(samples.astype(np.float64) / 32768.0, RATE, rate)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def _recordings(seed: int) -> list[tuple[int, int, np.ndarray]]:
    """``(keyword index, voice index, audio)`` for every spoken clip."""
    rng = np.random.default_rng(seed)
    jobs = []
    voices = list(itertools.product(ACCENTS, VARIANTS))
    for v, (accent, variant) in enumerate(voices):
        for _ in range(PROSODY_DRAWS):
            speed, pitch = int(rng.integers(120, 221)), int(rng.integers(25, 81))
            for k, word in enumerate(KEYWORDS):
                jobs.append((k, v, f"{accent}+{variant}", speed, pitch))
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        audio = list(pool.map(lambda j: _speak(KEYWORDS[j[0]], j[2], j[3], j[4], Path(tmp),
                                               f"{j[1]}_{j[3]}_{j[4]}_{j[0]}"), jobs))
    return [(k, v, a) for (k, v, *_), a in zip(jobs, audio)]


def _background(rng: np.random.Generator, length: int) -> np.ndarray:
    white = rng.standard_normal(length)
    brown = np.cumsum(rng.standard_normal(length))
    brown -= np.linspace(brown[0], brown[-1], length)  # no drift
    mix = rng.uniform(0, 1)
    noise = mix * white / white.std() + (1 - mix) * brown / max(brown.std(), 1e-12)
    return noise / noise.std()


def augment(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One second: the clip at a random offset plus background noise at 5-20 dB SNR."""
    audio = audio[:RATE]
    window = np.zeros(RATE)
    start = int(rng.integers(0, RATE - len(audio) + 1))
    window[start:start + len(audio)] = audio * rng.uniform(0.5, 1.0)
    signal_power = np.mean(audio**2) * len(audio) / RATE
    snr_db = rng.uniform(5, 20)
    return window + _background(rng, RATE) * np.sqrt(signal_power / 10 ** (snr_db / 10))


def _mel_filters() -> np.ndarray:
    def hz_to_mel(f):
        return 2595 * np.log10(1 + f / 700)

    mel_points = np.linspace(hz_to_mel(20), hz_to_mel(RATE / 2), MELS + 2)
    bins = np.floor((FFT + 1) * (700 * (10 ** (mel_points / 2595) - 1)) / RATE).astype(int)
    filters = np.zeros((MELS, FFT // 2 + 1))
    for m in range(1, MELS + 1):
        left, center, right = bins[m - 1], bins[m], bins[m + 1]
        filters[m - 1, left:center] = (np.arange(left, center) - left) / max(center - left, 1)
        filters[m - 1, center:right] = (right - np.arange(center, right)) / max(right - center, 1)
    return filters


MEL_FILTERS = _mel_filters()


def mfcc(audio: np.ndarray) -> np.ndarray:
    """``[FRAMES, COEFFICIENTS]`` MFCCs of one second of 16 kHz audio."""
    emphasised = np.append(audio[0], audio[1:] - 0.97 * audio[:-1])
    starts = np.arange(FRAMES) * HOP
    frames = emphasised[starts[:, None] + np.arange(FRAME)] * np.hamming(FRAME)
    power = np.abs(np.fft.rfft(frames, FFT)) ** 2 / FFT
    log_mel = np.log(power @ MEL_FILTERS.T + 1e-10)
    return dct(log_mel, type=2, axis=1, norm="ortho")[:, :COEFFICIENTS]


def make_dataset(seed: int = 0) -> dict[str, np.ndarray]:
    """Features ``x [N, 1, 48, 13]`` (standardised with train statistics) and labels of the
    train / validation / test splits (disjoint voices)."""
    rng = np.random.default_rng(seed)
    recordings = _recordings(seed)
    voices = len(ACCENTS) * len(VARIANTS)
    order = rng.permutation(voices).tolist()
    held_out = voices // 4
    split_of = {v: "test" for v in order[:held_out]}
    split_of.update({v: "val" for v in order[held_out:held_out + VALIDATION_VOICES]})
    parts = {"train": ([], []), "val": ([], []), "test": ([], [])}
    for keyword, voice, audio in recordings:
        split = split_of.get(voice, "train")
        for _ in range(AUGMENT_TRAIN if split == "train" else AUGMENT_TEST):
            parts[split][0].append(mfcc(augment(audio, rng)))
            parts[split][1].append(keyword)
    x_train, x_val, x_test = (np.stack(parts[k][0])[:, None].astype(np.float32) for k in ("train", "val", "test"))
    mean, std = x_train.mean(axis=(0, 2), keepdims=True), x_train.std(axis=(0, 2), keepdims=True)

    def standardise(x):
        # clipped at 3 sigma: min/max calibration of a 4-bit input would spend its codes on outliers
        return np.clip((x - mean) / std, -CLIP_SIGMAS, CLIP_SIGMAS).astype(np.float32)

    return {
        "x_train": standardise(x_train), "y_train": np.array(parts["train"][1]),
        "x_val": standardise(x_val), "y_val": np.array(parts["val"][1]),
        "x_test": standardise(x_test), "y_test": np.array(parts["test"][1]),
        "keywords": np.array(KEYWORDS),
    }


def load_or_make(path: str | Path, seed: int = 0) -> dict[str, np.ndarray]:
    path = Path(path)
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            if "x_val" in data.files:  # older caches have no validation split: remake them
                return {k: data[k] for k in data.files}
    if not espeak_available():
        raise SystemExit("keyword_data: espeak-ng is not installed (apt-get install -y espeak-ng)")
    data = make_dataset(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **data)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/output/keywords.npz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_or_make(args.out, args.seed)
    print(f"{len(data['y_train'])} train / {len(data['y_val'])} validation / {len(data['y_test'])} test clips of "
          f"{', '.join(data['keywords'])}; features {data['x_train'].shape[1:]} -> {args.out}")


if __name__ == "__main__":
    main()
