"""The ``nn`` dialect: the float network as imported, one op per ONNX operator.

Conventions (see docs/architecture.md):
* Tensors carry ONNX's element types (``ir/dtypes.py``: f32 for networks, and
  f16/bf16/f64/float8, signed ``iN`` / unsigned ``uiN`` integers, ``i1`` for
  bool); a result has its first operand's element type unless the op says
  otherwise (comparisons give ``i1``, ArgMax ``i64``, Cast its ``to``).  The
  leading batch dimension may be dynamic (``?``), every other dimension is
  static.
* Attributes mirror ONNX and are *normalised* by the frontend: pads are always
  explicit ``[begin..., end...]`` (auto_pad resolved), optional ONNX inputs that
  must be constant (Clip min/max, Reshape shape, ReduceMean axes) become
  attributes.  Each op verifies its result type against :meth:`infer_shapes`.
* Weights are ``nn.constant`` ops holding a :class:`~spintron_nn.ir.weights.WeightAttr`.

Each op has exactly one shape rule, the class method ``shape_rule`` over plain
Python values.  The constructor runs it on the operands' shapes and the
arguments it was given (so a built op always has the right result type), and
``infer_shapes`` runs it on the op's own properties (``verify_`` and the
``shape-inference`` pass use that).  Constructors normalise negative axes and
fill ONNX defaults in, so the printed IR always spells every attribute out.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,  # noqa: F401  (re-exported: callers build @main's name lists)
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,  # noqa: F401
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from spintron_nn.ir import dtypes
from spintron_nn.ir.dtypes import i1
from spintron_nn.ir.weights import WeightAttr, WeightBlob

Shape = tuple[int, ...]
DYNAMIC = DYNAMIC_INDEX  # xDSL's marker for a dynamic dimension ("?" in the text form)


# --------------------------------------------------------------------------
# attribute helpers: ops store ONNX attributes as builtin attributes; these
# read and build them so op code deals in plain Python values.
# --------------------------------------------------------------------------


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def float_attr(value: float) -> FloatAttr:
    # f32 attributes print with enough digits to parse back to the same f32
    # (checked in tests/test_nn_ops.py), so 0.1 or 1e-5 survive a round trip
    # as the f32 value that onnxruntime also uses.
    return FloatAttr(float(value), f32)


def opt_float_attr(value: float | None) -> FloatAttr | None:
    return None if value is None else float_attr(value)


def ints_attr(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def opt_ints_attr(values: Sequence[int] | None) -> DenseArrayBase | None:
    return None if values is None else ints_attr(values)


def tensor_type(shape: Sequence[int], element: Attribute = f32) -> TensorType:
    return TensorType(element, [int(d) for d in shape])


def shape_of(value: SSAValue) -> Shape:
    typ = value.type
    if not isinstance(typ, TensorType):
        raise VerifyException(f"expected a tensor, got {typ}")
    return tuple(typ.get_shape())


def element_of(value: SSAValue) -> Attribute:
    typ = value.type
    if not isinstance(typ, TensorType):
        raise VerifyException(f"expected a tensor, got {typ}")
    return typ.element_type


def read_int(attr: Attribute | None, default: int | None = None) -> int:
    if attr is None:
        assert default is not None
        return default
    assert isinstance(attr, IntegerAttr)
    return attr.value.data


def read_float(attr: Attribute | None, default: float | None = None) -> float:
    if attr is None:
        assert default is not None
        return default
    assert isinstance(attr, FloatAttr)
    return attr.value.data


def read_ints(attr: Attribute | None, default: Sequence[int] = ()) -> tuple[int, ...]:
    if attr is None:
        return tuple(default)
    assert isinstance(attr, DenseArrayBase)
    return tuple(int(v) for v in attr.get_values())


def plain_value(attr: Attribute) -> Any:
    """The Python value of a property: int, float, tuple of ints, ndarray or type."""
    if isinstance(attr, IntegerAttr):
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return attr.value.data
    if isinstance(attr, DenseArrayBase):
        return tuple(int(v) for v in attr.get_values())
    if isinstance(attr, WeightAttr):
        return attr.array
    return attr


# --------------------------------------------------------------------------
# shape arithmetic shared by several ops
# --------------------------------------------------------------------------


def is_dynamic(dim: int) -> bool:
    return dim == DYNAMIC


def shape_text(shape: Sequence[int]) -> str:
    return "[" + ",".join("?" if is_dynamic(d) else str(d) for d in shape) + "]"


def product(dims: Sequence[int]) -> int:
    """Product of dimensions; dynamic if any of them is."""
    if any(is_dynamic(d) for d in dims):
        return DYNAMIC
    return math.prod(dims)


def normalize_axis(axis: int, rank: int, what: str, *, inclusive: bool = False) -> int:
    """``axis`` in ``[0, rank)`` (``[0, rank]`` if inclusive, as Flatten's) from
    ONNX's ``[-rank, rank)`` convention."""
    upper = rank + 1 if inclusive else rank
    if not -rank <= axis < upper:
        raise VerifyException(
            f"{what}: axis {axis} is out of range for a rank-{rank} tensor"
        )
    return axis + rank if axis < 0 else axis


def normalize_axes(axes: Sequence[int], rank: int, what: str) -> tuple[int, ...]:
    result = tuple(normalize_axis(a, rank, what) for a in axes)
    if len(set(result)) != len(result):
        raise VerifyException(f"{what}: repeated axis in {list(axes)}")
    return result


def broadcast_shapes(*shapes: Shape) -> Shape:
    """Numpy/ONNX multidirectional broadcasting, keeping dynamic dims."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        static = dims - {1, DYNAMIC}
        if len(static) > 1:
            raise VerifyException(
                f"shapes {', '.join(map(shape_text, shapes))} do not broadcast"
            )
        if static:
            out.append(static.pop())
        elif DYNAMIC in dims:
            out.append(DYNAMIC)
        else:
            out.append(1)
    return tuple(out)


def same_dim(a: int, b: int) -> bool:
    return a == b or is_dynamic(a) or is_dynamic(b)


def window_extent(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation + 1


def sliding_output_size(
    size: int,
    kernel: int,
    stride: int,
    dilation: int,
    pad_begin: int,
    pad_end: int,
    ceil_mode: bool = False,
) -> int:
    """Number of windows along one axis (ONNX Conv/MaxPool/AveragePool).

    With ``ceil_mode`` a partial last window counts, but only if it starts
    inside the input or its begin padding (ONNX and PyTorch drop a window that
    would lie entirely in the end padding)."""
    if is_dynamic(size):
        return DYNAMIC
    span = size + pad_begin + pad_end - window_extent(kernel, dilation)
    if span < 0:
        return 0
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def resolve_auto_pad(
    auto_pad: str,
    input_spatial: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int] | None = None,
) -> list[int]:
    """Explicit ``[begin..., end...]`` pads for an ONNX ``auto_pad`` value.

    SAME_* pads so that ``out = ceil(in / stride)``; the odd pixel goes at the
    end for SAME_UPPER and at the beginning for SAME_LOWER."""
    rank = len(kernel_shape)
    if auto_pad in ("", "NOTSET"):
        return list(pads) if pads is not None else [0] * (2 * rank)
    if auto_pad == "VALID":
        return [0] * (2 * rank)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise VerifyException(f"unknown auto_pad value {auto_pad!r}")
    begins, ends = [], []
    for size, k, s, d in zip(input_spatial, kernel_shape, strides, dilations, strict=True):
        if is_dynamic(size):
            raise VerifyException(f"auto_pad={auto_pad} needs static spatial sizes")
        out = -(-size // s)
        total = max(0, (out - 1) * s + window_extent(k, d) - size)
        small, large = total // 2, total - total // 2
        begin, end = (small, large) if auto_pad == "SAME_UPPER" else (large, small)
        begins.append(begin)
        ends.append(end)
    return begins + ends


def check_window_attributes(
    what: str,
    spatial_rank: int,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
) -> None:
    for name, values, count in (
        ("kernel_shape", kernel_shape, spatial_rank),
        ("strides", strides, spatial_rank),
        ("dilations", dilations, spatial_rank),
        ("pads", pads, 2 * spatial_rank),
    ):
        if len(values) != count:
            raise VerifyException(
                f"{what}: {name} has {len(values)} values, expected {count} "
                f"for {spatial_rank} spatial dimension(s)"
            )
    for name, values, low in (
        ("kernel_shape", kernel_shape, 1),
        ("strides", strides, 1),
        ("dilations", dilations, 1),
        ("pads", pads, 0),
    ):
        if any(v < low for v in values):
            raise VerifyException(f"{what}: {name} {list(values)} must be >= {low}")


def window_properties(
    rank: int,
    strides: Sequence[int] | None,
    pads: Sequence[int] | None,
    dilations: Sequence[int] | None,
) -> dict[str, Attribute]:
    """strides/pads/dilations properties with ONNX's defaults filled in."""
    return {
        "strides": ints_attr(strides if strides is not None else [1] * rank),
        "pads": ints_attr(pads if pads is not None else [0] * (2 * rank)),
        "dilations": ints_attr(dilations if dilations is not None else [1] * rank),
    }


def windowed_shape(
    what: str,
    x: Shape,
    channels_out: int,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: bool = False,
) -> Shape:
    """``[N, channels_out, out...]`` of a sliding-window op over ``x``."""
    rank = len(kernel_shape)
    spatial = []
    for axis in range(rank):
        out = sliding_output_size(
            x[2 + axis],
            kernel_shape[axis],
            strides[axis],
            dilations[axis],
            pads[axis],
            pads[rank + axis],
            ceil_mode,
        )
        if out < 1 and not is_dynamic(out):
            raise VerifyException(
                f"{what}: the window (kernel {list(kernel_shape)}, dilations "
                f"{list(dilations)}) does not fit the input {shape_text(x)} "
                f"with pads {list(pads)}"
            )
        spatial.append(out)
    return (x[0], channels_out, *spatial)


# --------------------------------------------------------------------------
# base classes
# --------------------------------------------------------------------------


class NNOperation(IRDLOperation, abc.ABC):
    """An ``nn`` op whose result shapes follow from its operands and attributes."""

    traits = traits_def(Pure())

    @classmethod
    @abc.abstractmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        """Result shapes from operand shapes and plain attribute values (absent
        optional properties are not passed); raise VerifyException if they are
        inconsistent with each other."""

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        """Result element types: by default the first operand's (ONNX ops
        compute in their input's type)."""
        return [operand_elements[0] if operand_elements else f32]

    def attribute_values(self) -> dict[str, Any]:
        """The op's properties as plain Python values (see :func:`plain_value`)."""
        return {name: plain_value(attr) for name, attr in self.properties.items()}

    def infer_shapes(self, operand_shapes: Sequence[Shape]) -> list[Shape]:
        """Result shapes for the given operand shapes; raise VerifyException if
        the operands are inconsistent with each other or with the attributes."""
        return self.shape_rule(
            [tuple(s) for s in operand_shapes], **self.attribute_values()
        )

    def result_element_types(self) -> list[Attribute]:
        return self.element_rule(
            [element_of(v) for v in self.operands], **self.attribute_values()
        )

    def _build(
        self,
        operands: Sequence[SSAValue | Sequence[SSAValue]],
        properties: dict[str, Attribute | None],
    ) -> None:
        """Initialise with result types computed by this op's own rules."""
        props = {k: v for k, v in properties.items() if v is not None}
        flat = [
            v
            for group in operands
            for v in (group if isinstance(group, Sequence) else [group])
        ]
        plain = {name: plain_value(attr) for name, attr in props.items()}
        shapes = self.shape_rule([shape_of(v) for v in flat], **plain)
        elements = self.element_rule([element_of(v) for v in flat], **plain)
        IRDLOperation.__init__(
            self,
            operands=list(operands),
            properties=props,
            result_types=[
                tensor_type(s, e) for s, e in zip(shapes, elements, strict=True)
            ],
        )

    def verify_(self) -> None:
        for operand in self.operands:
            if not isinstance(operand.type, TensorType):
                raise VerifyException(f"{self.name}: operands must be tensors")
        try:
            expected = self.infer_shapes([shape_of(v) for v in self.operands])
            elements = self.result_element_types()
        except TypeError as exc:  # a property missing from hand-written IR
            raise VerifyException(f"{self.name}: {exc}") from None
        for index, (result, shape, element) in enumerate(
            zip(self.results, expected, elements, strict=True)
        ):
            actual = shape_of(result)
            if tuple(actual) != tuple(shape) or result.type.element_type != element:
                raise VerifyException(
                    f"{self.name}: result #{index} has type {result.type}, "
                    f"but the operands and attributes give "
                    f"{tensor_type(shape, element)}"
                )


class UnaryElementwiseOp(NNOperation, abc.ABC):
    input = operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(self, input: SSAValue, **props: Attribute | None):
        self._build([input], props)

    @classmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        return [operand_shapes[0]]


class ShapeOnlyOp(NNOperation, abc.ABC):
    """Ops that move elements without computing on them keep the element type
    (an ``i64`` index constant may pass through them)."""

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        return [operand_elements[0]]


def common_element(what: str, operand_elements: Sequence[Attribute]) -> Attribute:
    """The one element type all operands share (ONNX's type constraint ``T``)."""
    first = operand_elements[0]
    if any(e != first for e in operand_elements[1:]):
        listed = ", ".join(str(e) for e in operand_elements)
        raise VerifyException(f"{what}: operand element types differ ({listed})")
    return first


class SameElementOperands:
    """Ops whose operands all have ONNX's one type ``T`` (Conv's X, W and B;
    Gemm's A, B, C; MatMul; Concat): a mixed-type op is a verify error, not
    a silent conversion."""

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        return [common_element(cls.name, operand_elements)]  # type: ignore[attr-defined]


class BinaryBroadcastOp(NNOperation, abc.ABC):
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        self._build([lhs, rhs], {})

    @classmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        return [broadcast_shapes(*operand_shapes)]

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        return [common_element(cls.name, operand_elements)]


class ComparisonOp(BinaryBroadcastOp, abc.ABC):
    """Less / Greater / Equal: ``i1`` results from operands of one type."""

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        common_element(cls.name, operand_elements)
        return [i1]


class LogicalOp(ComparisonOp, abc.ABC):
    """Or: ``i1`` operands and result."""

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        if any(e != i1 for e in operand_elements):
            raise VerifyException(f"{cls.name}: operands must be i1 (bool)")
        return [i1]


class OutputClampMixin:
    """``clamp_min``/``clamp_max``: the output clamp ``fuse-activations`` folds a
    following Relu/Clip into; absent means unbounded on that side."""

    clamp_min = opt_prop_def(FloatAttr)
    clamp_max = opt_prop_def(FloatAttr)


def check_clamp(what: str, low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise VerifyException(f"{what}: clamp bounds {low} > {high}")


# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(NNOperation):
    """A weight or other constant tensor; its data lives in a numpy buffer."""

    name = "nn.constant"
    value = prop_def(WeightAttr)
    output = result_def(TensorType)

    def __init__(self, blob: WeightBlob):
        self._build([], {"value": WeightAttr(blob)})

    @property
    def array(self) -> np.ndarray:
        return self.value.array

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, value: np.ndarray, **_: Any
    ) -> list[Shape]:
        return [tuple(value.shape)]

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], *, value: np.ndarray, **_: Any
    ) -> list[Attribute]:
        try:
            return [dtypes.element_type(value.dtype)]
        except dtypes.UnsupportedElementType as exc:
            raise VerifyException(f"nn.constant: {exc}") from None


# --------------------------------------------------------------------------
# element-wise
# --------------------------------------------------------------------------


@irdl_op_definition
class ReluOp(UnaryElementwiseOp):
    name = "nn.relu"


@irdl_op_definition
class SigmoidOp(UnaryElementwiseOp):
    name = "nn.sigmoid"


@irdl_op_definition
class TanhOp(UnaryElementwiseOp):
    name = "nn.tanh"


@irdl_op_definition
class ExpOp(UnaryElementwiseOp):
    name = "nn.exp"


@irdl_op_definition
class LogOp(UnaryElementwiseOp):
    name = "nn.log"


@irdl_op_definition
class LeakyReluOp(UnaryElementwiseOp):
    name = "nn.leaky_relu"
    alpha = prop_def(FloatAttr)

    def __init__(self, input: SSAValue, *, alpha: float = 0.01):
        super().__init__(input, alpha=float_attr(alpha))


@irdl_op_definition
class EluOp(UnaryElementwiseOp):
    name = "nn.elu"
    alpha = prop_def(FloatAttr)

    def __init__(self, input: SSAValue, *, alpha: float = 1.0):
        super().__init__(input, alpha=float_attr(alpha))


@irdl_op_definition
class HardSigmoidOp(UnaryElementwiseOp):
    """``max(0, min(1, alpha * x + beta))``."""

    name = "nn.hard_sigmoid"
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)

    def __init__(self, input: SSAValue, *, alpha: float = 0.2, beta: float = 0.5):
        super().__init__(input, alpha=float_attr(alpha), beta=float_attr(beta))


@irdl_op_definition
class HardSwishOp(UnaryElementwiseOp):
    """``x * max(0, min(1, x / 6 + 1/2))``."""

    name = "nn.hard_swish"


@irdl_op_definition
class SoftplusOp(UnaryElementwiseOp):
    name = "nn.softplus"


@irdl_op_definition
class AbsOp(UnaryElementwiseOp):
    name = "nn.abs"


@irdl_op_definition
class ErfOp(UnaryElementwiseOp):
    name = "nn.erf"


@irdl_op_definition
class GeluOp(UnaryElementwiseOp):
    """``x * Phi(x)``, or with ``tanh_approximation = 1`` ONNX's ``approximate="tanh"`` form."""

    name = "nn.gelu"
    tanh_approximation = prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, tanh_approximation: bool = False):
        super().__init__(input, tanh_approximation=int_attr(int(tanh_approximation)))


@irdl_op_definition
class ClipOp(UnaryElementwiseOp):
    """ONNX Clip with constant bounds; an absent bound is unbounded."""

    name = "nn.clip"
    min = opt_prop_def(FloatAttr)
    max = opt_prop_def(FloatAttr)

    def __init__(
        self, input: SSAValue, *, min: float | None = None, max: float | None = None
    ):
        super().__init__(input, min=opt_float_attr(min), max=opt_float_attr(max))


@irdl_op_definition
class IdentityOp(ShapeOnlyOp, UnaryElementwiseOp):
    """Identity, and Dropout in inference mode."""

    name = "nn.identity"


@irdl_op_definition
class AddOp(BinaryBroadcastOp):
    name = "nn.add"


@irdl_op_definition
class SubOp(BinaryBroadcastOp):
    name = "nn.sub"


@irdl_op_definition
class MulOp(BinaryBroadcastOp):
    name = "nn.mul"


@irdl_op_definition
class DivOp(BinaryBroadcastOp):
    name = "nn.div"


@irdl_op_definition
class LessOp(ComparisonOp):
    name = "nn.less"


@irdl_op_definition
class GreaterOp(ComparisonOp):
    name = "nn.greater"


@irdl_op_definition
class EqualOp(ComparisonOp):
    name = "nn.equal"


@irdl_op_definition
class OrOp(LogicalOp):
    name = "nn.or"


class VariadicBroadcastOp(NNOperation, abc.ABC):
    """Max / Min: one or more operands of one type, broadcast together."""

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(self, inputs: Sequence[SSAValue]):
        self._build([list(inputs)], {})

    @classmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        if not operand_shapes:
            raise VerifyException(f"{cls.name}: needs at least one input")
        return [broadcast_shapes(*operand_shapes)]

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        return [common_element(cls.name, operand_elements)]


@irdl_op_definition
class MaxOp(VariadicBroadcastOp):
    name = "nn.max"


@irdl_op_definition
class MinOp(VariadicBroadcastOp):
    name = "nn.min"


@irdl_op_definition
class WhereOp(NNOperation):
    """``condition ? x : y`` element-wise, the three operands broadcast."""

    name = "nn.where"
    condition = operand_def(TensorType)
    x = operand_def(TensorType)
    y = operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(self, condition: SSAValue, x: SSAValue, y: SSAValue):
        self._build([condition, x, y], {})

    @classmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        return [broadcast_shapes(*operand_shapes)]

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        condition, x, y = operand_elements
        if condition != i1:
            raise VerifyException(f"nn.where: the condition is {condition}, not i1 (bool)")
        return [common_element(cls.name, [x, y])]


@irdl_op_definition
class CastOp(UnaryElementwiseOp):
    """ONNX Cast (and CastLike, whose target the frontend reads off its second
    input) to any element type of ``ir/dtypes.py``.  ``saturate`` is ONNX's
    flag for float8 targets: out-of-range values clamp to the largest finite
    value instead of becoming inf/NaN."""

    name = "nn.cast"
    to = prop_def(TypeAttribute)
    saturate = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, to: Attribute, saturate: int | None = None):
        super().__init__(
            input, to=to, saturate=None if saturate is None else int_attr(saturate)
        )

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], *, to: Attribute, **_: Any
    ) -> list[Attribute]:
        if not dtypes.is_supported(to):
            raise VerifyException(f"nn.cast: target type {to} is not supported")
        return [to]


# --------------------------------------------------------------------------
# normalisation along an axis
# --------------------------------------------------------------------------


class SoftmaxFamilyOp(UnaryElementwiseOp, abc.ABC):
    """Softmax / LogSoftmax.  ``legacy_2d = 1`` is the opset < 13 meaning: the
    input is flattened to 2-D at ``axis`` and normalised over the second part."""

    axis = prop_def(IntegerAttr)
    legacy_2d = prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, axis: int = -1, legacy_2d: bool = False):
        rank = len(shape_of(input))
        axis = normalize_axis(axis, rank, self.name)
        super().__init__(input, axis=int_attr(axis), legacy_2d=int_attr(legacy_2d))

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, axis: int, **_: Any
    ) -> list[Shape]:
        normalize_axis(axis, len(operand_shapes[0]), cls.name)
        return [operand_shapes[0]]


@irdl_op_definition
class SoftmaxOp(SoftmaxFamilyOp):
    name = "nn.softmax"


@irdl_op_definition
class LogSoftmaxOp(SoftmaxFamilyOp):
    name = "nn.log_softmax"


@irdl_op_definition
class BatchNormalizationOp(NNOperation):
    """Inference-mode BatchNormalization over channel axis 1."""

    name = "nn.batch_normalization"
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    mean = operand_def(TensorType)
    var = operand_def(TensorType)
    output = result_def(TensorType)
    epsilon = prop_def(FloatAttr)

    def __init__(
        self,
        input: SSAValue,
        scale: SSAValue,
        bias: SSAValue,
        mean: SSAValue,
        var: SSAValue,
        *,
        epsilon: float = 1e-5,
    ):
        self._build([input, scale, bias, mean, var], {"epsilon": float_attr(epsilon)})

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, epsilon: float, **_: Any
    ) -> list[Shape]:
        x, *params = operand_shapes
        if len(x) < 2:
            raise VerifyException(f"nn.batch_normalization: input {shape_text(x)} has no channel axis")
        for name, shape in zip(("scale", "bias", "mean", "var"), params, strict=True):
            if tuple(shape) != (x[1],):
                raise VerifyException(
                    f"nn.batch_normalization: {name} has shape {shape_text(shape)}, "
                    f"expected [{x[1]}] for input {shape_text(x)}"
                )
        if epsilon < 0:
            raise VerifyException(f"nn.batch_normalization: epsilon {epsilon} < 0")
        return [x]


# --------------------------------------------------------------------------
# linear algebra
# --------------------------------------------------------------------------


@irdl_op_definition
class GemmOp(SameElementOperands, OutputClampMixin, NNOperation):
    """ONNX Gemm: ``alpha * A' @ B' + beta * C`` with optional transposes."""

    name = "nn.gemm"
    a = operand_def(TensorType)
    b = operand_def(TensorType)
    c = var_operand_def(TensorType)  # zero or one bias
    output = result_def(TensorType)
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    trans_a = prop_def(IntegerAttr)
    trans_b = prop_def(IntegerAttr)

    def __init__(
        self,
        a: SSAValue,
        b: SSAValue,
        c: SSAValue | None = None,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        trans_a: int = 0,
        trans_b: int = 0,
        clamp_min: float | None = None,
        clamp_max: float | None = None,
    ):
        props = {
            "alpha": float_attr(alpha),
            "beta": float_attr(beta),
            "trans_a": int_attr(trans_a),
            "trans_b": int_attr(trans_b),
            "clamp_min": opt_float_attr(clamp_min),
            "clamp_max": opt_float_attr(clamp_max),
        }
        self._build([a, b, [c] if c is not None else []], props)

    @classmethod
    def shape_rule(
        cls,
        operand_shapes: Sequence[Shape],
        *,
        trans_a: int,
        trans_b: int,
        clamp_min: float | None = None,
        clamp_max: float | None = None,
        **_: Any,
    ) -> list[Shape]:
        a, b = operand_shapes[0], operand_shapes[1]
        if len(a) != 2 or len(b) != 2:
            raise VerifyException(
                f"nn.gemm: A and B must be 2-D, got {shape_text(a)} and {shape_text(b)}"
            )
        m, k = (a[1], a[0]) if trans_a else a
        k2, n = (b[1], b[0]) if trans_b else b
        if not same_dim(k, k2):
            raise VerifyException(
                f"nn.gemm: inner dimensions differ ({k} vs {k2}) for A{shape_text(a)} "
                f"B{shape_text(b)} with transA={trans_a} transB={trans_b}"
            )
        out = (m, n)
        if len(operand_shapes) == 3:
            try:
                fits = broadcast_shapes(out, operand_shapes[2]) == out
            except VerifyException:
                fits = False
            if not fits:
                raise VerifyException(
                    f"nn.gemm: bias {shape_text(operand_shapes[2])} does not "
                    f"broadcast to the output {shape_text(out)}"
                )
        check_clamp("nn.gemm", clamp_min, clamp_max)
        return [out]


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy.matmul's shape rule: 1-D operands are promoted and the added axis
    removed again; leading (batch) axes broadcast."""
    if not a or not b:
        raise VerifyException("nn.matmul: operands must have rank >= 1")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if not same_dim(a2[-1], b2[-2]):
        raise VerifyException(
            f"nn.matmul: inner dimensions differ ({a2[-1]} vs {b2[-2]}) for "
            f"{shape_text(a)} @ {shape_text(b)}"
        )
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(b) == 1:
        out = out[:-1]
    if len(a) == 1:
        out = out[:-2] + out[-1:] if len(b) > 1 else out[:-1]
    return out


@irdl_op_definition
class MatMulOp(SameElementOperands, OutputClampMixin, NNOperation):
    """ONNX MatMul (numpy.matmul semantics)."""

    name = "nn.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(
        self,
        lhs: SSAValue,
        rhs: SSAValue,
        *,
        clamp_min: float | None = None,
        clamp_max: float | None = None,
    ):
        self._build(
            [lhs, rhs],
            {"clamp_min": opt_float_attr(clamp_min), "clamp_max": opt_float_attr(clamp_max)},
        )

    @classmethod
    def shape_rule(
        cls,
        operand_shapes: Sequence[Shape],
        *,
        clamp_min: float | None = None,
        clamp_max: float | None = None,
        **_: Any,
    ) -> list[Shape]:
        check_clamp("nn.matmul", clamp_min, clamp_max)
        return [matmul_shape(*operand_shapes)]


@irdl_op_definition
class ConvOp(SameElementOperands, OutputClampMixin, NNOperation):
    """ONNX Conv over any number of spatial axes; ``pads`` are explicit
    ``[begin..., end...]``, ``group`` covers grouped and depthwise convolution."""

    name = "nn.conv"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = prop_def(DenseArrayBase)
    group = prop_def(IntegerAttr)

    def __init__(
        self,
        input: SSAValue,
        weight: SSAValue,
        bias: SSAValue | None = None,
        *,
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        group: int = 1,
        clamp_min: float | None = None,
        clamp_max: float | None = None,
    ):
        rank = max(len(shape_of(weight)) - 2, 0)
        props = {
            **window_properties(rank, strides, pads, dilations),
            "group": int_attr(group),
            "clamp_min": opt_float_attr(clamp_min),
            "clamp_max": opt_float_attr(clamp_max),
        }
        self._build([input, weight, [bias] if bias is not None else []], props)

    @classmethod
    def shape_rule(
        cls,
        operand_shapes: Sequence[Shape],
        *,
        strides: Sequence[int],
        pads: Sequence[int],
        dilations: Sequence[int],
        group: int,
        clamp_min: float | None = None,
        clamp_max: float | None = None,
        **_: Any,
    ) -> list[Shape]:
        x, w = operand_shapes[0], operand_shapes[1]
        if len(x) < 3 or len(w) != len(x):
            raise VerifyException(
                f"nn.conv: input {shape_text(x)} and weight {shape_text(w)} must "
                f"both be [N, C, spatial...] / [M, C/group, kernel...] of equal rank >= 3"
            )
        if group < 1 or x[1] % group or w[0] % group:
            raise VerifyException(
                f"nn.conv: group {group} must divide the input channels ({x[1]}) "
                f"and the output channels ({w[0]})"
            )
        if w[1] * group != x[1]:
            raise VerifyException(
                f"nn.conv: weight {shape_text(w)} expects {w[1] * group} input "
                f"channels (group {group}), the input {shape_text(x)} has {x[1]}"
            )
        if len(operand_shapes) == 3 and tuple(operand_shapes[2]) != (w[0],):
            raise VerifyException(
                f"nn.conv: bias {shape_text(operand_shapes[2])} must be [{w[0]}]"
            )
        kernel = w[2:]
        check_window_attributes("nn.conv", len(kernel), kernel, strides, pads, dilations)
        check_clamp("nn.conv", clamp_min, clamp_max)
        return [windowed_shape("nn.conv", x, w[0], kernel, strides, pads, dilations)]


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------


class PoolOp(NNOperation, abc.ABC):
    """MaxPool / AveragePool with explicit pads and ONNX's output-size rule."""

    input = operand_def(TensorType)
    output = result_def(TensorType)
    kernel_shape = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = prop_def(DenseArrayBase)
    ceil_mode = prop_def(IntegerAttr)

    def __init__(
        self,
        input: SSAValue,
        *,
        kernel_shape: Sequence[int],
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        ceil_mode: int = 0,
        **extra: Attribute,
    ):
        rank = len(kernel_shape)
        props = {
            "kernel_shape": ints_attr(kernel_shape),
            **window_properties(rank, strides, pads, dilations),
            "ceil_mode": int_attr(ceil_mode),
            **extra,
        }
        self._build([input], props)

    @classmethod
    def shape_rule(
        cls,
        operand_shapes: Sequence[Shape],
        *,
        kernel_shape: Sequence[int],
        strides: Sequence[int],
        pads: Sequence[int],
        dilations: Sequence[int],
        ceil_mode: int,
        **_: Any,
    ) -> list[Shape]:
        x = operand_shapes[0]
        rank = len(kernel_shape)
        if len(x) != rank + 2:
            raise VerifyException(
                f"{cls.name}: input {shape_text(x)} does not have the "
                f"{rank} spatial dimension(s) of kernel_shape {list(kernel_shape)}"
            )
        check_window_attributes(cls.name, rank, kernel_shape, strides, pads, dilations)
        for axis in range(rank):
            if max(pads[axis], pads[rank + axis]) >= window_extent(
                kernel_shape[axis], dilations[axis]
            ):
                # onnxruntime rejects this too: a window of padding only has no value
                raise VerifyException(
                    f"{cls.name}: pads {list(pads)} must be smaller than the "
                    f"window (kernel {list(kernel_shape)}, dilations {list(dilations)})"
                )
        return [
            windowed_shape(
                cls.name, x, x[1], kernel_shape, strides, pads, dilations, bool(ceil_mode)
            )
        ]


@irdl_op_definition
class MaxPoolOp(PoolOp):
    name = "nn.max_pool"


@irdl_op_definition
class AveragePoolOp(PoolOp):
    """``count_include_pad = 1`` divides by the window size including explicit
    padding (but never the part a ceil_mode window hangs past the padding)."""

    name = "nn.average_pool"
    count_include_pad = prop_def(IntegerAttr)

    def __init__(
        self,
        input: SSAValue,
        *,
        kernel_shape: Sequence[int],
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        ceil_mode: int = 0,
        count_include_pad: int = 0,
    ):
        super().__init__(
            input,
            kernel_shape=kernel_shape,
            strides=strides,
            pads=pads,
            dilations=dilations,
            ceil_mode=ceil_mode,
            count_include_pad=int_attr(count_include_pad),
        )


class GlobalPoolOp(UnaryElementwiseOp, abc.ABC):
    @classmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        x = operand_shapes[0]
        if len(x) < 3:
            raise VerifyException(
                f"{cls.name}: input {shape_text(x)} needs [N, C, spatial...]"
            )
        return [(x[0], x[1], *([1] * (len(x) - 2)))]


@irdl_op_definition
class GlobalAveragePoolOp(GlobalPoolOp):
    name = "nn.global_average_pool"


@irdl_op_definition
class GlobalMaxPoolOp(GlobalPoolOp):
    name = "nn.global_max_pool"


# --------------------------------------------------------------------------
# shape manipulation
# --------------------------------------------------------------------------


@irdl_op_definition
class FlattenOp(ShapeOnlyOp, UnaryElementwiseOp):
    name = "nn.flatten"
    axis = prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, axis: int = 1):
        rank = len(shape_of(input))
        axis = normalize_axis(axis, rank, self.name, inclusive=True)
        super().__init__(input, axis=int_attr(axis))

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, axis: int, **_: Any
    ) -> list[Shape]:
        x = operand_shapes[0]
        axis = normalize_axis(axis, len(x), cls.name, inclusive=True)
        return [(product(x[:axis]), product(x[axis:]))]


def reshape_shape(x: Shape, target: Sequence[int], allowzero: int) -> Shape:
    """ONNX Reshape: 0 copies the input dimension (unless ``allowzero``), one -1
    takes the rest.  With a dynamic input dimension the -1 (or a 0 copying it)
    becomes dynamic; the static parts must still divide."""
    what = "nn.reshape"
    if list(target).count(-1) > 1:
        raise VerifyException(f"{what}: more than one -1 in shape {list(target)}")
    if allowzero and 0 in target and -1 in target:
        raise VerifyException(f"{what}: shape {list(target)} has 0 and -1 with allowzero=1")
    out = []
    for index, dim in enumerate(target):
        if dim == 0 and not allowzero:
            if index >= len(x):
                raise VerifyException(
                    f"{what}: shape {list(target)} copies dimension {index} of "
                    f"the rank-{len(x)} input {shape_text(x)}"
                )
            out.append(x[index])
        elif dim < -1:
            raise VerifyException(f"{what}: invalid dimension {dim} in shape {list(target)}")
        else:
            out.append(dim)
    static_in = math.prod(d for d in x if not is_dynamic(d))
    static_out = math.prod(d for d in out if d != -1 and not is_dynamic(d))
    in_dynamic = any(is_dynamic(d) for d in x)
    out_dynamic = any(is_dynamic(d) for d in out)
    mismatch = VerifyException(
        f"{what}: cannot reshape {shape_text(x)} to {list(target)}"
    )
    if -1 in out:
        if in_dynamic and not out_dynamic:
            # the -1 takes the batch; whether it divides depends on the batch
            # size, which the executor checks with the concrete shape
            fill = DYNAMIC
        elif static_out == 0:
            if static_in != 0:
                raise mismatch
            fill = 0  # ONNX: -1 beside a zero dimension is 0 (numpy's rule too)
        elif static_in % static_out:
            raise mismatch
        else:
            fill = static_in // static_out
        out[out.index(-1)] = fill
    elif in_dynamic and not out_dynamic:
        # the batch size gets fixed here: the output must be a whole multiple
        if static_in and static_out % static_in:
            raise mismatch
    elif static_in != static_out:
        raise mismatch
    return tuple(out)


@irdl_op_definition
class ReshapeOp(ShapeOnlyOp, UnaryElementwiseOp):
    name = "nn.reshape"
    shape = prop_def(DenseArrayBase)
    allowzero = prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, shape: Sequence[int], allowzero: int = 0):
        super().__init__(input, shape=ints_attr(shape), allowzero=int_attr(allowzero))

    @classmethod
    def shape_rule(
        cls,
        operand_shapes: Sequence[Shape],
        *,
        shape: Sequence[int],
        allowzero: int,
        **_: Any,
    ) -> list[Shape]:
        return [reshape_shape(operand_shapes[0], shape, allowzero)]


@irdl_op_definition
class TransposeOp(ShapeOnlyOp, UnaryElementwiseOp):
    name = "nn.transpose"
    perm = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, *, perm: Sequence[int] | None = None):
        rank = len(shape_of(input))
        if perm is None:
            perm = list(reversed(range(rank)))  # the ONNX default
        super().__init__(input, perm=ints_attr(normalize_axes(perm, rank, self.name)))

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, perm: Sequence[int], **_: Any
    ) -> list[Shape]:
        x = operand_shapes[0]
        if sorted(perm) != list(range(len(x))):
            raise VerifyException(
                f"nn.transpose: perm {list(perm)} is not a permutation of the "
                f"{len(x)} axes of {shape_text(x)}"
            )
        return [tuple(x[p] for p in perm)]


@irdl_op_definition
class ConcatOp(SameElementOperands, ShapeOnlyOp):
    name = "nn.concat"
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)

    def __init__(self, inputs: Sequence[SSAValue], *, axis: int):
        if not inputs:
            raise VerifyException("nn.concat: needs at least one input")
        axis = normalize_axis(axis, len(shape_of(inputs[0])), self.name)
        self._build([list(inputs)], {"axis": int_attr(axis)})

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, axis: int, **_: Any
    ) -> list[Shape]:
        if not operand_shapes:
            raise VerifyException("nn.concat: needs at least one input")
        first = operand_shapes[0]
        axis = normalize_axis(axis, len(first), cls.name)
        out = list(first)
        for shape in operand_shapes[1:]:
            if len(shape) != len(first):
                raise VerifyException(
                    f"nn.concat: inputs {shape_text(first)} and {shape_text(shape)} "
                    f"differ in rank"
                )
            for index, (a, b) in enumerate(zip(out, shape)):
                if index == axis:
                    continue
                if not same_dim(a, b):
                    raise VerifyException(
                        f"nn.concat: inputs {shape_text(first)} and {shape_text(shape)} "
                        f"differ outside axis {axis}"
                    )
                out[index] = a if not is_dynamic(a) else b
        sizes = [s[axis] for s in operand_shapes]
        out[axis] = DYNAMIC if any(map(is_dynamic, sizes)) else sum(sizes)
        return [tuple(out)]


@irdl_op_definition
class SqueezeOp(ShapeOnlyOp, UnaryElementwiseOp):
    """Squeeze.  The constructor turns ONNX's "no axes" into the static
    dimensions of size 1, so a dynamic batch is never squeezed away and the
    result rank never depends on the batch size."""

    name = "nn.squeeze"
    axes = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, *, axes: Sequence[int] | None = None):
        shape = shape_of(input)
        if axes is None:
            axes = [i for i, d in enumerate(shape) if d == 1]
        super().__init__(input, axes=ints_attr(normalize_axes(axes, len(shape), self.name)))

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, axes: Sequence[int], **_: Any
    ) -> list[Shape]:
        x = operand_shapes[0]
        axes = normalize_axes(axes, len(x), cls.name)
        for a in axes:
            if x[a] != 1:
                raise VerifyException(
                    f"nn.squeeze: dimension {a} of {shape_text(x)} is not 1"
                )
        return [tuple(d for i, d in enumerate(x) if i not in axes)]


@irdl_op_definition
class UnsqueezeOp(ShapeOnlyOp, UnaryElementwiseOp):
    name = "nn.unsqueeze"
    axes = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, *, axes: Sequence[int]):
        rank = len(shape_of(input)) + len(axes)
        super().__init__(input, axes=ints_attr(normalize_axes(axes, rank, self.name)))

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, axes: Sequence[int], **_: Any
    ) -> list[Shape]:
        x = operand_shapes[0]
        rank = len(x) + len(axes)
        axes = normalize_axes(axes, rank, cls.name)
        rest = iter(x)
        return [tuple(1 if i in axes else next(rest) for i in range(rank))]


# --------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------


def reduced_axes(
    rank: int, axes: Sequence[int] | None, noop_with_empty_axes: int, what: str
) -> tuple[int, ...]:
    """The axes a Reduce* op reduces (ONNX: none given = all, unless noop)."""
    if not axes:
        return () if noop_with_empty_axes else tuple(range(rank))
    return normalize_axes(axes, rank, what)


class ReduceOp(UnaryElementwiseOp, abc.ABC):
    """ReduceMean / ReduceMax / ReduceSum: ONNX's axes (none = all, unless
    ``noop_with_empty_axes``) and ``keepdims``."""

    axes = opt_prop_def(DenseArrayBase)
    keepdims = prop_def(IntegerAttr)
    noop_with_empty_axes = prop_def(IntegerAttr)

    def __init__(
        self,
        input: SSAValue,
        *,
        axes: Sequence[int] | None = None,
        keepdims: int = 1,
        noop_with_empty_axes: int = 0,
    ):
        rank = len(shape_of(input))
        if axes:
            axes = normalize_axes(axes, rank, self.name)
        super().__init__(
            input,
            axes=opt_ints_attr(axes or None),
            keepdims=int_attr(keepdims),
            noop_with_empty_axes=int_attr(noop_with_empty_axes),
        )

    @classmethod
    def shape_rule(
        cls,
        operand_shapes: Sequence[Shape],
        *,
        keepdims: int,
        noop_with_empty_axes: int,
        axes: Sequence[int] | None = None,
        **_: Any,
    ) -> list[Shape]:
        x = operand_shapes[0]
        reduced = reduced_axes(len(x), axes, noop_with_empty_axes, cls.name)
        if keepdims:
            return [tuple(1 if i in reduced else d for i, d in enumerate(x))]
        return [tuple(d for i, d in enumerate(x) if i not in reduced)]


@irdl_op_definition
class ReduceMeanOp(ReduceOp):
    name = "nn.reduce_mean"


@irdl_op_definition
class ReduceMaxOp(ReduceOp):
    name = "nn.reduce_max"


@irdl_op_definition
class ReduceSumOp(ReduceOp):
    name = "nn.reduce_sum"


@irdl_op_definition
class ArgMaxOp(UnaryElementwiseOp):
    name = "nn.arg_max"
    axis = prop_def(IntegerAttr)
    keepdims = prop_def(IntegerAttr)
    select_last_index = prop_def(IntegerAttr)

    def __init__(
        self,
        input: SSAValue,
        *,
        axis: int = 0,
        keepdims: int = 1,
        select_last_index: int = 0,
    ):
        axis = normalize_axis(axis, len(shape_of(input)), self.name)
        super().__init__(
            input,
            axis=int_attr(axis),
            keepdims=int_attr(keepdims),
            select_last_index=int_attr(select_last_index),
        )

    @classmethod
    def shape_rule(
        cls, operand_shapes: Sequence[Shape], *, axis: int, keepdims: int, **_: Any
    ) -> list[Shape]:
        x = operand_shapes[0]
        axis = normalize_axis(axis, len(x), cls.name)
        if keepdims:
            return [tuple(1 if i == axis else d for i, d in enumerate(x))]
        return [tuple(d for i, d in enumerate(x) if i != axis)]

    @classmethod
    def element_rule(
        cls, operand_elements: Sequence[Attribute], **attrs: Any
    ) -> list[Attribute]:
        return [i64]


# --------------------------------------------------------------------------
# ai.onnx.ml
# --------------------------------------------------------------------------


@irdl_op_definition
class ArrayFeatureExtractorOp(ShapeOnlyOp):
    """ai.onnx.ml ArrayFeatureExtractor: ``data[..., indices]`` along the last
    axis (a 1-D ``data`` gives ``[1, len(indices)]``, as in onnxruntime)."""

    name = "nn.array_feature_extractor"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(self, data: SSAValue, indices: SSAValue):
        if element_of(indices) != i64:
            raise VerifyException("nn.array_feature_extractor: indices must be i64")
        self._build([data, indices], {})

    @classmethod
    def shape_rule(cls, operand_shapes: Sequence[Shape], **attrs: Any) -> list[Shape]:
        data, indices = operand_shapes
        if not data:
            raise VerifyException("nn.array_feature_extractor: data must have rank >= 1")
        count = product(indices)
        if len(data) == 1:
            return [(1, count)]
        return [(*data[:-1], count)]


NN_OPS: tuple[type[NNOperation], ...] = (
    ConstantOp,
    ReluOp,
    LeakyReluOp,
    ClipOp,
    SigmoidOp,
    TanhOp,
    ExpOp,
    LogOp,
    EluOp,
    HardSigmoidOp,
    HardSwishOp,
    SoftplusOp,
    AbsOp,
    ErfOp,
    GeluOp,
    IdentityOp,
    CastOp,
    LessOp,
    GreaterOp,
    EqualOp,
    OrOp,
    MaxOp,
    MinOp,
    WhereOp,
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    SoftmaxOp,
    LogSoftmaxOp,
    BatchNormalizationOp,
    GemmOp,
    MatMulOp,
    ConvOp,
    MaxPoolOp,
    AveragePoolOp,
    GlobalAveragePoolOp,
    GlobalMaxPoolOp,
    FlattenOp,
    ReshapeOp,
    TransposeOp,
    ConcatOp,
    SqueezeOp,
    UnsqueezeOp,
    ReduceMeanOp,
    ReduceMaxOp,
    ReduceSumOp,
    ArgMaxOp,
    ArrayFeatureExtractorOp,
)

NN = Dialect("nn", list(NN_OPS), [WeightAttr])
