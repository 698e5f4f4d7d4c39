"""The digital spin ops, end to end through the compiler, against numpy oracles.

Each case is a one-op float graph compiled with quantize_and_lower; the test
computes the quantization parameters itself (activation_quant_params on the
calibration ranges) and the expected codes with plain numpy on the quantized
input, independent of backends/sim/digital.py and the executor.
"""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp
from xdsl.ir import Block, Region

from spintron_nn.backends.sim import reference as ref
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.ir import nn
from spintron_nn.ir.weights import WeightBlob
from spintron_nn.passes.flows import quantize_and_lower

BITS = 8


def one_op_graph(make, *input_shapes) -> ModuleOp:
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, *s]) for s in input_shapes])
    ops = make(*block.args)
    ops = ops if isinstance(ops, list) else [ops]
    block.add_ops(ops)
    outs = [r for op in ops[-1:] for r in op.results]
    block.add_op(func.ReturnOp(*outs))
    signature = FunctionType.from_lists([a.type for a in block.args], [o.type for o in outs])
    return ModuleOp([func.FuncOp("main", signature, Region(block))])


def params(array) -> tuple[float, int]:
    return ref.activation_quant_params(float(np.min(array)), float(np.max(array)), BITS)


def codes(x, scale_zp):
    return ref.quantize_activations(x, *scale_zp, BITS)


def compile_and_run(module, calibration, inputs):
    design = quantize_and_lower(module, calibration, adc_bits=None, rows=16, cols=16)
    return run_spin(design, inputs)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 3, 6, 7)).astype(np.float32)


def test_max_pool_is_the_max_of_the_codes(images):
    out = compile_and_run(one_op_graph(lambda x: nn.MaxPoolOp(x, kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1]),
                                       (3, 6, 7)), [images], [images])[0]
    p = params(images)
    q = np.pad(codes(images, p), ((0, 0), (0, 0), (1, 1), (0, 1)), constant_values=-1)
    expected = np.array([[[[q[b, c, 2 * i:2 * i + 3, 2 * j:2 * j + 2].max() for j in range(out.shape[3])]
                           for i in range(out.shape[2])] for c in range(3)] for b in range(16)])
    np.testing.assert_array_equal(out, ref.dequantize(expected, *p).astype(np.float32))


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_avg_pool_is_the_mean_of_the_codes_rounded_half_up(images, count_include_pad):
    module = one_op_graph(lambda x: nn.AveragePoolOp(x, kernel_shape=[2, 3], strides=[1, 2], pads=[1, 1, 0, 1],
                                                     count_include_pad=count_include_pad), (3, 6, 7))
    out = compile_and_run(module, [images], [images])[0]
    p = params(images)
    q = codes(images, p).astype(np.float64)
    padded = np.pad(q, ((0, 0), (0, 0), (1, 0), (1, 1)), constant_values=np.nan)
    expected = np.empty(out.shape)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = padded[:, :, i:i + 2, 2 * j:2 * j + 3].reshape(16, 3, -1)
            if count_include_pad:
                mean = np.nan_to_num(window, nan=p[1]).mean(axis=2)
            else:
                mean = np.nanmean(window, axis=2)
            expected[:, :, i, j] = np.floor(mean + 0.5)
    np.testing.assert_array_equal(out, ref.dequantize(expected.astype(np.int64), *p).astype(np.float32))


def test_global_average_pool_then_flatten(images):
    module = one_op_graph(lambda x: [pool := nn.GlobalAveragePoolOp(x), nn.FlattenOp(pool.output, axis=1)], (3, 6, 7))
    out = compile_and_run(module, [images], [images])[0]
    p = params(images)
    expected = np.floor(codes(images, p).mean(axis=(2, 3)) + 0.5).astype(np.int64)
    np.testing.assert_array_equal(out, ref.dequantize(expected, *p).astype(np.float32))


@pytest.mark.parametrize("op, function", [(nn.SigmoidOp, lambda v: 1 / (1 + np.exp(-v))), (nn.TanhOp, np.tanh)])
def test_sigmoid_and_tanh_tables_equal_the_function_on_dequantized_codes(images, op, function):
    out = compile_and_run(one_op_graph(lambda x: op(x), (3, 6, 7)), [images], [images])[0]
    p_in = params(images)
    # The output scale comes from the float executor's range, which may differ
    # from this numpy function in the last float32 bit: compare codes.
    p_out = params(function(images.astype(np.float64)))
    expected = codes(function(ref.dequantize(codes(images, p_in), *p_in)), p_out)
    np.testing.assert_array_equal(np.rint(out / p_out[0]) + p_out[1], expected)


def test_softmax_and_argmax():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (32, 10)).astype(np.float32)
    module = one_op_graph(lambda v: [nn.SoftmaxOp(v, axis=1)], (10,))
    probabilities = compile_and_run(module, [x], [x])[0]
    p_in = params(x)
    real = ref.dequantize(codes(x, p_in), *p_in)
    exact = np.exp(real - real.max(axis=1, keepdims=True))
    exact /= exact.sum(axis=1, keepdims=True)
    floats = np.exp(x - x.max(axis=1, keepdims=True))
    p_out = params(floats / floats.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(probabilities, ref.dequantize(codes(exact, p_out), *p_out).astype(np.float32))
    (indices,) = compile_and_run(one_op_graph(lambda v: nn.ArgMaxOp(v, axis=1, keepdims=0), (10,)), [x], [x])
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, np.argmax(codes(x, p_in), axis=1))


def test_residual_add_within_one_code_of_the_exact_sum():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, (64, 12)).astype(np.float32), rng.normal(1, 3, (64, 12)).astype(np.float32)
    out = compile_and_run(one_op_graph(lambda x, y: nn.AddOp(x, y), (12,), (12,)), [a, b], [a, b])[0]
    pa, pb, po = params(a), params(b), params(a + b)
    exact = ref.dequantize(codes(a, pa), *pa) + ref.dequantize(codes(b, pb), *pb)
    expected_codes = np.clip(np.rint(exact / po[0]) + po[1], 0, 255)
    out_codes = np.rint(out / po[0]) + po[1]
    assert np.max(np.abs(out_codes - expected_codes)) <= 1
    assert np.mean(out_codes == expected_codes) > 0.95


def test_concat_rescales_inputs_to_the_output_quantization():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 1, (32, 2, 3, 3)).astype(np.float32), rng.uniform(-4, 4, (32, 3, 3, 3)).astype(np.float32)
    module = one_op_graph(lambda x, y: nn.ConcatOp([x, y], axis=1), (2, 3, 3), (3, 3, 3))
    out = compile_and_run(module, [a, b], [a, b])[0]
    pa, pb = params(a), params(b)
    po = params(np.concatenate([a, b], axis=1))
    exact = np.concatenate([ref.dequantize(codes(a, pa), *pa), ref.dequantize(codes(b, pb), *pb)], axis=1)
    out_codes = np.rint(out / po[0]) + po[1]
    assert np.max(np.abs(out_codes - codes(exact, po))) <= 1


def test_transpose_and_reshape_move_codes_only(images):
    module = one_op_graph(lambda x: [t := nn.TransposeOp(x, perm=[0, 2, 3, 1]), nn.ReshapeOp(t.output, shape=[-1, 126])],
                          (3, 6, 7))
    out = compile_and_run(module, [images], [images])[0]
    p = params(images)
    expected = ref.dequantize(codes(images, p), *p).astype(np.float32).transpose(0, 2, 3, 1).reshape(16, 126)
    np.testing.assert_array_equal(out, expected)


def constant(key, array):
    return nn.ConstantOp(WeightBlob(key, np.asarray(array, np.float32)))


MEAN = np.array([0.5, -0.2, 0.1], np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.9, 1.3, 0.7], np.float32).reshape(3, 1, 1)


@pytest.mark.parametrize("case", ["leaky_relu", "sub_per_channel", "div_per_channel", "mul_scalar", "scalar_minus_x",
                                  "batch_norm"])
def test_per_tensor_and_per_channel_luts_equal_the_function_on_dequantized_codes(images, case):
    """Unary functions and arithmetic with constants become (per-channel) LUTs:
    exact on the input codes, so the codes equal the numpy function's."""
    bn = [np.array(v, np.float32) for v in ([1.5, 0.5, 2.0], [0.1, -0.3, 0.0], [0.2, 0.0, -0.5], [0.5, 2.0, 1.0])]
    builders = {
        "leaky_relu": (lambda x: nn.LeakyReluOp(x, alpha=0.1), lambda v: np.where(v >= 0, v, 0.1 * v)),
        "sub_per_channel": (lambda x: [c := constant("mean", MEAN), nn.SubOp(x, c.output)], lambda v: v - MEAN),
        "div_per_channel": (lambda x: [c := constant("std", STD), nn.DivOp(x, c.output)], lambda v: v / STD),
        "mul_scalar": (lambda x: [c := constant("k", [2.5]), nn.MulOp(c.output, x)], lambda v: 2.5 * v),
        "scalar_minus_x": (lambda x: [c := constant("k", 1.0), nn.SubOp(c.output, x)], lambda v: 1.0 - v),
        "batch_norm": (
            lambda x: [s := constant("s", bn[0]), b := constant("b", bn[1]), m := constant("m", bn[2]),
                       v := constant("v", bn[3]), nn.BatchNormalizationOp(x, s.output, b.output, m.output, v.output)],
            lambda v: (v - bn[2].reshape(1, 3, 1, 1)) * (bn[0] / np.sqrt(bn[3] + 1e-5)).reshape(1, 3, 1, 1)
            + bn[1].reshape(1, 3, 1, 1)),
    }
    make, function = builders[case]
    out = compile_and_run(one_op_graph(make, (3, 6, 7)), [images], [images])[0]
    p_in = params(images)
    p_out = params(function(images.astype(np.float64)))
    expected = codes(function(ref.dequantize(codes(images, p_in), *p_in)), p_out)
    assert np.max(np.abs((np.rint(out / p_out[0]) + p_out[1]) - expected)) <= 1
    assert np.mean(np.rint(out / p_out[0]) + p_out[1] == expected) > 0.99  # differences: float32 range ulps


def test_reduce_mean_over_space_and_log_softmax():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 4, 3, 5)).astype(np.float32)
    module = one_op_graph(lambda v: nn.ReduceMeanOp(v, axes=[2, 3], keepdims=0), (4, 3, 5))
    out = compile_and_run(module, [x], [x])[0]
    p = params(x)
    expected = np.floor(codes(x, p).mean(axis=(2, 3)) + 0.5).astype(np.int64)
    np.testing.assert_array_equal(out, ref.dequantize(expected, *p).astype(np.float32))
    logits = rng.normal(0, 2, (32, 10)).astype(np.float32)
    out = compile_and_run(one_op_graph(lambda v: nn.LogSoftmaxOp(v, axis=1), (10,)), [logits], [logits])[0]
    p_in = params(logits)
    real = ref.dequantize(codes(logits, p_in), *p_in)
    shifted = real - real.max(axis=1, keepdims=True)
    exact = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    floats = logits - logits.max(axis=1, keepdims=True)
    p_out = params(floats - np.log(np.exp(floats).sum(axis=1, keepdims=True)))
    assert np.max(np.abs((np.rint(out / p_out[0]) + p_out[1]) - codes(exact, p_out))) <= 1


@pytest.mark.parametrize("op", [nn.MulOp, nn.SubOp])
def test_product_and_difference_of_two_activations_within_one_code(op):
    """SE gating / SiLU multiply two activations (broadcasting [B, C, H, W] by
    [B, C, 1, 1]); Sub of two activations is an add with a negated multiplier."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=(32, 3, 4, 4)).astype(np.float32)
    b = rng.uniform(0, 1, (32, 3, 1, 1) if op is nn.MulOp else (32, 3, 4, 4)).astype(np.float32)
    function = np.multiply if op is nn.MulOp else np.subtract
    module = one_op_graph(lambda x, y: op(x, y), (3, 4, 4), b.shape[1:])
    out = compile_and_run(module, [a, b], [a, b])[0]
    pa, pb, po = params(a), params(b), params(function(a, b))
    exact = function(ref.dequantize(codes(a, pa), *pa), ref.dequantize(codes(b, pb), *pb))
    out_codes = np.rint(out / po[0]) + po[1]
    assert np.max(np.abs(out_codes - codes(exact, po))) <= 1
    assert np.mean(out_codes == codes(exact, po)) > 0.95
