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

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.dead_code_elimination import dce

from spintron_nn.ir import dtypes, nn
from spintron_nn.passes.graph_utils import (
    constant_array,
    constant_key,
    insert_constant,
    output_clamp,
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


def _in_type_of(value: SSAValue, array: np.ndarray) -> np.ndarray:
    """``array`` (computed in float64) in ``value``'s element type: f32 for
    networks, f16/f64 graphs keep theirs (nn ops take operands of one type)."""
    return array.astype(dtypes.numpy_dtype(nn.element_of(value)))


def _folded_key(value: SSAValue, suffix: str) -> str:
    """Name new weights after the ones they replace, so reports stay readable."""
    return f"{constant_key(value) or 'bn'}.{suffix}"


@dataclass(frozen=True)
class FoldedParameters:
    """New weight and bias for a linear op, with the values they replace
    (whose keys name the new weights)."""

    weight_of: SSAValue
    weight: np.ndarray
    bias_of: SSAValue
    bias: np.ndarray


class FoldIntoLinear(RewritePattern, abc.ABC):
    """BN after a single-use, unclamped linear op of ``kinds``: the op is
    rebuilt with the folded weight and bias and the BN disappears."""

    kinds: ClassVar[tuple[type[nn.NNOperation], ...]]

    @abc.abstractmethod
    def fold(self, producer, affine: ChannelAffine) -> FoldedParameters | None:
        """The folded parameters, or None if this producer cannot take them."""

    @abc.abstractmethod
    def rebuild(self, producer, weight: SSAValue, bias: SSAValue) -> nn.NNOperation: ...

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: nn.BatchNormalizationOp, rewriter: PatternRewriter, /):
        producer = single_use_producer(bn.input, self.kinds)
        if producer is None or output_clamp(producer) != (None, None):
            return  # a clamped op: the BN comes after the clamp
        affine = ChannelAffine.of(bn)
        folded = self.fold(producer, affine) if affine is not None else None
        if folded is None:
            return
        weight = insert_constant(
            rewriter, producer, _folded_key(folded.weight_of, "bn_folded"),
            _in_type_of(bn.input, folded.weight), keep_dtype=True,
        )
        bias = insert_constant(
            rewriter, producer, _folded_key(folded.bias_of, "bn_bias"),
            _in_type_of(bn.input, folded.bias), keep_dtype=True,
        )
        rewriter.replace(bn, self.rebuild(producer, weight.output, bias.output))
        rewriter.erase(producer)


class FoldIntoConv(FoldIntoLinear):
    kinds = (nn.ConvOp,)

    def fold(self, conv: nn.ConvOp, affine: ChannelAffine) -> FoldedParameters | None:
        weight = constant_array(conv.weight)
        has_bias = conv.bias is not None
        bias = constant_array(conv.bias) if has_bias else np.zeros(len(affine.scale))
        if weight is None or bias is None:
            return None
        per_row = affine.scale.reshape(-1, *[1] * (weight.ndim - 1))
        return FoldedParameters(
            conv.weight,
            weight * per_row,
            conv.bias if has_bias else conv.weight,
            bias * affine.scale + affine.shift,
        )

    def rebuild(self, conv: nn.ConvOp, weight: SSAValue, bias: SSAValue) -> nn.NNOperation:
        return nn.ConvOp.create(
            operands=[conv.input, weight, bias],
            result_types=[conv.output.type],
            properties=dict(conv.properties),
            attributes=dict(conv.attributes),
        )


class FoldIntoGemm(FoldIntoLinear):
    kinds = (nn.GemmOp,)

    def fold(self, gemm: nn.GemmOp, affine: ChannelAffine) -> FoldedParameters | None:
        b = constant_array(gemm.b)
        c = constant_array(gemm.c[0]) if gemm.c else np.zeros(())
        if b is None or c is None:
            return None
        per_column = affine.scale[:, None] if nn.read_int(gemm.trans_b) else affine.scale[None, :]
        return FoldedParameters(
            gemm.b,
            b * per_column,
            gemm.c[0] if gemm.c else gemm.b,
            affine.scale * (nn.read_float(gemm.beta) * c) + affine.shift,
        )

    def rebuild(self, gemm: nn.GemmOp, weight: SSAValue, bias: SSAValue) -> nn.NNOperation:
        return nn.GemmOp(
            gemm.a,
            weight,
            bias,
            alpha=nn.read_float(gemm.alpha),
            beta=1.0,  # beta is inside the folded bias
            trans_a=nn.read_int(gemm.trans_a),
            trans_b=nn.read_int(gemm.trans_b),
        )


class FoldIntoMatMul(FoldIntoLinear):
    kinds = (nn.MatMulOp,)

    def fold(self, matmul: nn.MatMulOp, affine: ChannelAffine) -> FoldedParameters | None:
        b = constant_array(matmul.rhs)
        # Only [M, K] @ [K, N]: then axis 1 of the output is the column of B.
        if b is None or b.ndim != 2 or len(nn.shape_of(matmul.lhs)) != 2:
            return None
        return FoldedParameters(matmul.rhs, b * affine.scale[None, :], matmul.rhs, affine.shift)

    def rebuild(self, matmul: nn.MatMulOp, weight: SSAValue, bias: SSAValue) -> nn.NNOperation:
        return nn.GemmOp(matmul.lhs, weight, bias)


class StandaloneToMulAdd(RewritePattern):
    """``bn(x) -> x * s + t`` with ``s``, ``t`` shaped ``[C, 1, ...]``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: nn.BatchNormalizationOp, rewriter: PatternRewriter, /):
        if (affine := ChannelAffine.of(bn)) is None:
            return
        trailing = [1] * (len(nn.shape_of(bn.input)) - 2)
        scale = insert_constant(
            rewriter, bn, _folded_key(bn.scale, "affine_scale"),
            _in_type_of(bn.input, affine.scale.reshape(-1, *trailing)), keep_dtype=True,
        )
        shift = insert_constant(
            rewriter, bn, _folded_key(bn.bias, "affine_shift"),
            _in_type_of(bn.input, affine.shift.reshape(-1, *trailing)), keep_dtype=True,
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
