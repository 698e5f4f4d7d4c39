"""``lower-to-spin{rows=128 cols=128 crossbar=RxC cell-bits=2 adc-bits=6 layer-adc-bits=""}``: nn -> spin.

Needs ``calibrate`` and ``quantize`` first.  Every float tensor becomes codes
(``tensor<...xui8>``) with the scale/zero point ``quantize`` chose; ``@main``
keeps its float signature (``spin.quantize`` on entry, ``spin.dequantize``
before ``func.return``).  Conv/Gemm/MatMul become one ``spin.crossbar_layer``
(untiled, ``tile-crossbars`` splits it; a grouped conv's matrix is block diagonal) followed by
``spin.requant``; the rest becomes digital spin ops.  ``adc-bits=0`` means an
ideal ADC; ``layer-adc-bits="layer0=8"`` gives single matrix layers (names as
for quantize's ``layer-weight-bits``) their own ADC resolution (1..12).  See docs/spin-dialect.md for the op-by-op mapping.

An op with no crossbar or integer-digital mapping stays the ``nn`` op it was
and runs on the *digital float unit* (``spin.FLOAT_UNIT_ATTR`` marks it, with the
reason): its code operands are ``spin.dequantize``d, it computes in float32
exactly as the float backend does, and its float results are
``spin.quantize``d with the range ``calibrate`` recorded for them;
integer/bool results pass through unquantized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, StringAttr, f32, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from spintron_nn.backends.sim import quant_math, reference
from spintron_nn.config import parse_layer_bits
from spintron_nn.errors import SpintronError, UnsupportedError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.ir.nn import read_float, read_int, read_ints
from spintron_nn.ir.weights import WeightAttr, WeightBlob
from spintron_nn.passes import quantize as q
from spintron_nn.passes.calibrate import read_range
from spintron_nn.passes.graph_utils import is_returned_only, require_nn_graph

@dataclass(frozen=True)
class CrossbarConfig:
    rows: int = 128
    cols: int = 128
    cell_bits: int = 2
    adc_bits: int | None = 6  # None: ideal ADC
    # layers whose inputs have a non-zero zero point read x - zp as two's-complement codes
    # (no zero-point term; docs/semantics.md section 4a)
    signed_inputs: bool = False
    layer_adc_bits: dict[str, int] = field(default_factory=dict)  # single layers' ADC bits, by name

    def validate(self) -> None:
        for what, value in (("crossbar rows", self.rows), ("crossbar cols", self.cols)):
            q.check_bits(what, value, spin.ARRAY_DIM)
        q.check_bits("cell bits", self.cell_bits, spin.CELL_BITS)
        if self.adc_bits is not None:
            q.check_bits("ADC bits", self.adc_bits, spin.ADC_BITS)
        for name, bits in self.layer_adc_bits.items():
            q.check_bits(f"ADC bits of {name}", bits, spin.ADC_BITS)


def parse_crossbar(text: str) -> tuple[int, int]:
    """``"128x64"`` -> ``(128, 64)``."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise SpintronError(f"crossbar must look like 128x128 (rows x cols), got '{text}'")
    return int(parts[0]), int(parts[1])


class Codes(NamedTuple):
    """A lowered tensor: its code value and quantization."""

    value: SSAValue
    scale: float
    zero_point: int
    bits: int | None = None  # code width when not the activation bits (output-bits, input-bits)


def _layer_widths(attr) -> dict[str, int]:
    """A ``{layer name: bits}`` dictionary attribute of ``@main`` (absent: none)."""
    return {name: width.value.data for name, width in attr.data.items()} if attr is not None else {}


class _Lowering:
    def __init__(self, module: ModuleOp, config: CrossbarConfig):
        self.main = main_function(module)
        attrs = self.main.attributes
        if q.ACTIVATION_BITS_ATTR not in attrs:
            raise SpintronError("lower-to-spin: the graph is not quantized: run calibrate and quantize first")
        self.bits = attrs[q.ACTIVATION_BITS_ATTR].value.data
        output_bits = attrs.get(q.OUTPUT_BITS_ATTR)
        self.output_bits = output_bits.value.data if output_bits is not None else self.bits
        input_bits = attrs.get(q.INPUT_BITS_ATTR)
        self.input_bits = input_bits.value.data if input_bits is not None else self.bits
        self.weight_bits = attrs[q.WEIGHT_BITS_ATTR].value.data
        # single matrix layers' own weight and result widths (quantize's layer-weight-bits and
        # layer-activation-bits), by layer name
        self.layer_weight_bits = _layer_widths(attrs.get(q.LAYER_WEIGHT_BITS_ATTR))
        self.layer_activation_bits = _layer_widths(attrs.get(q.LAYER_ACTIVATION_BITS_ATTR))
        self.matrix_layers: list[str] = []
        self.per_channel = bool(attrs[q.PER_CHANNEL_ATTR].value.data)
        self.config = config
        self.codes: dict[SSAValue, Codes | SSAValue] = {}
        self.rewriter = Rewriter()
        self.layers = 0
        self.anchor: Operation | None = None
        # ops folded into a preceding layer's requant -> the layer's nn result
        self.absorbed: dict[Operation, SSAValue] = {}
        self.emitted: list[Operation] = []  # by the handler running now (undone if it gives up)

    # -- helpers ---------------------------------------------------------

    def emit(self, op: Operation) -> Operation:
        self.rewriter.insert_op(op, InsertPoint.before(self.anchor))
        self.emitted.append(op)
        return op

    def operand(self, op: Operation, index: int = 0) -> Codes:
        found = self.codes.get(op.operands[index])
        if not isinstance(found, Codes):
            raise UnsupportedError(f"lower-to-spin: operand #{index} of {op.name} is not an activation "
                                   "(constant activations are not supported)")
        return found

    def layer_out_params(self, out_op: Operation, name: str) -> tuple[float, int, int]:
        """``(scale, zero_point, bits)`` of matrix layer ``name``'s result, ``out_op`` being the layer
        or the tail it absorbs: ``output_bits`` wide when only ``@main`` returns it, else its own
        width if ``layer-activation-bits`` gives one, else the activation width."""
        bits = self.layer_activation_bits.get(name)
        if is_returned_only(out_op):
            if bits is not None:  # one option per width, so that the header states what is built
                raise SpintronError(f"lower-to-spin: {name}'s result is a network output, whose code width is "
                                    "output-bits (--output-bits), not a per-layer activation width")
            bits = self.output_bits
        if bits is None or bits == self.bits:
            return (*self.out_params(out_op), self.bits)
        found = read_range(out_op)
        if found is None:
            raise SpintronError(f"lower-to-spin: {out_op.name} has no calibrated range: run calibrate first")
        return (*quant_math.activation_quant_params(*found, bits), bits)

    def out_params(self, op: Operation) -> tuple[float, int]:
        found = q.quant_params(op)
        if found is None:
            raise SpintronError(f"lower-to-spin: {op.name} has no quantization: run calibrate and quantize first")
        return found

    def constant(self, value: SSAValue, what: str) -> np.ndarray:
        owner = value.owner
        if getattr(owner, "name", None) != "nn.constant":
            raise UnsupportedError(f"lower-to-spin: the {what} must be a constant (weights on the crossbar)")
        return np.asarray(owner.value.array, dtype=np.float64)

    def result_type(self, op: Operation, element=spin.ui8):
        return spin.tensor(spin.shape_of(op.results[0]), element)

    def build(self, cls, operands, result_type, **props) -> SSAValue:
        attrs = {}
        for name, v in props.items():
            if isinstance(v, bool) or isinstance(v, (int, np.integer)):
                attrs[name] = spin.int_attr(int(v))
            elif isinstance(v, float):
                attrs[name] = spin.real_attr(v)
            elif isinstance(v, (tuple, list)):
                attrs[name] = spin.ints_attr(v)
            else:
                attrs[name] = v
        return self.emit(cls.build(operands=operands, result_types=[result_type], properties=attrs)).results[0]

    def weight(self, key: str, array: np.ndarray) -> WeightAttr:
        return WeightAttr(WeightBlob(f"spin.{key}", array))

    # -- matrices --------------------------------------------------------

    def next_weight_bits(self) -> int:
        """Weight width of the matrix layer about to be emitted (``matrix`` names it ``layer<self.layers>``)."""
        return self.layer_weight_bits.get(f"layer{self.layers}", self.weight_bits)

    def quantize_weights(self, w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Integer weights and one scale per output channel (``axis``), at the next layer's width."""
        bits = self.next_weight_bits()
        if self.per_channel:
            return quant_math.quantize_weights_per_channel(w, bits, axis=axis)
        w_int, scale = quant_math.quantize_weights_per_channel(w.reshape(1, -1), bits, axis=0)
        return w_int.reshape(w.shape), np.full(w.shape[axis], scale[0])

    def matrix(self, out_op, x: Codes, rows_value: SSAValue, w_int, w_scale, bias, clamp,
               groups: int = 1) -> Codes:
        """``crossbar_layer`` + ``requant`` of ``rows_value [M, K] @ w_int [K, N]``,
        quantized to ``out_op``'s result (the matrix op or its absorbed tail): the requant's codes."""
        name, weight_bits = f"layer{self.layers}", self.next_weight_bits()
        self.layers += 1
        self.matrix_layers.append(name)
        out_scale, out_zp, out_bits = self.layer_out_params(out_op, name)
        code_bits = self.width(x)  # the network's inputs may be wider than the activations
        w_int, w_scale, bias_int = quant_math.fit_bias(
            w_int, w_scale, bias, x.scale, axis=1, weight_bits=weight_bits, input_bits=code_bits)
        input_bits, input_zero_point = code_bits, x.zero_point
        signed = reference.reads_signed(self.config.signed_inputs, x.zero_point)
        if signed:  # the tiles read x - zp themselves: no zero-point term in the requant
            input_bits = reference.signed_input_bits(x.zero_point, code_bits)
            if input_bits > spin.ACT_BITS[1]:
                raise SpintronError(
                    f"lower-to-spin: signed inputs of {name} (zero point {x.zero_point} of {code_bits}-bit codes) "
                    f"need {input_bits}-bit two's-complement codes; tiles read at most {spin.ACT_BITS[1]} "
                    f"(give these codes at most {spin.ACT_BITS[1] - 1} bits: --input-bits for the network's "
                    "inputs, --layer-activation-bits for a named layer's result, --activation-bits otherwise)")
            rows_value = self.build(spin.SignedCodesOp, [rows_value], rows_value.type,
                                    zero_point=x.zero_point, bits=input_bits)
            input_zero_point = 0
        props = dict(
            weights=self.weight(f"{name}.weights", w_int.astype(np.int8)),
            weight_bits=weight_bits, input_bits=input_bits, cell_bits=self.config.cell_bits,
            array_rows=self.config.rows, array_cols=self.config.cols, layer=StringAttr(name),
        )
        if signed:
            props["signed_inputs"] = 1
        adc_bits = self.config.layer_adc_bits.get(name, self.config.adc_bits)
        if adc_bits is not None:
            props["adc_bits"] = adc_bits
        if groups > 1:
            props["groups"] = groups
        m, n = spin.shape_of(rows_value)[0], w_int.shape[1]
        acc = self.build(spin.CrossbarLayerOp, [rows_value], spin.tensor((m, n), i64), **props)
        requant = [quant_math.requant_multiplier(x.scale * s / out_scale) for s in w_scale]
        qmin, qmax = quant_math.fused_clamp_bounds(*clamp, out_scale, out_zp, out_bits)
        codes = self.build(
            spin.RequantOp, [acc], spin.tensor((m, n), spin.ui8),
            multiplier=[mul for mul, _ in requant], shift=[s for _, s in requant],
            input_zero_point=input_zero_point, column_sums=self.weight(f"{name}.column_sums", w_int.sum(axis=0)),
            bias=self.weight(f"{name}.bias", bias_int), zero_point=out_zp, bits=out_bits,
            clamp_min=qmin, clamp_max=qmax,
        )
        return Codes(codes, out_scale, out_zp, out_bits)

    @staticmethod
    def single_user(op: Operation) -> Operation | None:
        uses = list(op.results[0].uses)
        return uses[0].operation if len(uses) == 1 else None

    def per_channel_constant(self, value: SSAValue, out_shape, n: int) -> np.ndarray | None:
        """A constant that adds one number per output channel (channel axis 1 of
        NCHW, last axis of [M, N]), as a length-n vector; else None."""
        if getattr(value.owner, "name", None) != "nn.constant":
            return None
        array = np.asarray(value.owner.value.array, dtype=np.float64)
        allowed = [(n, 1, 1), (1, n, 1, 1)] if len(out_shape) == 4 else [(n,), (1, n), (1, 1, n)]
        if array.shape not in allowed and array.size != 1:
            return None
        return np.broadcast_to(array.reshape(-1), (n,))

    def absorb_tail(self, op, n: int):
        """Fold a following ``add`` of a per-channel constant (a bias, as
        exporters write MatMul + Add) and a following ReLU/Clip into the layer's
        requant.  Returns ``(extra_bias, op whose quantization the layer
        output takes, clamp)``; absorbed ops pass their codes through."""
        extra, out_op, clamp = np.zeros(n), op, self.clamp_of(op)
        user = self.single_user(out_op)
        if user is not None and user.name == "nn.add" and clamp == (None, None):
            other = user.operands[1] if user.operands[0] == out_op.results[0] else user.operands[0]
            constant = self.per_channel_constant(other, spin.shape_of(out_op.results[0]), n)
            if constant is not None and spin.shape_of(user.results[0]) == spin.shape_of(out_op.results[0]):
                extra, out_op = extra + constant, user
                self.absorbed[user] = op.results[0]
                user = self.single_user(out_op)
        if user is not None and user.name in ("nn.relu", "nn.clip") and clamp == (None, None):
            clamp = self.clip_bounds(user)
            self.absorbed[user] = op.results[0]
            out_op = user
        return extra, out_op, clamp

    def clip_bounds(self, op) -> tuple[float | None, float | None]:
        if op.name == "nn.relu":
            return 0.0, None
        return tuple(None if op.properties.get(k) is None else read_float(op.properties[k]) for k in ("min", "max"))

    def clamp_of(self, op) -> tuple[float | None, float | None]:
        lo, hi = op.properties.get("clamp_min"), op.properties.get("clamp_max")
        return (None if lo is None else read_float(lo)), (None if hi is None else read_float(hi))

    def lower_gemm(self, op) -> Codes:
        x = self.operand(op)
        if read_int(op.properties["trans_a"]):
            raise UnsupportedError("lower-to-spin: nn.gemm with trans_a=1 is not supported")
        w = self.constant(op.operands[1], "nn.gemm B operand")
        w = (w.T if read_int(op.properties["trans_b"]) else w) * read_float(op.properties["alpha"])
        n = w.shape[1]
        bias = np.zeros(n)
        if len(op.operands) == 3:
            c = self.constant(op.operands[2], "nn.gemm bias") * read_float(op.properties["beta"])
            if c.size not in (1, n):
                raise UnsupportedError("lower-to-spin: nn.gemm bias must be per output column")
            bias = np.broadcast_to(c.reshape(-1), (n,)).astype(np.float64)
        return self.linear(op, x, w, bias)

    def lower_matmul(self, op) -> Codes:
        """``[..., K] @ [K, N]`` with a constant right side; leading axes are
        flattened into crossbar rows and restored afterwards."""
        x = self.operand(op)
        w = self.constant(op.operands[1], "nn.matmul right operand")
        shape = spin.shape_of(op.operands[0])
        if len(shape) < 2 or w.ndim != 2:
            raise UnsupportedError("lower-to-spin: nn.matmul is supported for [..., K] @ [K, N] (constant) only")
        if len(shape) > 2:
            rows = spin.DYNAMIC if spin.DYNAMIC in shape else int(np.prod(shape[:-1]))
            x = x._replace(value=self.build(spin.ReshapeOp, [x.value], spin.tensor((rows, shape[-1]), spin.ui8)))
        return self.linear(op, x, w, np.zeros(w.shape[1]))

    def linear(self, op, x: Codes, w: np.ndarray, bias: np.ndarray) -> Codes:
        w_int, w_scale = self.quantize_weights(w, axis=1)
        extra_bias, out_op, clamp = self.absorb_tail(op, w.shape[1])
        result = self.matrix(out_op, x, x.value, w_int, w_scale, bias + extra_bias, clamp)
        if spin.shape_of(result.value) != spin.shape_of(op.results[0]):
            result = result._replace(value=self.build(spin.ReshapeOp, [result.value], self.result_type(op)))
        return result

    def lower_conv(self, op) -> Codes:
        """One im2col and one layer matrix per conv.  A grouped conv's matrix is
        block diagonal: im2col rows come in (channel, kh, kw) order, so group g
        owns rows ``g*K_g ..`` and output columns ``g*N_g ..``; tile-crossbars
        maps it on the tiles ``tiling.layer_tile_blocks`` gives."""
        x = self.operand(op)
        w = self.constant(op.operands[1], "nn.conv weight")
        if w.ndim != 4:
            raise UnsupportedError("lower-to-spin: only 2-D convolutions are supported")
        group = read_int(op.properties["group"])
        out_c, in_per_group, kh, kw = w.shape
        per_group, k_group = out_c // group, in_per_group * kh * kw
        w_int4, w_scale = self.quantize_weights(w, axis=0)
        w_int = np.zeros((group * k_group, out_c), dtype=np.int64)
        for g in range(group):
            block = w_int4[g * per_group : (g + 1) * per_group].reshape(per_group, k_group).T
            w_int[g * k_group : (g + 1) * k_group, g * per_group : (g + 1) * per_group] = block
        bias = self.constant(op.operands[2], "nn.conv bias") if len(op.operands) == 3 else np.zeros(out_c)
        window = dict(
            kernel_shape=(kh, kw), pads=read_ints(op.properties["pads"]),
            strides=read_ints(op.properties["strides"]), dilations=read_ints(op.properties["dilations"]),
        )
        channels = group * in_per_group
        patch = dict(channel_offset=0, channels=channels, pad_value=x.zero_point)
        shape = spin.im2col_shape(spin.shape_of(x.value), (kh, kw), window["pads"], window["strides"],
                                  window["dilations"], channels)
        patches = self.build(spin.Im2ColOp, [x.value], spin.tensor(shape, spin.ui8), **window, **patch)
        extra_bias, out_op, clamp = self.absorb_tail(op, out_c)
        rows = self.matrix(out_op, x, patches, w_int, w_scale, bias + extra_bias, clamp, group)
        return rows._replace(value=self.build(spin.RowsToImageOp, [rows.value], self.result_type(op)))

    # -- digital ops -----------------------------------------------------

    def same_params(self, op, cls, **props) -> Codes:
        """An op whose result keeps its operand's grid, code width included."""
        x = self.operand(op)
        return x._replace(value=self.build(cls, [x.value], self.result_type(op), **props))

    def width(self, x: Codes) -> int:
        """Code width of ``x``."""
        return x.bits or self.bits

    def lower_clip(self, op) -> Codes:
        x = self.operand(op)
        lo, hi = self.clip_bounds(op)
        # A clamp keeps its operand's grid, which holds only values in [low, high]; bounds that
        # miss it by more than half a step make a constant the grid cannot hold (Relu then
        # Clip(max=-1) is -1 everywhere): then the op runs on the float unit, whose result gets
        # its own calibrated grid.
        half = x.scale / 2
        low, high = x.scale * -x.zero_point, x.scale * ((1 << self.width(x)) - 1 - x.zero_point)
        if (hi is not None and hi < low - half) or (lo is not None and lo > high + half):
            raise UnsupportedError(f"lower-to-spin: {op.name} [{lo}, {hi}] lies outside its operand's grid "
                                   f"[{low:.6g}, {high:.6g}]: a constant the grid cannot hold")
        qmin, qmax = quant_math.fused_clamp_bounds(lo, hi, x.scale, x.zero_point, self.width(x))
        return self.same_params(op, spin.ClampOp, clamp_min=qmin, clamp_max=qmax)

    def pool_window(self, op) -> dict:
        if len(read_ints(op.properties["kernel_shape"])) != 2 or set(read_ints(op.properties["dilations"])) != {1} \
                or read_int(op.properties["ceil_mode"]):
            raise UnsupportedError(f"lower-to-spin: {op.name} needs a 2-D kernel, dilation 1 and ceil_mode 0")
        return {k: read_ints(op.properties[k]) for k in ("kernel_shape", "pads", "strides")}

    def lower_max_pool(self, op) -> Codes:
        return self.same_params(op, spin.MaxPoolOp, **self.pool_window(op))

    def lower_avg_pool(self, op) -> Codes:
        return self.same_params(op, spin.AvgPoolOp, **self.pool_window(op),
                                count_include_pad=read_int(op.properties["count_include_pad"]),
                                pad_value=self.operand(op).zero_point)

    def lower_add(self, op) -> Codes:
        """Add (or Sub: the right multiplier negated) of two activations."""
        a, b = self.operand(op, 0), self.operand(op, 1)
        scale, zp = self.out_params(op)
        ma, mb, shift = quant_math.add_multipliers(a.scale, b.scale, scale)
        if op.name == "nn.sub":
            mb = -mb
        value = self.build(spin.AddOp, [a.value, b.value], self.result_type(op),
                           lhs_zero_point=a.zero_point, rhs_zero_point=b.zero_point, lhs_multiplier=ma,
                           rhs_multiplier=mb, shift=shift, zero_point=zp, clamp_min=0, clamp_max=2**self.bits - 1)
        return Codes(value, scale, zp)

    def lower_concat(self, op) -> Codes:
        scale, zp = self.out_params(op)
        parts = []
        for index in range(len(op.operands)):
            x = self.operand(op, index)
            if (x.scale, x.zero_point, self.width(x)) != (scale, zp, self.bits):
                mul, shift = quant_math.requant_multiplier(x.scale / scale)
                value = self.build(spin.RescaleOp, [x.value], x.value.type, input_zero_point=x.zero_point,
                                   multiplier=mul, shift=shift, zero_point=zp, bits=self.bits)
                x = Codes(value, scale, zp)
            parts.append(x.value)
        axis = read_int(op.properties["axis"]) % len(spin.shape_of(op.results[0]))
        return Codes(self.build(spin.ConcatOp, [parts], self.result_type(op), axis=axis), scale, zp)

    def lut(self, op, x: Codes, function, per_channel: list | None = None) -> Codes:
        """A ``spin.lut`` of ``function(real)``, or of ``function(real, p)`` with
        one parameter ``p`` per channel (a ``[C, 256]`` table)."""
        scale, zp = self.out_params(op)

        def table_of(f):
            table = quant_math.lut_table(f, x.scale, x.zero_point, scale, zp, self.bits, in_bits=self.width(x))
            return np.pad(table, (0, 256 - len(table)), mode="edge").astype(np.uint8)

        if per_channel is None:
            table = table_of(function)
        else:
            table = np.stack([table_of(lambda v, p=p: function(v, p)) for p in per_channel])
        value = self.build(spin.LutOp, [x.value], self.result_type(op),
                           table=self.weight(f"lut{self.layers}.{op.name[3:]}", table),
                           function=StringAttr(op.name[3:]))
        self.layers += 1
        return Codes(value, scale, zp)

    def lower_lut(self, op) -> Codes:
        """An element-wise function of one activation: a table of the float backend's own kernel."""
        from spintron_nn.backends.float_exec import elementwise_function

        return self.lut(op, self.operand(op), elementwise_function(op))

    BINARY_FUNCTIONS = {"nn.add": np.add, "nn.sub": np.subtract, "nn.mul": np.multiply, "nn.div": np.divide}

    def channel_constant(self, value: SSAValue, out_shape) -> list | None:
        """A constant that is per tensor or per channel (axis 1) for ``out_shape``,
        as one number per channel (or a 1-list); None otherwise."""
        if getattr(value.owner, "name", None) != "nn.constant":
            return None
        array = np.asarray(value.owner.value.array, dtype=np.float64)
        if array.size == 1:
            return [float(array.reshape(-1)[0])]
        if array.ndim > len(out_shape) or len(out_shape) < 2:
            return None
        full = array.reshape((1,) * (len(out_shape) - array.ndim) + array.shape)
        if any(d != 1 for axis, d in enumerate(full.shape) if axis != 1) or full.shape[1] != out_shape[1]:
            return None
        return [float(v) for v in full.reshape(-1)]

    def lower_binary(self, op) -> Codes:
        """Add/Sub/Mul/Div: of two activations (add only: ``spin.add``), or of an
        activation and a per-tensor / per-channel constant (a LUT)."""
        function = self.BINARY_FUNCTIONS[op.name]
        out_shape = spin.shape_of(op.results[0])
        for index in (0, 1):
            constant = self.channel_constant(op.operands[1 - index], out_shape)
            if constant is None or not isinstance(self.codes.get(op.operands[index]), Codes):
                continue
            if spin.shape_of(op.operands[index]) != out_shape:
                break
            x = self.operand(op, index)
            ordered = (lambda v, c: function(v, c)) if index == 0 else (lambda v, c: function(c, v))
            if len(constant) == 1:
                return self.lut(op, x, lambda v: ordered(v, constant[0]))
            return self.lut(op, x, ordered, constant)
        if op.name in ("nn.add", "nn.sub"):
            return self.lower_add(op)
        if op.name == "nn.mul":
            return self.lower_mul(op)
        raise UnsupportedError("lower-to-spin: nn.div is supported with a per-tensor or per-channel constant "
                               "divisor only")

    def lower_mul(self, op) -> Codes:
        """Product of two activations (gating, SiLU = x * sigmoid(x))."""
        a, b = self.operand(op, 0), self.operand(op, 1)
        scale, zp = self.out_params(op)
        multiplier, shift = quant_math.requant_multiplier(a.scale * b.scale / scale)
        value = self.build(spin.MulOp, [a.value, b.value], self.result_type(op),
                           lhs_zero_point=a.zero_point, rhs_zero_point=b.zero_point, multiplier=multiplier,
                           shift=shift, zero_point=zp, clamp_min=0, clamp_max=2**self.bits - 1)
        return Codes(value, scale, zp)

    def lower_batch_norm(self, op) -> Codes:
        """A BatchNorm that fold-batchnorm left (no conv/gemm before it): a per-channel LUT."""
        x = self.operand(op)
        scale, bias, mean, var = (self.constant(v, "nn.batch_normalization parameter").reshape(-1)
                                  for v in op.operands[1:])
        factor = scale / np.sqrt(var + read_float(op.properties["epsilon"]))
        return self.lut(op, x, lambda v, p: (v - p[0]) * p[1] + p[2], list(zip(mean, factor, bias)))

    def lower_reduce_mean(self, op) -> Codes:
        """ReduceMean over the spatial axes of NCHW: a global average pool."""
        shape = spin.shape_of(op.operands[0])
        axes = op.properties.get("axes")
        if len(shape) != 4 or axes is None or sorted(a % 4 for a in read_ints(axes)) != [2, 3]:
            raise UnsupportedError("lower-to-spin: nn.reduce_mean is supported over the spatial axes of NCHW only")
        x = self.operand(op)
        pooled = self.build(spin.GlobalAvgPoolOp, [x.value], spin.tensor((*shape[:2], 1, 1), spin.ui8))
        if read_int(op.properties["keepdims"]):
            return x._replace(value=pooled)
        return x._replace(value=self.build(spin.ReshapeOp, [pooled], self.result_type(op)))

    def lower_softmax(self, op) -> Codes:
        x = self.operand(op)
        rank = len(spin.shape_of(op.results[0]))
        axis = read_int(op.properties["axis"]) % rank
        if read_int(op.properties["legacy_2d"]) and axis != rank - 1:
            raise UnsupportedError("lower-to-spin: opset < 13 softmax over several axes is not supported")
        scale, zp = self.out_params(op)
        value = self.build(spin.SoftmaxOp, [x.value], self.result_type(op), axis=axis,
                           log=int(op.name == "nn.log_softmax"), input_scale=x.scale,
                           input_zero_point=x.zero_point, scale=scale, zero_point=zp, bits=self.bits)
        return Codes(value, scale, zp)

    def lower_argmax(self, op) -> SSAValue:
        if read_int(op.properties["select_last_index"]):
            raise UnsupportedError("lower-to-spin: nn.arg_max with select_last_index=1 is not supported")
        source = op
        producer = op.operands[0].owner
        if getattr(producer, "name", None) == "nn.softmax" and read_int(producer.properties["axis"]) == \
                read_int(op.properties["axis"]) % len(spin.shape_of(op.operands[0])):
            # softmax is monotonic: its input codes keep apart logits that its
            # output codes may round together.
            source = producer
        x = self.operand(source)
        rank = len(spin.shape_of(op.operands[0]))
        return self.build(spin.ArgMaxOp, [x.value], self.result_type(op, i64),
                          axis=read_int(op.properties["axis"]) % rank, keepdims=read_int(op.properties["keepdims"]))

    def lower_transpose(self, op) -> Codes:
        return self.same_params(op, spin.TransposeOp, perm=read_ints(op.properties["perm"]))

    def lower_reshape(self, op) -> Codes | SSAValue:
        found = self.codes.get(op.operands[0])
        if isinstance(found, SSAValue):  # integers (ArgMax indices, labels) stay int64, integer casts included
            if not all(isinstance(spin.element_of(v), IntegerType) and spin.element_of(v).width.data > 1
                       for v in (found, op.results[0])):  # bools, int -> float: the float unit
                raise UnsupportedError(f"lower-to-spin: {op.name} from {found.type} to {op.results[0].type} "
                                       "is not an integer reshape")
            return self.build(spin.ReshapeOp, [found], self.result_type(op, spin.element_of(found)))
        if op.name == "nn.cast" and spin.element_of(op.operands[0]) != spin.element_of(op.results[0]):
            raise UnsupportedError(f"lower-to-spin: nn.cast from {op.operands[0].type} to {op.results[0].type} is not supported")
        return self.same_params(op, spin.ReshapeOp)

    def lower_take(self, op) -> SSAValue:
        table = op.operands[0].owner
        indices = self.codes.get(op.operands[1])
        if getattr(table, "name", None) != "nn.constant" or table.value.array.ndim != 1 \
                or table.value.array.dtype.kind != "i" or not isinstance(indices, SSAValue):
            raise UnsupportedError("lower-to-spin: nn.array_feature_extractor is supported for a constant "
                                   "1-D integer table indexed by ArgMax results")
        return self.build(spin.TakeOp, [indices], self.result_type(op, i64),
                          table=self.weight(f"take{self.layers}", table.value.array.astype(np.int64)))

    # -- driver ----------------------------------------------------------

    HANDLERS = {
        "nn.gemm": lower_gemm, "nn.matmul": lower_matmul, "nn.conv": lower_conv,
        "nn.relu": lower_clip, "nn.clip": lower_clip,
        "nn.max_pool": lower_max_pool, "nn.average_pool": lower_avg_pool,
        "nn.global_average_pool": lambda self, op: self.same_params(op, spin.GlobalAvgPoolOp),
        "nn.global_max_pool": lambda self, op: self.same_params(op, spin.GlobalMaxPoolOp),
        "nn.add": lower_binary, "nn.sub": lower_binary, "nn.mul": lower_binary, "nn.div": lower_binary,
        "nn.concat": lower_concat, "nn.batch_normalization": lower_batch_norm, "nn.reduce_mean": lower_reduce_mean,
        "nn.sigmoid": lower_lut, "nn.tanh": lower_lut, "nn.leaky_relu": lower_lut, "nn.elu": lower_lut,
        "nn.hard_sigmoid": lower_lut, "nn.hard_swish": lower_lut, "nn.softplus": lower_lut, "nn.abs": lower_lut,
        "nn.erf": lower_lut, "nn.gelu": lower_lut,
        "nn.softmax": lower_softmax, "nn.log_softmax": lower_softmax,
        "nn.arg_max": lower_argmax, "nn.transpose": lower_transpose,
        "nn.identity": lower_reshape, "nn.flatten": lower_reshape, "nn.reshape": lower_reshape,
        "nn.squeeze": lower_reshape, "nn.unsqueeze": lower_reshape, "nn.cast": lower_reshape,
        "nn.array_feature_extractor": lower_take,
    }

    def run(self) -> None:
        block = self.main.body.block
        ops = list(block.ops)
        self.anchor = ops[0]
        attrs = self.main.attributes
        for arg, scale, zp in zip(block.args, attrs[q.INPUT_SCALES_ATTR].get_values(),
                                  attrs[q.INPUT_ZERO_POINTS_ATTR].get_values()):
            if spin.element_of(arg) != f32:
                raise UnsupportedError(f"lower-to-spin: graph input #{arg.index} is {arg.type}; inputs must be float32")
            value = self.emit(spin.QuantizeOp(arg, scale, zp, self.input_bits)).results[0]
            self.codes[arg] = Codes(value, scale, zp, self.input_bits)
        lowered = []
        for op in ops:
            self.anchor = op
            if isinstance(op, func.ReturnOp):
                self.lower_return(op)
            elif op.name == "nn.constant":
                lowered.append(op)
            elif op in self.absorbed:
                self.codes[op.results[0]] = self.codes[self.absorbed[op]]
                lowered.append(op)
            elif op.name not in self.HANDLERS:
                self.float_unit(op, f"{op.name} has no crossbar or integer-digital mapping")
            elif (refusal := self.try_handler(op)) is None:
                lowered.append(op)
            else:
                self.float_unit(op, refusal)
        for op in reversed(lowered):
            if all(not r.uses for r in op.results):
                self.rewriter.erase_op(op)
        self.check_layer_names()

    def check_layer_names(self) -> None:
        """A per-layer width must name a matrix layer (a typo must not
        quietly leave that layer at the default width)."""
        for kind, widths in (("weight", self.layer_weight_bits), ("activation", self.layer_activation_bits),
                             ("ADC", self.config.layer_adc_bits)):
            unknown = sorted(set(widths) - set(self.matrix_layers))
            if unknown:
                raise SpintronError(
                    f"lower-to-spin: per-layer {kind} bits name {', '.join(unknown)}, which "
                    f"{'is' if len(unknown) == 1 else 'are'} not a matrix layer of this network "
                    f"(matrix layers: {', '.join(self.matrix_layers) or 'none'})")

    def try_handler(self, op: Operation) -> str | None:
        """Run ``op``'s handler; if it has no mapping for this instance of the op
        (UnsupportedError), undo what it emitted and return the reason."""
        self.emitted, absorbed, layers = [], dict(self.absorbed), self.layers
        matrix_layers = len(self.matrix_layers)
        try:
            self.codes[op.results[0]] = self.HANDLERS[op.name](self, op)
            return None
        except UnsupportedError as exc:
            for new in reversed(self.emitted):
                self.rewriter.erase_op(new)
            self.absorbed, self.layers = absorbed, layers
            del self.matrix_layers[matrix_layers:]
            return str(exc).removeprefix("lower-to-spin: ")

    def float_unit(self, op: Operation, reason: str) -> None:
        """Keep ``op`` as the nn op on the digital float unit: dequantize its code
        operands, quantize its float results (calibrated range)."""
        for index, value in enumerate(op.operands):
            found = self.codes.get(value)
            if isinstance(found, Codes):
                found = self.emit(spin.DequantizeOp(found.value, found.scale, found.zero_point,
                                                    self.width(found))).results[0]
            if found is not None:
                op.operands[index] = found
            elif getattr(value.owner, "name", None) != "nn.constant":
                raise UnsupportedError(f"lower-to-spin: operand #{index} of {op.name} is neither an activation "
                                       "nor a constant")
        op.attributes[spin.FLOAT_UNIT_ATTR] = StringAttr(reason)
        self.anchor = op.next_op
        for result in op.results:
            element = spin.element_of(result)
            if isinstance(element, IntegerType):
                self.codes[result] = result  # indices, bools: unquantized
                continue
            if element != f32:
                raise UnsupportedError(f"lower-to-spin: {op.name} gives {result.type}; the float unit "
                                       "re-quantizes float32 results only")
            scale, zp = self.out_params(op)
            self.codes[result] = Codes(self.emit(spin.QuantizeOp(result, scale, zp, self.bits)).results[0], scale, zp)

    def lower_return(self, op: func.ReturnOp) -> None:
        for index, value in enumerate(op.operands):
            found = self.codes.get(value)
            if isinstance(found, Codes):
                value = self.emit(spin.DequantizeOp(found.value, found.scale, found.zero_point,
                                                    self.width(found))).results[0]
            elif found is not None:
                value = found
            op.operands[index] = value


def lower_module(module: ModuleOp, config: CrossbarConfig) -> None:
    config.validate()
    _Lowering(module, config).run()


@dataclass(frozen=True)
class LowerToSpinPass(ModulePass):
    """Lower the quantized nn graph to spin crossbar layers and digital ops."""

    name = "lower-to-spin"

    rows: int = 128
    cols: int = 128
    crossbar: str | None = None
    cell_bits: int = 2
    adc_bits: int = 6
    signed_inputs: bool = False  # two's-complement inputs where the zero point is not 0 (semantics 4a)
    layer_adc_bits: str = ""  # "layer0=8": single matrix layers' ADC resolutions

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_nn_graph(op, self.name)
        rows, cols = parse_crossbar(self.crossbar) if self.crossbar else (self.rows, self.cols)
        adc_bits = None if self.adc_bits == 0 else self.adc_bits
        lower_module(op, CrossbarConfig(rows=rows, cols=cols, cell_bits=self.cell_bits, adc_bits=adc_bits,
                                        signed_inputs=self.signed_inputs,
                                        layer_adc_bits=dict(parse_layer_bits(self.layer_adc_bits, "ADC"))))
