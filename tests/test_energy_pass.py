"""estimate-energy on real lowered networks: the digits MLP and a small CNN."""

from __future__ import annotations

import numpy as np
import pytest

from spintron_nn.devices.cells import make_cell
from spintron_nn.energy.params import load_parameters
from spintron_nn.errors import SpintronError
from spintron_nn.frontend import load_model
from spintron_nn.ir import spin
from spintron_nn.passes.estimate_energy import estimate_module
from spintron_nn.passes.flows import quantize_and_lower
from spintron_nn.passes.pipeline import run_pipeline

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"


def _lowered_mlp(**options):
    module = load_model(str(EXAMPLES / "digits_mlp.onnx"))
    return quantize_and_lower(module, [np.load(EXAMPLES / "digits_calibration.npy")], **options)


@pytest.fixture(scope="module")
def mlp():
    return _lowered_mlp()


def _tiles(module):
    return [op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)]


def test_mlp_report_counts_the_network(mlp):
    report = estimate_module(mlp)
    total = report["spintronic"]["total"]
    assert total["macs"] == 64 * 48 + 48 * 10  # the 64-48-10 MLP, batch 1
    assert report["cmos"]["total"]["macs"] == total["macs"]
    assert 0.05 <= total["pj_per_mac"] <= 20.0
    assert total["tops_per_w"] == pytest.approx(2.0 / total["pj_per_mac"])
    layer_sum = sum(layer["energy_j"]["total"] for layer in report["spintronic"]["layers"])
    assert total["energy_j"]["total"] == pytest.approx(layer_sum)
    assert total["programming_energy_j"] > 0  # reported, not in the inference total
    assert {layer["name"] for layer in report["spintronic"]["layers"] if layer["macs"]} == {"layer0", "layer1"}
    assert report["parameters"]["mtj.r_parallel"]["unit"] == "ohm"


def test_pass_annotates_ops_and_module(mlp):
    run_pipeline(mlp, "estimate-energy")  # verifies the IR afterwards
    for tile in _tiles(mlp):
        cost = tile.attributes["spin.cost"]
        rows, cols = spin.get_int(tile, "rows"), spin.get_int(tile, "cols")
        assert cost.data["macs"].value.data == rows * cols
        assert cost.data["energy_pj"].value.data > 0
    assert mlp.attributes["spin.cost_total"].data["macs"].value.data == 3552


def test_cell_read_energy_follows_the_programmed_levels(mlp):
    """V^2 * t per driven cell over the real levels, with the conductances
    taken from the device model (devices/cells.py), not from the cost model."""
    cell = make_cell("dw", 4)  # 2-bit cells of the lowered MLP
    table = load_parameters()
    volts, read_time = table.value("read.v_read"), table.value("crossbar.read_time")
    g_max = 1.0 / cell.mtj.r_parallel
    g_min = 1.0 / float(cell.mtj.r_antiparallel(volts))
    expected = 0.0
    for tile in _tiles(mlp):
        levels = np.concatenate([tile.levels_pos.array.ravel(), tile.levels_neg.array.ravel()]).astype(float)
        conductance = np.sum(g_min + levels * (g_max - g_min) / 3)
        expected += 0.5 * spin.get_int(tile, "input_bits") * volts**2 * conductance * read_time
    report = estimate_module(mlp, table)
    modelled = sum(layer["energy_j"]["cell_read"] for layer in report["spintronic"]["layers"])
    assert modelled == pytest.approx(expected, rel=1e-9)


def test_higher_adc_resolution_costs_more(mlp):
    low = estimate_module(_lowered_mlp(adc_bits=4))["spintronic"]["total"]["energy_j"]["adc"]
    high = estimate_module(_lowered_mlp(adc_bits=8))["spintronic"]["total"]["energy_j"]["adc"]
    assert high == pytest.approx(16 * low)  # same conversions, 2^4 the energy


def test_conv_layers_count_output_pixels():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(36, 10)
    )
    module = load_model(net, example_input=torch.rand(1, 1, 8, 8))
    quantize_and_lower(module, [np.random.default_rng(0).random((8, 1, 8, 8)).astype(np.float32)])
    layers = {l["name"]: l for l in estimate_module(module)["spintronic"]["layers"]}
    macs = sorted(l["macs"] for l in layers.values() if l["macs"])
    assert macs == [36 * 10, 4 * 9 * 36]  # fc, and conv: 4 filters x 3x3 x 6x6 output pixels
    conv = next(l for l in layers.values() if l["macs"] == 4 * 9 * 36)
    # 36 pixels x 8 input bits, one 10 ns read each (9 columns: the ADC is never the limit)
    assert conv["latency_s"] >= 36 * 8 * 10e-9
    assert any(name.startswith("max_pool") for name in layers)


def test_bad_cell_type_is_a_user_error(mlp):
    with pytest.raises(SpintronError, match="unknown cell type"):
        estimate_module(mlp, cell_type="rram")
    with pytest.raises(SpintronError, match="sot cells are binary"):
        estimate_module(mlp, cell_type="sot")  # the MLP uses 2-bit cells


def test_row_tiles_are_merged_by_shift_add():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(200, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))
    module = load_model(net, example_input=torch.rand(1, 200))
    quantize_and_lower(module, [np.random.default_rng(0).random((16, 200)).astype(np.float32)], rows=64, cols=16)
    layer = estimate_module(module)["spintronic"]["layers"]
    first = next(l for l in layer if l["macs"] == 200 * 30)
    add = 0.1e-12 * 32 / 45  # Horowitz 32-bit add at the 32 nm design node
    # 200 rows on 64-row arrays: 4 row tiles x (16 + 14) columns, 8 bits x 4 slices (2-bit cells)
    conversions = 4 * (16 + 14) * 8 * 4
    merges = 3 * 16 + 3 * 14  # 3 adds per output to merge 4 row tiles
    assert first["energy_j"]["shift_add"] == pytest.approx((conversions + merges) * add)


def test_pass_option_overrides_equal_a_compile_with_the_same_values(mlp, tmp_path):
    """estimate-energy / schedule run alone take name=value overrides after their TOML
    file, as a compile applies --mtj-config then parameter_overrides."""
    import copy

    (tmp_path / "cfg.toml").write_text("[mtj]\nr_parallel = 6.0e3\n")
    values = {"crossbar.input_one_fraction": 0.3, "row_driver.energy_per_activation": 2e-15}
    table = load_parameters(tmp_path / "cfg.toml").with_values(values)
    expected = estimate_module(copy.deepcopy(mlp), table)["spintronic"]["total"]["energy_j"]["total"]
    shipped = estimate_module(copy.deepcopy(mlp))["spintronic"]["total"]["energy_j"]["total"]
    module = copy.deepcopy(mlp)
    text = ",".join(f"{k}={v}" for k, v in values.items())
    run_pipeline(module, f'estimate-energy{{mtj-config="{tmp_path / "cfg.toml"}" parameters="{text}"}}')
    got = module.attributes["spin.cost_total"].data["energy_pj"].value.data * 1e-12
    assert got == pytest.approx(expected, rel=1e-9) and got != pytest.approx(shipped, rel=1e-3)
    run_pipeline(copy.deepcopy(mlp), 'schedule{parameters="digital.fp32_fma_latency=6"}')
    for bad, message in (("crossbar.input_one_fraction", "expected name=value"),
                         ("crossbar.input_one_fraction=x", "not a number"),
                         ("crossbar.nope=1", "unknown parameter 'crossbar.nope'")):
        with pytest.raises(SpintronError, match=message):
            run_pipeline(copy.deepcopy(mlp), f'estimate-energy{{parameters="{bad}"}}')


def _compiled_graph(nodes, inputs, outputs, weights, calibration):
    import onnx
    from onnx import helper

    graph = helper.make_graph(nodes, "g", inputs, outputs, weights)
    module = load_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    return quantize_and_lower(module, [calibration])


def test_code_products_and_float_unit_matmuls_are_priced():
    """Found by a user walkthrough: spin.mul (SiLU's g * sigmoid(g)) cost nothing, and a
    MatMul of two runtime tensors (float unit) had its work priced but no MACs counted."""
    from onnx import TensorProto, helper, numpy_helper

    from spintron_nn.energy.cost_model import unit_costs

    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32), "w")
    silu = _compiled_graph(
        [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1), helper.make_node("Sigmoid", ["g"], ["s"]),
         helper.make_node("Mul", ["g", "s"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])], [w],
        rng.standard_normal((32, 16)).astype(np.float32))
    units = unit_costs(load_parameters())
    mul = next(layer for layer in estimate_module(silu)["spintronic"]["layers"] if layer["name"].startswith("mul"))
    # 8 outputs: two 8-bit zero-point subtractions, two 32-bit multiplies, two 32-bit adds each
    assert mul["energy_j"]["digital"] == pytest.approx(8 * 2 * (units.add8_energy + units.mult32_energy
                                                                 + units.add32_energy))
    assert mul["energy_j"]["buffer"] > 0

    w = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "w")
    gram = _compiled_graph(
        [helper.make_node("MatMul", ["x", "w"], ["g"]), helper.make_node("Transpose", ["g"], ["t"], perm=[0, 2, 1]),
         helper.make_node("MatMul", ["g", "t"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 4])], [w],
        rng.standard_normal((32, 4, 16)).astype(np.float32))
    report = estimate_module(gram)
    float_matmul = next(l for l in report["spintronic"]["layers"] if l["name"].startswith("nn.matmul"))
    assert float_matmul["macs"] == 4 * 4 * 8  # [4, 8] x [8, 4] per item
    assert report["spintronic"]["total"]["macs"] == 4 * 16 * 8 + 4 * 4 * 8
