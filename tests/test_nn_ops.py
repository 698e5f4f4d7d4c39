"""The ``nn`` dialect: text round trip, shape rules with a dynamic batch,
attribute normalisation and verifier diagnostics.

Numerical agreement with onnxruntime (and the static result shapes it
produces) is tested op by op in tests/test_float_exec.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from xdsl.dialects.builtin import (
    Float8E4M3FNType,
    FloatAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    f16,
    f32,
    f64,
    i64,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from spintron_nn.errors import SpintronError
from spintron_nn.ir import nn
from spintron_nn.ir.io import parse_module, print_module
from spintron_nn.ir.weights import WeightBlob, collect_weights

D = nn.DYNAMIC


def const(key: str, array: np.ndarray) -> nn.ConstantOp:
    return nn.ConstantOp(WeightBlob(key, np.asarray(array)))


def arg(*shape: int) -> SSAValue:
    """A fresh block argument of the given shape (``D`` for a dynamic batch)."""
    return Block(arg_types=[nn.tensor_type(shape)]).args[0]


def typed_arg(element, *shape: int) -> SSAValue:
    return Block(arg_types=[nn.tensor_type(shape, element)]).args[0]


i1 = IntegerType(1)
ui8 = IntegerType(8, Signedness.UNSIGNED)


def result_shape(op: nn.NNOperation) -> tuple[int, ...]:
    return nn.shape_of(op.results[0])


def one_of_each_op() -> ModuleOp:
    """``@main`` with at least one instance of every op in the dialect."""
    block = Block(arg_types=[nn.tensor_type([D, 4, 8, 8])])
    x = block.args[0]
    ops: list[nn.NNOperation] = []

    def add(op: nn.NNOperation) -> SSAValue:
        ops.append(op)
        return op.results[0]

    w = add(const("w", np.ones((6, 2, 3, 3), np.float32)))
    b = add(const("b", np.linspace(0.1, 1, 6, dtype=np.float32)))
    conv = add(
        nn.ConvOp(
            x, w, b, strides=[2, 1], pads=[1, 0, 1, 2], dilations=[1, 2], group=2,
            clamp_min=0.0, clamp_max=6.0,
        )
    )
    bn = add(nn.BatchNormalizationOp(conv, b, b, b, b, epsilon=1e-5))
    pooled = add(nn.MaxPoolOp(bn, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1))
    add(
        nn.AveragePoolOp(
            bn, kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1, dilations=[1, 2]
        )
    )
    add(nn.GlobalAveragePoolOp(bn))
    add(nn.GlobalMaxPoolOp(bn))
    flat = add(nn.FlattenOp(pooled))
    add(nn.ReshapeOp(conv, shape=[0, -1, 12], allowzero=0))
    add(nn.TransposeOp(conv, perm=[0, 2, 3, 1]))
    add(nn.SqueezeOp(add(nn.UnsqueezeOp(flat, axes=[-1])), axes=[2]))
    add(nn.ReduceMeanOp(conv, axes=[-1, -2], keepdims=0))
    fc_w = add(const("fc.w", np.full((36, 5), 0.1, np.float32)))
    fc = add(nn.GemmOp(flat, fc_w, None, alpha=0.1, beta=1e-5, trans_b=0, clamp_min=0.0))
    mm = add(nn.MatMulOp(flat, fc_w, clamp_max=1e-5))
    summed = add(nn.AddOp(fc, mm))
    diff = add(nn.SubOp(summed, mm))
    prod = add(nn.MulOp(diff, diff))
    quot = add(nn.DivOp(prod, fc))
    act = add(nn.ReluOp(add(nn.LeakyReluOp(quot, alpha=0.01))))
    act = add(nn.ClipOp(add(nn.ClipOp(act, min=-1e-5, max=0.1)), max=6.0))
    act = add(nn.IdentityOp(add(nn.TanhOp(add(nn.SigmoidOp(act))))))
    soft = add(nn.SoftmaxOp(act, axis=-1))
    add(nn.LogSoftmaxOp(soft, axis=1, legacy_2d=True))
    both = add(nn.ConcatOp([soft, act], axis=-1))
    labels = add(nn.ArgMaxOp(both, axis=-1, keepdims=0, select_last_index=1))
    add(nn.CastOp(add(nn.CastOp(labels, to=f32)), to=i64))
    half = add(nn.CastOp(both, to=f16))
    add(nn.CastOp(half, to=Float8E4M3FNType(), saturate=0))
    add(nn.ReduceSumOp(half, axes=[1], keepdims=1))
    peak = add(nn.ReduceMaxOp(both, keepdims=1))
    logs = add(nn.LogOp(add(nn.ExpOp(both))))
    smooth = add(nn.GeluOp(add(nn.SoftplusOp(add(nn.EluOp(both, alpha=0.5)))), tanh_approximation=True))
    add(nn.HardSwishOp(add(nn.HardSigmoidOp(add(nn.ErfOp(add(nn.AbsOp(smooth)))), alpha=0.25, beta=0.4))))
    low = add(nn.MinOp([both, logs, peak]))
    high = add(nn.MaxOp([low]))
    less = add(nn.LessOp(low, high))
    either = add(nn.OrOp(less, add(nn.GreaterOp(low, peak))))
    either = add(nn.OrOp(either, add(nn.EqualOp(low, high))))
    both = add(nn.WhereOp(either, low, high))
    index = add(const("index", np.array([0, 3], np.int64)))
    picked = add(nn.ArrayFeatureExtractorOp(both, index))
    block.add_ops([*ops, ReturnOp(picked)])
    main = FuncOp("main", ([x.type], [picked.type]), Region(block))
    main.attributes["nn.input_names"] = nn.ArrayAttr([nn.StringAttr("image")])
    module = ModuleOp([main])
    module.verify()
    return module


# --------------------------------------------------------------------------
# text round trip
# --------------------------------------------------------------------------


def test_every_op_prints_and_parses_back_to_the_same_text() -> None:
    module = one_of_each_op()
    present = {type(op) for op in module.walk()}
    assert set(nn.NN_OPS) <= present, set(nn.NN_OPS) - present
    assert {op.name for op in nn.NN_OPS} == {op.name for op in nn.NN.operations}
    text = print_module(module)
    reparsed = parse_module(text, collect_weights(module))
    assert print_module(reparsed) == text


@pytest.mark.parametrize("value", [0.1, 1e-5, 1e-7, 0.2, 1 / 3, 6.0, -2.5e-3, 3.4e38])
def test_f32_attributes_survive_the_round_trip(value: float) -> None:
    block = Block(arg_types=[nn.tensor_type([2, 3])])
    clip = nn.ClipOp(block.args[0], min=-value, max=value)
    block.add_ops([clip, ReturnOp(clip.output)])
    main = FuncOp("main", ([block.args[0].type], [clip.output.type]), Region(block))
    text = print_module(ModuleOp([main]))
    reparsed = parse_module(text)
    (parsed_clip,) = [op for op in reparsed.walk() if isinstance(op, nn.ClipOp)]
    assert parsed_clip.attribute_values()["max"] == float(np.float32(value))
    assert parsed_clip.attribute_values()["min"] == float(np.float32(-value))
    assert print_module(reparsed) == text


def test_random_f32_values_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal(300) * 10.0 ** rng.integers(-8, 8, 300)
    for value in values:
        block = Block(arg_types=[nn.tensor_type([2])])
        op = nn.LeakyReluOp(block.args[0], alpha=float(value))
        block.add_ops([op, ReturnOp(op.output)])
        main = FuncOp("main", ([block.args[0].type], [op.output.type]), Region(block))
        reparsed = parse_module(print_module(ModuleOp([main])))
        (parsed,) = [o for o in reparsed.walk() if isinstance(o, nn.LeakyReluOp)]
        assert parsed.alpha == FloatAttr(float(value), f32)
        assert parsed.alpha.value.data == float(np.float32(value))


# --------------------------------------------------------------------------
# shape rules with a dynamic batch
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build,expected",
    [
        (lambda: nn.FlattenOp(arg(D, 3, 4, 4), axis=1), (D, 48)),
        (lambda: nn.FlattenOp(arg(D, 3, 4, 4), axis=2), (D, 16)),
        (lambda: nn.FlattenOp(arg(D, 3, 4, 4), axis=0), (1, D)),
        (lambda: nn.ReshapeOp(arg(D, 3, 4, 4), shape=[-1, 48]), (D, 48)),
        (lambda: nn.ReshapeOp(arg(D, 3, 4, 4), shape=[-1, 4, 4]), (D, 4, 4)),
        (lambda: nn.ReshapeOp(arg(D, 3, 4, 4), shape=[0, -1]), (D, 48)),
        (lambda: nn.ReshapeOp(arg(D, 3, 4, 4), shape=[0, 12, 4]), (D, 12, 4)),
        (lambda: nn.ReshapeOp(arg(D, 6), shape=[3, 4]), (3, 4)),
        (lambda: nn.ReshapeOp(arg(D, 3, 4), shape=[-1, 8]), (D, 8)),  # fine for even batches
        (lambda: nn.ConcatOp([arg(D, 2), arg(D, 3)], axis=1), (D, 5)),
        (lambda: nn.ConcatOp([arg(D, 2), arg(4, 2)], axis=0), (D, 2)),
        (lambda: nn.AddOp(arg(D, 1, 5), arg(3, 1)), (D, 3, 5)),
        (lambda: nn.MatMulOp(arg(D, 4, 6), arg(6, 2)), (D, 4, 2)),
        (lambda: nn.GemmOp(arg(D, 6), arg(5, 6), trans_b=1), (D, 5)),
        (lambda: nn.SqueezeOp(arg(D, 1, 3)), (D, 3)),
        (lambda: nn.SqueezeOp(arg(1, 1, 3)), (3,)),
        (lambda: nn.UnsqueezeOp(arg(D, 3), axes=[0]), (1, D, 3)),
        (lambda: nn.ReduceMeanOp(arg(D, 3, 4)), (1, 1, 1)),
        (lambda: nn.ReduceMeanOp(arg(D, 3, 4), axes=[0], keepdims=0), (3, 4)),
        (lambda: nn.ArgMaxOp(arg(D, 10), axis=1, keepdims=0), (D,)),
        (lambda: nn.GlobalAveragePoolOp(arg(D, 8, 5, 5)), (D, 8, 1, 1)),
        (lambda: nn.MaxPoolOp(arg(D, 2, 7, 7), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), (D, 2, 4, 4)),
        (lambda: nn.ArrayFeatureExtractorOp(arg(D, 5), const("i", np.arange(3)).output), (D, 3)),
    ],
)
def test_dynamic_batch_propagates(build: Callable[[], nn.NNOperation], expected) -> None:
    op = build()
    assert result_shape(op) == tuple(expected)
    op.verify()


def test_transpose_moves_the_dynamic_dimension() -> None:
    assert result_shape(nn.TransposeOp(arg(D, 3, 5))) == (5, 3, D)


# --------------------------------------------------------------------------
# attribute normalisation
# --------------------------------------------------------------------------


def test_constructors_normalise_negative_axes_and_fill_defaults() -> None:
    x = arg(2, 3, 4)
    assert nn.SoftmaxOp(x, axis=-1).attribute_values()["axis"] == 2
    assert nn.FlattenOp(x, axis=-1).attribute_values()["axis"] == 2
    assert nn.ConcatOp([x, x], axis=-3).attribute_values()["axis"] == 0
    assert nn.UnsqueezeOp(x, axes=[-1, 0]).attribute_values()["axes"] == (4, 0)
    assert nn.SqueezeOp(arg(2, 1, 1), axes=[-1]).attribute_values()["axes"] == (2,)
    assert nn.SqueezeOp(arg(D, 1, 3, 1)).attribute_values()["axes"] == (1, 3)
    assert nn.ReduceMeanOp(x, axes=[-2]).attribute_values()["axes"] == (1,)
    assert nn.ArgMaxOp(x, axis=-2).attribute_values()["axis"] == 1
    assert nn.TransposeOp(x).attribute_values()["perm"] == (2, 1, 0)
    assert nn.TransposeOp(x, perm=[0, -1, 1]).attribute_values()["perm"] == (0, 2, 1)
    conv = nn.ConvOp(arg(1, 2, 5), const("w", np.zeros((3, 2, 3), np.float32)).output)
    assert conv.attribute_values() == {
        "strides": (1,), "pads": (0, 0), "dilations": (1,), "group": 1,
    }
    pool = nn.AveragePoolOp(arg(1, 2, 5, 5), kernel_shape=[2, 2])
    assert pool.attribute_values() == {
        "kernel_shape": (2, 2), "strides": (1, 1), "pads": (0, 0, 0, 0),
        "dilations": (1, 1), "ceil_mode": 0, "count_include_pad": 0,
    }
    assert "axes" not in nn.ReduceMeanOp(x, axes=[]).attribute_values()


# Expected pads from the ONNX spec: out = ceil(in / stride), total padding
# (out - 1) * stride + (kernel - 1) * dilation + 1 - in, odd pixel at the end
# (SAME_UPPER) or at the beginning (SAME_LOWER); worked by hand.
@pytest.mark.parametrize(
    "auto_pad,size,kernel,stride,dilation,expected",
    [
        ("SAME_UPPER", 9, 4, 2, 1, [1, 2]),  # out 5, total 3
        ("SAME_LOWER", 9, 4, 2, 1, [2, 1]),
        ("SAME_UPPER", 10, 3, 1, 2, [2, 2]),  # out 10, total 4
        ("SAME_UPPER", 7, 1, 3, 1, [0, 0]),  # out 3, total max(0, -0)
        ("SAME_LOWER", 5, 2, 1, 1, [1, 0]),  # out 5, total 1
        ("VALID", 9, 4, 2, 1, [0, 0]),
    ],
)
def test_resolve_auto_pad(auto_pad, size, kernel, stride, dilation, expected) -> None:
    assert nn.resolve_auto_pad(auto_pad, [size], [kernel], [stride], [dilation]) == expected


def test_resolve_auto_pad_notset_keeps_explicit_pads_and_rejects_unknown() -> None:
    assert nn.resolve_auto_pad("NOTSET", [5, 5], [3, 3], [1, 1], [1, 1], [1, 0, 0, 1]) == [1, 0, 0, 1]
    assert nn.resolve_auto_pad("NOTSET", [5], [3], [1], [1]) == [0, 0]
    with pytest.raises(VerifyException, match="auto_pad"):
        nn.resolve_auto_pad("SAME", [5], [3], [1], [1])


def test_ceil_mode_drops_a_window_that_would_start_in_the_end_padding() -> None:
    # in 4, kernel 3, stride 2, end pad 2: ceil((4 + 2 - 3) / 2) + 1 = 3 windows,
    # but the third would start at 4, past the input: ONNX counts 2.
    assert nn.sliding_output_size(4, 3, 2, 1, 0, 2, ceil_mode=True) == 2
    assert nn.sliding_output_size(5, 3, 2, 1, 0, 2, ceil_mode=True) == 3
    assert nn.sliding_output_size(5, 3, 2, 1, 0, 2, ceil_mode=False) == 3
    assert nn.sliding_output_size(6, 3, 2, 1, 0, 0, ceil_mode=True) == 3
    assert nn.sliding_output_size(6, 3, 2, 1, 0, 0, ceil_mode=False) == 2


# --------------------------------------------------------------------------
# verifier diagnostics
# --------------------------------------------------------------------------

W = lambda *shape: const("w", np.zeros(shape, np.float32)).output  # noqa: E731


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: nn.ConvOp(arg(1, 3, 8, 8), W(4, 2, 3, 3)), "expects 2 input channels"),
        (lambda: nn.ConvOp(arg(1, 4, 8, 8), W(6, 2, 3, 3), group=3), "group 3 must divide"),
        (lambda: nn.ConvOp(arg(1, 2, 8, 8), W(4, 2, 3, 3), pads=[1, 1]), "pads has 2 values, expected 4"),
        (lambda: nn.ConvOp(arg(1, 2, 2, 8), W(4, 2, 3, 3)), "does not fit the input"),
        (lambda: nn.ConvOp(arg(1, 2, 8, 8), W(4, 2, 3, 3), W(5)), r"bias \[5\] must be \[4\]"),
        (lambda: nn.ConvOp(arg(1, 2, 8, 8), W(4, 2, 3, 3), strides=[0, 1]), "strides"),
        (lambda: nn.GemmOp(arg(2, 3), W(4, 5)), r"inner dimensions differ \(3 vs 4\)"),
        (lambda: nn.GemmOp(arg(2, 3), W(3, 5), W(3)), "does not broadcast to the output"),
        (lambda: nn.MatMulOp(arg(2, 3, 4), W(5, 2)), r"inner dimensions differ \(4 vs 5\)"),
        (lambda: nn.AddOp(arg(2, 3), arg(4, 3)), "do not broadcast"),
        (lambda: nn.ReshapeOp(arg(2, 3, 4), shape=[5, -1]), r"cannot reshape \[2,3,4\]"),
        (lambda: nn.ReshapeOp(arg(2, 3, 4), shape=[-1, -1]), "more than one -1"),
        (lambda: nn.ReshapeOp(arg(D, 3, 4), shape=[0, 5]), r"cannot reshape \[\?,3,4\]"),
        (lambda: nn.ReshapeOp(arg(D, 3, 4), shape=[0, -1, 5]), r"cannot reshape \[\?,3,4\]"),
        (lambda: nn.ReshapeOp(arg(D, 3, 4), shape=[5, 7]), r"cannot reshape \[\?,3,4\]"),
        (lambda: nn.BatchNormalizationOp(arg(2, 3, 4), W(3), W(3), W(4), W(3)), r"mean has shape \[4\], expected \[3\]"),
        (lambda: nn.ConcatOp([arg(2, 3), arg(3, 4)], axis=1), "differ outside axis 1"),
        (lambda: nn.ConcatOp([arg(2, 3), arg(2, 3, 1)], axis=0), "differ in rank"),
        (lambda: nn.MaxPoolOp(arg(1, 2, 3, 3), kernel_shape=[4, 4]), "does not fit"),
        (lambda: nn.MaxPoolOp(arg(1, 2, 8, 8), kernel_shape=[2, 2], pads=[2, 0, 0, 0]), "must be smaller than the window"),
        (lambda: nn.AveragePoolOp(arg(1, 2, 8), kernel_shape=[2, 2]), "spatial dimension"),
        (lambda: nn.TransposeOp(arg(2, 3), perm=[0, 0]), "repeated axis"),
        (lambda: nn.SqueezeOp(arg(2, 3), axes=[1]), "dimension 1 of \\[2,3\\] is not 1"),
        (lambda: nn.SoftmaxOp(arg(2, 3), axis=2), "axis 2 is out of range for a rank-2"),
        (lambda: nn.FlattenOp(arg(2, 3), axis=-3), "axis -3 is out of range"),
        (lambda: nn.UnsqueezeOp(arg(2, 3), axes=[3]), "axis 3 is out of range"),
        (lambda: nn.CastOp(arg(2, 3), to=IntegerType(7)), "target type i7 is not supported"),
        (lambda: nn.AddOp(arg(2, 3), typed_arg(i64, 2, 3)), r"operand element types differ \(f32, i64\)"),
        (lambda: nn.LessOp(arg(2, 3), typed_arg(f16, 3)), "operand element types differ"),
        (lambda: nn.OrOp(arg(2, 3), arg(2, 3)), r"operands must be i1"),
        (lambda: nn.WhereOp(arg(2, 3), arg(2, 3), arg(3)), "the condition is f32, not i1"),
        (lambda: nn.WhereOp(typed_arg(i1, 2, 1), arg(2, 3), typed_arg(f64, 3)), "operand element types differ"),
        (lambda: nn.MaxOp([arg(2, 3), arg(4, 3)]), "do not broadcast"),
        (lambda: nn.MinOp([]), "needs at least one input"),
        (lambda: nn.ConvOp(typed_arg(f16, 1, 2, 8, 8), W(4, 2, 3, 3)), r"nn.conv: operand element types differ \(f16, f32\)"),
        (lambda: nn.MatMulOp(arg(2, 3), typed_arg(f64, 3, 2)), "nn.matmul: operand element types differ"),
        (lambda: nn.ConcatOp([arg(2, 3), typed_arg(i64, 2, 3)], axis=0), "nn.concat: operand element types differ"),
        (lambda: nn.ReduceSumOp(arg(2, 3), axes=[2]), "axis 2 is out of range"),
        (lambda: const("c", np.zeros(2, np.complex64)), "complex64 is not supported"),
        (lambda: nn.GemmOp(arg(2, 3), W(3, 4), clamp_min=1.0, clamp_max=0.0), "clamp bounds"),
        (lambda: nn.ArrayFeatureExtractorOp(arg(2, 3), W(2)), "indices must be i64"),
    ],
)
def test_inconsistent_shapes_and_attributes_are_rejected(build, message) -> None:
    with pytest.raises(VerifyException, match=message):
        build()


def test_verify_reports_a_result_type_that_contradicts_the_shape_rule() -> None:
    text = """
    builtin.module {
      func.func @main(%x: tensor<2x3x8x8xf32>) -> tensor<2x3x5x5xf32> {
        %y = "nn.max_pool"(%x) <{kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
              pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64}>
            : (tensor<2x3x8x8xf32>) -> tensor<2x3x5x5xf32>
        func.return %y : tensor<2x3x5x5xf32>
      }
    }
    """
    with pytest.raises(SpintronError, match=r"result #0 has type tensor<2x3x5x5xf32>.*tensor<2x3x4x4xf32>"):
        parse_module(text)


def test_verify_reports_a_contradicting_attribute_in_text() -> None:
    text = """
    builtin.module {
      func.func @main(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
        %y = "nn.softmax"(%x) <{axis = 5 : i64, legacy_2d = 0 : i64}> : (tensor<2x6xf32>) -> tensor<2x6xf32>
        func.return %y : tensor<2x6xf32>
      }
    }
    """
    with pytest.raises(SpintronError, match="axis 5 is out of range"):
        parse_module(text)


def test_verify_reports_a_missing_property() -> None:
    text = """
    builtin.module {
      func.func @main(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
        %y = "nn.softmax"(%x) <{legacy_2d = 0 : i64}> : (tensor<2x6xf32>) -> tensor<2x6xf32>
        func.return %y : tensor<2x6xf32>
      }
    }
    """
    with pytest.raises(SpintronError, match="axis"):
        parse_module(text)


def test_shape_rule_is_reachable_through_infer_shapes() -> None:
    op = nn.ConvOp(arg(D, 2, 9, 9), W(4, 2, 3, 3), strides=[2, 2])
    assert op.infer_shapes([(7, 2, 9, 9), (4, 2, 3, 3)]) == [(7, 4, 4, 4)]
    with pytest.raises(VerifyException, match="expects 2 input channels"):
        op.infer_shapes([(7, 3, 9, 9), (4, 2, 3, 3)])
    assert nn.ArgMaxOp(arg(2, 3)).result_element_types() == [i64]


@pytest.mark.parametrize(
    "build,expected",
    [
        (lambda: nn.AddOp(typed_arg(ui8, 2, 3), typed_arg(ui8, 3)), ui8),
        (lambda: nn.DivOp(typed_arg(f64, 2), typed_arg(f64, 2)), f64),
        (lambda: nn.ReluOp(typed_arg(f16, 2)), f16),
        (lambda: nn.LessOp(typed_arg(ui8, 2), typed_arg(ui8, 2)), i1),
        (lambda: nn.EqualOp(arg(2), arg(1)), i1),
        (lambda: nn.OrOp(typed_arg(i1, 2), typed_arg(i1, 2)), i1),
        (lambda: nn.WhereOp(typed_arg(i1, 2), typed_arg(ui8, 2), typed_arg(ui8, 1)), ui8),
        (lambda: nn.MaxOp([typed_arg(i64, 2), typed_arg(i64, 2), typed_arg(i64, 1)]), i64),
        (lambda: nn.ReduceMaxOp(typed_arg(i1, 2, 3), axes=[1]), i1),
        (lambda: nn.CastOp(arg(2), to=Float8E4M3FNType()), Float8E4M3FNType()),
        (lambda: nn.ArgMaxOp(typed_arg(f16, 2, 3)), i64),
        (lambda: const("c", np.zeros(2, np.uint16)), IntegerType(16, Signedness.UNSIGNED)),
        (lambda: const("c", np.zeros(2, np.bool_)), i1),
    ],
)
def test_result_element_types_follow_the_operands(build, expected) -> None:
    op = build()
    assert op.results[0].type.element_type == expected
    assert op.result_element_types() == [expected]
    op.verify()


def test_verify_rejects_a_result_element_type_the_operands_do_not_give() -> None:
    text = """
    builtin.module {
      func.func @main(%x: tensor<2xui8>) -> tensor<2xf32> {
        %y = "nn.relu"(%x) : (tensor<2xui8>) -> tensor<2xf32>
        func.return %y : tensor<2xf32>
      }
    }
    """
    with pytest.raises(SpintronError, match=r"result #0 has type tensor<2xf32>.*tensor<2xui8>"):
        parse_module(text)


def test_every_element_type_round_trips_through_mlir_and_npz(tmp_path) -> None:
    """bfloat16, float8, float4 and int2/int4 have no npz dtype: they are
    stored as raw bits with a tag and must come back bit for bit."""
    from spintron_nn.ir import dtypes
    from spintron_nn.ir.io import load_ir, save_ir

    rng = np.random.default_rng(70)
    block = Block()
    ops = []
    for index, (element, dtype) in enumerate(dtypes._PAIRS):
        values = rng.integers(-1, 2, size=(2, 3)) if dtypes.is_integer_dtype(dtype) else rng.standard_normal((2, 3))
        if dtype == np.bool_ or dtype.kind == "u" or "uint" in dtype.name or dtype.name == "float8_e8m0fnu":
            values = np.abs(values)
        ops.append(const(f"c{index}", values.astype(dtype)))
        assert ops[-1].results[0].type.element_type == element
    block.add_ops([*ops, ReturnOp(*[op.results[0] for op in ops])])
    main = FuncOp("main", ([], [op.results[0].type for op in ops]), Region(block))
    module = ModuleOp([main])
    module.verify()
    save_ir(module, tmp_path / "all.mlir")
    reloaded = load_ir(tmp_path / "all.mlir")
    assert print_module(reloaded) == print_module(module)
    before, after = collect_weights(module), collect_weights(reloaded)
    for key, array in before.items():
        assert after[key].dtype == array.dtype
        assert after[key].tobytes() == array.tobytes()


def test_a_weights_file_with_a_bad_dtype_tag_is_a_spintron_error(tmp_path) -> None:
    from spintron_nn.ir.io import DTYPE_TAGS, load_weights

    path = tmp_path / "w.npz"
    np.savez(path, w=np.zeros(3, np.float32), **{DTYPE_TAGS: np.array('{"w": "bfloat16"}')})
    with pytest.raises(SpintronError, match="'w' is tagged 'bfloat16' but does not hold its bits"):
        load_weights(path)
