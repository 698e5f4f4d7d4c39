"""Each float-graph pass keeps the network's float result on seeded random graphs.

The oracle is the float executor (backends/float_exec.py, itself checked
against onnxruntime): the module is run before and after the pass on the same
random input.  Every case also checks that the pass did its job (the op it
removes is gone), so a pass that does nothing fails.  Last, print -> parse ->
print must be a fixed point of a conv net after every pass.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region, SSAValue
from xdsl.rewriter import Rewriter

from spintron_nn.backends.float_exec import run_float
from spintron_nn.ir import io as ir_io
from spintron_nn.ir import nn
from spintron_nn.ir.weights import WeightBlob, collect_weights
from spintron_nn.passes.pipeline import run_pipeline

SEEDS = range(6)
BATCH = 2


class Net:
    """Builds ``@main`` op by op; weights are seeded random arrays."""

    def __init__(self, rng: np.random.Generator, input_shape: list[int]):
        self.rng = rng
        self.block = Block(arg_types=[nn.tensor_type(input_shape)])
        self._keys = itertools.count()

    @property
    def input(self) -> SSAValue:
        return self.block.args[0]

    def add(self, op: nn.NNOperation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def const(self, array: np.ndarray, name: str = "w") -> SSAValue:
        key = f"{name}{next(self._keys)}"
        return self.add(nn.ConstantOp(WeightBlob(key, np.asarray(array, np.float32))))

    def normal(self, *shape: int, name: str = "w") -> SSAValue:
        return self.const(self.rng.standard_normal(shape), name)

    def batchnorm(self, x: SSAValue) -> SSAValue:
        channels = nn.shape_of(x)[1]
        scale, bias, mean = (self.normal(channels, name=n) for n in ("gamma", "beta", "mean"))
        var = self.const(self.rng.uniform(0.2, 2.0, channels), "var")
        return self.add(
            nn.BatchNormalizationOp(x, scale, bias, mean, var, epsilon=float(self.rng.uniform(1e-5, 1e-2)))
        )

    def conv(self, x: SSAValue, out_channels: int, *, depthwise: bool = False) -> SSAValue:
        channels = nn.shape_of(x)[1]
        group = channels if depthwise else 1
        if depthwise:
            out_channels = channels * int(self.rng.integers(1, 3))
        kernel = int(self.rng.integers(1, 4))
        weight = self.normal(out_channels, channels // group, kernel, kernel)
        bias = self.normal(out_channels) if self.rng.random() < 0.5 else None
        pad = int(self.rng.integers(0, 2))
        return self.add(
            nn.ConvOp(x, weight, bias, pads=[pad, 0, pad, pad], strides=[1, int(self.rng.integers(1, 3))], group=group)
        )

    def gemm(self, x: SSAValue, out_features: int) -> SSAValue:
        in_features = nn.shape_of(x)[1]
        trans_b = int(self.rng.integers(0, 2))
        b = self.normal(*((out_features, in_features) if trans_b else (in_features, out_features)))
        bias_shape = [(out_features,), (1, out_features), ()][int(self.rng.integers(0, 3))]
        c = self.normal(*bias_shape) if self.rng.random() < 0.7 else None
        return self.add(
            nn.GemmOp(x, b, c, alpha=float(self.rng.uniform(0.5, 2)), beta=float(self.rng.uniform(0.5, 2)), trans_b=trans_b)
        )

    def matmul(self, x: SSAValue, out_features: int) -> SSAValue:
        return self.add(nn.MatMulOp(x, self.normal(nn.shape_of(x)[-1], out_features)))

    def module(self, *outputs: SSAValue) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*outputs))
        main = func.FuncOp(
            "main",
            ([self.input.type], [v.type for v in outputs]),
            Region(self.block),
        )
        module = ModuleOp([main])
        module.verify()
        return module


def image_input(rng) -> list[int]:
    return [nn.DYNAMIC, int(rng.integers(2, 5)), 6, 5]


def features(net: Net, x: SSAValue) -> SSAValue:
    return net.add(nn.FlattenOp(x, axis=1))


# ---------------------------------------------------------------- graphs


def batchnorm_graph(rng) -> ModuleOp:
    """Conv (plain and depthwise), Gemm and MatMul, each followed by a BN."""
    net = Net(rng, image_input(rng))
    x = net.batchnorm(net.conv(net.input, int(rng.integers(2, 5))))
    x = net.add(nn.ReluOp(x))
    x = net.batchnorm(net.conv(x, 0, depthwise=True))
    x = features(net, x)
    x = net.add(nn.ReluOp(net.batchnorm(net.gemm(x, int(rng.integers(3, 7))))))
    x = net.batchnorm(net.matmul(x, int(rng.integers(2, 5))))
    return net.module(x)


def standalone_batchnorm_graph(rng) -> ModuleOp:
    """BNs that nothing can absorb: on the input, and after a two-user conv."""
    net = Net(rng, image_input(rng))
    x = net.batchnorm(net.input)
    y = net.conv(x, 3)
    z = net.add(nn.AddOp(net.batchnorm(y), y))
    return net.module(net.batchnorm(features(net, z)))


def activation_graph(rng) -> ModuleOp:
    """Relu and Clip after Conv / Gemm / MatMul, including a Clip of a Relu."""
    net = Net(rng, image_input(rng))
    x = net.add(nn.ReluOp(net.conv(net.input, 3)))
    x = features(net, x)
    x = net.add(nn.ClipOp(net.gemm(x, 5), min=float(rng.uniform(-1, 0)), max=float(rng.uniform(0.5, 2))))
    x = net.add(nn.ReluOp(net.matmul(x, 4)))
    x = net.add(nn.ClipOp(x, min=float(rng.uniform(-1, 0)), max=float(rng.uniform(0.2, 1))))
    return net.module(x)


def canonicalize_graph(rng) -> ModuleOp:
    """Identities, neutral constants, reshape chains and duplicate constants."""
    net = Net(rng, [nn.DYNAMIC, 12])
    x = net.add(nn.IdentityOp(net.input))
    x = net.add(nn.AddOp(x, net.const(np.zeros(12))))
    x = net.add(nn.MulOp(net.const(np.ones((1, 12))), x))
    x = net.add(nn.SubOp(x, net.const(np.zeros(()))))
    x = net.add(nn.DivOp(x, net.const(np.ones(12))))
    x = net.add(nn.ReshapeOp(x, shape=[-1, 3, 4]))
    x = net.add(nn.ReshapeOp(x, shape=[-1, 2, 6]))
    x = net.add(nn.ReshapeOp(x, shape=[-1, 12]))
    weight = rng.standard_normal((12, 4))
    y = net.add(nn.MatMulOp(x, net.const(weight)))
    z = net.add(nn.MatMulOp(x, net.const(weight)))  # same data, other key
    return net.module(net.add(nn.AddOp(y, z)))


def constant_graph(rng) -> ModuleOp:
    """A weight computed from constants: (a * b + c) transposed, reshaped."""
    net = Net(rng, [nn.DYNAMIC, 6])
    product = net.add(nn.MulOp(net.normal(4, 6), net.normal(1, 6)))
    weight = net.add(nn.TransposeOp(net.add(nn.AddOp(product, net.normal(6))), perm=[1, 0]))
    bias = net.add(nn.ReshapeOp(net.normal(2, 2), shape=[4]))
    return net.module(net.add(nn.AddOp(net.add(nn.MatMulOp(net.input, weight)), bias)))


def shape_graph(rng) -> ModuleOp:
    return batchnorm_graph(rng)


def count(module: ModuleOp, *kinds) -> int:
    return sum(isinstance(op, kinds) for op in module.walk())


def not_constant_fed(module: ModuleOp) -> int:
    return sum(
        1
        for op in module.walk()
        if isinstance(op, nn.NNOperation)
        and op.operands
        and all(isinstance(v.owner, nn.ConstantOp) for v in op.operands)
    )


CASES = {
    "fold-batchnorm": (batchnorm_graph, lambda m: count(m, nn.BatchNormalizationOp)),
    "fold-batchnorm{standalone=true}": (
        standalone_batchnorm_graph,
        lambda m: count(m, nn.BatchNormalizationOp),
    ),
    "fuse-activations": (activation_graph, lambda m: count(m, nn.ReluOp, nn.ClipOp)),
    "canonicalize": (
        canonicalize_graph,
        # all of these go; the two MatMuls on the same data become one
        lambda m: count(m, nn.IdentityOp, nn.SubOp, nn.DivOp, nn.MulOp, nn.ReshapeOp)
        + count(m, nn.MatMulOp)
        - 1,
    ),
    "fold-constants": (constant_graph, not_constant_fed),
}


def close(before: list[np.ndarray], after: list[np.ndarray]) -> None:
    assert len(before) == len(after)
    for ref, got in zip(before, after):
        assert ref.shape == got.shape
        tolerance = 1e-4 * (1 + float(np.max(np.abs(ref))))
        np.testing.assert_allclose(got, ref, rtol=0, atol=tolerance)


def random_input(module: ModuleOp, rng) -> np.ndarray:
    main = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    shape = [BATCH if d == nn.DYNAMIC else d for d in nn.shape_of(main.body.block.args[0])]
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pipeline", sorted(CASES))
def test_pass_keeps_float_result(pipeline, seed):
    make, leftovers = CASES[pipeline]
    rng = np.random.default_rng(seed)
    module = make(rng)
    x = random_input(module, rng)
    before = run_float(module, [x])
    assert leftovers(module) > 0  # the graph gives the pass something to do
    run_pipeline(module, pipeline)
    assert leftovers(module) == 0
    close(before, run_float(module, [x]))


@pytest.mark.parametrize("seed", SEEDS)
def test_shape_inference_with_batch_keeps_float_result(seed):
    rng = np.random.default_rng(seed)
    module = shape_graph(rng)
    x = random_input(module, rng)
    before = run_float(module, [x])
    run_pipeline(module, f"shape-inference{{batch={BATCH}}}")
    main = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    types = [main.function_type] + [r.type for op in main.body.ops for r in op.results]
    assert "?" not in "".join(str(t) for t in types)
    close(before, run_float(module, [x]))


def conv_net(rng) -> ModuleOp:
    net = Net(rng, image_input(rng))
    x = net.add(nn.ReluOp(net.batchnorm(net.conv(net.input, 4))))
    x = net.add(nn.IdentityOp(x))
    x = net.batchnorm(net.conv(x, 0, depthwise=True))
    x = features(net, net.add(nn.ClipOp(x, min=0.0, max=6.0)))
    x = net.add(nn.AddOp(net.gemm(x, 5), net.add(nn.MulOp(net.normal(5), net.const(np.ones(5))))))
    return net.module(x)


def reparsed_text(module: ModuleOp) -> str:
    text = ir_io.print_module(module)
    return ir_io.print_module(ir_io.parse_module(text, collect_weights(module)))


@pytest.mark.parametrize(
    "pipeline",
    [
        "canonicalize",
        "fold-constants",
        "fold-batchnorm",
        "fold-batchnorm{standalone=true}",
        "fuse-activations",
        "shape-inference{batch=3}",
        "canonicalize,fold-constants,fold-batchnorm,fuse-activations,shape-inference",
    ],
)
def test_print_parse_print_is_a_fixed_point_after_each_pass(pipeline):
    module = conv_net(np.random.default_rng(7))
    run_pipeline(module, pipeline)
    text = ir_io.print_module(module)
    assert reparsed_text(module) == text


def test_shape_inference_follows_a_changed_input_type():
    # A fully convolutional front (3x3 "same" conv, relu, global pool) accepts
    # any image size; after the input type changes, every type must follow.
    rng = np.random.default_rng(3)
    net = Net(rng, [nn.DYNAMIC, 3, 6, 5])
    conv = nn.ConvOp(net.input, net.normal(4, 3, 3, 3), pads=[1, 1, 1, 1])
    x = net.add(nn.ReluOp(net.add(conv)))
    x = features(net, net.add(nn.GlobalAveragePoolOp(x)))
    module = net.module(net.gemm(x, 2))
    main = next(op for op in module.walk() if isinstance(op, func.FuncOp))

    Rewriter.replace_value_with_new_type(main.body.block.args[0], nn.tensor_type([2, 3, 9, 11]))
    run_pipeline(module, "shape-inference")  # verifies afterwards
    assert str(main.function_type) == "(tensor<2x3x9x11xf32>) -> tensor<2x2xf32>"
    assert nn.shape_of(conv.output) == (2, 4, 9, 11)
    (y,) = run_float(module, [rng.standard_normal((2, 3, 9, 11)).astype(np.float32)])
    assert y.shape == (2, 2)


GRAPHS = [batchnorm_graph, standalone_batchnorm_graph, activation_graph, canonicalize_graph, constant_graph]
FLOAT_PASSES = ["canonicalize", "fold-constants", "fold-batchnorm", "fuse-activations", "shape-inference"]


@pytest.mark.parametrize("seed", SEEDS)
def test_passes_in_any_order_keep_float_result(seed):
    # The passes are meant to run alone or in any order; each graph gets all
    # five in a seeded random order.
    rng = np.random.default_rng(100 + seed)
    for make in GRAPHS:
        module = make(rng)
        x = random_input(module, rng)
        before = run_float(module, [x])
        run_pipeline(module, ",".join(rng.permutation(FLOAT_PASSES)))
        close(before, run_float(module, [x]))
