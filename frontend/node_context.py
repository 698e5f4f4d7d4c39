"""What an op converter sees of one ONNX node, and how it emits ``nn`` ops.

Converters (``onnx_ops.py``) deal in plain values: ``ctx.value(i)`` is the
SSA value of input ``i`` (a constant becomes an ``nn.constant`` on first use),
``ctx.const(i)`` its numpy value when it must be known at import time,
``ctx.attr(name)`` an ONNX attribute with the schema's default.  ``ctx.emit``
builds any ``nn`` op from its name: properties are the ONNX attributes the op
defines (snake case, schema defaults filled in), result types come from the
op's own ``infer_shapes``, so there is one shape rule per op.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import DenseArrayBase, FloatAttr, IntegerAttr, StringAttr, f32
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.irdl import IRDLOperation, OptOperandDef, VarOperandDef
from xdsl.utils.exceptions import DiagnosticException

from spintron_nn.errors import SpintronError, UnsupportedError
from spintron_nn.frontend.shape_folding import has_batch
from spintron_nn.ir import nn
from spintron_nn.ir.weights import WeightBlob

Value = SSAValue | np.ndarray  # what a graph name stands for while importing


def snake_case(name: str) -> str:
    """ONNX attribute name -> property name (``transA`` -> ``trans_a``)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def nn_op_classes() -> dict[str, type[IRDLOperation]]:
    return {op.name: op for op in nn.NN.operations}


def _encode(value: Any, constraint: str) -> Attribute:
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(np.asarray(value).reshape(-1))
        if values and all(isinstance(v, (int, np.integer)) for v in values):
            return nn.ints_attr(values)
        if not values:
            return nn.ints_attr([])
        return DenseArrayBase.from_list(f32, [float(v) for v in values])
    if isinstance(value, (float, np.floating)) or "FloatAttr" in constraint:
        return nn.float_attr(float(value))
    return nn.int_attr(int(value))


class NodeContext:
    """One ONNX node during import."""

    def __init__(
        self,
        node: onnx.NodeProto,
        schema: onnx.defs.OpSchema,
        env: Mapping[str, Value],
        block: Block,
        materialize: Callable[[str], SSAValue],
        where: str,
    ):
        self.node = node
        self.schema = schema
        self.version = schema.since_version
        self._env = env
        self._block = block
        self._materialize = materialize
        self.where = where

    # ---- diagnostics -----------------------------------------------------

    def describe(self) -> str:
        domain = self.node.domain or "ai.onnx"
        name = self.node.name or (self.node.output[0] if self.node.output else "?")
        return f"node '{name}' ({self.node.op_type}, domain {domain}, opset {self.version})"

    def fail(self, message: str, *, unsupported: bool = False) -> SpintronError:
        cls = UnsupportedError if unsupported else SpintronError
        return cls(f"{self.describe()}: {message}", path=self.where)

    # ---- inputs ----------------------------------------------------------

    @property
    def num_inputs(self) -> int:
        return len(self.node.input)

    def has_input(self, index: int) -> bool:
        return index < len(self.node.input) and self.node.input[index] != ""

    def is_const(self, index: int) -> bool:
        return self.has_input(index) and isinstance(self._env[self.node.input[index]], np.ndarray)

    def const(self, index: int, what: str = "input") -> np.ndarray | None:
        """Input ``index`` as an import-time constant (None if absent)."""
        if not self.has_input(index):
            return None
        value = self._env[self.node.input[index]]
        if not isinstance(value, np.ndarray):
            raise self.fail(
                f"the {what} ('{self.node.input[index]}') must be a constant, "
                "but it is computed at run time",
                unsupported=True,
            )
        return value

    def const_ints(self, index: int, what: str) -> list[int] | None:
        value = self.const(index, what)
        if value is None:
            return None
        if has_batch(value):
            raise self.fail(f"the {what} depends on the batch size", unsupported=True)
        return [int(v) for v in value.reshape(-1)]

    def value(self, index: int) -> SSAValue:
        if not self.has_input(index):
            raise self.fail(f"input #{index} is required")
        return self._materialize(self.node.input[index])

    def values(self) -> list[SSAValue]:
        return [self.value(i) for i in range(self.num_inputs) if self.has_input(i)]

    def shape(self, index: int) -> tuple[int | None, ...]:
        value = self._env[self.node.input[index]]
        if isinstance(value, np.ndarray):
            return value.shape
        return tuple(None if d == nn.DYNAMIC else d for d in nn.shape_of(value))

    # ---- attributes ------------------------------------------------------

    def attr(self, name: str, default: Any = None) -> Any:
        for attribute in self.node.attribute:
            if attribute.name == name:
                return helper.get_attribute_value(attribute)
        schema_attr = self.schema.attributes.get(name)
        if schema_attr is not None and schema_attr.default_value.name:
            return helper.get_attribute_value(schema_attr.default_value)
        return default

    def set_attributes(self) -> set[str]:
        return {a.name for a in self.node.attribute}

    # ---- emission --------------------------------------------------------

    def emit(
        self,
        op_name: str,
        operands: Sequence[SSAValue] | None = None,
        overrides: Mapping[str, Any] | None = None,
        consumed: Sequence[str] = (),
    ) -> list[SSAValue]:
        """Append ``op_name`` built from the node's attributes; its results.

        Every attribute the node sets must either be a property of the op,
        be in ``overrides``/``consumed`` (the converter handled it), or the
        import stops: silently dropping an attribute would change the math."""
        cls = nn_op_classes().get(op_name)
        if cls is None:
            raise self.fail(f"no {op_name} op in the nn dialect", unsupported=True)
        definition = cls.get_irdl_definition()
        overrides = dict(overrides or {})
        handled = {snake_case(n) for n in consumed} | set(overrides)
        for name in self.set_attributes():
            prop = snake_case(name)
            if prop not in definition.properties and prop not in handled:
                raise self.fail(f"attribute '{name}' is not supported", unsupported=True)
        props: dict[str, Attribute] = {}
        for prop_name, prop_def in definition.properties.items():
            if prop_name in overrides:
                value = overrides[prop_name]
            else:
                onnx_name = next(
                    (a for a in self.schema.attributes if snake_case(a) == prop_name), None
                )
                value = self.attr(onnx_name) if onnx_name else None
            if value is not None:
                props[prop_name] = _encode(value, str(prop_def.constr))
        operands = list(self.values() if operands is None else operands)
        return self.build(cls, operands, props)

    def build(
        self, cls: type[IRDLOperation], operands: list[SSAValue], props: dict[str, Attribute]
    ) -> list[SSAValue]:
        grouped = self._group_operands(cls, operands)
        placeholder = [nn.tensor_type([1])] * len(cls.get_irdl_definition().results)
        op = None
        try:
            # The op's own shape rule gives its result types: build it once
            # with placeholders, ask, and build it again for real.
            probe = cls.build(operands=grouped, properties=props, result_types=placeholder)
            try:
                shapes = probe.infer_shapes([nn.shape_of(v) for v in operands])
                elements = probe.result_element_types()
            finally:
                probe.drop_all_references()
            types = [nn.tensor_type(s, e) for s, e in zip(shapes, elements, strict=True)]
            op = cls.build(operands=grouped, properties=props, result_types=types)
            op.verify()
        except (DiagnosticException, ValueError, TypeError, AssertionError) as exc:
            if op is not None:
                op.drop_all_references()
            raise self.fail(f"does not fit its inputs: {exc}") from None
        self._block.add_op(op)
        return list(op.results)

    def _group_operands(self, cls: type[IRDLOperation], operands: list[SSAValue]):
        defs = [d for _, d in cls.get_irdl_definition().operands]
        flexible = [i for i, d in enumerate(defs) if isinstance(d, (VarOperandDef, OptOperandDef))]
        fixed = len(defs) - len(flexible)
        if len(flexible) > 1 or len(operands) < fixed or (not flexible and len(operands) != fixed):
            raise self.fail(
                f"{cls.name} takes {fixed} operands"
                + (" and optional ones" if flexible else "")
                + f", the node gives {len(operands)}"
            )
        if not flexible:
            return operands
        at = flexible[0]
        extra = len(operands) - fixed
        return operands[:at] + [operands[at : at + extra]] + operands[at + extra :]


def make_constant(block: Block, key: str, array: np.ndarray) -> SSAValue:
    """An ``nn.constant`` for ``array`` (floats as f32, ints as i64)."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    elif array.dtype.kind in "iub":
        array = array.astype(np.int64)
    op: Operation = nn.ConstantOp(WeightBlob(key, array))
    block.add_op(op)
    return op.results[0]
