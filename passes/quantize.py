"""``quantize{weight-bits=8 activation-bits=8 per-channel=true output-bits=0 input-bits=0 layer-weight-bits="" layer-activation-bits=""}``: choose the quantization.

Turns the ranges recorded by ``calibrate`` into per-tensor affine activation
parameters (``quant_math.activation_quant_params``) and records the weight
format; the graph stays ``nn`` (``lower-to-spin`` does the integer rewrite):

* ``spin.scale`` (f64) and ``spin.zero_point`` (i64) on every op with a ``spin.range``;
* ``spin.input_scales`` / ``spin.input_zero_points`` on ``@main`` (one per argument);
* ``spin.activation_bits``, ``spin.weight_bits``, ``spin.per_channel`` on ``@main``;
* ``spin.layer_weight_bits`` on ``@main`` (a dictionary, layer name -> width)
  when ``layer-weight-bits="layer0=8,layer3=6"`` gives single matrix layers
  their own weight width: lower-to-spin names the matrix layers ``layer<n>``
  in graph order, numbered together with the ``lut<n>`` tables (as the report
  lists them), quantizes those
  layers' weights to their width, and rejects a name that is no matrix layer;
* ``spin.output_bits`` on ``@main`` when ``output-bits`` is set and differs
  from ``activation-bits`` (``0`` = the activation bits): lower-to-spin gives
  a matrix layer whose result (after the bias/activation it absorbs) is only
  returned codes of that width, scaled from the same calibrated range.  The
  network's outputs feed no crossbar, so their codes may be wider: a 4-bit
  classifier's logits have 16 levels and tie at the top for one test clip in
  ten on the keyword task (docs/semantics.md section 2).
* ``spin.layer_activation_bits`` on ``@main`` (a dictionary, layer name ->
  width) when ``layer-activation-bits="layer0=8"`` gives single matrix layers'
  results their own code width (names as for ``layer-weight-bits``):
  lower-to-spin scales such a result for that width from its calibrated range,
  and the layers reading it read that many bit planes;
* ``spin.input_bits`` on ``@main`` when ``input-bits`` is set and differs from
  ``activation-bits``: the graph inputs' scales and zero points are chosen for
  codes of that width (lower-to-spin quantizes them so; the matrix layers that
  read them read that many bit planes).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, FloatAttr, ModuleOp, f64, i64
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from spintron_nn.backends.sim.quant_math import activation_quant_params
from spintron_nn.config import check_layer_bits, check_layer_weight_bits, parse_layer_bits
from spintron_nn.errors import SpintronError
from spintron_nn.ir.module_info import main_function
from spintron_nn.ir.spin import ACT_BITS, WEIGHT_BITS, int_attr
from spintron_nn.passes.calibrate import INPUT_RANGES_ATTR, read_range
from spintron_nn.passes.graph_utils import require_nn_graph

SCALE_ATTR = "spin.scale"
ZERO_POINT_ATTR = "spin.zero_point"
INPUT_SCALES_ATTR = "spin.input_scales"
INPUT_ZERO_POINTS_ATTR = "spin.input_zero_points"
ACTIVATION_BITS_ATTR = "spin.activation_bits"
WEIGHT_BITS_ATTR = "spin.weight_bits"
PER_CHANNEL_ATTR = "spin.per_channel"
OUTPUT_BITS_ATTR = "spin.output_bits"
LAYER_WEIGHT_BITS_ATTR = "spin.layer_weight_bits"
INPUT_BITS_ATTR = "spin.input_bits"
LAYER_ACTIVATION_BITS_ATTR = "spin.layer_activation_bits"


def check_bits(what: str, value: int, bounds: tuple[int, int]) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise SpintronError(f"{what} must be in {bounds[0]}..{bounds[1]}, got {value}")


def quant_params(op: Operation) -> tuple[float, int] | None:
    """``(scale, zero_point)`` that ``quantize`` chose for ``op``'s result."""
    if SCALE_ATTR not in op.attributes:
        return None
    return op.attributes[SCALE_ATTR].value.data, op.attributes[ZERO_POINT_ATTR].value.data


def check_float32_graph(main: Operation) -> None:
    """Quantization maps float32 tensors to integer codes; integer and bool
    tensors are index data or masks (ArgMax, Cast, comparisons,
    ArrayFeatureExtractor class labels) and pass through unquantized.  The nn
    dialect also carries f16/f64 tensors, which it refuses by op and type."""
    from xdsl.dialects.builtin import IntegerType, TensorType, f32

    def allowed(element) -> bool:
        return element == f32 or isinstance(element, IntegerType)

    for value in [*main.regions[0].block.args, *(r for op in main.walk() for r in op.results)]:
        if isinstance(value.type, TensorType) and not allowed(value.type.element_type):
            owner = value.owner.name if isinstance(value.owner, Operation) else "input of @main"
            raise SpintronError(
                f"quantize: {owner} has {value.type.element_type} tensors; "
                "only float32 graphs can be quantized"
            )


def quantize_module(module: ModuleOp, *, weight_bits: int, activation_bits: int, per_channel: bool,
                    output_bits: int = 0, layer_weight_bits=(), input_bits: int = 0,
                    layer_activation_bits=()) -> None:
    """``output_bits``: code width of returned matrix-layer results (0 = ``activation_bits``);
    ``input_bits``: code width of the graph inputs (0 = ``activation_bits``);
    ``layer_activation_bits``: ``{layer name: bits}`` (or pairs), single matrix layers' result widths;
    ``layer_weight_bits``: ``{layer name: weight bits}`` (or pairs) overriding ``weight_bits``."""
    check_bits("weight bits", weight_bits, WEIGHT_BITS)
    layer_weight_bits = check_layer_weight_bits(layer_weight_bits)
    layer_activation_bits = check_layer_bits(layer_activation_bits, "activation")
    check_bits("activation bits", activation_bits, ACT_BITS)
    if output_bits:
        check_bits("output bits", output_bits, ACT_BITS)  # codes are ui8 words everywhere
    if input_bits:
        check_bits("input bits", input_bits, ACT_BITS)
    main = main_function(module)
    check_float32_graph(main)
    if INPUT_RANGES_ATTR not in main.attributes:
        raise SpintronError("quantize: no activation ranges on @main: run the calibrate pass first")
    input_ranges = main.attributes[INPUT_RANGES_ATTR].get_values()
    input_width = input_bits or activation_bits
    inputs = [activation_quant_params(lo, hi, input_width) for lo, hi in zip(input_ranges[::2], input_ranges[1::2])]
    main.attributes[INPUT_SCALES_ATTR] = DenseArrayBase.from_list(f64, [s for s, _ in inputs])
    main.attributes[INPUT_ZERO_POINTS_ATTR] = DenseArrayBase.from_list(i64, [z for _, z in inputs])
    main.attributes[ACTIVATION_BITS_ATTR] = int_attr(activation_bits)
    main.attributes[WEIGHT_BITS_ATTR] = int_attr(weight_bits)
    main.attributes[PER_CHANNEL_ATTR] = int_attr(int(per_channel))
    if layer_weight_bits:
        main.attributes[LAYER_WEIGHT_BITS_ATTR] = DictionaryAttr(
            {name: int_attr(bits) for name, bits in layer_weight_bits})
    else:
        main.attributes.pop(LAYER_WEIGHT_BITS_ATTR, None)  # quantizing again without it
    if layer_activation_bits:
        main.attributes[LAYER_ACTIVATION_BITS_ATTR] = DictionaryAttr(
            {name: int_attr(bits) for name, bits in layer_activation_bits})
    else:
        main.attributes.pop(LAYER_ACTIVATION_BITS_ATTR, None)
    if output_bits and output_bits != activation_bits:
        main.attributes[OUTPUT_BITS_ATTR] = int_attr(output_bits)
    else:
        main.attributes.pop(OUTPUT_BITS_ATTR, None)  # quantizing again without it
    if input_width != activation_bits:
        main.attributes[INPUT_BITS_ATTR] = int_attr(input_width)
    else:
        main.attributes.pop(INPUT_BITS_ATTR, None)
    for op in main.walk():
        found = read_range(op)
        if found is None:
            continue
        scale, zero_point = activation_quant_params(*found, activation_bits)
        op.attributes[SCALE_ATTR] = FloatAttr(scale, f64)
        op.attributes[ZERO_POINT_ATTR] = int_attr(zero_point)


@dataclass(frozen=True)
class QuantizePass(ModulePass):
    """Choose per-tensor activation and per-channel weight quantization from calibrated ranges."""

    name = "quantize"

    weight_bits: int = 8
    activation_bits: int = 8
    per_channel: bool = True
    output_bits: int = 0  # 0: the activation bits
    input_bits: int = 0  # 0: the activation bits
    layer_weight_bits: str = ""  # "layer0=8,layer3=6": single matrix layers' weight widths
    layer_activation_bits: str = ""  # "layer0=8": single matrix layers' result code widths

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_nn_graph(op, self.name)
        quantize_module(
            op, weight_bits=self.weight_bits, activation_bits=self.activation_bits, per_channel=self.per_channel,
            output_bits=self.output_bits, layer_weight_bits=parse_layer_bits(self.layer_weight_bits),
            input_bits=self.input_bits,
            layer_activation_bits=parse_layer_bits(self.layer_activation_bits, "activation"),
        )
