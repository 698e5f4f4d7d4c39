"""The float executor against onnxruntime, op by op.

Every case builds the op twice: directly in IR (through the op's Python
constructor) and as a single-node ONNX model made with onnx.helper, so these
tests do not depend on the ONNX frontend.  onnxruntime is the oracle; the
bound is the project's float tolerance ``1e-4 * (1 + max|ref|)``.  The IR's
static result type is also checked against the shape onnxruntime produces.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp, i64
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region

from spintron_nn.backends.float_exec import evaluate_op, run_float
from spintron_nn.errors import SpintronError
from spintron_nn.ir import dtypes, nn
from spintron_nn.ir.weights import WeightBlob

OPSET = 17


@dataclass
class Case:
    """One op on concrete operands, described for both IR and ONNX."""

    op_type: str
    build: Callable[..., nn.NNOperation]  # SSA operands -> the nn op
    operands: list[np.ndarray]
    constant: Sequence[bool] = ()  # per operand: an initializer / nn.constant
    attrs: dict[str, Any] = field(default_factory=dict)  # ONNX node attributes
    extra_inputs: list[np.ndarray] = field(default_factory=list)  # ONNX-only inputs
    opset: int = OPSET
    domain: str = ""
    dynamic_batch: bool = False


def onnx_reference(case: Case, output_dtype: np.dtype, output_rank: int) -> np.ndarray:
    inputs, initializers, names = [], [], []
    constant = list(case.constant) or [False] * len(case.operands)
    for index, (array, is_const) in enumerate(zip(case.operands, constant)):
        name = f"x{index}"
        names.append(name)
        if is_const:
            initializers.append(numpy_helper.from_array(array, name))
        else:
            dtype = helper.np_dtype_to_tensor_dtype(array.dtype)
            inputs.append(helper.make_tensor_value_info(name, dtype, array.shape))
    for index, array in enumerate(case.extra_inputs):
        name = f"extra{index}"
        names.append(name if array is not None else "")
        if array is not None:
            initializers.append(numpy_helper.from_array(array, name))
    node = helper.make_node(
        case.op_type, names, ["y"], domain=case.domain, **case.attrs
    )
    output = helper.make_tensor_value_info(
        "y", helper.np_dtype_to_tensor_dtype(output_dtype), [None] * output_rank
    )
    graph = helper.make_graph([node], "g", inputs, [output], initializers)
    opsets = [helper.make_opsetid("", case.opset)]
    if case.domain:
        opsets.append(helper.make_opsetid(case.domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feeds = {
        n: a
        for n, a, c in zip(names, case.operands, constant)
        if not c
    }
    return session.run(None, feeds)[0]


def build_module(case: Case) -> tuple[ModuleOp, nn.NNOperation, list[np.ndarray]]:
    """``@main`` with the non-constant operands as arguments and one op."""
    constant = list(case.constant) or [False] * len(case.operands)
    arg_types, feeds = [], []
    for array, is_const in zip(case.operands, constant):
        if not is_const:
            shape = list(array.shape)
            if case.dynamic_batch:
                shape[0] = nn.DYNAMIC
            element = dtypes.element_type(array.dtype)
            arg_types.append(nn.tensor_type(shape, element))
            feeds.append(array)
    block = Block(arg_types=arg_types)
    args = iter(block.args)
    values, ops = [], []
    for index, (array, is_const) in enumerate(zip(case.operands, constant)):
        if is_const:
            ops.append(nn.ConstantOp(WeightBlob(f"c{index}", array)))
            values.append(ops[-1].results[0])
        else:
            values.append(next(args))
    op = case.build(*values)
    block.add_ops([*ops, op, ReturnOp(op.results[0])])
    main = FuncOp("main", (arg_types, [op.results[0].type]), Region(block))
    module = ModuleOp([main])
    module.verify()
    return module, op, feeds


def check(case: Case) -> None:
    module, op, feeds = build_module(case)
    (ours,) = run_float(module, feeds)
    reference = onnx_reference(case, ours.dtype, ours.ndim)
    declared = op.results[0].type.get_shape()
    assert len(declared) == reference.ndim
    for dim, actual in zip(declared, reference.shape):
        assert dim == actual or (case.dynamic_batch and dim == nn.DYNAMIC), (
            f"{op.name}: declared {nn.shape_text(declared)}, onnxruntime gives "
            f"{list(reference.shape)}"
        )
    assert ours.shape == reference.shape
    assert ours.dtype == reference.dtype
    bound = 1e-4 * (1 + float(np.max(np.abs(reference), initial=0)))
    error = float(np.max(np.abs(ours.astype(np.float64) - reference), initial=0))
    assert error <= bound, f"{op.name}: max error {error} > {bound}"


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def run_cases(cases: list[Case]) -> None:
    for case in cases:
        check(case)


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------

CONV_CASES = [
    # (input shape, out channels, kernel, strides, pads, dilations, group, bias)
    ((2, 3, 9, 9), 4, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, True),
    ((1, 4, 10, 7), 6, (3, 2), (2, 1), (1, 0, 2, 1), (1, 1), 2, False),
    ((3, 6, 11, 11), 6, (3, 3), (2, 2), (1, 1, 1, 1), (2, 2), 6, True),  # depthwise
    ((2, 4, 8, 9), 8, (1, 1), (1, 2), (0, 0, 0, 0), (1, 1), 1, True),  # pointwise
    ((2, 4, 7, 6), 8, (3, 2), (1, 2), (2, 1, 0, 1), (2, 1), 4, True),  # depthwise, multiplier 2
    ((1, 6, 7, 7), 9, (2, 2), (1, 1), (0, 1, 1, 0), (1, 1), 3, False),  # 3 groups of 2 channels
    ((2, 2, 12, 12), 4, (5, 3), (3, 2), (2, 0, 1, 3), (1, 3), 1, False),
    ((2, 3, 16), 5, (3,), (2,), (1, 2), (2,), 1, True),  # 1-D
    ((1, 4, 20), 4, (5,), (1,), (0, 4), (1,), 4, False),  # 1-D depthwise, asym pads
    ((1, 2, 5, 6, 4), 3, (2, 3, 2), (1, 2, 1), (1, 0, 0, 0, 1, 1), (1, 1, 2), 1, True),  # 3-D
]


@pytest.mark.parametrize("index", range(len(CONV_CASES)))
@pytest.mark.parametrize("dynamic", [False, True])
def test_conv(index: int, dynamic: bool) -> None:
    shape, m, kernel, strides, pads, dilations, group, with_bias = CONV_CASES[index]
    rng = np.random.default_rng(100 + index)
    x = rand(rng, *shape)
    w = rand(rng, m, shape[1] // group, *kernel)
    operands = [x, w] + ([rand(rng, m)] if with_bias else [])
    attrs = dict(strides=strides, pads=pads, dilations=dilations, group=group)
    check(
        Case(
            "Conv",
            lambda *v: nn.ConvOp(*v, **attrs),
            operands,
            constant=[False, True, True],
            attrs=dict(attrs, kernel_shape=kernel),
            dynamic_batch=dynamic,
        )
    )


@pytest.mark.parametrize(
    "auto_pad,size,kernel,stride,dilation",
    [
        (pad, *geometry)
        for pad in ("SAME_UPPER", "SAME_LOWER")
        for geometry in ((9, 4, 2, 1), (10, 3, 3, 1), (7, 2, 1, 1), (8, 5, 3, 1))
    ]
    + [("VALID", 9, 4, 2, 1), ("VALID", 10, 3, 3, 2)],  # onnxruntime: no SAME_* with dilations
)
def test_resolve_auto_pad_matches_onnxruntime(
    auto_pad: str, size: int, kernel: int, stride: int, dilation: int
) -> None:
    rng = np.random.default_rng(size * kernel + stride)
    x = rand(rng, 1, 2, size, size + 1)
    w = rand(rng, 3, 2, kernel, kernel)
    pads = nn.resolve_auto_pad(
        auto_pad, x.shape[2:], w.shape[2:], [stride] * 2, [dilation] * 2
    )
    check(
        Case(
            "Conv",
            lambda *v: nn.ConvOp(*v, strides=[stride] * 2, pads=pads, dilations=[dilation] * 2),
            [x, w],
            constant=[False, True],
            attrs=dict(auto_pad=auto_pad, strides=[stride] * 2, dilations=[dilation] * 2),
        )
    )


def test_conv_with_fused_clamp_matches_conv_then_clip() -> None:
    rng = np.random.default_rng(7)
    x, w, b = rand(rng, 2, 3, 6, 6), rand(rng, 4, 3, 3, 3), rand(rng, 4)
    x_val = nn.ConstantOp(WeightBlob("x", x)).output
    w_val = nn.ConstantOp(WeightBlob("w", w)).output
    b_val = nn.ConstantOp(WeightBlob("b", b)).output
    plain = evaluate_op(nn.ConvOp(x_val, w_val, b_val), [x, w, b])[0]
    fused = nn.ConvOp(x_val, w_val, b_val, clamp_min=-0.5, clamp_max=1.0)
    (clamped,) = evaluate_op(fused, [x, w, b])
    assert np.array_equal(clamped, np.clip(plain, np.float32(-0.5), np.float32(1.0)))
    assert plain.min() < -0.5 and plain.max() > 1.0  # the clamp did something


# --------------------------------------------------------------------------
# Gemm and MatMul
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trans_a,trans_b,alpha,beta,bias_shape",
    [
        (0, 0, 1.0, 1.0, (5,)),
        (1, 0, 0.5, 2.0, (4, 5)),
        (0, 1, 1.5, 0.1, (1, 5)),
        (1, 1, 1.0, 1.0, None),
        (0, 1, 1.0, 1.0, (4, 1)),
    ],
)
def test_gemm(trans_a, trans_b, alpha, beta, bias_shape) -> None:
    rng = np.random.default_rng(trans_a * 2 + trans_b)
    a = rand(rng, *((6, 4) if trans_a else (4, 6)))
    b = rand(rng, *((5, 6) if trans_b else (6, 5)))
    operands = [a, b] + ([rand(rng, *bias_shape)] if bias_shape else [])
    attrs = dict(alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    check(
        Case(
            "Gemm",
            lambda *v: nn.GemmOp(*v, **attrs),
            operands,
            constant=[False, True, True],
            attrs=dict(alpha=alpha, beta=beta, transA=trans_a, transB=trans_b),
        )
    )


def test_gemm_dynamic_batch() -> None:
    rng = np.random.default_rng(3)
    operands = [rand(rng, 7, 6), rand(rng, 6, 3), rand(rng, 3)]
    check(Case("Gemm", lambda *v: nn.GemmOp(*v), operands, [False, True, True], dynamic_batch=True))


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4, 3)),
        ((2, 3, 4), (4,)),
        ((4,), (4,)),
        ((5,), (2, 5, 3)),
    ],
)
def test_matmul(a_shape, b_shape) -> None:
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    check(
        Case("MatMul", nn.MatMulOp, [rand(rng, *a_shape), rand(rng, *b_shape)])
    )


def test_matmul_dynamic_batch() -> None:
    rng = np.random.default_rng(11)
    check(
        Case(
            "MatMul",
            nn.MatMulOp,
            [rand(rng, 3, 2, 4), rand(rng, 4, 6)],
            [False, True],
            dynamic_batch=True,
        )
    )


# --------------------------------------------------------------------------
# element-wise
# --------------------------------------------------------------------------

BROADCAST_SHAPES = [
    ((2, 3, 4), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((1,), (2, 3)),
    ((5, 1, 3, 1), (1, 2, 1, 4)),
]


@pytest.mark.parametrize("op_type,op_class", [("Add", nn.AddOp), ("Sub", nn.SubOp), ("Mul", nn.MulOp), ("Div", nn.DivOp)])
def test_binary_broadcast(op_type, op_class) -> None:
    rng = np.random.default_rng(len(op_type))
    cases = []
    for a_shape, b_shape in BROADCAST_SHAPES:
        a, b = rand(rng, *a_shape), rand(rng, *b_shape)
        if op_type == "Div":
            b = np.sign(b) * (np.abs(b) + 0.5)  # keep clear of division by ~0
        cases.append(Case(op_type, op_class, [a, b]))
        cases.append(Case(op_type, op_class, [a, b], [False, True]))
    cases.append(Case(op_type, op_class, [rand(rng, 3, 4, 2), np.float32(2.5) + rand(rng, 4, 1) ** 2], [False, True], dynamic_batch=True))
    run_cases(cases)


@pytest.mark.parametrize(
    "op_type,build,attrs",
    [
        ("Relu", nn.ReluOp, {}),
        ("Sigmoid", nn.SigmoidOp, {}),
        ("Tanh", nn.TanhOp, {}),
        ("Identity", nn.IdentityOp, {}),
        ("LeakyRelu", nn.LeakyReluOp, {}),
        ("LeakyRelu", lambda x: nn.LeakyReluOp(x, alpha=0.2), {"alpha": 0.2}),
    ],
)
def test_unary(op_type, build, attrs) -> None:
    rng = np.random.default_rng(5)
    x = rand(rng, 3, 4, 5) * 6
    x[0, 0, :3] = [40.0, -40.0, 0.0]  # saturation and zero
    run_cases(
        [
            Case(op_type, build, [x], attrs=attrs),
            Case(op_type, build, [x[:, 0]], attrs=attrs, dynamic_batch=True),
        ]
    )


@pytest.mark.parametrize("low,high", [(None, None), (-0.5, None), (None, 0.7), (0.0, 6.0), (0.3, 0.3)])
def test_clip_input_form(low, high) -> None:
    rng = np.random.default_rng(9)
    x = rand(rng, 4, 5)
    extra = [np.array(low, np.float32) if low is not None else None]
    extra.append(np.array(high, np.float32) if high is not None else None)
    while extra and extra[-1] is None:
        extra.pop()
    check(Case("Clip", lambda v: nn.ClipOp(v, min=low, max=high), [x], extra_inputs=extra, dynamic_batch=True))


def test_clip_attribute_form_opset6() -> None:
    rng = np.random.default_rng(10)
    check(
        Case(
            "Clip",
            lambda v: nn.ClipOp(v, min=-0.1, max=0.25),
            [rand(rng, 2, 6)],
            attrs=dict(min=-0.1, max=0.25),
            opset=6,
        )
    )


@pytest.mark.parametrize("to", [TensorProto.INT64, TensorProto.FLOAT])
def test_cast(to) -> None:
    rng = np.random.default_rng(12)
    x = rand(rng, 3, 5) * 4
    ints = rng.integers(-9, 9, size=(2, 4)).astype(np.int64)
    target = i64 if to == TensorProto.INT64 else nn.f32
    run_cases(
        [
            Case("Cast", lambda v: nn.CastOp(v, to=target), [x], attrs=dict(to=to)),
            Case("Cast", lambda v: nn.CastOp(v, to=target), [ints], attrs=dict(to=to), dynamic_batch=True),
        ]
    )


# --------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("op_type,op_class", [("Softmax", nn.SoftmaxOp), ("LogSoftmax", nn.LogSoftmaxOp)])
@pytest.mark.parametrize("axis", [-1, 0, 1, 2, -2])
def test_softmax_opset13(op_type, op_class, axis) -> None:
    rng = np.random.default_rng(axis + 20)
    x = rand(rng, 2, 3, 4) * 5
    run_cases(
        [
            Case(op_type, lambda v: op_class(v, axis=axis), [x], attrs=dict(axis=axis), opset=13),
            Case(op_type, lambda v: op_class(v, axis=axis), [x], attrs=dict(axis=axis), dynamic_batch=True),
        ]
    )


@pytest.mark.parametrize("op_type,op_class", [("Softmax", nn.SoftmaxOp), ("LogSoftmax", nn.LogSoftmaxOp)])
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_softmax_legacy_2d(op_type, op_class, axis) -> None:
    rng = np.random.default_rng(axis + 30)
    x = rand(rng, 2, 3, 4) * 5
    check(
        Case(
            op_type,
            lambda v: op_class(v, axis=axis, legacy_2d=True),
            [x],
            attrs=dict(axis=axis),
            opset=11,
        )
    )


def test_softmax_is_stable_for_large_inputs() -> None:
    x = np.array([[1000.0, 1001.0, -1000.0]], np.float32)
    run_cases([Case(t, c, [x]) for t, c in (("Softmax", nn.SoftmaxOp), ("LogSoftmax", nn.LogSoftmaxOp))])


@pytest.mark.parametrize("shape,epsilon", [((2, 3, 4, 5), 1e-5), ((3, 4), 1e-3), ((2, 5, 7), 0.1)])
def test_batch_normalization(shape, epsilon) -> None:
    rng = np.random.default_rng(len(shape))
    c = shape[1]
    operands = [
        rand(rng, *shape),
        rand(rng, c),
        rand(rng, c),
        rand(rng, c),
        rng.uniform(0.01, 2.0, c).astype(np.float32),
    ]
    for dynamic in (False, True):
        check(
            Case(
                "BatchNormalization",
                lambda *v: nn.BatchNormalizationOp(*v, epsilon=epsilon),
                operands,
                [False, True, True, True, True],
                attrs=dict(epsilon=epsilon),
                dynamic_batch=dynamic,
            )
        )


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------

POOL_CASES = [
    # (input shape, kernel, strides, pads, dilations, ceil_mode)
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 0),
    ((1, 2, 7, 9), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 0),
    ((1, 2, 7, 9), (3, 3), (2, 2), (1, 0, 0, 1), (1, 1), 1),
    ((2, 2, 6, 6), (3, 2), (3, 3), (0, 0, 0, 0), (1, 1), 1),
    ((1, 3, 10, 10), (2, 2), (3, 3), (1, 1, 0, 0), (1, 1), 1),
    ((1, 2, 4, 5), (3, 3), (2, 2), (0, 0, 2, 2), (1, 1), 1),  # a window would start in the end pad
    ((1, 1, 9, 8), (3, 2), (1, 2), (2, 1, 1, 1), (1, 1), 0),
    ((1, 2, 11, 10), (2, 3), (2, 1), (1, 1, 0, 2), (2, 2), 1),
    ((2, 3, 12), (4,), (3,), (1, 2), (1,), 1),  # 1-D
    ((1, 2, 5, 6, 7), (2, 2, 3), (2, 1, 2), (0, 1, 1, 1, 0, 1), (1, 1, 1), 1),  # 3-D
]


@pytest.mark.parametrize("index", range(len(POOL_CASES)))
def test_max_pool(index: int) -> None:
    shape, kernel, strides, pads, dilations, ceil_mode = POOL_CASES[index]
    rng = np.random.default_rng(200 + index)
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode)
    x = rand(rng, *shape) - 3  # all negative at the pads: padding must not win
    for dynamic in (False, True):
        check(Case("MaxPool", lambda v: nn.MaxPoolOp(v, **attrs), [x], attrs=attrs, dynamic_batch=dynamic))


@pytest.mark.parametrize("index", range(len(POOL_CASES)))
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool(index: int, count_include_pad: int) -> None:
    shape, kernel, strides, pads, dilations, ceil_mode = POOL_CASES[index]
    rng = np.random.default_rng(300 + index)
    attrs = dict(
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    x = rand(rng, *shape) + 2
    opset = 19 if any(d != 1 for d in dilations) else OPSET
    onnx_attrs = attrs if opset >= 19 else {k: v for k, v in attrs.items() if k != "dilations"}
    for dynamic in (False, True):
        check(
            Case(
                "AveragePool",
                lambda v: nn.AveragePoolOp(v, **attrs),
                [x],
                attrs=onnx_attrs,
                opset=opset,
                dynamic_batch=dynamic,
            )
        )


def random_window_geometry(rng: np.random.Generator, pool: bool) -> dict[str, Any] | None:
    """Random sizes, kernel, strides, dilations and asymmetric pads for 1-D or
    2-D windows; None if no window fits (onnxruntime refuses those)."""
    rank = int(rng.integers(1, 3))
    size = [int(v) for v in rng.integers(1, 12, rank)]
    kernel = [int(v) for v in rng.integers(1, 5, rank)]
    strides = [int(v) for v in rng.integers(1, 4, rank)]
    dilations = [int(v) for v in rng.integers(1, 3, rank)]
    extents = [nn.window_extent(k, d) for k, d in zip(kernel, dilations)]
    # pools: onnxruntime wants each pad smaller than the kernel
    pads = [int(rng.integers(0, k if pool else e + 1)) for k, e in zip(kernel * 2, extents * 2)]
    ceil_mode = int(rng.integers(0, 2)) if pool else 0
    for i in range(rank):
        if nn.sliding_output_size(
            size[i], kernel[i], strides[i], dilations[i], pads[i], pads[rank + i], bool(ceil_mode)
        ) < 1:
            return None
    return dict(size=size, kernel_shape=kernel, strides=strides, dilations=dilations, pads=pads, ceil_mode=ceil_mode)


def test_random_pool_geometries() -> None:
    rng = np.random.default_rng(2024)
    checked = 0
    while checked < 60:
        geometry = random_window_geometry(rng, pool=True)
        if geometry is None:
            continue
        x = rand(rng, 2, 2, *geometry.pop("size"))
        include = int(rng.integers(0, 2))
        avg_attrs = dict(geometry, count_include_pad=include)
        run_cases(
            [
                Case("MaxPool", lambda v: nn.MaxPoolOp(v, **geometry), [x], attrs=geometry),
                Case("AveragePool", lambda v: nn.AveragePoolOp(v, **avg_attrs), [x], attrs=avg_attrs, opset=19),
            ]
        )
        checked += 1


def test_random_conv_geometries() -> None:
    rng = np.random.default_rng(2025)
    checked = 0
    while checked < 40:
        geometry = random_window_geometry(rng, pool=False)
        if geometry is None:
            continue
        group = int(rng.choice([1, 2, 4]))
        per_group_in, per_group_out = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        x = rand(rng, 2, group * per_group_in, *geometry.pop("size"))
        geometry.pop("ceil_mode")
        w = rand(rng, group * per_group_out, per_group_in, *geometry["kernel_shape"])
        attrs = dict(geometry, group=group)
        conv_attrs = {k: v for k, v in attrs.items() if k != "kernel_shape"}
        check(
            Case(
                "Conv",
                lambda *v: nn.ConvOp(*v, **conv_attrs),
                [x, w, rand(rng, w.shape[0])],
                [False, True, True],
                attrs=attrs,
            )
        )
        checked += 1


@pytest.mark.parametrize("op_type,op_class", [("GlobalAveragePool", nn.GlobalAveragePoolOp), ("GlobalMaxPool", nn.GlobalMaxPoolOp)])
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (3, 2, 7), (1, 2, 3, 2, 4)])
def test_global_pool(op_type, op_class, shape) -> None:
    rng = np.random.default_rng(len(shape))
    x = rand(rng, *shape)
    run_cases([Case(op_type, op_class, [x]), Case(op_type, op_class, [x], dynamic_batch=True)])


# --------------------------------------------------------------------------
# shape manipulation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, 3, 4, -1, -3])
def test_flatten(axis: int) -> None:
    rng = np.random.default_rng(40)
    x = rand(rng, 2, 3, 4, 5)
    run_cases(
        [
            Case("Flatten", lambda v: nn.FlattenOp(v, axis=axis), [x], attrs=dict(axis=axis)),
            Case("Flatten", lambda v: nn.FlattenOp(v, axis=axis), [x], attrs=dict(axis=axis), dynamic_batch=True),
        ]
    )


@pytest.mark.parametrize(
    "shape,target,allowzero",
    [
        ((2, 3, 4), (6, 4), 0),
        ((2, 3, 4), (-1, 12), 0),
        ((2, 3, 4), (0, -1), 0),
        ((2, 3, 4), (0, 3, 2, 2), 0),
        ((2, 3, 4), (4, -1, 2), 0),
        ((2, 3, 4, 2), (0, 0, -1), 0),
        ((2, 3, 4), (2, 12), 1),
    ],
)
def test_reshape(shape, target, allowzero) -> None:
    rng = np.random.default_rng(41)
    x = rand(rng, *shape)
    extra = [np.array(target, np.int64)]
    cases = [
        Case(
            "Reshape",
            lambda v: nn.ReshapeOp(v, shape=target, allowzero=allowzero),
            [x],
            attrs=dict(allowzero=allowzero),
            extra_inputs=extra,
            opset=14,
        )
    ]
    if target[0] in (0, -1):
        cases.append(
            Case(
                "Reshape",
                lambda v: nn.ReshapeOp(v, shape=target, allowzero=allowzero),
                [x],
                extra_inputs=extra,
                dynamic_batch=True,
            )
        )
    run_cases(cases)


def test_reshape_with_zero_sized_dimension_and_allowzero() -> None:
    x = np.zeros((0, 3), np.float32)
    check(
        Case(
            "Reshape",
            lambda v: nn.ReshapeOp(v, shape=[3, 0], allowzero=1),
            [x],
            attrs=dict(allowzero=1),
            extra_inputs=[np.array([3, 0], np.int64)],
            opset=14,
        )
    )


@pytest.mark.parametrize("perm", [None, (0, 2, 1, 3), (3, 1, 0, 2), (0, 1, 2, 3)])
def test_transpose(perm) -> None:
    rng = np.random.default_rng(42)
    x = rand(rng, 2, 3, 4, 5)
    attrs = {} if perm is None else dict(perm=perm)
    cases = [Case("Transpose", lambda v: nn.TransposeOp(v, perm=perm), [x], attrs=attrs)]
    if perm is not None and perm[0] == 0:
        cases.append(Case("Transpose", lambda v: nn.TransposeOp(v, perm=perm), [x], attrs=attrs, dynamic_batch=True))
    run_cases(cases)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_concat(axis: int) -> None:
    rng = np.random.default_rng(43 + axis)
    shapes = []
    for extra in (1, 2, 3):
        shape = [2, 3, 4]
        shape[axis] += extra
        shapes.append(tuple(shape))
    operands = [rand(rng, *s) for s in shapes]
    cases = [
        Case("Concat", lambda *v: nn.ConcatOp(list(v), axis=axis), operands, attrs=dict(axis=axis)),
        Case("Concat", lambda *v: nn.ConcatOp(list(v), axis=axis), operands, [False, True, False], attrs=dict(axis=axis)),
    ]
    if axis % 3 != 0:
        cases.append(
            Case("Concat", lambda *v: nn.ConcatOp(list(v), axis=axis), operands, attrs=dict(axis=axis), dynamic_batch=True)
        )
    run_cases(cases)


@pytest.mark.parametrize("shape,axes", [((1, 3, 1, 4), (0, 2)), ((2, 1, 4, 1), (-1,)), ((1, 3, 1, 1), None), ((2, 1, 3), (1,))])
def test_squeeze(shape, axes) -> None:
    rng = np.random.default_rng(44)
    x = rand(rng, *shape)
    extra = [] if axes is None else [np.array(axes, np.int64)]
    cases = [Case("Squeeze", lambda v: nn.SqueezeOp(v, axes=axes), [x], extra_inputs=extra)]
    if shape[0] != 1:
        cases.append(Case("Squeeze", lambda v: nn.SqueezeOp(v, axes=axes), [x], extra_inputs=extra, dynamic_batch=True))
    run_cases(cases)


@pytest.mark.parametrize("axes", [(0,), (1, 3), (-1,), (-1, 1), (4, 0)])
def test_unsqueeze(axes) -> None:
    rng = np.random.default_rng(45)
    x = rand(rng, 2, 3, 4)
    extra = [np.array(axes, np.int64)]
    cases = [Case("Unsqueeze", lambda v: nn.UnsqueezeOp(v, axes=axes), [x], extra_inputs=extra)]
    if 0 not in axes:
        cases.append(Case("Unsqueeze", lambda v: nn.UnsqueezeOp(v, axes=axes), [x], extra_inputs=extra, dynamic_batch=True))
    run_cases(cases)


# --------------------------------------------------------------------------
# reductions and selection
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "axes,keepdims,noop",
    [((1,), 1, 0), ((-1, 1), 0, 0), (None, 1, 0), (None, 0, 0), (None, 1, 1), ((2, 3), 1, 0)],
)
def test_reduce_mean(axes, keepdims, noop) -> None:
    rng = np.random.default_rng(46)
    x = rand(rng, 2, 3, 4, 5)
    build = lambda v: nn.ReduceMeanOp(v, axes=axes, keepdims=keepdims, noop_with_empty_axes=noop)  # noqa: E731
    as_input = Case(
        "ReduceMean",
        build,
        [x],
        attrs=dict(keepdims=keepdims, noop_with_empty_axes=noop),
        extra_inputs=[] if axes is None else [np.array(axes, np.int64)],
        opset=18,
    )
    cases = [as_input]
    if not noop:  # opset 13: axes as an attribute
        attrs = dict(keepdims=keepdims) | ({} if axes is None else dict(axes=axes))
        cases.append(Case("ReduceMean", build, [x], attrs=attrs, opset=13))
    if axes is not None and 0 not in axes:
        cases.append(
            Case(
                "ReduceMean",
                build,
                [x],
                attrs=dict(keepdims=keepdims, axes=axes),
                opset=13,
                dynamic_batch=True,
            )
        )
    run_cases(cases)


@pytest.mark.parametrize("axis,keepdims,last", list(itertools.product([0, 1, -1], [0, 1], [0, 1])))
def test_arg_max(axis, keepdims, last) -> None:
    rng = np.random.default_rng(47)
    x = rng.integers(0, 3, size=(3, 4, 5)).astype(np.float32)  # ties on purpose
    attrs = dict(axis=axis, keepdims=keepdims, select_last_index=last)
    cases = [Case("ArgMax", lambda v: nn.ArgMaxOp(v, **attrs), [x], attrs=attrs)]
    if axis != 0:
        cases.append(Case("ArgMax", lambda v: nn.ArgMaxOp(v, **attrs), [x], attrs=attrs, dynamic_batch=True))
    run_cases(cases)


@pytest.mark.parametrize("data_shape,indices", [((3, 5), [0, 4, 2]), ((2, 3, 4), [1]), ((6,), [5, 0]), ((4, 3), [[2, 0]])])
def test_array_feature_extractor(data_shape, indices) -> None:
    rng = np.random.default_rng(48)
    data = rand(rng, *data_shape)
    cases = [
        Case(
            "ArrayFeatureExtractor",
            nn.ArrayFeatureExtractorOp,
            [data, np.array(indices, np.int64)],
            [False, True],
            domain="ai.onnx.ml",
        )
    ]
    if len(data_shape) > 1:
        cases.append(
            Case(
                "ArrayFeatureExtractor",
                nn.ArrayFeatureExtractorOp,
                [data, np.array(indices, np.int64)],
                [False, True],
                domain="ai.onnx.ml",
                dynamic_batch=True,
            )
        )
    run_cases(cases)


# --------------------------------------------------------------------------
# ops the softmax / clip / relu function expansions use
# --------------------------------------------------------------------------


def test_exp_and_log() -> None:
    rng = np.random.default_rng(60)
    x = rand(rng, 3, 4) * 4
    positive = np.abs(x) + np.float32(1e-3)
    run_cases(
        [
            Case("Exp", nn.ExpOp, [x]),
            Case("Exp", nn.ExpOp, [x.astype(np.float64)]),
            Case("Log", nn.LogOp, [positive], dynamic_batch=True),
            Case("Log", nn.LogOp, [positive.astype(np.float16)]),
        ]
    )


def small_ints(rng: np.random.Generator, dtype, *shape: int) -> np.ndarray:
    low = 0 if np.dtype(dtype).kind == "u" else -9
    return rng.integers(low, 10, size=shape).astype(dtype)


@pytest.mark.parametrize("op_type,op_class", [("Less", nn.LessOp), ("Greater", nn.GreaterOp), ("Equal", nn.EqualOp)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8])
def test_comparisons(op_type, op_class, dtype) -> None:
    rng = np.random.default_rng(61)
    cases = []
    for a_shape, b_shape in BROADCAST_SHAPES:
        # few distinct values, so that Equal has true cases
        a = small_ints(rng, dtype, *a_shape)
        b = small_ints(rng, dtype, *b_shape)
        cases.append(Case(op_type, op_class, [a, b], opset=19))
        cases.append(Case(op_type, op_class, [a, b], [False, True], opset=19))
    run_cases(cases)


def test_or() -> None:
    rng = np.random.default_rng(62)
    a = rng.integers(0, 2, size=(2, 3, 4)).astype(bool)
    b = rng.integers(0, 2, size=(3, 1)).astype(bool)
    run_cases([Case("Or", nn.OrOp, [a, b]), Case("Or", nn.OrOp, [a, b], [False, True], dynamic_batch=True)])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float16])
def test_where(dtype) -> None:
    rng = np.random.default_rng(63)
    condition = rng.integers(0, 2, size=(2, 1, 4)).astype(bool)
    x = small_ints(rng, dtype, 3, 4)
    y = small_ints(rng, dtype, 2, 3, 1)
    run_cases([Case("Where", nn.WhereOp, [condition, x, y]), Case("Where", nn.WhereOp, [condition, x, y], [True, False, True])])


@pytest.mark.parametrize("op_type,op_class", [("Max", nn.MaxOp), ("Min", nn.MinOp)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64, np.uint32])
def test_max_min(op_type, op_class, dtype) -> None:
    rng = np.random.default_rng(64)
    build = lambda *values: op_class(list(values))  # noqa: E731
    a, b, c = small_ints(rng, dtype, 2, 3, 4), small_ints(rng, dtype, 3, 1), small_ints(rng, dtype, 4)
    run_cases(
        [
            Case(op_type, build, [a]),
            Case(op_type, build, [a, b]),
            Case(op_type, build, [a, b, c], [False, True, False]),
            Case(op_type, build, [b, a], dynamic_batch=True),
        ]
    )


@pytest.mark.parametrize("op_type,op_class", [("ReduceSum", nn.ReduceSumOp), ("ReduceMax", nn.ReduceMaxOp)])
@pytest.mark.parametrize(
    "axes,keepdims,noop",
    [((1,), 1, 0), ((-1, 1), 0, 0), (None, 1, 0), (None, 0, 0), (None, 1, 1), ((2, 3), 1, 0)],
)
def test_reduce_sum_and_max(op_type, op_class, axes, keepdims, noop) -> None:
    rng = np.random.default_rng(65)
    build = lambda v: op_class(v, axes=axes, keepdims=keepdims, noop_with_empty_axes=noop)  # noqa: E731
    cases = []
    for x in (rand(rng, 2, 3, 4, 5), small_ints(rng, np.int32, 2, 3, 4, 5)):
        axes_input = [] if axes is None else [np.array(axes, np.int64)]
        attrs = dict(keepdims=keepdims, noop_with_empty_axes=noop)
        cases.append(Case(op_type, build, [x], attrs=attrs, extra_inputs=axes_input, opset=18))
        if not noop:  # axes as an attribute: ReduceSum before opset 13, ReduceMax before 18
            legacy = dict(keepdims=keepdims) | ({} if axes is None else dict(axes=axes))
            cases.append(Case(op_type, build, [x], attrs=legacy, opset=11 if op_type == "ReduceSum" else 13))
    run_cases(cases)


# --------------------------------------------------------------------------
# element types other than float32
# --------------------------------------------------------------------------


@pytest.mark.parametrize("op_type,op_class", [("Add", nn.AddOp), ("Sub", nn.SubOp), ("Mul", nn.MulOp), ("Div", nn.DivOp)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64, np.float64, np.float16])
def test_arithmetic_in_the_operands_type(op_type, op_class, dtype) -> None:
    """Integers wrap and Div truncates toward zero (onnxruntime's C++ rule,
    not numpy's floor): negative operands tell the two apart."""
    rng = np.random.default_rng(66)
    a = small_ints(rng, dtype, 3, 4) * 7
    b = small_ints(rng, dtype, 4)
    b[b == 0] = 3
    run_cases([Case(op_type, op_class, [a, b]), Case(op_type, op_class, [a, b], [False, True])])


def test_relu_clip_and_max_pool_on_integers() -> None:
    rng = np.random.default_rng(67)
    x8 = small_ints(rng, np.int8, 1, 2, 5, 5)
    u8 = small_ints(rng, np.uint8, 1, 2, 5, 5)
    pool = lambda v: nn.MaxPoolOp(v, kernel_shape=[2, 2], pads=[1, 1, 0, 0])  # noqa: E731
    run_cases(
        [
            Case("Relu", nn.ReluOp, [x8], opset=14),
            Case("Relu", nn.ReluOp, [small_ints(rng, np.int32, 3, 4)], opset=14),
            Case("Clip", lambda v: nn.ClipOp(v, min=-3, max=5), [x8], extra_inputs=[np.int8(-3), np.int8(5)], opset=13),
            Case("MaxPool", pool, [u8], attrs=dict(kernel_shape=[2, 2], pads=[1, 1, 0, 0]), opset=12),
            Case("MaxPool", pool, [x8], attrs=dict(kernel_shape=[2, 2], pads=[1, 1, 0, 0]), opset=12),
        ]
    )


CAST_PAIRS = [
    (np.float32, TensorProto.FLOAT16),
    (np.float32, TensorProto.DOUBLE),
    (np.float32, TensorProto.BFLOAT16),
    (np.float32, TensorProto.INT8),
    (np.float32, TensorProto.UINT8),
    (np.float32, TensorProto.INT32),
    (np.float32, TensorProto.BOOL),
    (np.float16, TensorProto.FLOAT),
    (np.float64, TensorProto.FLOAT16),
    (np.int32, TensorProto.FLOAT),
    (np.int64, TensorProto.INT8),
    (np.uint8, TensorProto.INT64),
    (np.bool_, TensorProto.FLOAT),
    (np.float32, TensorProto.FLOAT8E4M3FN),
    (np.float32, TensorProto.FLOAT8E5M2),
    (np.float16, TensorProto.FLOAT8E4M3FNUZ),
]


@pytest.mark.parametrize("source,to", CAST_PAIRS)
@pytest.mark.parametrize("saturate", [0, 1])
def test_cast_between_element_types(source, to, saturate) -> None:
    rng = np.random.default_rng(68)
    x = rand(rng, 3, 5) * 40
    x[0, :4] = [1e6, -1e6, 0.4999, -2.5]  # beyond float8's range; rounding; truncation
    if np.dtype(source).kind in "iub":
        x = small_ints(rng, source, 3, 5) if source != np.bool_ else x > 0
    with np.errstate(over="ignore"):  # 1e6 becomes inf in float16: part of the case
        x = x.astype(source)
    target = dtypes.element_type(helper.tensor_dtype_to_np_dtype(to))
    if dtypes.is_float8(target):
        build = lambda v: nn.CastOp(v, to=target, saturate=saturate)  # noqa: E731
        attrs = dict(to=to, saturate=saturate)
    elif saturate:
        return  # the flag only exists for float8 targets
    else:
        build = lambda v: nn.CastOp(v, to=target)  # noqa: E731
        attrs = dict(to=to)
        if np.dtype(source).kind == "f" and to in (TensorProto.INT8, TensorProto.UINT8, TensorProto.INT32):
            x = np.clip(x, 0 if to == TensorProto.UINT8 else -100, 100).astype(source)  # in range: defined
    module, op, feeds = build_module(Case("Cast", build, [x]))
    (ours,) = run_float(module, feeds)
    assert ours.dtype == helper.tensor_dtype_to_np_dtype(to)
    reference = cast_reference(x, attrs)
    assert np.array_equal(ours.astype(np.float64), reference, equal_nan=True)


def test_float_data_for_an_integer_input_is_a_spintron_error() -> None:
    module, _, _ = build_module(Case("Relu", nn.ReluOp, [np.zeros((2, 3), np.int32)]))
    with pytest.raises(SpintronError, match="input #0 holds float32 values, the model expects i32"):
        run_float(module, [np.full((2, 3), 1.5, np.float32)])
    (out,) = run_float(module, [np.full((2, 3), -4, np.int64)])  # ints convert
    assert out.dtype == np.int32 and out.tolist() == [[0] * 3] * 2


@pytest.mark.parametrize("element", ["f16", "f64", "i32", "ui8", "i1", "bf16"])
def test_fold_constants_keeps_the_element_type(element) -> None:
    """evaluate_op returns the declared dtype, so fold-constants folds ops of
    every element type into constants of that type."""
    from spintron_nn.ir.io import parse_module, print_module
    from spintron_nn.passes.pipeline import run_pipeline

    t = f"tensor<2x{element}>"
    text = f"""builtin.module {{
      func.func @main(%x: {t}) -> {t} {{
        %a = "nn.constant"() <{{value = #nn.weight<"a">}}> : () -> {t}
        %m = "nn.max"(%a, %a) : ({t}, {t}) -> {t}
        %y = "nn.min"(%x, %m) : ({t}, {t}) -> {t}
        func.return %y : {t}
      }}
    }}"""
    dtype = dtypes.numpy_dtype(_parse_element(element))
    a = np.array([1, 0]).astype(dtype)
    module = parse_module(text, {"a": a})
    run_pipeline(module, "fold-constants")
    assert "nn.max" not in print_module(module)
    x = np.array([0, 1]).astype(dtype)
    (out,) = run_float(module, [x])
    assert out.dtype == dtype and out.tolist() == np.minimum(x, a).tolist()


def test_fold_batchnorm_in_a_float16_graph_keeps_float16() -> None:
    """Folded weights take the graph's type (nn.conv refuses mixed operands)."""
    from spintron_nn.frontend import load_model
    from spintron_nn.passes.pipeline import run_pipeline

    rng = np.random.default_rng(71)
    half = lambda *shape, low=0.0: (np.abs(rng.standard_normal(shape)) + low).astype(np.float16)  # noqa: E731
    inits = [numpy_helper.from_array(half(4, 3, 3, 3) - 0.7, "w"), numpy_helper.from_array(half(4), "b")]
    inits += [numpy_helper.from_array(half(4, low=0.5), n) for n in ("s", "bb", "m", "v")]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", 3, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, None)], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    module = load_model(model)
    run_pipeline(module, "fold-batchnorm")
    assert not any(isinstance(op, nn.BatchNormalizationOp) for op in module.walk())
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float16)
    (ours,) = run_float(module, [x])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (reference,) = session.run(None, {"x": x})
    assert ours.dtype == np.float16
    # float16 keeps ~3 decimal digits: the folded weights round differently
    assert np.allclose(ours, reference, rtol=1e-2, atol=1e-2)


def _parse_element(text: str):
    from xdsl.parser import Parser

    from spintron_nn.ir.context import make_context

    return Parser(make_context(), text).parse_type()


def cast_reference(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """onnxruntime's Cast, read back through a second Cast to double (exact
    for every target; onnxruntime returns no bfloat16 or float8 arrays)."""
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], **attrs), helper.make_node("Cast", ["y"], ["z"], to=TensorProto.DOUBLE)],
        "g",
        [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
        [helper.make_tensor_value_info("z", TensorProto.DOUBLE, x.shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


# --------------------------------------------------------------------------
# the executor itself
# --------------------------------------------------------------------------


def small_mlp() -> tuple[ModuleOp, np.ndarray]:
    rng = np.random.default_rng(50)
    w1, b1, w2 = rand(rng, 4, 8), rand(rng, 8), rand(rng, 8, 3)
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, 4])])
    c1 = nn.ConstantOp(WeightBlob("w1", w1))
    c2 = nn.ConstantOp(WeightBlob("b1", b1))
    c3 = nn.ConstantOp(WeightBlob("w2", w2))
    gemm = nn.GemmOp(block.args[0], c1.output, c2.output, clamp_min=0.0)
    out = nn.MatMulOp(gemm.output, c3.output)
    soft = nn.SoftmaxOp(out.output)
    block.add_ops([c1, c2, c3, gemm, out, soft, ReturnOp(soft.output)])
    main = FuncOp("main", ([block.args[0].type], [soft.output.type]), Region(block))
    main.attributes["nn.input_names"] = nn.ArrayAttr([nn.StringAttr("features")])
    module = ModuleOp([main])
    module.verify()
    x = rand(rng, 5, 4)
    expected = np.maximum(x @ w1 + b1, 0) @ w2
    expected = np.exp(expected - expected.max(1, keepdims=True))
    return module, x, expected / expected.sum(1, keepdims=True)


def test_run_float_by_position_and_by_name_and_observer() -> None:
    module, x, expected = small_mlp()
    seen: list[str] = []
    (by_position,) = run_float(module, [x], observer=lambda op, res: seen.append(op.name))
    (by_name,) = run_float(module, {"features": x})
    np.testing.assert_allclose(by_position, expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(by_position, by_name)
    assert seen == ["nn.constant"] * 3 + ["nn.gemm", "nn.matmul", "nn.softmax"]


@pytest.mark.parametrize(
    "inputs,message",
    [
        ({"wrong": np.zeros((2, 4), np.float32)}, "missing"),
        ([np.zeros((2, 5), np.float32)], "expects [?,4]"),
        ([np.zeros((2, 4), np.float32)] * 2, "takes 1 input"),
    ],
)
def test_run_float_rejects_bad_inputs(inputs, message) -> None:
    module, _, _ = small_mlp()
    with pytest.raises(SpintronError, match=message.replace("[", r"\[").replace("?", r"\?")):
        run_float(module, inputs)


def test_a_batch_that_does_not_fit_the_graph_is_a_spintron_error() -> None:
    # [?, 6] -> [4, 3] fixes the batch at 2; batch 3 cannot be reshaped, and
    # batch 2 must pass
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, 6])])
    reshape = nn.ReshapeOp(block.args[0], shape=[4, 3])
    block.add_ops([reshape, ReturnOp(reshape.output)])
    main = FuncOp("main", ([block.args[0].type], [reshape.output.type]), Region(block))
    module = ModuleOp([main])
    (out,) = run_float(module, [np.arange(12, dtype=np.float32).reshape(2, 6)])
    assert out.shape == (4, 3)
    with pytest.raises(SpintronError, match="nn.reshape: cannot reshape"):
        run_float(module, [np.zeros((3, 6), np.float32)])

    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, 3, 4])])
    reshape = nn.ReshapeOp(block.args[0], shape=[-1, 8])
    block.add_ops([reshape, ReturnOp(reshape.output)])
    main = FuncOp("main", ([block.args[0].type], [reshape.output.type]), Region(block))
    module = ModuleOp([main])
    assert run_float(module, [np.zeros((2, 3, 4), np.float32)])[0].shape == (3, 8)
    with pytest.raises(SpintronError, match="nn.reshape: cannot reshape"):
        run_float(module, [np.zeros((1, 3, 4), np.float32)])


def test_outputs_are_fresh_writeable_arrays() -> None:
    block = Block(arg_types=[nn.tensor_type([2, 3])])
    same = nn.IdentityOp(block.args[0])
    weight = nn.ConstantOp(WeightBlob("w", np.ones((2, 3), np.float32)))
    block.add_ops([same, weight, ReturnOp(same.output, weight.output)])
    types = [block.args[0].type] * 2
    module = ModuleOp([FuncOp("main", (types[:1], types), Region(block))])
    x = np.zeros((2, 3), np.float32)
    passed_through, constant = run_float(module, [x])
    passed_through[0, 0] = constant[0, 0] = 5.0
    assert x[0, 0] == 0.0 and weight.array[0, 0] == 1.0


def test_inputs_with_different_batch_sizes_are_a_spintron_error() -> None:
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, 3])] * 2)
    add = nn.AddOp(*block.args)
    block.add_ops([add, ReturnOp(add.output)])
    main = FuncOp("main", ([block.args[0].type] * 2, [add.output.type]), Region(block))
    with pytest.raises(SpintronError, match="nn.add: operands could not be broadcast"):
        run_float(ModuleOp([main]), [np.zeros((2, 3), np.float32), np.zeros((3, 3), np.float32)])


def test_unsupported_op_is_a_spintron_error_naming_the_op() -> None:
    from xdsl.dialects.arith import ConstantOp as ArithConstant
    from xdsl.dialects.builtin import IntegerAttr

    op = ArithConstant(IntegerAttr(1, i64))
    with pytest.raises(SpintronError, match="arith.constant"):
        evaluate_op(op, [])


@pytest.mark.slow
def test_conv_batch64_cifar_sized_matches_onnxruntime() -> None:
    rng = np.random.default_rng(60)
    x = rand(rng, 64, 16, 32, 32)
    w = rand(rng, 32, 16, 3, 3)
    check(
        Case(
            "Conv",
            lambda *v: nn.ConvOp(*v, pads=[1, 1, 1, 1]),
            [x, w, rand(rng, 32)],
            [False, True, True],
            attrs=dict(pads=[1, 1, 1, 1]),
        )
    )
