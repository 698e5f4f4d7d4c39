"""Property tests of the spin simulator on random small MLPs (seeded generator).

Oracles:
* bit-exactness: an independent composition of the reference functions
  (backends/sim/reference.py): ranges from the float executor's activations,
  activation_quant_params, quantize_weights_per_channel, choose_layer_adc_shifts,
  requant_multiplier, linear_reference.  No value is read back from the
  compiled IR.
* error bound: derived from the scales, checked against the float result.
* monotonicity: more ADC / weight bits never raise the mean error.
"""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp
from xdsl.ir import Block, Region

from spintron_nn.backends.float_exec import run_float
from spintron_nn.backends.sim import reference as ref
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.ir import nn
from spintron_nn.ir.weights import WeightBlob
from spintron_nn.passes.flows import quantize_and_lower


def build_mlp(layers, in_features: int) -> ModuleOp:
    """``nn`` graph of Gemm(+fused ReLU) layers; ``layers`` = [(W [K, N], b [N], relu)]."""
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, in_features])])
    value = block.args[0]
    for index, (w, b, relu) in enumerate(layers):
        w_const = nn.ConstantOp(WeightBlob(f"fc{index}.w", w.astype(np.float32)))
        b_const = nn.ConstantOp(WeightBlob(f"fc{index}.b", b.astype(np.float32)))
        gemm = nn.GemmOp(value, w_const.output, b_const.output, clamp_min=0.0 if relu else None)
        block.add_ops([w_const, b_const, gemm])
        value = gemm.output
    block.add_op(func.ReturnOp(value))
    signature = FunctionType.from_lists([block.args[0].type], [value.type])
    return ModuleOp([func.FuncOp("main", signature, Region(block))])


def random_mlp(rng: np.random.Generator):
    sizes = [int(rng.integers(5, 70)) for _ in range(int(rng.integers(2, 5)))]
    layers = []
    for k, n in zip(sizes, sizes[1:]):
        w = rng.normal(0, 1 / np.sqrt(k), (k, n))
        layers.append((w, rng.normal(0, 0.2, n), bool(rng.integers(0, 2))))
    return layers, sizes[0]


def random_config(rng: np.random.Generator) -> dict:
    adc_bits = [None, 2, 4, 6, 9][int(rng.integers(0, 5))]
    return dict(
        weight_bits=int(rng.integers(2, 9)), activation_bits=int(rng.integers(2, 9)),
        cell_bits=int(rng.integers(1, 5)), adc_bits=adc_bits,
        rows=int(rng.choice([16, 24, 40])), cols=int(rng.choice([16, 20, 33])),
    )


def float_activations(module: ModuleOp, x: np.ndarray) -> list[np.ndarray]:
    """The input and every Gemm's output, from the float executor (the float oracle)."""
    seen = [x]
    run_float(module, [x], observer=lambda op, results: seen.append(results[0]) if op.name == "nn.gemm" else None)
    return seen


def reference_mlp(layers, in_features, calibration, x, config, noise=None):
    """The compiler's recipe composed from reference functions; returns float32 outputs.

    Activation ranges come from the float activations; each layer's ADC shifts
    from the codes the quantized network produces on the calibration set
    (docs/semantics.md section 5; fewer than 128 calibration rows, all used)."""
    bits, weight_bits = config["activation_bits"], config["weight_bits"]
    tiles = dict(weight_bits=weight_bits, cell_bits=config["cell_bits"], input_bits=bits,
                 adc_bits=config["adc_bits"], rows_per_tile=config["rows"], cols_per_tile=config["cols"])
    acts = float_activations(build_mlp(layers, in_features), calibration)
    params = [ref.activation_quant_params(float(a.min()), float(a.max()), bits) for a in acts]
    q = ref.quantize_activations(x, *params[0], bits)
    q_calibration = ref.quantize_activations(calibration, *params[0], bits)
    tile_offset = 0
    for index, (w, b, relu) in enumerate(layers):
        (s_in, zp_in), (s_out, zp_out) = params[index], params[index + 1]
        w_int, s_w = ref.quantize_weights_per_channel(w, weight_bits, axis=1)
        requant = [ref.requant_multiplier(s_in * s / s_out) for s in s_w]
        qmin, qmax = ref.fused_clamp_bounds(0.0 if relu else None, None, s_out, zp_out, bits)
        layer = dict(
            tiles, adc_shifts=ref.choose_layer_adc_shifts(q_calibration, w_int, **tiles), x_zero_point=zp_in,
            bias=np.rint(b / (s_in * s_w)).astype(np.int64), out_zero_point=zp_out, qmin=qmin, qmax=qmax,
            multiplier=np.array([m for m, _ in requant]), shift=np.array([s for _, s in requant]),
        )
        layer_noise = None if noise is None else ref.NoiseSpec(**{**noise.__dict__, "tile_id": tile_offset})
        q = ref.linear_reference(q, w_int, **layer, noise=layer_noise)
        q_calibration = ref.linear_reference(q_calibration, w_int, **layer)
        tile_offset += len(ref.tile_grid(*w_int.shape, config["rows"], config["cols"]))
    return ref.dequantize(q, *params[-1]).astype(np.float32)


def compile_mlp(layers, in_features, calibration, config):
    return quantize_and_lower(build_mlp(layers, in_features), [calibration], **config)


def make_case(seed: int):
    rng = np.random.default_rng(seed)
    layers, in_features = random_mlp(rng)
    calibration = rng.normal(0, 1, (48, in_features)).astype(np.float32)
    x = rng.normal(0, 1.2, (40, in_features)).astype(np.float32)  # wider than calibration: clipping too
    return layers, in_features, calibration, x, random_config(rng)


@pytest.mark.parametrize("seed", range(12))
def test_simulator_equals_reference_composition(seed):
    layers, in_features, calibration, x, config = make_case(seed)
    design = compile_mlp(layers, in_features, calibration, config)
    expected = reference_mlp(layers, in_features, calibration, x, config)
    (actual,) = run_spin(design, [x])
    assert actual.dtype == np.float32
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("seed", range(3))
def test_simulator_with_noise_equals_reference_and_is_reproducible(seed):
    layers, in_features, calibration, x, config = make_case(100 + seed)
    noise = ref.NoiseSpec(conductance_variation=0.05, read_noise=0.3, stuck_at_zero=0.01, stuck_at_one=0.01)
    design = compile_mlp(layers, in_features, calibration, config)
    expected = reference_mlp(layers, in_features, calibration, x,
                             config, noise=ref.NoiseSpec(**{**noise.__dict__, "seed": 7}))
    first = run_spin(design, [x], noise=noise, seed=7)[0]
    again = run_spin(design, [x], noise=noise, seed=7)[0]
    other_seed = run_spin(design, [x], noise=noise, seed=8)[0]
    np.testing.assert_array_equal(first, expected)
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other_seed.tobytes()
    exact = run_spin(design, [x])[0]
    np.testing.assert_array_equal(run_spin(design, [x], noise=ref.NoiseSpec(), seed=7)[0], exact)


@pytest.mark.parametrize("seed", range(6))
def test_single_layer_error_within_bound_from_scales(seed):
    """Ideal ADC, inputs inside the calibrated range (no clipping): per output,
    |y_sim - y| <= s_x/2 sum|w| + s_w/2 sum|x^| + s_x s_w/2 + s_y/2 (+ 1e-6 relative slack
    for the 31-bit multiplier and float32)."""
    rng = np.random.default_rng(200 + seed)
    k, n = int(rng.integers(5, 90)), int(rng.integers(2, 40))
    w, b = rng.normal(0, 1 / np.sqrt(k), (k, n)), rng.normal(0, 0.2, n)
    calibration = rng.uniform(-1, 1, (64, k)).astype(np.float32)
    x = calibration[:32]
    bits = int(rng.integers(4, 9))
    config = dict(weight_bits=bits, activation_bits=bits, cell_bits=2, adc_bits=None, rows=32, cols=32)
    design = compile_mlp([(w, b, False)], k, calibration, config)
    (y_sim,) = run_spin(design, [x])
    y = x.astype(np.float64) @ w + b
    s_x, zp_x = ref.activation_quant_params(float(calibration.min()), float(calibration.max()), bits)
    y_cal = float_activations(build_mlp([(w, b, False)], k), calibration)[1]
    s_y, _ = ref.activation_quant_params(float(y_cal.min()), float(y_cal.max()), bits)
    _, s_w = ref.quantize_weights_per_channel(w, bits, axis=1)
    x_hat = ref.dequantize(ref.quantize_activations(x, s_x, zp_x, bits), s_x, zp_x)
    bound = (s_x / 2 * np.abs(w).sum(axis=0) + s_w / 2 * np.abs(x_hat).sum(axis=1, keepdims=True)
             + s_x * s_w / 2 + s_y / 2)
    error = np.abs(y_sim - y)
    assert np.all(error <= bound * (1 + 1e-6) + 1e-6), float(np.max(error - bound))
    assert error.max() > 0  # the test would not notice a float pass-through


def mean_error(seeds, **config) -> float:
    errors = []
    for seed in seeds:
        rng = np.random.default_rng(300 + seed)
        layers, in_features = random_mlp(rng)
        calibration = rng.normal(0, 1, (64, in_features)).astype(np.float32)
        x = rng.normal(0, 1, (64, in_features)).astype(np.float32)
        full = dict(weight_bits=8, activation_bits=8, cell_bits=2, adc_bits=None, rows=32, cols=32) | config
        (y_sim,) = run_spin(compile_mlp(layers, in_features, calibration, full), [x])
        (y,) = run_float(build_mlp(layers, in_features), [x])
        errors.append(np.mean(np.abs(y_sim - y)) / (np.mean(np.abs(y)) + 1e-12))
    return float(np.mean(errors))


def test_more_adc_bits_never_worse_on_average():
    errors = [mean_error(range(4), adc_bits=bits) for bits in (2, 3, 4, 6, 8, None)]
    assert all(later <= earlier for earlier, later in zip(errors, errors[1:])), errors
    assert errors[0] > 2 * errors[-1], errors  # the ADC width must matter


def test_more_weight_bits_never_worse_on_average():
    errors = [mean_error(range(4), weight_bits=bits) for bits in (2, 3, 4, 6, 8)]
    assert all(later <= earlier for earlier, later in zip(errors, errors[1:])), errors
    assert errors[0] > 2 * errors[-1], errors
