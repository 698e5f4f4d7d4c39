"""The tile contract's parameter limits and checks, shared by the numpy
reference (backends/sim/reference.py) and the C kernel's loader, so that both
refuse exactly the same calls with the same messages.  numpy-only, as runtime/
must be."""

from __future__ import annotations

import numpy as np

from spintron_nn.errors import SpintronError

MAX_CELL_BITS = 4
MAX_INPUT_BITS = 16
MAX_ADC_BITS = 32
#: Largest ADC shift: currents stay below 2**24 for any supported tile, and
#: shift + input bit + slice offset must stay below 63 in the shift-add.
MAX_ADC_SHIFT = 24


def check_tile_parameters(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift) -> None:
    """Bit widths, ADC settings, shapes and the activations' dtype (not the data)."""
    if not 1 <= input_bits <= MAX_INPUT_BITS:
        raise SpintronError(f"input bits must be in 1..{MAX_INPUT_BITS}, got {input_bits}")
    if not 1 <= cell_bits <= MAX_CELL_BITS:
        raise SpintronError(f"cell bits must be in 1..{MAX_CELL_BITS}, got {cell_bits}")
    if adc_bits is None:
        if adc_shift != 0:
            raise SpintronError("an ideal ADC (adc_bits=None) needs adc_shift 0")
    elif not 1 <= adc_bits <= MAX_ADC_BITS:
        raise SpintronError(f"ADC bits must be in 1..{MAX_ADC_BITS}, got {adc_bits}")
    if not 0 <= adc_shift <= MAX_ADC_SHIFT:
        raise SpintronError(f"ADC shift must be in 0..{MAX_ADC_SHIFT}, got {adc_shift}")
    if x.ndim != 2 or levels_pos.ndim != 3 or levels_pos.shape != levels_neg.shape:
        raise SpintronError(
            f"tile shapes: x {x.shape} must be [B, R], levels {levels_pos.shape} and "
            f"{levels_neg.shape} equal [S, R, C]")
    if x.shape[1] != levels_pos.shape[1]:
        raise SpintronError(f"x has {x.shape[1]} rows, the tile {levels_pos.shape[1]}")
    if not np.issubdtype(x.dtype, np.integer):
        raise SpintronError(f"activations must be integers, got {x.dtype}")
