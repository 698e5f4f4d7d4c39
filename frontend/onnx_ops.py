"""The op table: which ONNX operators the frontend imports, and how.

Each entry maps ``(domain, op_type)`` to a converter from an ONNX node to
``nn`` ops, the oldest operator version (``since_version`` of the schema)
whose semantics the converter implements, and the inputs that must be
import-time constants (they become properties of the ``nn`` op).  Later
versions of these operators only widened their type lists (bfloat16, 4/8-bit
types), so a newer opset is accepted; an older version is refused.

Shape-computing nodes with constant inputs (Shape, Gather, Concat, ...) are
evaluated by ``shape_folding`` before this table is consulted, so they need
no entry unless they also appear on run-time data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.ir import SSAValue

from spintron_nn.frontend.node_context import NodeContext, nn_op_classes
from spintron_nn.frontend.padding import explicit_pads
from spintron_nn.frontend.shape_folding import NotFoldable, reshape_target

Converter = Callable[[NodeContext], list[SSAValue]]

ML_DOMAIN = "ai.onnx.ml"


@dataclass(frozen=True)
class OpRule:
    convert: Converter
    min_version: int
    nn_ops: tuple[str, ...]
    const_inputs: frozenset[int] = frozenset()


def _direct(op_name: str) -> Converter:
    """The ONNX op maps one to one onto ``op_name``; attributes carry over."""
    return lambda ctx: ctx.emit(op_name)


# --------------------------------------------------------------------------
# windows: conv and pooling
# --------------------------------------------------------------------------


def _window_properties(ctx: NodeContext, kernel: list[int]) -> dict:
    rank = len(kernel)
    strides = list(ctx.attr("strides") or [1] * rank)
    dilations = list(ctx.attr("dilations") or [1] * rank)
    spatial = ctx.shape(0)[2:]
    if any(d is None for d in spatial) and ctx.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise ctx.fail("auto_pad SAME needs static spatial dimensions", unsupported=True)
    try:
        pads = explicit_pads(
            ctx.attr("auto_pad", "NOTSET"), ctx.attr("pads"), spatial, kernel, strides, dilations
        )
    except ValueError as exc:
        raise ctx.fail(str(exc)) from None
    return {"kernel_shape": kernel, "strides": strides, "dilations": dilations, "pads": pads}


def _conv(ctx: NodeContext) -> list[SSAValue]:
    kernel = list(ctx.attr("kernel_shape") or ctx.shape(1)[2:])
    return ctx.emit("nn.conv", overrides=_window_properties(ctx, kernel), consumed=["auto_pad"])


def _pool(op_name: str) -> Converter:
    def convert(ctx: NodeContext) -> list[SSAValue]:
        if len(ctx.node.output) > 1 and ctx.node.output[1]:
            raise ctx.fail("the Indices output is not supported", unsupported=True)
        if ctx.attr("storage_order", 0) != 0:
            raise ctx.fail("storage_order=1 is not supported", unsupported=True)
        kernel = ctx.attr("kernel_shape")
        if not kernel:
            raise ctx.fail("kernel_shape is required")
        props = _window_properties(ctx, list(kernel))
        return ctx.emit(op_name, [ctx.value(0)], props, consumed=["auto_pad", "storage_order"])

    return convert


# --------------------------------------------------------------------------
# ops whose optional inputs become properties
# --------------------------------------------------------------------------


def _clip(ctx: NodeContext) -> list[SSAValue]:
    if ctx.version < 11:  # opset 6: min/max are attributes
        low, high = ctx.attr("min"), ctx.attr("max")
    else:
        low_arr, high_arr = ctx.const(1, "min"), ctx.const(2, "max")
        low = float(low_arr.reshape(-1)[0]) if low_arr is not None else None
        high = float(high_arr.reshape(-1)[0]) if high_arr is not None else None
    return ctx.emit("nn.clip", [ctx.value(0)], {"min": low, "max": high})


def _reshape(ctx: NodeContext) -> list[SSAValue]:
    target = ctx.const(1, "target shape")
    allowzero = ctx.attr("allowzero", 0)
    try:
        shape = reshape_target(target, ctx.shape(0), allowzero=bool(allowzero))
    except NotFoldable as exc:
        raise ctx.fail(f"cannot make the target shape static: {exc}", unsupported=True) from None
    return ctx.emit("nn.reshape", [ctx.value(0)], {"shape": shape, "allowzero": allowzero})


def _axes(ctx: NodeContext, since_input_version: int) -> list[int] | None:
    if ctx.version >= since_input_version:
        return ctx.const_ints(1, "axes")
    axes = ctx.attr("axes")
    return list(axes) if axes is not None else None


def _squeeze(ctx: NodeContext) -> list[SSAValue]:
    axes = _axes(ctx, 13)
    if axes is None:  # every dimension of size 1; the batch size is unknown
        shape = ctx.shape(0)
        if None in shape:
            raise ctx.fail("Squeeze without axes on a dynamic batch", unsupported=True)
        axes = [i for i, d in enumerate(shape) if d == 1]
    return ctx.emit("nn.squeeze", [ctx.value(0)], {"axes": axes})


def _unsqueeze(ctx: NodeContext) -> list[SSAValue]:
    axes = _axes(ctx, 13)
    if axes is None:
        raise ctx.fail("axes are required")
    return ctx.emit("nn.unsqueeze", [ctx.value(0)], {"axes": axes})


def _reduce_mean(ctx: NodeContext) -> list[SSAValue]:
    axes = _axes(ctx, 18)
    rank = len(ctx.shape(0))
    if not axes:
        if ctx.attr("noop_with_empty_axes", 0):
            return ctx.emit("nn.identity", [ctx.value(0)], consumed=["keepdims", "noop_with_empty_axes"])
        axes = list(range(rank))
    return ctx.emit(
        "nn.reduce_mean", [ctx.value(0)], {"axes": axes}, consumed=["noop_with_empty_axes"]
    )


def _dropout(ctx: NodeContext) -> list[SSAValue]:
    training = ctx.const(2, "training_mode") if ctx.version >= 12 else None
    if training is not None and bool(training.reshape(-1)[0]):
        raise ctx.fail("training_mode=True is not an inference graph", unsupported=True)
    if ctx.version < 7 and not ctx.attr("is_test", 0):
        raise ctx.fail("is_test=0 is not an inference graph", unsupported=True)
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        raise ctx.fail("the mask output is not supported", unsupported=True)
    return ctx.emit("nn.identity", [ctx.value(0)], consumed=["ratio", "seed", "is_test"])


def _batch_norm(ctx: NodeContext) -> list[SSAValue]:
    if ctx.attr("training_mode", 0) or sum(1 for o in ctx.node.output if o) > 1:
        raise ctx.fail("training-mode BatchNormalization is not supported", unsupported=True)
    return ctx.emit("nn.batch_normalization", consumed=["momentum", "training_mode", "spatial"])


def _softmax(op_name: str) -> Converter:
    def convert(ctx: NodeContext) -> list[SSAValue]:
        shape = ctx.shape(0)
        rank = len(shape)
        axis = ctx.attr("axis", -1 if ctx.version >= 13 else 1) % max(rank, 1)
        if ctx.version >= 13 or axis == rank - 1:
            return ctx.emit(op_name, [ctx.value(0)], {"axis": axis})
        # Before opset 13 the input is coerced to 2-D at ``axis`` and
        # normalised over the whole trailing block.
        (flat,) = ctx.emit("nn.flatten", [ctx.value(0)], {"axis": axis})
        (soft,) = ctx.emit(op_name, [flat], {"axis": 1})
        back = [0 if d is None else d for d in shape]
        return ctx.emit("nn.reshape", [soft], {"shape": back, "allowzero": 0})

    return convert


def _transpose(ctx: NodeContext) -> list[SSAValue]:
    perm = ctx.attr("perm") or list(reversed(range(len(ctx.shape(0)))))
    return ctx.emit("nn.transpose", [ctx.value(0)], {"perm": list(perm)})


def _cast(ctx: NodeContext) -> list[SSAValue]:
    from onnx import TensorProto

    source = ctx.value(0).type.element_type
    target = ctx.attr("to")
    is_float = str(source) == "f32"
    if (is_float and target == TensorProto.FLOAT) or (
        not is_float and target in (TensorProto.INT64, TensorProto.INT32)
    ):
        # A value-preserving cast within the types the dialect carries.
        return ctx.emit("nn.identity", [ctx.value(0)], consumed=["to", "saturate", "round_mode"])
    return ctx.emit("nn.cast", [ctx.value(0)], {"to": target}, consumed=["saturate", "round_mode"])


def _array_feature_extractor(ctx: NodeContext) -> list[SSAValue]:
    return ctx.emit("nn.array_feature_extractor", [ctx.value(0), ctx.value(1)])


def _zipmap(ctx: NodeContext) -> list[SSAValue]:
    raise ctx.fail(
        "ZipMap outputs a sequence of maps, not a tensor; export the classifier "
        "with skl2onnx options={id(model): {'zipmap': False}} so the "
        "probabilities are a tensor",
        unsupported=True,
    )


def _rule(convert: Converter, min_version: int, *nn_ops: str, const: tuple[int, ...] = ()):
    return OpRule(convert, min_version, nn_ops, frozenset(const))


def _same(op_name: str, min_version: int) -> OpRule:
    return _rule(_direct(op_name), min_version, op_name)


OP_TABLE: dict[tuple[str, str], OpRule] = {
    ("", "Conv"): _rule(_conv, 11, "nn.conv"),
    ("", "Gemm"): _same("nn.gemm", 7),
    ("", "MatMul"): _same("nn.mat_mul", 9),
    ("", "Add"): _same("nn.add", 7),
    ("", "Sub"): _same("nn.sub", 7),
    ("", "Mul"): _same("nn.mul", 7),
    ("", "Div"): _same("nn.div", 7),
    ("", "Relu"): _same("nn.relu", 6),
    ("", "LeakyRelu"): _same("nn.leaky_relu", 6),
    ("", "Sigmoid"): _same("nn.sigmoid", 6),
    ("", "Tanh"): _same("nn.tanh", 6),
    ("", "Clip"): _rule(_clip, 6, "nn.clip", const=(1, 2)),
    ("", "Softmax"): _rule(_softmax("nn.softmax"), 11, "nn.softmax", "nn.flatten", "nn.reshape"),
    ("", "LogSoftmax"): _rule(
        _softmax("nn.log_softmax"), 11, "nn.log_softmax", "nn.flatten", "nn.reshape"
    ),
    ("", "MaxPool"): _rule(_pool("nn.max_pool"), 10, "nn.max_pool"),
    ("", "AveragePool"): _rule(_pool("nn.average_pool"), 10, "nn.average_pool"),
    ("", "GlobalAveragePool"): _same("nn.global_average_pool", 1),
    ("", "GlobalMaxPool"): _same("nn.global_max_pool", 1),
    ("", "BatchNormalization"): _rule(_batch_norm, 9, "nn.batch_normalization"),
    ("", "Flatten"): _same("nn.flatten", 9),
    ("", "Reshape"): _rule(_reshape, 5, "nn.reshape", const=(1,)),
    ("", "Transpose"): _rule(_transpose, 1, "nn.transpose"),
    ("", "Concat"): _same("nn.concat", 4),
    ("", "Squeeze"): _rule(_squeeze, 11, "nn.squeeze", const=(1,)),
    ("", "Unsqueeze"): _rule(_unsqueeze, 11, "nn.unsqueeze", const=(1,)),
    ("", "ReduceMean"): _rule(_reduce_mean, 11, "nn.reduce_mean", "nn.identity", const=(1,)),
    ("", "Identity"): _same("nn.identity", 1),
    ("", "Dropout"): _rule(_dropout, 6, "nn.identity", const=(1, 2)),
    ("", "ArgMax"): _same("nn.arg_max", 11),
    ("", "Cast"): _rule(_cast, 6, "nn.identity"),
    (ML_DOMAIN, "ArrayFeatureExtractor"): _rule(
        _array_feature_extractor, 1, "nn.array_feature_extractor"
    ),
    (ML_DOMAIN, "ZipMap"): _rule(_zipmap, 1),
}


def lookup(domain: str, op_type: str) -> OpRule | None:
    return OP_TABLE.get(("" if domain == "ai.onnx" else domain, op_type))


def claimed_ops() -> dict[tuple[str, str], OpRule]:
    """The ops the frontend imports today: those whose ``nn`` ops exist.

    ZipMap has a rule only to explain why it is refused, so it is not claimed."""
    available = set(nn_op_classes())
    return {
        key: rule
        for key, rule in OP_TABLE.items()
        if rule.nn_ops and all(name in available for name in rule.nn_ops)
    }
