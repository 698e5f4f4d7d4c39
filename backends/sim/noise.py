"""Seeded analog non-idealities in integer arithmetic (``docs/semantics.md`` section 10).

Every random number is a pure function of ``(seed, tile_id, stream, index)``
(a counter-based generator), so the numpy reference and the C kernel draw
the same numbers in any order, on any thread count.  Only uint64 / int64
arithmetic is used: no float touches a random number after the sigmas have
been converted to Q16 fixed point.

* ``mix64`` is the splitmix64 finalizer; ``random_u64(key, i)`` is the i-th
  output of splitmix64 seeded with ``key``:  ``mix64(key + (i+1) * GAMMA)``.
* ``key(seed, tile_id, stream) = mix64(mix64(mix64(seed) ^ tile_id) ^ stream)``.
* A standard Gaussian in Q16 is an Irwin-Hall sum of 12 uniform 16-bit lanes
  (the four 16-bit lanes of draws ``3i, 3i+1, 3i+2``) minus their mean
  ``6 * 65535 = 393210``: mean 0, variance ``(2**32 - 1) / 2**32`` in units of
  1.0 (sigma 1 - 1.2e-10), range ``[-6, 6]``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spintron_nn.errors import SpintronError

MASK64 = (1 << 64) - 1
GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

#: Fixed-point fraction bits of perturbed currents and Gaussians.
Q = 16
ONE_Q = 1 << Q
#: Mean of the sum of 12 uniform lanes in 0..65535.
IRWIN_HALL_MEAN = 6 * 0xFFFF

# Streams: which quantity a random number belongs to.
STREAM_VARIATION_POS = 1
STREAM_VARIATION_NEG = 2
STREAM_STUCK_POS = 3
STREAM_STUCK_NEG = 4
STREAM_READ = 5

#: Largest sigma accepted (its Q16 value times a Gaussian must fit in int64 easily).
MAX_SIGMA = 1024.0


@dataclass(frozen=True)
class NoiseSpec:
    """Optional seeded non-idealities of one tile (all default to off).

    seed, tile_id: the random streams (0 <= value < 2**64).  The simulator gives
        every physical tile of a design its own ``tile_id``.
    conductance_variation: sigma of a static relative deviation of each
        programmed cell's level current (``level * (1 + sigma * N(0,1))``).
    read_noise: sigma, in level units, of an additive Gaussian on every
        column-current read (per sample, input bit, slice, column).
    stuck_at_zero / stuck_at_one: static probabilities that a cell reads as
        level 0 / level ``2**cell_bits - 1`` whatever was programmed.
    sample_offset: index of the first row of ``x`` in the whole batch, so that
        read noise does not depend on how a caller splits a batch into calls.
    verified_column_sums: not a non-ideality but a calibration: the controller
        read every cell back after programming (program-and-verify), so the
        digital zero-point term ``zp * sum_k w`` of a layer uses each column's
        drawn conductances instead of the programmed levels (section 10).
        Without it a layer whose inputs sit far from code 0 reads every
        weight's deviation ``zp`` times, as a static offset per column; with
        it the reads' rounding no longer hides small deviations of that
        term, so it is not always better (section 10 has measurements).
    """

    seed: int = 0
    tile_id: int = 0
    conductance_variation: float = 0.0
    read_noise: float = 0.0
    stuck_at_zero: float = 0.0
    stuck_at_one: float = 0.0
    sample_offset: int = 0
    verified_column_sums: bool = False

    def tile(self, offset: int) -> "NoiseSpec":
        """The same devices' spec for the tile ``offset`` places after this one (ids wrap at 2**64)."""
        return dataclasses.replace(self, tile_id=(self.tile_id + int(offset)) & MASK64)

    def __post_init__(self):
        for name in ("seed", "tile_id", "sample_offset"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not 0 <= value <= MASK64:
                raise SpintronError(f"noise {name} must be an integer in 0..2**64-1, got {value!r}")
        for name in ("conductance_variation", "read_noise"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= MAX_SIGMA):
                raise SpintronError(f"noise {name} must be in [0, {MAX_SIGMA}], got {value!r}")
        for name in ("stuck_at_zero", "stuck_at_one"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise SpintronError(f"noise {name} must be a probability in [0, 1], got {value!r}")
        if self.stuck_at_zero + self.stuck_at_one > 1.0:
            raise SpintronError("noise stuck_at_zero + stuck_at_one must not exceed 1")
        if not isinstance(self.verified_column_sums, (bool, np.bool_)):
            raise SpintronError(f"noise verified_column_sums must be True or False, got {self.verified_column_sums!r}")

    @property
    def is_off(self) -> bool:
        """True when no non-ideality is active (the result is the exact integer one)."""
        return (self.conductance_variation_q16 == 0 and self.read_noise_q16 == 0
                and self.stuck_thresholds == (0, 0))

    @property
    def conductance_variation_q16(self) -> int:
        return int(np.rint(self.conductance_variation * ONE_Q))

    @property
    def read_noise_q16(self) -> int:
        return int(np.rint(self.read_noise * ONE_Q))

    @property
    def stuck_thresholds(self) -> tuple[int, int]:
        """``(t0, t1)``: stuck at 0 if ``u32 < t0``, at max if ``t0 <= u32 < t0 + t1``."""
        t0 = int(np.rint(self.stuck_at_zero * 2**32))
        t1 = int(np.rint(self.stuck_at_one * 2**32))
        return t0, min(t1, 2**32 - t0)


def mix64(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer on uint64 (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def stream_key(seed: int, tile_id: int, stream: int) -> np.uint64:
    """``mix64(mix64(mix64(seed) ^ tile_id) ^ stream)``."""
    key = mix64(np.uint64(seed)) ^ np.uint64(tile_id)
    key = mix64(key) ^ np.uint64(stream)
    return np.uint64(mix64(key))


def random_u64(key: np.uint64, index) -> np.ndarray:
    """``mix64(key + (index + 1) * GAMMA)`` mod 2**64, elementwise over ``index``."""
    index = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64(np.uint64(key) + (index + np.uint64(1)) * GAMMA)


def gaussian_q16(key: np.uint64, index) -> np.ndarray:
    """Standard Gaussians in Q16 (int64): ``sum of 12 16-bit lanes - 393210``.

    Lane ``l`` (0..3) of draw ``d`` (0..2) is bits ``16l..16l+15`` of
    ``random_u64(key, 3 * index + d)``.
    """
    index = np.asarray(index, dtype=np.uint64)
    total = np.zeros(index.shape, dtype=np.int64)
    for draw in range(3):
        word = random_u64(key, index * np.uint64(3) + np.uint64(draw))
        for lane in range(4):
            total += ((word >> np.uint64(16 * lane)) & np.uint64(0xFFFF)).astype(np.int64)
    return total - IRWIN_HALL_MEAN


def stuck_levels(levels: np.ndarray, key: np.uint64, spec: NoiseSpec, cell_bits: int) -> np.ndarray:
    """Levels after stuck-at faults; ``levels`` is ``[S, R, C]``, cell index row-major."""
    t0, t1 = spec.stuck_thresholds
    levels = levels.astype(np.int64)
    if t0 == 0 and t1 == 0:
        return levels
    u32 = (random_u64(key, np.arange(levels.size)) >> np.uint64(32)).astype(np.int64)
    u32 = u32.reshape(levels.shape)
    levels = np.where(u32 < t0, 0, levels)
    return np.where((u32 >= t0) & (u32 < t0 + t1), 2**cell_bits - 1, levels)


def level_currents_q16(levels: np.ndarray, variation_key: np.uint64, stuck_key: np.uint64,
                       spec: NoiseSpec, cell_bits: int) -> np.ndarray:
    """Per-cell read current in Q16 level units, int64 ``[S, R, C]``.

    ``L = stuck(level)``; ``Lq = max(0, L * 2**16 + round_half_up(L * sigma_q16 * g_q16 / 2**16))``.
    """
    levels = stuck_levels(levels, stuck_key, spec, cell_bits)
    currents = levels << Q
    sigma = spec.conductance_variation_q16
    if sigma:
        g = gaussian_q16(variation_key, np.arange(levels.size)).reshape(levels.shape)
        currents = currents + ((levels * sigma * g + (1 << (Q - 1))) >> Q)
    return np.maximum(currents, 0)


def read_noise_q16(spec: NoiseSpec, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Additive read noise in Q16 for reads ``[B, input_bits, S, C]`` (int64).

    Read ``(n, b, s, c)`` has index ``(((sample_offset + n) * input_bits + b) * S + s) * C + c``;
    its value is ``round_half_up(sigma_q16 * g_q16 / 2**16)``.
    """
    batch, input_bits, slices, cols = shape
    sigma = spec.read_noise_q16
    if sigma == 0:
        return np.zeros(shape, dtype=np.int64)
    key = stream_key(spec.seed, spec.tile_id, STREAM_READ)
    reads_per_sample = input_bits * slices * cols
    first = (spec.sample_offset * reads_per_sample) & MASK64  # wraps like uint64 in C
    index = np.uint64(first) + np.arange(batch * reads_per_sample, dtype=np.uint64)
    g = gaussian_q16(key, index).reshape(shape)
    return (sigma * g + (1 << (Q - 1))) >> Q
