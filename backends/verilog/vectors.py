"""$readmemh files: one word a line, fixed-width hex, two's complement."""

from __future__ import annotations

from pathlib import Path

import numpy as np


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_lines(values: np.ndarray, width: int) -> str:
    """Words of ``width`` bits (negative values as two's complement), one a line.

    Vectorised (a character matrix of nibbles) because weight ROMs of a large
    network hold millions of words."""
    digits = max(1, -(-width // 4))
    words = np.asarray(values, dtype=np.int64).reshape(-1).astype(np.uint64)  # two's complement
    if width < 64:
        words &= np.uint64((1 << width) - 1)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (words[:, None] >> shifts[None, :]) & np.uint64(15)
    text = np.empty((words.size, digits + 1), dtype=np.uint8)
    text[:, :digits] = _HEX[nibbles.astype(np.intp)]
    text[:, digits] = ord("\n")
    return text.tobytes().decode("ascii")


def write_hex(path: Path, values: np.ndarray, width: int) -> None:
    path.write_text(hex_lines(values, width))


def read_hex(path: Path, width: int) -> np.ndarray:
    """Signed words written by the testbench ($fwrite "%h")."""
    tokens = path.read_text().split()
    if any(set(t.lower()) & set("xz") for t in tokens):
        raise ValueError(f"{path.name} holds undefined (x/z) words")
    values = np.array([int(t, 16) for t in tokens], dtype=object)
    signed = np.where(values >= (1 << (width - 1)), values - (1 << width), values)
    return signed.astype(np.int64)


def power_of_two_padded(values: np.ndarray) -> np.ndarray:
    """Pad a ROM image with zeros to 2**ceil(log2(n)) words (at least 2), the
    depth the engines declare so that index widths are exact."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    depth = 2
    while depth < values.size:
        depth *= 2
    return np.concatenate([values, np.zeros(depth - values.size, dtype=np.int64)])
