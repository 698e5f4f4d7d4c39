"""``shape-inference``: recompute every result type from the ops' own shape rules.

Each ``nn`` op owns exactly one shape rule, ``infer_shapes`` (ir/nn.py), which
its verifier also checks.  This pass walks each function in program order and
sets every result type to what that rule gives for the (possibly changed)
operand types, then rewrites the function signature to match.  Typical uses:
after a pass changed an input type, or to fix the batch size (``batch=N``)
so that later stages see fully static shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, SSAValue
from xdsl.rewriter import Rewriter
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from spintron_nn.errors import SpintronError
from spintron_nn.ir import nn
from spintron_nn.passes.graph_utils import require_nn_graph


def _with_batch(typ: TensorType, batch: int) -> TensorType:
    """``typ`` with a dynamic leading dimension replaced by ``batch``."""
    shape = list(typ.get_shape())
    if shape and shape[0] == nn.DYNAMIC:
        shape[0] = batch
    return nn.tensor_type(shape, typ.element_type)


def _set_type(value: SSAValue, typ: TensorType) -> None:
    if value.type != typ:
        Rewriter.replace_value_with_new_type(value, typ)


def _fix_batch(block: Block, batch: int) -> None:
    for arg in block.args:
        if isinstance(arg.type, TensorType):
            _set_type(arg, _with_batch(arg.type, batch))


def _infer_block(block: Block) -> None:
    for op in block.ops:
        if not isinstance(op, nn.NNOperation):
            continue
        try:
            shapes = op.infer_shapes([nn.shape_of(v) for v in op.operands])
        except VerifyException as exc:
            raise SpintronError(f"shape-inference: {op.name}: {exc}") from None
        for result, shape, element in zip(
            op.results, shapes, op.result_element_types(), strict=True
        ):
            _set_type(result, nn.tensor_type(shape, element))


@dataclass(frozen=True)
class ShapeInferencePass(ModulePass):
    """Recompute result types and function signatures from each op's shape rule.

    ``batch=N`` first replaces a dynamic leading (batch) dimension of every
    function argument by N."""

    name = "shape-inference"

    batch: int | None = None

    def __post_init__(self) -> None:
        if self.batch is not None and self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_nn_graph(op, self.name)
        for function in op.walk():
            if not isinstance(function, func.FuncOp) or function.is_declaration:
                continue
            block = function.body.block
            if self.batch is not None:
                _fix_batch(block, self.batch)
            _infer_block(block)
            function.update_function_type()
