"""``canonicalize``: local simplifications that never change a value.

* ``nn.identity`` (also what Dropout imports as) is bypassed;
* ``x + 0``, ``0 + x``, ``x - 0``, ``x * 1``, ``1 * x``, ``x / 1`` with a
  constant neutral operand are bypassed when broadcasting does not widen ``x``;
* a Reshape of a Reshape becomes one Reshape, and a Reshape to its own input
  type disappears;
* identical constants (same dtype, shape and bytes, whatever their keys) are
  merged, then identical ops on identical operands (CSE);
* ops whose results are unused are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import Rewriter
from xdsl.transforms.common_subexpression_elimination import cse
from xdsl.transforms.dead_code_elimination import dce

from spintron_nn.ir import nn
from spintron_nn.passes.graph_utils import constant_array


class RemoveIdentity(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.IdentityOp, rewriter: PatternRewriter, /):
        if op.input.type == op.output.type:
            rewriter.replace(op, (), (op.input,))


def _is_all(value: SSAValue, neutral: float) -> bool:
    array = constant_array(value)
    return array is not None and bool(np.all(array == neutral))


@dataclass
class RemoveNeutralOperand(RewritePattern):
    """``op(x, n) -> x`` (and ``op(n, x) -> x`` when commutative) where ``n``
    is a constant whose every element is the neutral value of ``op``."""

    kind: type[nn.BinaryBroadcastOp]
    neutral: float
    commutative: bool

    def match_and_rewrite(self, op, rewriter: PatternRewriter, /):
        if not isinstance(op, self.kind):
            return
        candidates = [(op.lhs, op.rhs)]
        if self.commutative:
            candidates.append((op.rhs, op.lhs))
        for kept, neutral in candidates:
            # Broadcasting against the constant may add dimensions; then the
            # op is a broadcast, not a no-op.
            if kept.type == op.output.type and _is_all(neutral, self.neutral):
                rewriter.replace(op, (), (kept,))
                return


class MergeReshapes(RewritePattern):
    """``reshape(reshape(x, s1), s2) -> reshape(x, s2)``.

    Not when ``s2`` holds a 0 that copies a dimension (``allowzero = 0``): the
    dimension it copies belongs to the intermediate shape, not to ``x``.  Nor
    when the inner reshape fixed a dynamic batch size the outer one needs."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReshapeOp, rewriter: PatternRewriter, /):
        inner = op.input.owner
        if not isinstance(inner, nn.ReshapeOp):
            return
        shape, allowzero = nn.read_ints(op.shape), nn.read_int(op.allowzero)
        if 0 in shape and not allowzero:
            return
        merged = nn.ReshapeOp(inner.input, shape=shape, allowzero=allowzero)
        if merged.output.type == op.output.type:
            rewriter.replace(op, merged)


class RemoveNoOpReshape(RewritePattern):
    """A Reshape whose result type equals its input type is the identity,
    provided at most one dimension is dynamic (the element count then fixes it)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReshapeOp, rewriter: PatternRewriter, /):
        shape = nn.shape_of(op.input)
        if op.input.type == op.output.type and shape.count(nn.DYNAMIC) <= 1:
            rewriter.replace(op, (), (op.input,))


def _constant_identity(constant: nn.ConstantOp) -> tuple:
    array = constant.array
    return (array.dtype.str, array.shape, array.tobytes())


def merge_identical_constants(block: Block) -> None:
    """Replace every constant by the first one in ``block`` with the same data.

    Keys differ when a frontend or pass made the same array twice (e.g. two
    folded BN biases that are both zero); the data, not the key, decides."""
    first: dict[tuple, nn.ConstantOp] = {}
    for op in list(block.ops):
        if not isinstance(op, nn.ConstantOp):
            continue
        seen = first.setdefault(_constant_identity(op), op)
        if seen is not op:
            Rewriter.replace_op(op, (), (seen.output,))


def canonicalization_patterns() -> list[RewritePattern]:
    return [
        RemoveIdentity(),
        RemoveNeutralOperand(nn.AddOp, 0.0, commutative=True),
        RemoveNeutralOperand(nn.SubOp, 0.0, commutative=False),
        RemoveNeutralOperand(nn.MulOp, 1.0, commutative=True),
        RemoveNeutralOperand(nn.DivOp, 1.0, commutative=False),
        MergeReshapes(),
        RemoveNoOpReshape(),
    ]


@dataclass(frozen=True)
class CanonicalizePass(ModulePass):
    """Remove identities, neutral constant operands, redundant reshapes, duplicate constants and dead ops."""

    name = "canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(canonicalization_patterns())
        ).rewrite_module(op)
        for block in _blocks(op):
            merge_identical_constants(block)
        cse(op)
        dce(op)


def _blocks(module: ModuleOp) -> list[Block]:
    return [block for op in module.walk() for region in op.regions for block in region.blocks]
