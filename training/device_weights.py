"""The weights a noisy crossbar effectively multiplies by, for the surrogate's gradient.

With conductance variation and stuck cells (docs/semantics.md section 10)
cell ``[s, r, c]`` of a tile reads the current ``I[s, r, c]`` (Q16 level
units, ``noise.level_currents_q16``) instead of its level, and the column
current of one input bit is ``sum_r bit_r * (I_pos - I_neg)``.  Un-slicing the
currents like levels gives the real-valued integer weight of that device draw:

    W_eff[r, c] = sum_s 2**(s * cell_bits) * (I_pos[s, r, c] - I_neg[s, r, c]) / 2**16

so the simulator's noisy accumulator is ``x @ W_eff`` up to the ADC's rounding
(and saturation) of each read.  Read noise is drawn per read, not per cell:
it is not part of a weight and is left out here.

Variation-aware training differentiates through these weights (noise
injection): the surrogate of a matrix layer multiplies by ``W_eff * scale``,
so the gradients reaching earlier layers see the same devices as the forward
value.
"""

from __future__ import annotations


import numpy as np
import torch

from spintron_nn.backends.sim import noise as device_noise
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.backends.sim.reference import cell_currents_q16, slice_weights, tile_grid, unslice_weights


#: Largest gradient gain of a drawn weight (conductance variation of a few sigma stays below it).
MAX_GAIN = 2.0


def effective_integer_weights(matrix: np.ndarray, noise: NoiseSpec, *, weight_bits: int, cell_bits: int,
                              rows_per_tile: int, cols_per_tile: int) -> np.ndarray:
    """``W_eff`` (float64 ``[K, N]``) of the signed integer ``matrix [K, N]`` under ``noise``.

    Tiles are numbered as ``reference.linear_accumulate`` numbers them: tile
    ``t`` of the row-major ``tile_grid`` draws with ``tile_id = noise.tile_id + t``.
    Exact: Q16 integers divided by 2**16 are exact in float64.
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    effective = np.empty(matrix.shape, dtype=np.float64)
    for t, (row_block, col_block) in enumerate(tile_grid(*matrix.shape, rows_per_tile, cols_per_tile)):
        spec = noise.tile(t)
        levels_pos, levels_neg = slice_weights(matrix[row_block, col_block], weight_bits, cell_bits)
        currents = cell_currents_q16(levels_pos, levels_neg, cell_bits, spec)  # the simulator's own draw
        # un-slice the currents exactly as levels are un-sliced (the negative array is already subtracted)
        effective[row_block, col_block] = unslice_weights(currents, np.zeros_like(currents), cell_bits) / device_noise.ONE_Q
    return effective


def noisy_weight(w_fq: torch.Tensor, w_int: np.ndarray, w_scale: np.ndarray, w_eff: np.ndarray) -> torch.Tensor:
    """The fake-quantized weight ``w_fq = w_int * scale`` turned into the device draw's ``W_eff * scale``.

    Value: exactly ``W_eff * scale``.  Gradient w.r.t. the float weight: the
    straight-through one scaled by the cell's relative deviation
    ``W_eff / w_int``, clipped to ``[0, MAX_GAIN]``.  A weight whose code is 0
    keeps the plain straight-through gradient (gain 1: otherwise it could never
    leave zero while training with noise), and stuck cells, which can flip or
    multiply a small weight's read, do not flip or blow up its gradient: what
    the clipped gain does not explain is a constant of the draw, added as such.
    ``w_int``/``w_eff`` have ``w_fq``'s shape, ``w_scale`` is per output channel (axis 0).
    """
    scale = w_scale.reshape((-1,) + (1,) * (w_int.ndim - 1))
    nonzero = w_int != 0
    gain = np.clip(np.where(nonzero, w_eff / np.where(nonzero, w_int, 1), 1.0), 0.0, MAX_GAIN)
    constant = (w_eff - w_int * gain) * scale
    as_tensor = lambda a: torch.as_tensor(a, dtype=w_fq.dtype, device=w_fq.device)  # noqa: E731
    return w_fq * as_tensor(gain) + as_tensor(constant)


def zero_point_correction(w_noisy: torch.Tensor, w_fq: torch.Tensor, x_scale: float,
                          x_zero_point: int) -> torch.Tensor:
    """What to add to the bias of ``x_fq @ w_noisy`` to get the noisy layer (per output channel).

    The crossbar multiplies the codes ``x_q`` by ``W_eff``, but the zero-point
    term ``- x_zero_point * sum_k w_int`` is digital and uses the programmed
    weights (semantics section 6), whereas ``x_fq = x_scale * (x_q - zp)``
    subtracts ``zp * sum_k W_eff``: the layer is
    ``x_fq @ w_noisy + x_scale * zp * sum_k (w_noisy - w_fq)``.

    Value: ``x_scale * zp * sum_k (W_eff - w_int) * scale``.  It is not a
    constant of the draw: the drift grows with the weights, so its gradient,
    ``x_scale * zp * (gain - 1)`` per weight (``noisy_weight``'s gain), is
    part of the layer's.  With it the surrogate's weight gradient is the
    crossbar's own, ``x_scale * (x_q * gain - zp)``; without it training
    would not see that a layer whose inputs sit far from code 0 (an input
    layer on standardised features) reads every weight's deviation ``zp``
    times, whatever the input.  ``w_noisy``/``w_fq``: ``[out, ...]`` tensors.
    """
    return x_scale * x_zero_point * (w_noisy - w_fq).flatten(1).sum(dim=1)
