"""What an op converter sees of one ONNX node, and how it emits ``nn`` ops.

Converters (``onnx_ops.py``) deal in plain values: ``ctx.value(i)`` is the
SSA value of input ``i`` (a constant becomes an ``nn.constant`` on first use),
``ctx.const(i)`` its numpy value when it must be known at import time,
``ctx.attr(name)`` an ONNX attribute with the schema's default.  ``ctx.make``
builds an ``nn`` op through its constructor, whose shape rule checks the
operands; a failure becomes a SpintronError naming the node.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import onnx
from onnx import helper
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from spintron_nn.errors import SpintronError, UnsupportedError
from spintron_nn.frontend.shape_folding import has_batch
from spintron_nn.ir import dtypes, nn
from spintron_nn.ir.weights import WeightBlob

Value = SSAValue | np.ndarray  # what a graph name stands for while importing


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
        opset: int,
        read_names: Collection[str] = (),
    ):
        self.node = node
        self.schema = schema
        self.version = schema.since_version  # the operator version: its semantics
        self.opset = opset  # the model's opset for the node's domain
        self._env = env
        self._block = block
        self._materialize = materialize
        self.where = where
        self._read_names = read_names  # every value a node or the graph's outputs read

    def output_used(self, index: int) -> bool:
        """Whether output ``index`` is requested and read by a node or is a
        graph output: an output nobody reads (Dropout's mask, MaxPool's
        Indices in an exported graph) need not be supported."""
        outputs = self.node.output
        return index < len(outputs) and bool(outputs[index]) and outputs[index] in self._read_names

    # ---- diagnostics -----------------------------------------------------

    def describe(self) -> str:
        domain = self.node.domain or "ai.onnx"
        name = self.node.name or (self.node.output[0] if self.node.output else "?")
        return f"node '{name}' ({self.node.op_type}, domain {domain}, opset {self.opset})"

    def fail(self, message: str, *, unsupported: bool = False) -> SpintronError:
        cls = UnsupportedError if unsupported else SpintronError
        return cls(f"{self.describe()}: {message}", path=self.where)

    # ---- inputs ----------------------------------------------------------

    @property
    def num_inputs(self) -> int:
        return len(self.node.input)

    def has_input(self, index: int) -> bool:
        return index < len(self.node.input) and self.node.input[index] != ""

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

    def const_scalar(self, index: int, what: str) -> float | None:
        value = self.const(index, what)
        if value is None:
            return None
        if value.size != 1 or has_batch(value):
            raise self.fail(f"the {what} must be a single number, got shape {list(value.shape)}")
        return float(value.reshape(-1)[0])

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

    def element_type(self, index: int) -> Attribute:
        """The IR element type of input ``index`` (constant or run-time)."""
        value = self._env[self.node.input[index]]
        if isinstance(value, np.ndarray):
            try:
                return dtypes.element_type(value.dtype)
            except dtypes.UnsupportedElementType as exc:
                raise self.fail(str(exc), unsupported=True) from None
        return nn.element_of(value)

    def shape(self, index: int) -> tuple[int | None, ...]:
        value = self._env[self.node.input[index]]
        if isinstance(value, np.ndarray):
            return value.shape
        return tuple(None if d == nn.DYNAMIC else d for d in nn.shape_of(value))

    # ---- attributes ------------------------------------------------------

    def attr(self, name: str, default: Any = None) -> Any:
        """The attribute's value, else the schema's default, else ``default``."""
        value = None
        for attribute in self.node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
        schema_attr = self.schema.attributes.get(name)
        if value is None and schema_attr is not None and schema_attr.default_value.name:
            value = helper.get_attribute_value(schema_attr.default_value)
        if value is None:
            return default
        return value.decode() if isinstance(value, bytes) else value

    def make(self, op_class: type[Operation], *args: Any, **kwargs: Any) -> list[SSAValue]:
        """Build ``op_class(*args, **kwargs)``, append it, return its results.

        The op's constructor runs its shape rule, so an initializer whose
        shape contradicts the op fails here; the message names the node."""
        op = None
        try:
            op = op_class(*args, **kwargs)
            op.verify()
        except (DiagnosticException, ValueError, TypeError) as exc:
            if op is not None:
                op.drop_all_references()
            raise self.fail(f"does not fit its inputs: {exc}") from None
        self._block.add_op(op)
        return list(op.results)


def make_constant(block: Block, key: str, array: np.ndarray) -> SSAValue:
    """An ``nn.constant`` for ``array`` in its own element type (ONNX ops take
    operands of one type, so a float64 initializer stays float64)."""
    op: Operation = nn.ConstantOp(WeightBlob(key, np.asarray(array)))
    block.add_op(op)
    return op.results[0]
