"""Fake-quantization steps of the digital element-wise ops: residual add, standalone clamp.

* ``AddStep``: an add of two activations, lowered to ``spin.add`` (``lower_add``):
  both inputs rescaled to the add's calibrated output grid by the integer
  multipliers of ``quant_math.add_multipliers`` and one shift, clamped to the
  full code range (``quant_math.quantized_add``, what the simulator runs).
* ``ClampStep``: a ReLU / ReLU6 / Hardtanh that no matrix layer absorbs (one
  after a residual add, as in a ResNet block): ``spin.clamp`` on its input's
  grid (``lower_clip``); the compiler does not fuse it into the add.

Forward values are exact (codes); gradients straight-through the float add /
clamp, with no gradient where the result leaves the representable range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spintron_nn.backends.sim import quant_math
from spintron_nn.training.ste import codes_of, with_exact_value
from spintron_nn.training.steps import Grid, activation_bounds


def _clamped(surrogate: torch.Tensor, grid: Grid, qmin: int, qmax: int) -> torch.Tensor:
    return torch.clamp(surrogate, grid.scale * (qmin - grid.zero_point), grid.scale * (qmax - grid.zero_point))


@dataclass
class AddStep:
    """``a + b`` of two activations on the add's own calibrated grid."""

    index: int  # position among the network's adds of two activations (= compiler's graph order)

    def forward(self, a: torch.Tensor, grid_a: Grid, b: torch.Tensor, grid_b: Grid,
                out_range: tuple[float, float], bits: int) -> tuple[torch.Tensor, Grid]:
        grid = Grid(*quant_math.activation_quant_params(*out_range, bits))
        multiplier_a, multiplier_b, shift = quant_math.add_multipliers(grid_a.scale, grid_b.scale, grid.scale)
        qmax = 2**bits - 1
        codes = quant_math.quantized_add(
            codes_of(a, grid_a.scale, grid_a.zero_point), grid_a.zero_point,
            codes_of(b, grid_b.scale, grid_b.zero_point), grid_b.zero_point,
            multiplier_a, multiplier_b, shift, grid.zero_point, 0, qmax)
        surrogate = _clamped(a + b, grid, 0, qmax)
        return with_exact_value(surrogate, quant_math.dequantize(codes, grid.scale, grid.zero_point)), grid


@dataclass
class ClampStep:
    """A standalone ReLU / ReLU6 / Hardtanh: a clamp of the codes, keeping the grid."""

    activation: torch.nn.Module

    def forward(self, x: torch.Tensor, grid: Grid, bits: int) -> tuple[torch.Tensor, Grid]:
        """``bits``: the activation width; the clamp keeps the grid, so a wider input's codes stay wide."""
        bits = bits if grid.bits is None else grid.bits
        qmin, qmax = quant_math.fused_clamp_bounds(*activation_bounds(self.activation), grid.scale,
                                                   grid.zero_point, bits)
        codes = np.clip(codes_of(x, grid.scale, grid.zero_point), qmin, qmax)
        surrogate = _clamped(x, grid, qmin, qmax)
        return with_exact_value(surrogate, quant_math.dequantize(codes, grid.scale, grid.zero_point)), grid
