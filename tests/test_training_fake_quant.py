"""FakeQuantNetwork's forward equals the compiled design's simulator result.

Oracle: ``compile_model`` (ONNX export -> frontend -> passes) then
``Design.run(backend="sim")``, i.e. ``run_spin`` over the spin dialect; the
fake-quantized network only borrows the compiler's ranges and ADC shifts.
Random seeded layers, crossbars small enough to cut the matrices into
several row and column tiles, ADCs small enough to shift and saturate.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.steps import MatrixStep
from spintron_nn.training.threads import single_torch_thread


@pytest.fixture(autouse=True)
def one_thread():
    with single_torch_thread():
        yield


def _mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(70, 40), nn.ReLU(), nn.Dropout(0.1), nn.Linear(40, 24), nn.ReLU6(), nn.Linear(24, 7))


def _cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 12, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(12, 20, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Sequential(nn.Conv2d(20, 24, 2), nn.ReLU()), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 5))


CASES = [
    # outputs as wide as the activations (output_bits=None; the default is 8-bit outputs)
    (_mlp, (70,), CompileConfig(weight_bits=4, activation_bits=4, output_bits=None, rows=32, cols=16, adc_bits=4)),
    (_mlp, (70,), CompileConfig(weight_bits=8, activation_bits=8, cell_bits=2, rows=64, cols=32, adc_bits=6)),
    (_mlp, (70,), CompileConfig(weight_bits=3, activation_bits=2, cell_bits=1, rows=16, cols=16, adc_bits=3)),
    (_cnn, (3, 16, 16), CompileConfig(weight_bits=4, activation_bits=4, output_bits=None, rows=64, cols=16,
                                      adc_bits=4)),
    (_cnn, (3, 16, 16), CompileConfig(weight_bits=6, activation_bits=5, cell_bits=3, rows=128, cols=128, adc_bits=5)),
    # wider network outputs than activations (the last Linear's requant only)
    (_mlp, (70,), CompileConfig(weight_bits=4, activation_bits=4, output_bits=8, rows=32, cols=16, adc_bits=4)),
    (_cnn, (3, 16, 16), CompileConfig(weight_bits=4, activation_bits=3, output_bits=6, rows=64, cols=16, adc_bits=4)),
    # per-layer weight widths: wider and narrower than the rest, more and fewer cell slices
    (_mlp, (70,), CompileConfig(weight_bits=3, activation_bits=4, layer_weight_bits={"layer0": 8, "layer2": 6},
                                rows=32, cols=16, adc_bits=4)),
    (_cnn, (3, 16, 16), CompileConfig(weight_bits=4, activation_bits=4, layer_weight_bits={"layer0": 7, "layer3": 2},
                                      rows=64, cols=16, adc_bits=4)),
]
MIXED_WIDTHS = (7, 8)  # the cases with per-layer weight widths


def _data(shape, seed, count=24):
    # clipped like standardised features: values exactly at the range ends make
    # x / scale land near .5 ties, where float32 and float64 division disagree
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal((count,) + shape), -1.5, 1.5).astype(np.float32)


def _compiled_and_fake(build, shape, config, seed):
    model = build(seed).eval()
    calibration, x = _data(shape, seed), _data(shape, seed + 100)
    design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    return design, net, x


def _assert_same_dequantized(fake, simulated):
    # identical codes; only the float32 rounding of the final dequantization may differ
    scale = max(float(np.abs(simulated).max()), 1e-30)
    np.testing.assert_allclose(fake, simulated, rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 1])
def test_forward_equals_simulator(case, seed):
    build, shape, config = CASES[case]
    design, net, x = _compiled_and_fake(build, shape, config, seed)
    simulated = design.run(x, backend="sim")[0]
    _assert_same_dequantized(net.predict(x), simulated)
    assert len(np.unique(simulated)) > 3  # not a degenerate all-clamped output
    if (config.output_bits or 0) > config.activation_bits:  # the outputs really use the wider codes
        assert len(np.unique(simulated)) > 2**config.activation_bits


def test_cases_exercise_the_adc_shift_and_tiling():
    shifts, grids = [], []
    for build, shape, config in CASES:
        _, net, _ = _compiled_and_fake(build, shape, config, 0)
        for step in net.steps:
            if isinstance(step, MatrixStep):
                rows, cols, _ = step.crossbar_shape((1,) + shape)
                grid = (-(-rows // config.rows), -(-cols // config.cols))
                assert len(net.hardware.adc_shifts[step.index]) == grid[0] * grid[1]  # one shift per grid tile
                shifts.append(net.hardware.adc_shifts[step.index])
                grids.append(grid)
    assert any(s.max() > 0 for s in shifts), "no tile used a non-zero ADC shift"
    assert any(g[0] > 1 for g in grids) and any(g[1] > 1 for g in grids)


@pytest.mark.parametrize("verified", [False, True])
@pytest.mark.parametrize("case", [0, 3, *MIXED_WIDTHS])
def test_device_noise_is_the_simulators(case, verified):
    build, shape, config = CASES[case]
    design, net, x = _compiled_and_fake(build, shape, config, 2)
    devices = dict(conductance_variation=0.15, stuck_at_zero=0.02, stuck_at_one=0.01)
    spec = NoiseSpec(verified_column_sums=verified, **devices)
    noisy = design.run(x, backend="sim", noise=spec, seed=11)[0]
    clean = design.run(x, backend="sim")[0]
    assert not np.array_equal(noisy, clean)
    if verified:  # the inputs' zero point is not 0: the digital term differs
        assert not np.array_equal(noisy, design.run(x, backend="sim", noise=NoiseSpec(**devices), seed=11)[0])
    net.noise = NoiseSpec(seed=11, verified_column_sums=verified, **devices)
    _assert_same_dequantized(net.predict(x), noisy)



@pytest.mark.parametrize("case", [0, 3])
def test_read_noise_over_many_chunks_is_the_simulators(case):
    """Read noise is drawn per read and numbered by sample: predict's chunks (and the simulator's)
    must number their samples from the start of the whole batch, whatever the chunk size."""
    build, shape, config = CASES[case]
    design, net, _ = _compiled_and_fake(build, shape, config, 3)
    x = _data(shape, 200, count=600)  # more than both chunk sizes (256)
    spec = NoiseSpec(read_noise=0.7, conductance_variation=0.1)
    simulated = design.run(x, backend="sim", noise=spec, seed=5)[0]
    net.noise = NoiseSpec(seed=5, read_noise=0.7, conductance_variation=0.1)
    _assert_same_dequantized(net.predict(x), simulated)
    _assert_same_dequantized(net.predict(x, batch_size=97), simulated)
    assert net.noise.sample_offset == 0  # predict leaves the spec as it was


def test_gradients_reach_every_parameter():
    build, shape, config = CASES[3]
    _, net, x = _compiled_and_fake(build, shape, config, 0)
    out = net(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(out, torch.arange(len(x)) % 5).backward()
    for name, p in net.model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_uncalibrated_and_unsupported_models_are_errors():
    with pytest.raises(SpintronError, match="calibrate"):
        FakeQuantNetwork(_mlp(0))(torch.zeros(1, 70))
    with pytest.raises(SpintronError, match="Sigmoid"):
        FakeQuantNetwork(nn.Sequential(nn.Linear(4, 4), nn.Sigmoid()))
    with pytest.raises(SpintronError, match="zero padding"):  # (grouped convs are supported now)
        FakeQuantNetwork(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular")))


@pytest.mark.parametrize("layer, shape", [(lambda: nn.Linear(12, 5), (12,)), (lambda: nn.Conv2d(2, 4, 3), (2, 8, 8))])
def test_a_bare_layer_is_a_network(layer, shape):
    # torch.fx traces into a root module's own forward; a lone Linear/Conv2d must still be one layer
    design, net, x = _compiled_and_fake(lambda seed: (torch.manual_seed(seed), layer())[1], shape,
                                        CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16), 0)
    _assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])
