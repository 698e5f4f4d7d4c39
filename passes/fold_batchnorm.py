"""``fold-batchnorm``: fold inference BatchNormalization into the weights before it.

In inference BatchNormalization is a per-channel affine map on axis 1,
``y = s * x + t`` with ``s = scale / sqrt(var + eps)`` and
``t = bias - mean * s``.  When ``x`` is produced by a linear op with constant
weights whose result nothing else reads, the map goes into that op:

* ``nn.conv`` (any group, any rank): output channel ``m`` is row ``m`` of the
  weight, so ``W'[m] = s[m] W[m]`` and ``b' = s b + t`` (``b = 0`` if absent);
* ``nn.gemm``: output column ``n`` is column ``n`` of ``B`` (row with
  ``trans_b``), ``alpha`` stays, the bias becomes ``s * beta * C + t`` with
  ``beta = 1`` (a bias is created if missing);
* 2-D ``nn.matmul`` with a constant 2-D right operand becomes ``nn.gemm`` with
  the folded weight and ``t`` as its bias.

An op that already carries an output clamp is not folded into: the BN comes
after the clamp.  ``standalone=true`` also rewrites every remaining BN as
``x * s + t`` (``nn.mul`` and ``nn.add`` with constants shaped to broadcast
over axis 1), so that later stages need not know BatchNormalization.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
from xdsl.transforms.dead_code_elimination import dce

from spintron_nn.ir import nn
from spintron_nn.passes.fuse_activations import output_clamp
from spintron_nn.passes.graph_utils import (
    constant_array,
    constant_key,
    insert_constant,
    single_use_producer,
)


@dataclass(frozen=True)
class ChannelAffine:
    """``y = scale * x + shift`` per channel (float64: fold once, round once)."""

    scale: np.ndarray
    shift: np.ndarray

    @staticmethod
    def of(bn: nn.BatchNormalizationOp) -> ChannelAffine | None:
        arrays = [constant_array(v) for v in (bn.scale, bn.bias, bn.mean, bn.var)]
        if any(a is None for a in arrays):
            return None
        gamma, beta, mean, var = (a.astype(np.float64) for a in arrays)
        scale = gamma / np.sqrt(var + nn.read_float(bn.epsilon))
        return ChannelAffine(scale, beta - mean * scale)


def _folded_key(value, suffix: str) -> str:
    """Name new weights after the ones they replace, so reports stay readable."""
    return f"{constant_key(value) or 'bn'}.{suffix}"


def _unclamped_producer(bn: nn.BatchNormalizationOp, kinds) -> nn.NNOperation | None:
    producer = single_use_producer(bn.input, kinds)
    if producer is None or output_clamp(producer) != (None, None):
        return None
    return producer


class FoldIntoConv(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: nn.BatchNormalizationOp, rewriter: PatternRewriter, /):
        conv = _unclamped_producer(bn, (nn.ConvOp,))
        if conv is None or (affine := ChannelAffine.of(bn)) is None:
            return
        weight = constant_array(conv.weight)
        bias = constant_array(conv.bias) if conv.bias is not None else np.zeros(len(affine.scale))
        if weight is None or bias is None:
            return
        per_row = affine.scale.reshape(-1, *[1] * (weight.ndim - 1))
        new_weight = insert_constant(
            rewriter, conv, _folded_key(conv.weight, "bn_folded"), weight * per_row
        )
        new_bias = insert_constant(
            rewriter,
            conv,
            _folded_key(conv.bias if conv.bias is not None else conv.weight, "bn_bias"),
            bias * affine.scale + affine.shift,
        )
        props = dict(conv.properties)
        folded = nn.ConvOp.create(
            operands=[conv.input, new_weight.output, new_bias.output],
            result_types=[conv.output.type],
            properties=props,
            attributes=dict(conv.attributes),
        )
        rewriter.replace(bn, folded)
        rewriter.erase(conv)


class FoldIntoGemm(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: nn.BatchNormalizationOp, rewriter: PatternRewriter, /):
        gemm = _unclamped_producer(bn, (nn.GemmOp,))
        if gemm is None or (affine := ChannelAffine.of(bn)) is None:
            return
        b = constant_array(gemm.b)
        c = constant_array(gemm.c[0]) if gemm.c else np.zeros(())
        if b is None or c is None:
            return
        trans_b = nn.read_int(gemm.trans_b)
        scaled_b = b * (affine.scale[:, None] if trans_b else affine.scale[None, :])
        bias = affine.scale * (nn.read_float(gemm.beta) * c) + affine.shift
        new_b = insert_constant(rewriter, gemm, _folded_key(gemm.b, "bn_folded"), scaled_b)
        new_c = insert_constant(
            rewriter, gemm, _folded_key(gemm.c[0] if gemm.c else gemm.b, "bn_bias"), bias
        )
        folded = nn.GemmOp(
            gemm.a,
            new_b.output,
            new_c.output,
            alpha=nn.read_float(gemm.alpha),
            beta=1.0,
            trans_a=nn.read_int(gemm.trans_a),
            trans_b=trans_b,
        )
        rewriter.replace(bn, folded)
        rewriter.erase(gemm)


class FoldIntoMatMul(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: nn.BatchNormalizationOp, rewriter: PatternRewriter, /):
        matmul = _unclamped_producer(bn, (nn.MatMulOp,))
        if matmul is None or (affine := ChannelAffine.of(bn)) is None:
            return
        b = constant_array(matmul.rhs)
        # Only [M, K] @ [K, N]: then axis 1 of the output is the column of B.
        if b is None or b.ndim != 2 or len(nn.shape_of(matmul.lhs)) != 2:
            return
        new_b = insert_constant(
            rewriter, matmul, _folded_key(matmul.rhs, "bn_folded"), b * affine.scale[None, :]
        )
        new_c = insert_constant(
            rewriter, matmul, _folded_key(matmul.rhs, "bn_bias"), affine.shift
        )
        rewriter.replace(bn, nn.GemmOp(matmul.lhs, new_b.output, new_c.output))
        rewriter.erase(matmul)


class StandaloneToMulAdd(RewritePattern):
    """``bn(x) -> x * s + t`` with ``s``, ``t`` shaped ``[C, 1, ...]``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: nn.BatchNormalizationOp, rewriter: PatternRewriter, /):
        if (affine := ChannelAffine.of(bn)) is None:
            return
        trailing = [1] * (len(nn.shape_of(bn.input)) - 2)
        scale = insert_constant(
            rewriter, bn, _folded_key(bn.scale, "affine_scale"),
            affine.scale.reshape(-1, *trailing),
        )
        shift = insert_constant(
            rewriter, bn, _folded_key(bn.bias, "affine_shift"),
            affine.shift.reshape(-1, *trailing),
        )
        mul = nn.MulOp(bn.input, scale.output)
        add = nn.AddOp(mul.output, shift.output)
        rewriter.replace(bn, [mul, add])


@dataclass(frozen=True)
class FoldBatchNormPass(ModulePass):
    """Fold inference BatchNormalization into a preceding Conv / Gemm / MatMul's weights and bias.

    ``standalone=true`` also turns every BN that could not be folded into nn.mul + nn.add."""

    name = "fold-batchnorm"

    standalone: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns: list[RewritePattern] = [FoldIntoConv(), FoldIntoGemm(), FoldIntoMatMul()]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
        if self.standalone:
            # A second walk, so that no BN is split before every fold was tried.
            PatternRewriteWalker(StandaloneToMulAdd()).rewrite_module(op)
        dce(op)
