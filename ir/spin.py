"""The ``spin`` dialect: a quantized network mapped onto MTJ crossbar tiles.

Value types (see docs/spin-dialect.md):
* quantized activations are ``tensor<...xui8>`` holding unsigned codes
  ``q < 2**bits`` of a per-tensor affine quantization ``real = scale*(q - zp)``;
* crossbar accumulators are ``tensor<MxNxi64>`` in "weight-integer x code" units;
* matrices are row-major ``[M, K] @ [K, N]``: rows of the crossbar are the K
  input features, columns the N outputs, M the batch (or conv output pixels).

The analog part is ``spin.crossbar_tile`` (one physical tile, the contract of
docs/semantics.md); everything else is digital and exact.  ``spin.crossbar_layer``
is the untiled form that ``lower-to-spin`` emits and ``tile-crossbars`` splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    f32,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from spintron_nn.ir.nn import broadcast_shapes
from spintron_nn.ir.weights import WeightAttr

ui8 = IntegerType(8, Signedness.UNSIGNED)
DYNAMIC = DYNAMIC_INDEX

# Supported ranges (issue 4): checked by the verifiers so that hand-written IR
# gets the same limits as the pass options.
ACT_BITS = (2, 8)
WEIGHT_BITS = (2, 8)
CELL_BITS = (1, 4)
#: Discardable attribute on an ``nn`` op that lower-to-spin left in the spin
#: module to run on the digital float unit (no crossbar or integer mapping);
#: its value says why.  Not a crossbar op: dequantized in, float32, quantized out.
FLOAT_UNIT_ATTR = "spin.float_unit"
ADC_BITS = (1, 12)
ARRAY_DIM = (16, 1024)


# --------------------------------------------------------------------------
# attribute helpers
# --------------------------------------------------------------------------


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def real_attr(value: float) -> FloatAttr:
    # f64: scales feed fixed-point multipliers, f32 would round them twice.
    return FloatAttr(float(value), f64)


def ints_attr(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def get_int(op: IRDLOperation, name: str, default: int | None = None) -> int | None:
    attr = op.properties.get(name)
    if attr is None:
        return default
    assert isinstance(attr, IntegerAttr)
    return attr.value.data


def get_real(op: IRDLOperation, name: str) -> float:
    attr = op.properties[name]
    assert isinstance(attr, FloatAttr)
    return attr.value.data


def get_ints(op: IRDLOperation, name: str) -> tuple[int, ...]:
    attr = op.properties[name]
    assert isinstance(attr, DenseArrayBase)
    return tuple(int(v) for v in attr.get_values())


def tensor(shape: Sequence[int], element: Attribute) -> TensorType:
    return TensorType(element, [int(d) for d in shape])


def shape_of(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


def element_of(value: SSAValue) -> Attribute:
    assert isinstance(value.type, TensorType)
    return value.type.element_type


def _fail(op: IRDLOperation, message: str) -> None:
    raise VerifyException(f"{op.name}: {message}")


def _check_range(op: IRDLOperation, name: str, value: int, bounds: tuple[int, int]) -> None:
    if not bounds[0] <= value <= bounds[1]:
        _fail(op, f"{name} = {value} is outside {bounds[0]}..{bounds[1]}")


def _check_element(op: IRDLOperation, value: SSAValue, element: Attribute, what: str) -> None:
    if element_of(value) != element:
        _fail(op, f"{what} must have element type {element}, got {value.type}")


def _check_quant(op: IRDLOperation, prefix: str = "") -> None:
    """scale > 0, bits in range, zero point representable."""
    bits = get_int(op, prefix + "bits")
    _check_range(op, prefix + "bits", bits, ACT_BITS)
    zero_point = get_int(op, prefix + "zero_point")
    if not 0 <= zero_point < 2**bits:
        _fail(op, f"{prefix}zero_point = {zero_point} is not a {bits}-bit code")
    if prefix + "scale" in op.properties:
        scale = get_real(op, prefix + "scale")
        if not (np.isfinite(scale) and scale > 0):
            _fail(op, f"{prefix}scale must be finite and > 0, got {scale}")


def _rows_dim(batch: int, per_item: int) -> int:
    return DYNAMIC if batch == DYNAMIC else batch * per_item


def _same_dims(a: int, b: int) -> bool:
    return a == b or DYNAMIC in (a, b)


class SpinOp(IRDLOperation):
    traits = traits_def(Pure())


# --------------------------------------------------------------------------
# quantization boundary
# --------------------------------------------------------------------------


class _QuantBoundaryOp(SpinOp):
    """An element-type change between f32 and codes with one affine quantization."""

    input = operand_def(TensorType)
    output = result_def(TensorType)
    scale = prop_def(FloatAttr)
    zero_point = prop_def(IntegerAttr)
    bits = prop_def(IntegerAttr)
    ELEMENTS: ClassVar[tuple[Attribute, Attribute]]  # (input, result) element types

    def __init__(self, input: SSAValue, scale: float, zero_point: int, bits: int):
        super().__init__(
            operands=[input],
            result_types=[tensor(shape_of(input), self.ELEMENTS[1])],
            properties={"scale": real_attr(scale), "zero_point": int_attr(zero_point), "bits": int_attr(bits)},
        )

    def verify_(self) -> None:
        _check_quant(self)
        _check_element(self, self.input, self.ELEMENTS[0], "the input")
        _check_element(self, self.output, self.ELEMENTS[1], "the result")
        if shape_of(self.input) != shape_of(self.output):
            _fail(self, "input and result shapes differ")


@irdl_op_definition
class QuantizeOp(_QuantBoundaryOp):
    """f32 -> code: ``q = clamp(round_half_even(x / scale) + zero_point, 0, 2**bits-1)``."""

    name = "spin.quantize"
    ELEMENTS: ClassVar[tuple[Attribute, Attribute]] = (f32, ui8)


@irdl_op_definition
class DequantizeOp(_QuantBoundaryOp):
    """code -> f32: ``x = scale * (q - zero_point)``."""

    name = "spin.dequantize"
    ELEMENTS: ClassVar[tuple[Attribute, Attribute]] = (ui8, f32)


# --------------------------------------------------------------------------
# crossbar matrices
# --------------------------------------------------------------------------


def _check_matrix_input(op: IRDLOperation, input: SSAValue, output: SSAValue) -> tuple[int, int]:
    _check_element(op, input, ui8, "the input")
    _check_element(op, output, i64, "the result")
    if len(shape_of(input)) != 2 or len(shape_of(output)) != 2:
        _fail(op, "input and result must be 2-D [M, K] / [M, N]")
    if not _same_dims(shape_of(input)[0], shape_of(output)[0]):
        _fail(op, "input and result have different row counts")
    return shape_of(input)[1], shape_of(output)[1]


def reads_signed_inputs(op: IRDLOperation) -> bool:
    """Whether a crossbar layer/tile reads two's-complement input codes (section 4a)."""
    return bool(get_int(op, "signed_inputs", 0))


def _check_array_config(op: IRDLOperation) -> None:
    _check_range(op, "array_rows", get_int(op, "array_rows"), ARRAY_DIM)
    _check_range(op, "array_cols", get_int(op, "array_cols"), ARRAY_DIM)
    _check_range(op, "cell_bits", get_int(op, "cell_bits"), CELL_BITS)
    _check_range(op, "input_bits", get_int(op, "input_bits"), ACT_BITS)
    if get_int(op, "signed_inputs", 0) not in (0, 1):
        _fail(op, "signed_inputs must be 0 or 1")
    adc_bits = get_int(op, "adc_bits")
    if adc_bits is not None:
        _check_range(op, "adc_bits", adc_bits, ADC_BITS)


@irdl_op_definition
class CrossbarLayerOp(SpinOp):
    """An untiled layer matrix ``acc = q @ W`` to be split by ``tile-crossbars``.

    ``weights`` is the signed weight-integer matrix [K, N] (int8), block
    diagonal with ``groups`` equal blocks for a grouped conv (default 1).
    No ``adc_bits`` = ideal ADC.
    """

    name = "spin.crossbar_layer"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    weights = prop_def(WeightAttr)
    weight_bits = prop_def(IntegerAttr)
    input_bits = prop_def(IntegerAttr)
    cell_bits = prop_def(IntegerAttr)
    adc_bits = opt_prop_def(IntegerAttr)
    array_rows = prop_def(IntegerAttr)
    array_cols = prop_def(IntegerAttr)
    groups = opt_prop_def(IntegerAttr)
    layer = prop_def(StringAttr)
    signed_inputs = opt_prop_def(IntegerAttr)  # 1: two's-complement input codes (section 4a)

    def verify_(self) -> None:
        k, n = _check_matrix_input(self, self.input, self.output)
        groups = get_int(self, "groups", 1)
        if groups < 1 or k % groups or n % groups:
            _fail(self, f"groups = {groups} must divide the {k}x{n} matrix into equal diagonal blocks")
        _check_array_config(self)
        bits = get_int(self, "weight_bits")
        _check_range(self, "weight_bits", bits, WEIGHT_BITS)
        weights = self.weights.array
        if weights.dtype.kind != "i" or weights.shape != (k, n):
            _fail(self, f"weights must be a signed integer [{k}, {n}] matrix, got {weights.dtype}{list(weights.shape)}")
        if groups > 1:
            blocks = weights.reshape(groups, k // groups, groups, n // groups)
            off_diagonal = ~np.eye(groups, dtype=bool)
            if np.any(blocks.transpose(0, 2, 1, 3)[off_diagonal]):
                _fail(self, f"weights are not block diagonal with {groups} groups")
        limit = 2 ** (bits - 1) - 1
        if weights.size and np.abs(weights).max() > limit:
            _fail(self, f"weights exceed the symmetric {bits}-bit range +-{limit}")


@irdl_op_definition
class CrossbarTileOp(SpinOp):
    """One physical crossbar tile: the tile contract of docs/semantics.md.

    The tile reads input columns ``row_offset .. row_offset+rows`` of its
    operand (the layer's whole input matrix) and yields ``cols`` outputs, the
    columns ``col_offset ..`` of its layer matrix.  ``rows x cols`` is the used
    part of an ``array_rows x array_cols`` array (``utilisation`` = their ratio).
    """

    name = "spin.crossbar_tile"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    levels_pos = prop_def(WeightAttr)
    levels_neg = prop_def(WeightAttr)
    rows = prop_def(IntegerAttr)
    cols = prop_def(IntegerAttr)
    row_offset = prop_def(IntegerAttr)
    col_offset = prop_def(IntegerAttr)
    array_rows = prop_def(IntegerAttr)
    array_cols = prop_def(IntegerAttr)
    cell_bits = prop_def(IntegerAttr)
    slices = prop_def(IntegerAttr)
    input_bits = prop_def(IntegerAttr)
    adc_bits = opt_prop_def(IntegerAttr)
    adc_shift = prop_def(IntegerAttr)
    tile_id = prop_def(IntegerAttr)
    array_id = opt_prop_def(IntegerAttr)
    utilisation = prop_def(FloatAttr)
    layer = prop_def(StringAttr)
    signed_inputs = opt_prop_def(IntegerAttr)  # 1: two's-complement input codes (section 4a)
    # the layer's weight width, which its slices hold; absent in designs written before it was
    # recorded (costing then assumes the widest width the slices can hold)
    weight_bits = opt_prop_def(IntegerAttr)

    def verify_(self) -> None:
        k, n = _check_matrix_input(self, self.input, self.output)
        _check_array_config(self)
        rows, cols = get_int(self, "rows"), get_int(self, "cols")
        slices, cell_bits = get_int(self, "slices"), get_int(self, "cell_bits")
        if not 1 <= rows <= get_int(self, "array_rows") or not 1 <= cols <= get_int(self, "array_cols"):
            _fail(self, f"{rows}x{cols} does not fit the {get_int(self, 'array_rows')}x{get_int(self, 'array_cols')} array")
        if n != cols:
            _fail(self, f"result has {n} columns, the tile {cols}")
        if not 0 <= get_int(self, "row_offset") <= k - rows:
            _fail(self, f"rows {get_int(self, 'row_offset')}..+{rows} exceed the {k} input columns")
        if get_int(self, "col_offset") < 0:
            _fail(self, "col_offset must be >= 0")
        if slices < 1:
            _fail(self, "slices must be >= 1")
        if self.weight_bits is not None:
            bits = get_int(self, "weight_bits")
            _check_range(self, "weight_bits", bits, WEIGHT_BITS)
            if slices != -(-(bits - 1) // cell_bits):  # magnitude bits over cell bits (semantics section 3)
                _fail(self, f"{slices} slices of {cell_bits}-bit cells do not hold {bits}-bit weights")
        for name in ("levels_pos", "levels_neg"):
            levels = self.properties[name].array
            if levels.dtype != np.uint8 or levels.shape != (slices, rows, cols):
                _fail(self, f"{name} must be uint8 [{slices}, {rows}, {cols}], got {levels.dtype}{list(levels.shape)}")
            if levels.size and levels.max() >= 2**cell_bits:
                _fail(self, f"{name} holds a level >= 2**cell_bits = {2**cell_bits}")
        shift = get_int(self, "adc_shift")
        if shift < 0 or (self.adc_bits is None and shift != 0):
            _fail(self, f"adc_shift = {shift} must be >= 0, and 0 for an ideal ADC")
        utilisation = get_real(self, "utilisation")
        if not 0.0 < utilisation <= 1.0:
            _fail(self, f"utilisation = {utilisation} is outside (0, 1]")


@irdl_op_definition
class ShiftAddOp(SpinOp):
    """Digital accumulation of tile outputs (int64).

    Operands are grouped into column blocks of ``blocks[i]`` consecutive row
    tiles; each block is summed, the block sums are concatenated along columns.
    """

    name = "spin.shift_add"
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    blocks = prop_def(DenseArrayBase)

    def verify_(self) -> None:
        blocks = get_ints(self, "blocks")
        if any(b < 1 for b in blocks) or sum(blocks) != len(self.inputs):
            _fail(self, f"blocks {list(blocks)} do not partition the {len(self.inputs)} operands")
        width, start = 0, 0
        for count in blocks:
            block = self.inputs[start : start + count]
            widths = {shape_of(v)[1] for v in block}
            if len(widths) != 1:
                _fail(self, f"row tiles of one block have different widths {sorted(widths)}")
            width += widths.pop()
            start += count
        for value in [*self.inputs, self.output]:
            _check_element(self, value, i64, "operands and result")
            if len(shape_of(value)) != 2 or not _same_dims(shape_of(value)[0], shape_of(self.output)[0]):
                _fail(self, "operands and result must be 2-D with the same row count")
        if shape_of(self.output)[1] != width:
            _fail(self, f"result has {shape_of(self.output)[1]} columns, the blocks {width}")


@irdl_op_definition
class RequantOp(SpinOp):
    """int64 accumulator [M, N] -> codes, per output channel n::

        acc' = acc - input_zero_point * column_sums[n] + bias[n]
        q    = clamp(round_half_up(acc' * multiplier[n] / 2**shift[n]) + output_zero_point,
                     clamp_min, clamp_max)
    """

    name = "spin.requant"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    multiplier = prop_def(DenseArrayBase)
    shift = prop_def(DenseArrayBase)
    input_zero_point = prop_def(IntegerAttr)
    column_sums = prop_def(WeightAttr)
    bias = prop_def(WeightAttr)
    zero_point = prop_def(IntegerAttr)
    bits = prop_def(IntegerAttr)
    clamp_min = prop_def(IntegerAttr)
    clamp_max = prop_def(IntegerAttr)

    def verify_(self) -> None:
        _check_quant(self)
        _check_element(self, self.input, i64, "the input")
        _check_element(self, self.output, ui8, "the result")
        if len(shape_of(self.input)) != 2 or shape_of(self.input) != shape_of(self.output):
            _fail(self, "input and result must be the same 2-D shape")
        n = shape_of(self.input)[1]
        for name in ("multiplier", "shift"):
            if len(get_ints(self, name)) != n:
                _fail(self, f"{name} needs one entry per column ({n})")
        if any(m < 0 or m >= 2**31 for m in get_ints(self, "multiplier")):
            _fail(self, "multipliers must be in 0..2**31-1")
        if any(s < 0 or s > 62 for s in get_ints(self, "shift")):
            _fail(self, "shifts must be in 0..62")
        for name in ("column_sums", "bias"):
            array = self.properties[name].array
            if array.dtype != np.int64 or array.shape != (n,):
                _fail(self, f"{name} must be int64 [{n}], got {array.dtype}{list(array.shape)}")
        lo, hi = get_int(self, "clamp_min"), get_int(self, "clamp_max")
        if not 0 <= lo <= hi < 2 ** get_int(self, "bits"):
            _fail(self, f"clamp {lo}..{hi} is not a range of {get_int(self, 'bits')}-bit codes")


# --------------------------------------------------------------------------
# conv data movement
# --------------------------------------------------------------------------


def conv_output_hw(hw, kernel, pads, strides, dilations) -> tuple[int, int]:
    out = []
    for axis in range(2):
        span = dilations[axis] * (kernel[axis] - 1) + 1
        out.append((hw[axis] + pads[axis] + pads[axis + 2] - span) // strides[axis] + 1)
    return out[0], out[1]


def im2col_shape(input_shape, kernel, pads, strides, dilations, channels: int) -> tuple[int, int]:
    """``[B*OH*OW, channels*KH*KW]`` for an NCHW input."""
    b, _, h, w = input_shape
    oh, ow = conv_output_hw((h, w), kernel, pads, strides, dilations)
    return _rows_dim(b, oh * ow), channels * kernel[0] * kernel[1]


@irdl_op_definition
class Im2ColOp(SpinOp):
    """Patch extraction: [B, C, H, W] -> [B*OH*OW, channels*KH*KW].

    Reads input channels ``channel_offset .. +channels`` (one conv group);
    padding cells hold ``pad_value`` (the input zero point, i.e. real 0).
    Column order is (channel, kh, kw), the order of an ONNX weight row.
    """

    name = "spin.im2col"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    kernel_shape = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    dilations = prop_def(DenseArrayBase)
    channel_offset = prop_def(IntegerAttr)
    channels = prop_def(IntegerAttr)
    pad_value = prop_def(IntegerAttr)

    def expected_shape(self) -> tuple[int, int]:
        return im2col_shape(
            shape_of(self.input), get_ints(self, "kernel_shape"), get_ints(self, "pads"),
            get_ints(self, "strides"), get_ints(self, "dilations"), get_int(self, "channels"),
        )

    def verify_(self) -> None:
        _check_element(self, self.input, ui8, "the input")
        _check_element(self, self.output, ui8, "the result")
        if len(shape_of(self.input)) != 4:
            _fail(self, "input must be NCHW")
        if len(get_ints(self, "kernel_shape")) != 2 or len(get_ints(self, "pads")) != 4:
            _fail(self, "only 2-D kernels with 4 pads are supported")
        if min(get_ints(self, "strides")) < 1 or min(get_ints(self, "dilations")) < 1:
            _fail(self, "strides and dilations must be >= 1")
        c = shape_of(self.input)[1]
        offset, channels = get_int(self, "channel_offset"), get_int(self, "channels")
        if channels < 1 or offset < 0 or offset + channels > c:
            _fail(self, f"channels {offset}..+{channels} exceed the input's {c}")
        if not 0 <= get_int(self, "pad_value") < 256:
            _fail(self, "pad_value must be a code")
        expected = self.expected_shape()
        if min(expected[1:]) < 1 or not all(map(_same_dims, expected, shape_of(self.output))):
            _fail(self, f"result {self.output.type} does not match the patches {list(expected)}")


@irdl_op_definition
class RowsToImageOp(SpinOp):
    """[B*OH*OW, N] -> [B, N, OH, OW]: conv results back to NCHW."""

    name = "spin.rows_to_image"
    input = operand_def(TensorType)
    output = result_def(TensorType)

    def verify_(self) -> None:
        (m, n), out = shape_of(self.input), shape_of(self.output)
        if len(out) != 4 or out[1] != n or element_of(self.input) != element_of(self.output):
            _fail(self, f"cannot reshape {self.input.type} into {self.output.type}")
        if DYNAMIC not in (m, out[0]) and m != out[0] * out[2] * out[3]:
            _fail(self, f"{m} rows are not {out[0]} images of {out[2]}x{out[3]}")


# --------------------------------------------------------------------------
# digital ops on codes
# --------------------------------------------------------------------------


class _UnaryCodeOp(SpinOp):
    input = operand_def(TensorType)
    output = result_def(TensorType)

    def verify_(self) -> None:
        _check_element(self, self.input, ui8, "the input")
        _check_element(self, self.output, ui8, "the result")
        self.verify_shape()

    def verify_shape(self) -> None:
        if shape_of(self.input) != shape_of(self.output):
            _fail(self, "input and result shapes differ")


@irdl_op_definition
class ClampOp(_UnaryCodeOp):
    """ReLU / Clip on codes: ``clamp(q, clamp_min, clamp_max)``."""

    name = "spin.clamp"
    clamp_min = prop_def(IntegerAttr)
    clamp_max = prop_def(IntegerAttr)


@irdl_op_definition
class RescaleOp(_UnaryCodeOp):
    """Change of quantization: ``clamp(round_half_up((q - input_zero_point) * multiplier / 2**shift) + zero_point, 0, 2**bits-1)``."""

    name = "spin.rescale"
    input_zero_point = prop_def(IntegerAttr)
    multiplier = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    zero_point = prop_def(IntegerAttr)
    bits = prop_def(IntegerAttr)


@irdl_op_definition
class SignedCodesOp(_UnaryCodeOp):
    """Codes a tile with signed inputs reads: ``(q - zero_point) mod 2**bits``, the
    two's-complement pattern of ``q - zero_point`` (docs/semantics.md section 4a)."""

    name = "spin.signed_codes"
    zero_point = prop_def(IntegerAttr)
    bits = prop_def(IntegerAttr)

    def verify_(self) -> None:
        super().verify_()
        _check_range(self, "bits", get_int(self, "bits"), ACT_BITS)
        if not 0 < get_int(self, "zero_point") < 256:
            _fail(self, "zero_point must be in 1..255 (a zero point of 0 needs no signed codes)")


@irdl_op_definition
class LutOp(_UnaryCodeOp):
    """Elementwise table lookup: ``q_out = table[q_in]`` with a ``[256]`` table,
    or ``table[c, q_in]`` with a per-channel ``[C, 256]`` table (channel axis 1).
    Any function of one code with per-tensor or per-channel constants (sigmoid,
    tanh, leaky ReLU, arithmetic with a constant, a standalone BatchNorm)."""

    name = "spin.lut"
    table = prop_def(WeightAttr)
    function = prop_def(StringAttr)

    def verify_(self) -> None:
        super().verify_()
        table = self.table.array
        if table.dtype != np.uint8 or table.ndim not in (1, 2) or table.shape[-1] != 256:
            _fail(self, f"table must be uint8 [256] or [C, 256], got {table.dtype}{list(table.shape)}")
        shape = shape_of(self.input)
        if table.ndim == 2 and (len(shape) < 2 or shape[1] != table.shape[0]):
            _fail(self, f"a per-channel table of {table.shape[0]} channels does not fit {self.input.type}")


@irdl_op_definition
class SoftmaxOp(_UnaryCodeOp):
    """Softmax (``log = 1``: log-softmax) along ``axis``, computed exactly in
    float64 on the dequantized codes and quantized to the output (a digital
    block, not a crossbar)."""

    name = "spin.softmax"
    axis = prop_def(IntegerAttr)
    log = prop_def(IntegerAttr)
    input_scale = prop_def(FloatAttr)
    input_zero_point = prop_def(IntegerAttr)
    scale = prop_def(FloatAttr)
    zero_point = prop_def(IntegerAttr)
    bits = prop_def(IntegerAttr)


class _PoolBase(_UnaryCodeOp):
    kernel_shape = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)

    def verify_shape(self) -> None:
        b, c, h, w = shape_of(self.input)
        oh, ow = conv_output_hw((h, w), get_ints(self, "kernel_shape"), get_ints(self, "pads"), get_ints(self, "strides"), (1, 1))
        if not all(map(_same_dims, (b, c, oh, ow), shape_of(self.output))):
            _fail(self, f"result {self.output.type} is not [{b}, {c}, {oh}, {ow}]")


@irdl_op_definition
class MaxPoolOp(_PoolBase):
    """Max over windows; padding never wins (codes keep their scale)."""

    name = "spin.max_pool"


@irdl_op_definition
class AvgPoolOp(_PoolBase):
    """Mean over windows, rounded half up; padding counts as ``pad_value``
    when ``count_include_pad`` (same scale and zero point in and out)."""

    name = "spin.avg_pool"
    count_include_pad = prop_def(IntegerAttr)
    pad_value = prop_def(IntegerAttr)


class _GlobalPoolBase(_UnaryCodeOp):
    def verify_shape(self) -> None:
        b, c = shape_of(self.input)[:2]
        if shape_of(self.output) != (b, c, 1, 1):
            _fail(self, f"result must be [{b}, {c}, 1, 1]")


@irdl_op_definition
class GlobalAvgPoolOp(_GlobalPoolBase):
    """[B, C, H, W] -> [B, C, 1, 1] mean, rounded half up."""

    name = "spin.global_avg_pool"


@irdl_op_definition
class GlobalMaxPoolOp(_GlobalPoolBase):
    name = "spin.global_max_pool"


class _BinaryCodeOp(SpinOp):
    """Two code tensors (broadcasting) into one, with zero points and a clamp."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    lhs_zero_point = prop_def(IntegerAttr)
    rhs_zero_point = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    zero_point = prop_def(IntegerAttr)
    clamp_min = prop_def(IntegerAttr)
    clamp_max = prop_def(IntegerAttr)

    def verify_(self) -> None:
        for value in (self.lhs, self.rhs, self.output):
            _check_element(self, value, ui8, "operands and result")
        out = broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs))
        if tuple(out) != shape_of(self.output):
            _fail(self, f"result {self.output.type} is not the broadcast shape {list(out)}")


@irdl_op_definition
class AddOp(_BinaryCodeOp):
    """Residual add of two code tensors with their own quantizations::

        q = clamp(round_half_up(((a-za)*lhs_multiplier + (b-zb)*rhs_multiplier) / 2**shift) + zero_point,
                  clamp_min, clamp_max)
    """

    name = "spin.add"
    lhs_multiplier = prop_def(IntegerAttr)
    rhs_multiplier = prop_def(IntegerAttr)


@irdl_op_definition
class MulOp(_BinaryCodeOp):
    """Product of two code tensors (broadcasting)::

        q = clamp(round_half_up((a-za)*(b-zb)*multiplier / 2**shift) + zero_point, clamp_min, clamp_max)
    """

    name = "spin.mul"
    multiplier = prop_def(IntegerAttr)

    def verify_(self) -> None:
        super().verify_()
        if not 0 <= get_int(self, "multiplier") < 2**31 or not 0 <= get_int(self, "shift") <= 62:
            _fail(self, "multiplier must be in 0..2**31-1 and shift in 0..62")


@irdl_op_definition
class ConcatOp(SpinOp):
    """Concatenation of code tensors that share one quantization."""

    name = "spin.concat"
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    def verify_(self) -> None:
        axis = get_int(self, "axis")
        shapes = [shape_of(v) for v in self.inputs]
        out = list(shapes[0])
        # along a dynamic (batch) axis the result's size is dynamic too
        out[axis] = DYNAMIC if any(s[axis] == DYNAMIC for s in shapes) else sum(s[axis] for s in shapes)
        if tuple(out) != shape_of(self.output):
            _fail(self, f"result {self.output.type} is not {out}")
        for value in [*self.inputs, self.output]:
            _check_element(self, value, ui8, "operands and result")


@irdl_op_definition
class ArgMaxOp(SpinOp):
    """Index of the largest code along ``axis`` (first one on ties), i64."""

    name = "spin.argmax"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    keepdims = prop_def(IntegerAttr)

    def verify_(self) -> None:
        _check_element(self, self.input, ui8, "the input")
        _check_element(self, self.output, i64, "the result")
        shape = list(shape_of(self.input))
        axis = get_int(self, "axis") % len(shape)
        if get_int(self, "keepdims"):
            shape[axis] = 1
        else:
            del shape[axis]
        if tuple(shape) != shape_of(self.output):
            _fail(self, f"result {self.output.type} is not {shape}")


@irdl_op_definition
class ReshapeOp(SpinOp):
    """Reshape (also Flatten, Squeeze, Cast to the same type) to the result type;
    the static sizes must match (the dynamic batch dimension may move)."""

    name = "spin.reshape"
    input = operand_def(TensorType)
    output = result_def(TensorType)

    def verify_(self) -> None:
        a, b = shape_of(self.input), shape_of(self.output)
        if element_of(self.input) != element_of(self.output):
            _fail(self, "reshape cannot change the element type")
        if a.count(DYNAMIC) > 1 or a.count(DYNAMIC) != b.count(DYNAMIC):
            _fail(self, "input and result need the same single dynamic (batch) dimension, or none")
        static_a, static_b = (int(np.prod([d for d in s if d != DYNAMIC])) for s in (a, b))
        # With a dynamic dimension the batch may absorb leading axes ([?, T, K] -> [?, K]).
        if (static_a != static_b) if DYNAMIC not in a else (max(static_a, static_b) % min(static_a, static_b)):
            _fail(self, f"{list(a)} and {list(b)} differ in size")


@irdl_op_definition
class TakeOp(SpinOp):
    """``table[indices]`` for int64 indices (ONNX ArrayFeatureExtractor on a
    1-D constant: class labels from ArgMax); result ``[1, n]`` as in ONNX."""

    name = "spin.take"
    indices = operand_def(TensorType)
    output = result_def(TensorType)
    table = prop_def(WeightAttr)

    def verify_(self) -> None:
        _check_element(self, self.indices, i64, "the indices")
        _check_element(self, self.output, i64, "the result")
        table = self.table.array
        if table.dtype != np.int64 or table.ndim != 1:
            _fail(self, f"table must be 1-D int64, got {table.dtype}{list(table.shape)}")
        out = shape_of(self.output)
        if len(out) != 2 or out[0] != 1:
            _fail(self, f"result must be [1, n], got {self.output.type}")


@irdl_op_definition
class TransposeOp(SpinOp):
    name = "spin.transpose"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    perm = prop_def(DenseArrayBase)

    def verify_(self) -> None:
        a, perm = shape_of(self.input), get_ints(self, "perm")
        if sorted(perm) != list(range(len(a))) or tuple(a[p] for p in perm) != shape_of(self.output):
            _fail(self, f"perm {list(perm)} does not map {list(a)} to {list(shape_of(self.output))}")
        if element_of(self.input) != element_of(self.output):
            _fail(self, "transpose cannot change the element type")


SPIN = Dialect(
    "spin",
    [
        QuantizeOp,
        DequantizeOp,
        CrossbarLayerOp,
        CrossbarTileOp,
        ShiftAddOp,
        RequantOp,
        Im2ColOp,
        RowsToImageOp,
        ClampOp,
        RescaleOp,
        SignedCodesOp,
        LutOp,
        SoftmaxOp,
        MaxPoolOp,
        AvgPoolOp,
        GlobalAvgPoolOp,
        GlobalMaxPoolOp,
        AddOp,
        MulOp,
        ConcatOp,
        ArgMaxOp,
        ReshapeOp,
        TakeOp,
        TransposeOp,
    ],
    [],
)
