"""``fold-constants``: evaluate ops whose operands are all constants.

The op is run once by the float executor (``backends.float_exec.evaluate_op``,
the same code that runs the network, so a folded value is exactly what the
unfolded graph would compute) and replaced by an ``nn.constant`` holding the
result.  ``max-elements`` keeps a small constant feeding e.g. an Expand from
turning into a huge weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.dead_code_elimination import dce

from spintron_nn.errors import SpintronError
from spintron_nn.ir import dtypes, nn
from spintron_nn.passes.graph_utils import constant_array, insert_constant


def _static_size(typ: TensorType) -> int | None:
    shape = typ.get_shape()
    if any(d == nn.DYNAMIC for d in shape):
        return None
    return int(np.prod(shape, dtype=np.int64))


def _matches_type(array: np.ndarray, typ: TensorType) -> bool:
    """The executor's result must have exactly the type the IR promised."""
    return tuple(array.shape) == tuple(typ.get_shape()) and (
        array.dtype == dtypes.numpy_dtype(typ.element_type)
    )


@dataclass
class FoldConstantOp(RewritePattern):
    max_elements: int

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.NNOperation, rewriter: PatternRewriter, /):
        if isinstance(op, nn.ConstantOp) or not op.operands:
            return
        arrays = [constant_array(v) for v in op.operands]
        if any(a is None for a in arrays):
            return
        sizes = [_static_size(r.type) for r in op.results]
        if any(s is None or s > self.max_elements for s in sizes):
            return
        from spintron_nn.backends.float_exec import evaluate_op

        try:
            values = evaluate_op(op, arrays)
        except SpintronError:
            return  # an op the float backend cannot run stays as it is
        if len(values) != len(op.results):
            raise AssertionError(f"evaluate_op({op.name}) gave {len(values)} results")
        folded = []
        for index, (value, result) in enumerate(zip(values, op.results)):
            value = np.asarray(value)
            if not _matches_type(value, result.type):
                # A disagreement between the executor and the op's shape rule
                # is a bug in one of them; folding would hide it.
                raise AssertionError(
                    f"evaluate_op({op.name}) gave {value.dtype}{list(value.shape)} "
                    f"for a result of type {result.type}"
                )
            base = f"folded.{op.name.removeprefix('nn.')}"
            if len(op.results) > 1:
                base += f".{index}"
            folded.append(insert_constant(rewriter, op, base, value, keep_dtype=True).output)
        rewriter.replace(op, (), folded)


@dataclass(frozen=True)
class FoldConstantsPass(ModulePass):
    """Evaluate ops whose operands are all constants into new nn.constant ops.

    Results with more than ``max-elements`` elements are left unfolded."""

    name = "fold-constants"

    max_elements: int = 1 << 20

    def __post_init__(self) -> None:
        if self.max_elements < 0:
            raise ValueError(f"max-elements must be >= 0, got {self.max_elements}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FoldConstantOp(self.max_elements)).rewrite_module(op)
        dce(op)
