"""The op table: which ONNX operators the frontend imports, and how.

Each entry maps ``(domain, op_type)`` to a converter from an ONNX node to
``nn`` ops, the oldest operator version (``since_version`` of the schema)
whose semantics the converter implements, the ONNX attributes it reads (a
node setting any other attribute is refused: dropping one silently would
change the math), and the inputs that must be import-time constants (they
become properties of the ``nn`` op).  Later versions of these operators only
widened their type lists (bfloat16, 4/8-bit types), so a newer opset is
accepted; an older version is refused.

Shape-computing nodes whose inputs are all constant (Shape, Gather, Concat,
...) are evaluated by ``shape_folding`` before this table is consulted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto, helper
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import VerifyException

from spintron_nn.frontend.node_context import NodeContext, Value
from spintron_nn.frontend.shape_folding import NotFoldable, reshape_target
from spintron_nn.ir import dtypes, nn

# A converter's results: SSA values, or numpy arrays known at import time
Converter = Callable[[NodeContext], list[Value]]

ML_DOMAIN = "ai.onnx.ml"


@dataclass(frozen=True)
class OpRule:
    convert: Converter
    min_version: int
    attributes: frozenset[str] = frozenset()
    # Inputs that are parameters of the op rather than data: most must be
    # import-time constants (they become properties); ArrayFeatureExtractor's
    # indices may also be computed (skl2onnx feeds it from ArgMax).
    const_inputs: frozenset[int] = frozenset()
    claimed: bool = True  # False: the rule exists only to explain a refusal


# --------------------------------------------------------------------------
# element-wise and linear algebra: operands map one to one
# --------------------------------------------------------------------------


def _unary(op_class) -> Converter:
    return lambda ctx: ctx.make(op_class, ctx.value(0))


def _binary(op_class) -> Converter:
    return lambda ctx: ctx.make(op_class, ctx.value(0), ctx.value(1))


def _variadic(op_class) -> Converter:
    return lambda ctx: ctx.make(op_class, ctx.values())


def _where(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.WhereOp, ctx.value(0), ctx.value(1), ctx.value(2))


def _leaky_relu(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.LeakyReluOp, ctx.value(0), alpha=ctx.attr("alpha", 0.01))


def _elu(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.EluOp, ctx.value(0), alpha=ctx.attr("alpha", 1.0))


def _hard_sigmoid(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.HardSigmoidOp, ctx.value(0), alpha=ctx.attr("alpha", 0.2), beta=ctx.attr("beta", 0.5))


def _gelu(ctx: NodeContext) -> list[SSAValue]:
    approximate = ctx.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise ctx.fail(f"Gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    return ctx.make(nn.GeluOp, ctx.value(0), tanh_approximation=approximate == "tanh")


def _gemm(ctx: NodeContext) -> list[SSAValue]:
    a, b = ctx.value(0), ctx.value(1)
    bias = ctx.value(2) if ctx.has_input(2) else None
    return ctx.make(
        nn.GemmOp,
        a,
        b,
        bias,
        alpha=ctx.attr("alpha", 1.0),
        beta=ctx.attr("beta", 1.0),
        trans_a=ctx.attr("transA", 0),
        trans_b=ctx.attr("transB", 0),
    )


def _clip(ctx: NodeContext) -> list[SSAValue]:
    if ctx.version < 11:  # opset 6: min/max are attributes
        low, high = ctx.attr("min"), ctx.attr("max")
    else:
        low, high = ctx.const_scalar(1, "min"), ctx.const_scalar(2, "max")
    if low is not None and high is not None and low > high:
        # ONNX (and onnxruntime, np.clip) give max everywhere then: min(max(x, low), high).
        # [high, high] says so without an empty interval, which quantization refuses.
        low = high
    return ctx.make(nn.ClipOp, ctx.value(0), min=low, max=high)


# --------------------------------------------------------------------------
# windows: conv and pooling
# --------------------------------------------------------------------------


def _window(ctx: NodeContext, kernel: list[int]) -> dict:
    rank = len(kernel)
    strides = list(ctx.attr("strides") or [1] * rank)
    dilations = list(ctx.attr("dilations") or [1] * rank)
    spatial = [nn.DYNAMIC if d is None else d for d in ctx.shape(0)[2:]]
    pads = ctx.attr("pads")
    try:
        # strides and dilations first: the SAME_* arithmetic divides by them
        nn.check_window_attributes(ctx.node.op_type, rank, kernel, strides, [0] * 2 * rank, dilations)
        pads = nn.resolve_auto_pad(
            ctx.attr("auto_pad", "NOTSET"), spatial, kernel, strides, dilations, pads
        )
    except (VerifyException, ValueError) as exc:
        raise ctx.fail(str(exc)) from None
    return {"strides": strides, "dilations": dilations, "pads": pads}


def _conv(ctx: NodeContext) -> list[SSAValue]:
    kernel = list(ctx.shape(1)[2:])
    declared = ctx.attr("kernel_shape")
    if declared is not None and list(declared) != kernel:
        raise ctx.fail(f"kernel_shape {list(declared)} differs from the weight's {kernel}")
    x, w = ctx.value(0), ctx.value(1)
    bias = ctx.value(2) if ctx.has_input(2) else None
    return ctx.make(
        nn.ConvOp, x, w, bias, group=ctx.attr("group", 1), **_window(ctx, kernel)
    )


def _pool_common(ctx: NodeContext) -> dict:
    if ctx.output_used(1):
        raise ctx.fail("the Indices output is not supported", unsupported=True)
    if ctx.attr("storage_order", 0) != 0:
        raise ctx.fail("storage_order=1 is not supported", unsupported=True)
    kernel = ctx.attr("kernel_shape")
    if not kernel:
        raise ctx.fail("kernel_shape is required")
    kernel = list(kernel)
    return {"kernel_shape": kernel, "ceil_mode": ctx.attr("ceil_mode", 0), **_window(ctx, kernel)}


def _max_pool(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.MaxPoolOp, ctx.value(0), **_pool_common(ctx))


def _average_pool(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(
        nn.AveragePoolOp,
        ctx.value(0),
        count_include_pad=ctx.attr("count_include_pad", 0),
        **_pool_common(ctx),
    )


def _batch_norm(ctx: NodeContext) -> list[SSAValue]:
    if ctx.attr("training_mode", 0) or sum(1 for o in ctx.node.output if o) > 1:
        raise ctx.fail("training-mode BatchNormalization is not supported", unsupported=True)
    if ctx.version < 9 and not ctx.attr("spatial", 1):
        raise ctx.fail("spatial=0 is not supported", unsupported=True)
    return ctx.make(
        nn.BatchNormalizationOp, *(ctx.value(i) for i in range(5)), epsilon=ctx.attr("epsilon", 1e-5)
    )


def _softmax(op_class) -> Converter:
    def convert(ctx: NodeContext) -> list[SSAValue]:
        legacy = ctx.version < 13  # input coerced to 2-D at axis
        axis = ctx.attr("axis", 1 if legacy else -1)
        return ctx.make(op_class, ctx.value(0), axis=axis, legacy_2d=legacy)

    return convert


# --------------------------------------------------------------------------
# shapes: optional constant inputs become properties
# --------------------------------------------------------------------------


def _flatten(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.FlattenOp, ctx.value(0), axis=ctx.attr("axis", 1))


def _reshape(ctx: NodeContext) -> list[SSAValue]:
    target = ctx.const(1, "target shape")
    allowzero = ctx.attr("allowzero", 0)
    try:
        shape = reshape_target(target, ctx.shape(0), allowzero=bool(allowzero))
    except NotFoldable as exc:
        raise ctx.fail(f"cannot make the target shape static: {exc}", unsupported=True) from None
    return ctx.make(nn.ReshapeOp, ctx.value(0), shape=shape, allowzero=allowzero)


def _transpose(ctx: NodeContext) -> list[SSAValue]:
    perm = ctx.attr("perm")
    return ctx.make(nn.TransposeOp, ctx.value(0), perm=list(perm) if perm else None)


def _concat(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.ConcatOp, ctx.values(), axis=ctx.attr("axis"))


def _axes(ctx: NodeContext, since_input_version: int) -> list[int] | None:
    if ctx.version >= since_input_version:
        return ctx.const_ints(1, "axes")
    axes = ctx.attr("axes")
    return list(axes) if axes is not None else None


def _squeeze(ctx: NodeContext) -> list[SSAValue]:
    axes = _axes(ctx, 13)
    if axes is None and None in ctx.shape(0):
        # ONNX squeezes the batch too when it happens to be 1: not static
        raise ctx.fail("Squeeze without axes on a dynamic batch", unsupported=True)
    return ctx.make(nn.SqueezeOp, ctx.value(0), axes=axes)


def _unsqueeze(ctx: NodeContext) -> list[SSAValue]:
    axes = _axes(ctx, 13)
    if axes is None:
        raise ctx.fail("axes are required")
    return ctx.make(nn.UnsqueezeOp, ctx.value(0), axes=axes)


def _reduce(op_class, axes_input_since: int) -> Converter:
    """Reduce*: ``axes`` became an input in opset 18 (ReduceSum: 13)."""

    def convert(ctx: NodeContext) -> list[SSAValue]:
        return ctx.make(
            op_class,
            ctx.value(0),
            axes=_axes(ctx, axes_input_since),
            keepdims=ctx.attr("keepdims", 1),
            noop_with_empty_axes=ctx.attr("noop_with_empty_axes", 0),
        )

    return convert


def _arg_max(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(
        nn.ArgMaxOp,
        ctx.value(0),
        axis=ctx.attr("axis", 0),
        keepdims=ctx.attr("keepdims", 1),
        select_last_index=ctx.attr("select_last_index", 0),
    )


def _identity(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.IdentityOp, ctx.value(0))


def _dropout(ctx: NodeContext) -> list[Value]:
    """Inference Dropout is the identity with an all-true mask.  Training mode
    with ratio 0 is that too; any other ratio drops at random: refused."""
    training = ctx.const_scalar(2, "training_mode") if ctx.version >= 12 else None
    ratio = ctx.const_scalar(1, "ratio") if ctx.version >= 12 else ctx.attr("ratio", 0.5)
    if training and (ratio is None or ratio != 0.0):
        raise ctx.fail("training_mode=True drops at random: not an inference graph", unsupported=True)
    if ctx.version < 7 and not ctx.attr("is_test", 0):
        raise ctx.fail("is_test=0 is not an inference graph", unsupported=True)
    results = _identity(ctx)
    if ctx.output_used(1):
        shape = ctx.shape(0)
        if None in shape:
            raise ctx.fail("the mask output of a dynamic-batch Dropout is not supported", unsupported=True)
        # an import-time value: it becomes an nn.constant only if something uses it
        results.append(np.ones(shape, np.bool_))
    return results


def onnx_element_type(elem_type: int) -> Attribute | None:
    """The IR element type of an ONNX tensor type (None: not carried, e.g. STRING)."""
    try:
        return dtypes.element_type(helper.tensor_dtype_to_np_dtype(elem_type))
    except (dtypes.UnsupportedElementType, KeyError, ValueError):
        return None


def _cast_to(ctx: NodeContext, target: Attribute) -> list[SSAValue]:
    if ctx.attr("round_mode", "up") != "up":
        raise ctx.fail(f"round_mode={ctx.attr('round_mode')!r} is not supported", unsupported=True)
    source = ctx.value(0)
    if source.type.element_type == target:
        return _identity(ctx)  # skl2onnx casts float features to float
    saturate = ctx.attr("saturate", 1) if dtypes.is_float8(target) else None
    return ctx.make(nn.CastOp, source, to=target, saturate=saturate)


def _cast(ctx: NodeContext) -> list[SSAValue]:
    target = onnx_element_type(ctx.attr("to"))
    if target is None:
        name = TensorProto.DataType.Name(ctx.attr("to"))
        raise ctx.fail(f"Cast to {name} is not supported", unsupported=True)
    return _cast_to(ctx, target)


def _cast_like(ctx: NodeContext) -> list[SSAValue]:
    """CastLike is Cast to the element type of its second input."""
    return _cast_to(ctx, ctx.element_type(1))


def _array_feature_extractor(ctx: NodeContext) -> list[SSAValue]:
    return ctx.make(nn.ArrayFeatureExtractorOp, ctx.value(0), ctx.value(1))


def _zipmap(ctx: NodeContext) -> list[SSAValue]:
    raise ctx.fail(
        "ZipMap outputs a sequence of maps, not a tensor; export the classifier "
        "with skl2onnx options={id(model): {'zipmap': False}} so the "
        "probabilities are a tensor",
        unsupported=True,
    )


def _rule(convert: Converter, min_version: int, attributes: str = "", const: tuple[int, ...] = ()):
    return OpRule(convert, min_version, frozenset(attributes.split()), frozenset(const))


_WINDOW = "auto_pad pads strides dilations kernel_shape"
_REDUCE = "axes keepdims noop_with_empty_axes"

OP_TABLE: dict[tuple[str, str], OpRule] = {
    ("", "Conv"): _rule(_conv, 11, _WINDOW + " group"),
    ("", "Gemm"): _rule(_gemm, 7, "alpha beta transA transB"),
    ("", "MatMul"): _rule(_binary(nn.MatMulOp), 9),
    ("", "Add"): _rule(_binary(nn.AddOp), 7),
    ("", "Sub"): _rule(_binary(nn.SubOp), 7),
    ("", "Mul"): _rule(_binary(nn.MulOp), 7),
    ("", "Div"): _rule(_binary(nn.DivOp), 7),
    ("", "Relu"): _rule(_unary(nn.ReluOp), 6),
    ("", "LeakyRelu"): _rule(_leaky_relu, 6, "alpha"),
    ("", "Sigmoid"): _rule(_unary(nn.SigmoidOp), 6),
    ("", "Tanh"): _rule(_unary(nn.TanhOp), 6),
    ("", "Exp"): _rule(_unary(nn.ExpOp), 6),
    ("", "Elu"): _rule(_elu, 6, "alpha"),
    ("", "HardSigmoid"): _rule(_hard_sigmoid, 6, "alpha beta"),
    ("", "HardSwish"): _rule(_unary(nn.HardSwishOp), 14),
    ("", "Softplus"): _rule(_unary(nn.SoftplusOp), 1),
    ("", "Abs"): _rule(_unary(nn.AbsOp), 6),
    ("", "Erf"): _rule(_unary(nn.ErfOp), 9),
    ("", "Gelu"): _rule(_gelu, 20, "approximate"),
    ("", "Log"): _rule(_unary(nn.LogOp), 6),
    ("", "Less"): _rule(_binary(nn.LessOp), 7),
    ("", "Greater"): _rule(_binary(nn.GreaterOp), 7),
    ("", "Equal"): _rule(_binary(nn.EqualOp), 7),
    ("", "Or"): _rule(_binary(nn.OrOp), 7),
    ("", "Max"): _rule(_variadic(nn.MaxOp), 8),
    ("", "Min"): _rule(_variadic(nn.MinOp), 8),
    ("", "Where"): _rule(_where, 9),
    ("", "Clip"): _rule(_clip, 6, "min max", const=(1, 2)),
    ("", "Softmax"): _rule(_softmax(nn.SoftmaxOp), 11, "axis"),
    ("", "LogSoftmax"): _rule(_softmax(nn.LogSoftmaxOp), 11, "axis"),
    ("", "MaxPool"): _rule(_max_pool, 10, _WINDOW + " ceil_mode storage_order"),
    ("", "AveragePool"): _rule(_average_pool, 10, _WINDOW + " ceil_mode count_include_pad"),
    ("", "GlobalAveragePool"): _rule(_unary(nn.GlobalAveragePoolOp), 1),
    ("", "GlobalMaxPool"): _rule(_unary(nn.GlobalMaxPoolOp), 1),
    ("", "BatchNormalization"): _rule(_batch_norm, 7, "epsilon momentum training_mode spatial"),
    ("", "Flatten"): _rule(_flatten, 9, "axis"),
    ("", "Reshape"): _rule(_reshape, 5, "allowzero", const=(1,)),
    ("", "Transpose"): _rule(_transpose, 1, "perm"),
    ("", "Concat"): _rule(_concat, 4, "axis"),
    ("", "Squeeze"): _rule(_squeeze, 11, "axes", const=(1,)),
    ("", "Unsqueeze"): _rule(_unsqueeze, 11, "axes", const=(1,)),
    ("", "ReduceMean"): _rule(_reduce(nn.ReduceMeanOp, 18), 11, _REDUCE, const=(1,)),
    ("", "ReduceMax"): _rule(_reduce(nn.ReduceMaxOp, 18), 11, _REDUCE, const=(1,)),
    ("", "ReduceSum"): _rule(_reduce(nn.ReduceSumOp, 13), 11, _REDUCE, const=(1,)),
    ("", "Identity"): _rule(_identity, 1),
    ("", "Dropout"): _rule(_dropout, 7, "ratio seed is_test", const=(1, 2)),
    ("", "ArgMax"): _rule(_arg_max, 11, "axis keepdims select_last_index"),
    ("", "Cast"): _rule(_cast, 6, "to saturate round_mode"),
    ("", "CastLike"): _rule(_cast_like, 15, "saturate round_mode"),
    (ML_DOMAIN, "ArrayFeatureExtractor"): _rule(_array_feature_extractor, 1, const=(1,)),
    (ML_DOMAIN, "ZipMap"): OpRule(
        _zipmap, 1, frozenset({"classlabels_int64s", "classlabels_strings"}), claimed=False
    ),
}


def lookup(domain: str, op_type: str) -> OpRule | None:
    return OP_TABLE.get(("" if domain == "ai.onnx" else domain, op_type))


def claimed_ops() -> dict[tuple[str, str], OpRule]:
    """The ops the frontend imports (ZipMap's rule only explains a refusal)."""
    return {key: rule for key, rule in OP_TABLE.items() if rule.claimed}
