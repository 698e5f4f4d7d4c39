"""``fuse-activations``: fold a Relu / Clip into the op that produces its input.

``nn.conv``, ``nn.gemm`` and ``nn.matmul`` carry an optional output clamp
(``clamp_min`` / ``clamp_max``); a Relu is ``clamp_min = 0``, a Clip its
bounds.  Lowering turns the clamp into the requantizer's clamp, so a fused
activation costs no separate digital op on the crossbar.  Only a producer
whose result has no other user is changed: other users must keep seeing the
unclamped value.  An op already clamped gets the intersection of both clamps
(``clip(clip(x, a, b), c, d) = clip(x, max(a, c), min(b, d))`` when the
intervals overlap; disjoint ones are left alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from spintron_nn.ir import nn
from spintron_nn.passes.graph_utils import output_clamp, single_use_producer

CLAMPABLE = (nn.ConvOp, nn.GemmOp, nn.MatMulOp)

Bounds = tuple[float | None, float | None]


def intersect(first: Bounds, second: Bounds) -> Bounds | None:
    """Bounds of clamping to ``first`` then to ``second``; None if disjoint."""
    lows = [b for b in (first[0], second[0]) if b is not None]
    highs = [b for b in (first[1], second[1]) if b is not None]
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        return None
    return low, high


def fuse_clamp(
    activation: nn.UnaryElementwiseOp, bounds: Bounds, rewriter: PatternRewriter
) -> None:
    producer = single_use_producer(activation.input, CLAMPABLE)
    if producer is None:
        return
    fused = intersect(output_clamp(producer), bounds)
    if fused is None:
        return
    for name, bound in zip(("clamp_min", "clamp_max"), fused):
        if bound is None:
            producer.properties.pop(name, None)
        else:
            producer.properties[name] = nn.float_attr(bound)
    rewriter.notify_op_modified(producer)
    rewriter.replace(activation, (), (producer.results[0],))


class FuseRelu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReluOp, rewriter: PatternRewriter, /):
        fuse_clamp(op, (0.0, None), rewriter)


class FuseClip(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ClipOp, rewriter: PatternRewriter, /):
        low = None if op.min is None else nn.read_float(op.min)
        high = None if op.max is None else nn.read_float(op.max)
        fuse_clamp(op, (low, high), rewriter)


@dataclass(frozen=True)
class FuseActivationsPass(ModulePass):
    """Fold Relu / Clip into the clamp_min / clamp_max of a single-use Conv, Gemm or MatMul."""

    name = "fuse-activations"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseRelu(), FuseClip()])
        ).rewrite_module(op)
