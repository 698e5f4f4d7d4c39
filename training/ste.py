"""Straight-through estimators: exact integer values forward, smooth gradients back.

Every fake-quantized value in this package is ``surrogate + (exact - surrogate).detach()``:
the forward pass carries the *exact* value of docs/semantics.md (computed by the
numpy reference, so there is one implementation of the integer semantics), the
backward pass differentiates the float ``surrogate`` (the same layer without
rounding, slicing or ADC).  Rounding is ``torch.round`` (half to even), the
``rint`` of the semantics.
"""

from __future__ import annotations

import numpy as np
import torch


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """``rint(x)`` forward, identity gradient."""
    return x + (torch.round(x) - x).detach()


def with_exact_value(surrogate: torch.Tensor, exact: np.ndarray) -> torch.Tensor:
    """A tensor whose value is ``exact`` and whose gradient is ``surrogate``'s."""
    exact_t = torch.as_tensor(np.asarray(exact), dtype=surrogate.dtype, device=surrogate.device)
    return surrogate + (exact_t - surrogate).detach()


def fake_quant_activation(x: torch.Tensor, scale: float, zero_point: int, bits: int) -> torch.Tensor:
    """Per-tensor affine fake quantization (semantics section 2).

    The clamp passes no gradient outside the representable range (the usual
    clipped straight-through estimator)."""
    qmax = 2**bits - 1
    # float64 like the compiler's quantize_activations: in float32, x / scale can
    # land exactly on a .5 tie that float64 puts below it (e.g. 3.0 / float32(0.4))
    codes = torch.clamp(round_ste(x.to(torch.float64) / scale) + zero_point, 0, qmax)
    return (scale * (codes - zero_point)).to(x.dtype)


def codes_of(x: torch.Tensor, scale: float, zero_point: int) -> np.ndarray:
    """The int64 codes of an already fake-quantized real tensor.

    ``x = scale * (q - zp)`` in float32 is within far less than half a step of
    the grid, so rounding in float64 recovers ``q`` exactly."""
    real = x.detach().to(torch.float64).cpu().numpy()
    return (np.rint(real / scale) + zero_point).astype(np.int64)
