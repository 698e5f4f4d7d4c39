"""The ``nn`` dialect: the float network as imported, one op per ONNX operator.

Conventions (see docs/architecture.md):
* Every tensor is ``tensor<...xf32>`` (ArgMax yields ``i64``); the leading batch
  dimension may be dynamic (``?``), every other dimension is static.
* Attributes mirror ONNX and are *normalised* by the frontend: pads are always
  explicit ``[begin..., end...]`` (auto_pad resolved), optional ONNX inputs that
  must be constant (Clip min/max, Reshape shape, ReduceMean axes) become
  attributes.  Each op verifies its result type against :meth:`infer_shapes`.
* Weights are ``nn.constant`` ops holding a :class:`~spintron_nn.ir.weights.WeightAttr`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f32,
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
    return FloatAttr(float(value), f32)


def ints_attr(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def tensor_type(shape: Sequence[int], element: Attribute = f32) -> TensorType:
    return TensorType(element, [int(d) for d in shape])


def shape_of(value: SSAValue) -> Shape:
    typ = value.type
    if not isinstance(typ, TensorType):
        raise VerifyException(f"expected a tensor, got {typ}")
    return tuple(typ.get_shape())


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


def broadcast_shapes(*shapes: Shape) -> Shape:
    """Numpy/ONNX multidirectional broadcasting, keeping dynamic dims."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        static = dims - {1, DYNAMIC}
        if len(static) > 1:
            raise VerifyException(f"shapes {list(map(list, shapes))} do not broadcast")
        if static:
            out.append(static.pop())
        elif DYNAMIC in dims:
            out.append(DYNAMIC)
        else:
            out.append(1)
    return tuple(out)


# --------------------------------------------------------------------------
# base classes
# --------------------------------------------------------------------------


class NNOperation(IRDLOperation, abc.ABC):
    """An ``nn`` op whose result shapes follow from its operands and attributes."""

    traits = traits_def(Pure())

    @abc.abstractmethod
    def infer_shapes(self, operand_shapes: Sequence[Shape]) -> list[Shape]:
        """Result shapes for the given operand shapes; raise VerifyException if
        the operands are inconsistent with each other or with the attributes."""

    def result_element_types(self) -> list[Attribute]:
        return [f32] * len(self.results)

    def verify_(self) -> None:
        for operand in self.operands:
            if not isinstance(operand.type, TensorType):
                raise VerifyException(f"{self.name}: operands must be tensors")
        expected = self.infer_shapes([shape_of(v) for v in self.operands])
        for index, (result, shape, element) in enumerate(
            zip(self.results, expected, self.result_element_types(), strict=True)
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

    def __init__(self, input: SSAValue, **props: Attribute):
        super().__init__(
            operands=[input], result_types=[input.type], properties=props
        )

    def infer_shapes(self, operand_shapes: Sequence[Shape]) -> list[Shape]:
        return [operand_shapes[0]]


class BinaryBroadcastOp(NNOperation, abc.ABC):
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = broadcast_shapes(shape_of(lhs), shape_of(rhs))
        super().__init__(operands=[lhs, rhs], result_types=[tensor_type(shape)])

    def infer_shapes(self, operand_shapes: Sequence[Shape]) -> list[Shape]:
        return [broadcast_shapes(*operand_shapes)]


# --------------------------------------------------------------------------
# ops
# --------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(NNOperation):
    """A weight or other constant tensor; its data lives in a numpy buffer."""

    name = "nn.constant"
    value = prop_def(WeightAttr)
    output = result_def(TensorType)

    def __init__(self, blob: WeightBlob):
        element = i64 if blob.array.dtype.kind in "iu" else f32
        super().__init__(
            properties={"value": WeightAttr(blob)},
            result_types=[tensor_type(blob.array.shape, element)],
        )

    @property
    def array(self) -> np.ndarray:
        return self.value.array

    def infer_shapes(self, operand_shapes: Sequence[Shape]) -> list[Shape]:
        return [tuple(self.value.array.shape)]

    def result_element_types(self) -> list[Attribute]:
        return [i64 if self.value.array.dtype.kind in "iu" else f32]


@irdl_op_definition
class ReluOp(UnaryElementwiseOp):
    name = "nn.relu"


@irdl_op_definition
class AddOp(BinaryBroadcastOp):
    name = "nn.add"


@irdl_op_definition
class GemmOp(NNOperation):
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
    ):
        props = {
            "alpha": float_attr(alpha),
            "beta": float_attr(beta),
            "trans_a": int_attr(trans_a),
            "trans_b": int_attr(trans_b),
        }
        operands = [a, b, [c] if c is not None else []]
        shape = self._shape(shape_of(a), shape_of(b), trans_a, trans_b)
        super().__init__(
            operands=operands, properties=props, result_types=[tensor_type(shape)]
        )

    @staticmethod
    def _shape(a: Shape, b: Shape, trans_a: int, trans_b: int) -> Shape:
        if len(a) != 2 or len(b) != 2:
            raise VerifyException(f"nn.gemm: A and B must be 2-D, got {a} and {b}")
        m, k = (a[1], a[0]) if trans_a else a
        k2, n = (b[1], b[0]) if trans_b else b
        if DYNAMIC not in (k, k2) and k != k2:
            raise VerifyException(
                f"nn.gemm: inner dimensions differ ({k} vs {k2}) for A{list(a)} "
                f"B{list(b)} with transA={trans_a} transB={trans_b}"
            )
        return (m, n)

    def infer_shapes(self, operand_shapes: Sequence[Shape]) -> list[Shape]:
        out = self._shape(
            operand_shapes[0],
            operand_shapes[1],
            read_int(self.trans_a),
            read_int(self.trans_b),
        )
        if len(operand_shapes) == 3:
            broadcast_shapes(out, operand_shapes[2])  # raises if C does not fit
            if broadcast_shapes(out, operand_shapes[2]) != out:
                raise VerifyException(
                    f"nn.gemm: bias {list(operand_shapes[2])} does not broadcast "
                    f"to the output {list(out)}"
                )
        return [out]


NN = Dialect(
    "nn",
    [ConstantOp, ReluOp, AddOp, GemmOp],
    [WeightAttr],
)
