"""The numpy reference of the integer semantics (normative text: ``docs/semantics.md``).

Small and obvious on purpose: the simulator, the C kernel, the Verilog and
the SPICE backend are all tested against these functions, so they favour
being easy to check over being fast.

One import point for callers: the quantization arithmetic (``quant_math``) and
the non-idealities (``noise``) are re-exported here.
"""

from __future__ import annotations


import numpy as np

from spintron_nn.backends.sim import noise as _noise
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.backends.sim.quant_math import (
    activation_quant_params,
    add_multipliers,
    dequantize,
    fused_clamp_bounds,
    lut_table,
    quantize_activations,
    quantize_weights_per_channel,
    quantized_add,
    requant_multiplier,
    requantize,
    round_shift_half_up,
)
from spintron_nn.errors import SpintronError
from spintron_nn.tiling import tile_grid

__all__ = [
    "NoiseSpec", "activation_quant_params", "add_multipliers", "adc_convert", "cell_currents_q16",
    "choose_adc_shift", "choose_adc_shift_min_error", "choose_layer_adc_shifts", "choose_tile_adc_shifts",
    "column_currents", "column_drift_q16", "dequantize",
    "fused_clamp_bounds", "linear_accumulate", "linear_reference", "lut_table",
    "num_slices", "quantize_activations", "quantize_weights_per_channel",
    "quantized_add", "requant_multiplier", "requantize", "round_shift_half_up",
    "reads_signed", "saturation_rate", "shift_add", "signed_input_bits", "signed_input_codes", "slice_weights",
    "tile_grid", "tile_input_codes",
    "tile_matvec", "twos_complement_codes", "unslice_weights", "verified_zero_point_drift",
]

#: Default largest fraction of calibration reads an ADC may saturate (doc section 5).
DEFAULT_MAX_SATURATION_RATE = 1e-3
# The limits live beside the C kernel's loader so both check calls alike.
from spintron_nn.runtime.tile_args import (  # noqa: E402
    MAX_ADC_BITS,
    MAX_ADC_SHIFT,
    MAX_CELL_BITS,
    MAX_INPUT_BITS,
    check_tile_parameters,
)


# --- weights onto cells (doc section 3) --------------------------------------


def num_slices(weight_bits: int, cell_bits: int) -> int:
    """``S = ceil((weight_bits - 1) / cell_bits)``: cells per weight magnitude."""
    return -(-(weight_bits - 1) // cell_bits)


def slice_weights(w_int, weight_bits: int, cell_bits: int):
    """Differential, bit-sliced levels of signed integer weights.

    ``w_int`` of any shape (a tile's is ``[R, C]``) with ``|w| <= 2**(weight_bits-1) - 1``.
    Returns ``(levels_pos, levels_neg)``, uint8 of shape ``[S, *w_int.shape]``:
    slice ``s`` holds bits ``s*cell_bits .. (s+1)*cell_bits - 1`` of ``|w|`` in
    the positive array where ``w > 0``, in the negative array where ``w < 0``.
    """
    if not 1 <= cell_bits <= MAX_CELL_BITS:
        raise SpintronError(f"cell bits must be in 1..{MAX_CELL_BITS}, got {cell_bits}")
    w_int = np.asarray(w_int, dtype=np.int64)
    limit = 2 ** (weight_bits - 1) - 1
    if w_int.size and int(np.max(np.abs(w_int))) > limit:
        raise SpintronError(f"weight magnitude exceeds 2**({weight_bits}-1)-1 = {limit}")
    magnitude = np.abs(w_int)
    mask = 2**cell_bits - 1
    slices = np.stack([(magnitude >> (s * cell_bits)) & mask
                       for s in range(num_slices(weight_bits, cell_bits))])
    levels_pos = np.where(w_int > 0, slices, 0).astype(np.uint8)
    levels_neg = np.where(w_int < 0, slices, 0).astype(np.uint8)
    return levels_pos, levels_neg


def unslice_weights(levels_pos, levels_neg, cell_bits: int) -> np.ndarray:
    """``W = sum_s (pos[s] - neg[s]) * 2**(s*cell_bits)`` as int64 (inverse of slicing)."""
    difference = np.asarray(levels_pos, dtype=np.int64) - np.asarray(levels_neg, dtype=np.int64)
    weights = [np.int64(1) << (s * cell_bits) for s in range(difference.shape[0])]
    return np.tensordot(np.array(weights, dtype=np.int64), difference, axes=1)


# --- one tile (doc sections 4-6) ----------------------------------------------


def _input_bit_planes(x: np.ndarray, input_bits: int) -> np.ndarray:
    """``[B, input_bits, R]`` 0/1 planes of ``x``, LSB first (the 1-bit DAC sequence)."""
    return np.stack([(x >> b) & 1 for b in range(input_bits)], axis=1)


def _exact_matmul(planes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``planes @ weights`` over integers, exact, int64.

    ``planes`` is ``[N, R]`` 0/1 and ``weights`` ``[R, M]`` int64.  Uses float64
    BLAS when every partial sum is an integer below 2**53 (then exact in any
    summation order), int64 otherwise.
    """
    bound = planes.shape[1] * (int(np.max(np.abs(weights))) if weights.size else 0)
    if bound < 2**53:
        return (planes.astype(np.float64) @ weights.astype(np.float64)).astype(np.int64)
    return planes.astype(np.int64) @ weights


def column_currents(x, levels_pos, levels_neg, *, input_bits: int) -> np.ndarray:
    """Exact column currents in level units, int64 ``[B, input_bits, S, C]``.

    ``I[n, b, s, c] = sum_r bit_b(x[n, r]) * (levels_pos[s, r, c] - levels_neg[s, r, c])``.
    These are what calibration feeds to :func:`choose_adc_shift`.
    """
    x = np.asarray(x).astype(np.int64)
    difference = np.asarray(levels_pos, dtype=np.int64) - np.asarray(levels_neg, dtype=np.int64)
    return _currents(_input_bit_planes(x, input_bits), difference)


def _currents(planes: np.ndarray, cell_currents: np.ndarray) -> np.ndarray:
    """``sum_r planes[n, b, r] * cell_currents[s, r, c]`` -> ``[B, nb, S, C]``."""
    batch, input_bits, rows = planes.shape
    slices, _, cols = cell_currents.shape
    flat = cell_currents.transpose(1, 0, 2).reshape(rows, slices * cols)
    result = _exact_matmul(planes.reshape(batch * input_bits, rows), flat)
    return result.reshape(batch, input_bits, slices, cols)


def adc_convert(current, adc_bits: int | None, adc_shift: int) -> np.ndarray:
    """``clamp(round_half_up(I / 2**adc_shift), -2**(adc_bits-1), 2**(adc_bits-1) - 1)``.

    ``adc_bits=None`` is an ideal ADC: no clamp (and the contract asks shift 0).
    """
    code = round_shift_half_up(current, adc_shift)
    if adc_bits is None:
        return code
    return np.clip(code, -(2 ** (adc_bits - 1)), 2 ** (adc_bits - 1) - 1)


def shift_add(codes: np.ndarray, adc_shift: int, cell_bits: int, signed_inputs: bool = False) -> np.ndarray:
    """``out[n, c] = sum_{b,s} codes[n, b, s, c] * 2**(adc_shift + b + s*cell_bits)`` in int64;
    ``signed_inputs``: the inputs are two's-complement codes, so the top bit plane counts
    ``-2**(input_bits-1)`` (section 4a)."""
    _, input_bits, slices, _ = codes.shape
    weights = np.array([[1 << (adc_shift + b + s * cell_bits) for s in range(slices)]
                        for b in range(input_bits)], dtype=np.int64)
    if signed_inputs:
        weights[input_bits - 1] = -weights[input_bits - 1]
    return np.einsum("nbsc,bs->nc", codes.astype(np.int64), weights)


def signed_input_bits(zero_point: int, input_bits: int) -> int:
    """Bits of the two's-complement codes ``x - zero_point`` of ``input_bits``-bit codes: as
    many when ``zero_point = 2**(input_bits-1)`` (``x - zp`` spans exactly ``-2**(b-1)..2**(b-1)-1``),
    else one more (section 4a)."""
    return input_bits if zero_point == 1 << (input_bits - 1) else input_bits + 1


def twos_complement_codes(x_q, zero_point: int, bits: int) -> np.ndarray:
    """``(x_q - zero_point) mod 2**bits`` (int64): the ``bits``-bit two's-complement pattern
    of ``x_q - zero_point`` (``spin.signed_codes``)."""
    return (np.asarray(x_q, dtype=np.int64) - int(zero_point)) & ((1 << bits) - 1)


def signed_input_codes(x_q, zero_point: int, input_bits: int) -> np.ndarray:
    """The codes a tile with signed inputs reads for ``input_bits``-bit codes ``x_q``."""
    return twos_complement_codes(x_q, zero_point, signed_input_bits(zero_point, input_bits))


def reads_signed(signed_inputs: bool, zero_point: int) -> bool:
    """Whether a matrix layer's tiles read two's-complement codes: with the option on and
    an input zero point other than 0 (a zero point of 0 has nothing to subtract)."""
    return bool(signed_inputs) and zero_point != 0


def tile_input_codes(x_q, zero_point: int, input_bits: int, signed_inputs: bool) -> tuple[np.ndarray, int]:
    """``(codes, bits)`` a matrix layer's tiles read for its ``input_bits``-bit activation codes
    ``x_q``: those codes, or with :func:`reads_signed` their two's-complement codes."""
    if reads_signed(signed_inputs, zero_point):
        return signed_input_codes(x_q, zero_point, input_bits), signed_input_bits(zero_point, input_bits)
    return np.asarray(x_q, dtype=np.int64), input_bits


def _check_tile_args(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift):
    check_tile_parameters(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift)
    if x.size and (int(x.min()) < 0 or int(x.max()) >= 2**input_bits):
        raise SpintronError(f"activations must be in 0..2**{input_bits}-1")
    for levels in (levels_pos, levels_neg):
        if levels.size and (int(levels.min()) < 0 or int(levels.max()) >= 2**cell_bits):
            raise SpintronError(f"levels must be in 0..2**{cell_bits}-1")


def tile_matvec(x, levels_pos, levels_neg, *, input_bits: int, cell_bits: int,
                adc_bits: int | None, adc_shift: int, noise: NoiseSpec | None = None,
                signed_inputs: bool = False) -> np.ndarray:
    """One crossbar tile: bit-serial inputs, differential bit slices, ADC, shift-add.

    x: [B, R] non-negative integer activations (< 2**input_bits), any int dtype.
    levels_pos, levels_neg: [S, R, C] uint8 in 0..2**cell_bits-1 (differential
    pair; slice s has weight 2**(s*cell_bits)).
    Per input bit b (LSB first) and slice s:
    I[b,s,c] = sum_r bit_b(x[:,r]) * (levels_pos[s,r,c] - levels_neg[s,r,c])
    (exact integer "column current" in level units).
    ADC: code = clamp((I + (1 << (adc_shift-1))) >> adc_shift if adc_shift > 0 else I,
    -2**(adc_bits-1), 2**(adc_bits-1)-1) (round half up, saturating, signed);
    adc_bits=None means an ideal ADC (no clamp, shift must be 0).
    Shift-add: out[:, c] = sum_{b,s} code[b,s,c] << (adc_shift + b + s*cell_bits), in int64.
    noise: optional seeded non-idealities (:class:`NoiseSpec`), integer/fixed-point
    only (docs/semantics.md section 10); None or all-off = exact integer result.
    signed_inputs: ``x`` holds two's-complement codes (:func:`signed_input_codes`);
    the shift-add counts the top bit plane negatively (section 4a).
    Returns [B, C] int64.
    """
    x = np.asarray(x)
    levels_pos = np.asarray(levels_pos)
    levels_neg = np.asarray(levels_neg)
    _check_tile_args(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift)
    planes = _input_bit_planes(x.astype(np.int64), input_bits)
    if noise is None or noise.is_off:
        difference = levels_pos.astype(np.int64) - levels_neg.astype(np.int64)
        codes = adc_convert(_currents(planes, difference), adc_bits, adc_shift)
    else:
        currents_q16 = _noisy_currents_q16(planes, levels_pos, levels_neg, cell_bits, noise)
        codes = adc_convert(currents_q16, adc_bits, adc_shift + _noise.Q)
    return shift_add(codes, adc_shift, cell_bits, signed_inputs)


def cell_currents_q16(levels_pos, levels_neg, cell_bits: int, spec: NoiseSpec) -> np.ndarray:
    """Signed per-cell read currents ``I_pos - I_neg`` (int64 ``[S, R, C]``, Q16 level
    units) of one tile's device draw: conductance variation and stuck cells of ``spec``."""
    def array_currents(levels, variation_stream, stuck_stream):
        return _noise.level_currents_q16(
            levels,
            _noise.stream_key(spec.seed, spec.tile_id, variation_stream),
            _noise.stream_key(spec.seed, spec.tile_id, stuck_stream),
            spec, cell_bits)

    return (array_currents(levels_pos, _noise.STREAM_VARIATION_POS, _noise.STREAM_STUCK_POS)
            - array_currents(levels_neg, _noise.STREAM_VARIATION_NEG, _noise.STREAM_STUCK_NEG))


def column_drift_q16(levels_pos, levels_neg, cell_bits: int, spec: NoiseSpec) -> np.ndarray:
    """Per column of one tile: ``sum_r (W_eff[r] - w[r])`` in Q16 (int64 ``[C]``), the drawn
    conductances' departure from the programmed weights, un-sliced as weights are."""
    drawn = unslice_weights(cell_currents_q16(levels_pos, levels_neg, cell_bits, spec),
                            np.zeros_like(levels_neg, dtype=np.int64), cell_bits)
    programmed = unslice_weights(levels_pos, levels_neg, cell_bits) << np.int64(_noise.Q)
    return (drawn - programmed).sum(axis=0)


def verified_zero_point_drift(x_zero_point: int, drift_q16) -> np.ndarray:
    """What a verified zero-point term subtracts beyond ``zp * column_sums``:
    ``round(zp * drift / 2**16)`` (round half up), int64, from a layer's summed drift."""
    return round_shift_half_up(int(x_zero_point) * np.asarray(drift_q16, dtype=np.int64), _noise.Q)


def _noisy_currents_q16(planes, levels_pos, levels_neg, cell_bits, spec: NoiseSpec):
    """Column currents in Q16 level units with the non-idealities of ``spec``."""
    currents = _currents(planes, cell_currents_q16(levels_pos, levels_neg, cell_bits, spec))
    return currents + _noise.read_noise_q16(spec, currents.shape)


# --- ADC shift from calibration (doc section 5) -------------------------------


def saturation_rate(currents, adc_bits: int, adc_shift: int) -> float:
    """Fraction of reads whose rounded value lies outside the ADC's code range."""
    currents = np.asarray(currents, dtype=np.int64)
    if currents.size == 0:
        return 0.0
    code = round_shift_half_up(currents, adc_shift)
    saturated = (code < -(2 ** (adc_bits - 1))) | (code > 2 ** (adc_bits - 1) - 1)
    return float(np.count_nonzero(saturated)) / currents.size


def choose_adc_shift(currents_samples, adc_bits: int | None,
                     max_saturation_rate: float = DEFAULT_MAX_SATURATION_RATE) -> int:
    """The smallest shift whose saturation rate over ``currents_samples`` is <= the threshold.

    ``currents_samples``: exact column currents of the tile on calibration data
    (any shape, e.g. from :func:`column_currents`).  An ideal ADC gets 0.
    """
    if adc_bits is None:
        return 0
    if not 0.0 <= max_saturation_rate <= 1.0:
        raise SpintronError(f"max saturation rate must be in [0, 1], got {max_saturation_rate}")
    for shift in range(MAX_ADC_SHIFT + 1):
        if saturation_rate(currents_samples, adc_bits, shift) <= max_saturation_rate:
            return shift
    raise SpintronError(f"column currents too large for a {adc_bits}-bit ADC "
                        f"even with shift {MAX_ADC_SHIFT}")


def choose_adc_shift_min_error(currents, adc_bits: int | None, cell_bits: int, signed_inputs: bool = False) -> int:
    """The shift that minimises the tile's mean squared output error on calibration data.

    ``currents``: exact column currents ``[B, input_bits, S, C]`` (:func:`column_currents`).
    The error of one output is ``shift_add(codes) - shift_add(currents)`` (section 6);
    shifts from 0 up to the smallest never-saturating one are tried, ties go to
    the smaller shift.  Unlike the saturation rule this sees the systematic
    error that round-half-up ties add to every shifted read.
    """
    if adc_bits is None:
        return 0
    currents = np.asarray(currents, dtype=np.int64)
    if currents.ndim != 4:
        raise SpintronError(f"currents must be [B, input_bits, S, C], got shape {currents.shape}")
    if currents.size == 0:
        return 0
    exact = shift_add(currents, 0, cell_bits, signed_inputs)
    errors = []
    for shift in range(choose_adc_shift(currents, adc_bits, 0.0) + 1):
        error = shift_add(adc_convert(currents, adc_bits, shift), shift, cell_bits, signed_inputs) - exact
        errors.append(float(np.mean(np.square(error.astype(np.float64)))))
    return int(np.argmin(errors))


#: How ``choose_layer_adc_shifts`` picks a tile's shift (doc section 5).
ADC_SHIFT_RULES = ("min-error", "saturation")


def choose_tile_adc_shifts(x_calibration, w_int, blocks, *, weight_bits: int, cell_bits: int,
                           input_bits: int, adc_bits: int | None, rule: str = "min-error",
                           max_saturation_rate: float = DEFAULT_MAX_SATURATION_RATE,
                           signed_inputs: bool = False) -> np.ndarray:
    """The shift of every tile ``blocks[t] = (row_slice, col_slice)`` of a ``[K, N]`` matrix
    from calibration codes ``[B, K]`` (the codes the tiles read: two's-complement ones with
    ``signed_inputs``): int64 ``[len(blocks)]``, in the blocks' order.

    ``rule``: ``"min-error"`` (:func:`choose_adc_shift_min_error`) or
    ``"saturation"`` (:func:`choose_adc_shift` with ``max_saturation_rate``).
    """
    if rule not in ADC_SHIFT_RULES:
        raise SpintronError(f"ADC shift rule must be one of {', '.join(ADC_SHIFT_RULES)}, got {rule!r}")
    x_calibration = np.asarray(x_calibration, dtype=np.int64)
    w_int = np.asarray(w_int, dtype=np.int64)
    shifts = np.zeros(len(blocks), dtype=np.int64)
    for t, (row_block, col_block) in enumerate(blocks):
        levels_pos, levels_neg = slice_weights(w_int[row_block, col_block], weight_bits, cell_bits)
        currents = column_currents(x_calibration[:, row_block], levels_pos, levels_neg,
                                   input_bits=input_bits)
        if rule == "min-error":
            shifts[t] = choose_adc_shift_min_error(currents, adc_bits, cell_bits, signed_inputs)
        else:
            shifts[t] = choose_adc_shift(currents, adc_bits, max_saturation_rate)
    return shifts


def choose_layer_adc_shifts(x_calibration, w_int, *, rows_per_tile: int, cols_per_tile: int,
                            **options) -> np.ndarray:
    """Per-tile shifts ``[n_row_tiles, n_col_tiles]`` of a dense ``[K, N]`` matrix on the
    ``rows_per_tile x cols_per_tile`` grid (:func:`choose_tile_adc_shifts`' ``options``)."""
    rows, cols = np.shape(w_int)
    shifts = choose_tile_adc_shifts(x_calibration, w_int, tile_grid(rows, cols, rows_per_tile, cols_per_tile),
                                    **options)
    return shifts.reshape(-(-rows // rows_per_tile), -(-cols // cols_per_tile))


# --- a whole matrix layer (doc sections 6-8) ------------------------------------


def linear_accumulate(x_q, w_int, *, weight_bits: int, cell_bits: int, input_bits: int,
                      adc_bits: int | None, adc_shifts, rows_per_tile: int, cols_per_tile: int,
                      x_zero_point: int = 0, bias=None, noise: NoiseSpec | None = None,
                      tile_function=None, blocks=None, signed_inputs: bool = False):
    """The int64 accumulator ``[B, N]`` of ``x_q @ w_int`` computed on crossbar tiles.

    x_q: [B, K] activation codes; w_int: [K, N] signed weights (rows = inputs).
    Tiles cover ``rows_per_tile x cols_per_tile`` blocks, row-major; tile ``t``
    uses ``adc_shifts`` (an int, or ``[n_row_tiles, n_col_tiles]``) and, with
    noise, ``tile_id = noise.tile_id + t``; with ``noise.verified_column_sums`` the
    zero-point term also subtracts :func:`verified_zero_point_drift` of the tiles' summed
    :func:`column_drift_q16`.  ``blocks``: the tiles as
    ``(row_slice, col_slice)`` pairs instead of that grid (e.g. a grouped
    layer's ``tiling.layer_tile_blocks``; cells outside every block are never
    read), numbered in their order, ``adc_shifts`` then an int or one per block.
    Then the exact digital terms:
    ``acc = sum_tiles - x_zero_point * sum_k w_int[k, :] + bias``.
    ``tile_function``: another implementation of the tile contract
    (e.g. ``dispatch.tile_matvec``, the C kernel); default :func:`tile_matvec`.
    ``signed_inputs`` (with ``x_zero_point != 0``): the tiles read the two's-complement
    codes of ``x_q - x_zero_point`` (:func:`signed_input_codes`) and there is no
    zero-point term (section 4a).
    """
    tile_function = tile_function or tile_matvec
    signed = reads_signed(signed_inputs, x_zero_point)
    x_q, input_bits = tile_input_codes(x_q, x_zero_point, input_bits, signed_inputs)
    if signed:
        x_zero_point = 0
    w_int = np.asarray(w_int, dtype=np.int64)
    rows, cols = w_int.shape
    if blocks is None:
        blocks = tile_grid(rows, cols, rows_per_tile, cols_per_tile)
        shape = (-(-rows // rows_per_tile), -(-cols // cols_per_tile))
    else:
        blocks = list(blocks)
        shape = (len(blocks),)
    try:
        shifts = np.broadcast_to(np.asarray(adc_shifts, dtype=np.int64), shape).reshape(-1)
    except ValueError:
        raise SpintronError(f"ADC shifts do not fit a layer of {shape} tiles (one per tile, or one int)") from None
    acc = np.zeros((x_q.shape[0], cols), dtype=np.int64)
    verified = noise is not None and noise.verified_column_sums
    drift = np.zeros(cols, dtype=np.int64)
    for t, (row_block, col_block) in enumerate(blocks):
        levels_pos, levels_neg = slice_weights(w_int[row_block, col_block], weight_bits, cell_bits)
        tile_noise = None
        if noise is not None:
            tile_noise = noise.tile(t)
        acc[:, col_block] += tile_function(
            x_q[:, row_block], levels_pos, levels_neg,
            input_bits=input_bits, cell_bits=cell_bits, adc_bits=adc_bits,
            # the flag only where it is set: other tile functions (the C module's) take no sign
            adc_shift=int(shifts[t]), noise=tile_noise, **({"signed_inputs": True} if signed else {}))
        if verified:
            drift[col_block] += column_drift_q16(levels_pos, levels_neg, cell_bits, tile_noise)
    acc -= x_zero_point * w_int.sum(axis=0)
    if verified:
        acc -= verified_zero_point_drift(x_zero_point, drift)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64)
    return acc


def linear_reference(x_q, w_int, *, weight_bits: int, cell_bits: int, input_bits: int,
                     adc_bits: int | None, adc_shifts, rows_per_tile: int, cols_per_tile: int,
                     x_zero_point: int = 0, bias=None, multiplier, shift,
                     out_zero_point: int, qmin: int, qmax: int,
                     noise: NoiseSpec | None = None, tile_function=None, blocks=None,
                     signed_inputs: bool = False) -> np.ndarray:
    """A whole quantized matrix layer: :func:`linear_accumulate` then :func:`requantize`.

    ``multiplier``/``shift`` are per output channel (``[N]``) or scalars, from
    :func:`requant_multiplier` of ``s_x * s_w[n] / s_out``; ``qmin``/``qmax``
    carry a fused clamp (:func:`fused_clamp_bounds`).  Returns int64 codes ``[B, N]``.
    """
    acc = linear_accumulate(
        x_q, w_int, weight_bits=weight_bits, cell_bits=cell_bits, input_bits=input_bits,
        adc_bits=adc_bits, adc_shifts=adc_shifts, rows_per_tile=rows_per_tile,
        cols_per_tile=cols_per_tile, x_zero_point=x_zero_point, bias=bias, noise=noise,
        tile_function=tile_function, blocks=blocks, signed_inputs=signed_inputs)
    return requantize(acc, multiplier, shift, out_zero_point, qmin, qmax)
