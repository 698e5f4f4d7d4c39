"""Per-layer weight widths (``CompileConfig.layer_weight_bits``, ``--layer-weight-bits``).

Oracles: a compile whose every matrix layer is overridden to width B must be
the compile at ``weight_bits=B`` (same tiles, same outputs); with one layer
overridden, that layer's tiles are the wide compile's and the others the
narrow compile's.  The RTL (Icarus) must match the simulator bit for bit on
a mixed-width design; fake quantization's match is in test_training_fake_quant.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig, check_layer_weight_bits, parse_layer_bits, precision_label
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.tools import spintron_opt, spintronc
from spintron_nn.training.threads import single_torch_thread


def _mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 5)).eval()


def _data(seed: int, count: int = 32) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).standard_normal((count, 20)), -2, 2).astype(np.float32)


def _compile(config: CompileConfig, seed: int = 0, model=None):
    calibration = _data(seed)
    with single_torch_thread():
        return compile_model(model or _mlp(seed), config, calibration,
                             example_input=torch.from_numpy(calibration[:1]))


def _tiles(design) -> dict[str, list[spin.CrossbarTileOp]]:
    found: dict[str, list] = {}
    for op in main_function(design.design_module).walk():
        if isinstance(op, spin.CrossbarTileOp):
            found.setdefault(op.layer.data, []).append(op)
    return found


def _levels(tile) -> tuple[np.ndarray, np.ndarray]:
    return tile.levels_pos.array, tile.levels_neg.array


def _layer_weights(design, cell_bits: int = 2) -> dict[str, list[np.ndarray]]:
    """Per layer, every tile's signed weight integers, rebuilt from its cell levels
    (``sum_s 2**(s*cell_bits) * (pos[s] - neg[s])``, semantics section 3)."""
    def weights(tile):
        pos, neg = (a.astype(np.int64) for a in _levels(tile))
        return sum(2 ** (s * cell_bits) * (pos[s] - neg[s]) for s in range(pos.shape[0]))

    return {layer: [weights(t) for t in tiles] for layer, tiles in _tiles(design).items()}


BASE = dict(activation_bits=6, rows=16, cols=16, adc_bits=5)


# ------------------------------------------------------------ the option itself


def test_parse_and_check():
    assert parse_layer_bits("layer0=8, layer3=6") == (("layer0", 8), ("layer3", 6))
    assert parse_layer_bits("") == ()
    assert check_layer_weight_bits({"layer2": 3, "layer1": 5}) == (("layer1", 5), ("layer2", 3))
    for text, words in (("layer0", "look like"), ("layer0=x", "look like"), ("=8", "look like"),
                        ("layer0=9", "2..8"), ("layer0=1", "2..8"), ("layer0=8,layer0=6", "more than once"),
                        ('la"yer=4', "not a layer name")):
        with pytest.raises(SpintronError, match=words):
            parse_layer_bits(text)


def test_config_round_trip_and_layer_view():
    config = CompileConfig(weight_bits=4, layer_weight_bits={"layer1": 8})
    assert CompileConfig.from_json(config.to_json()) == config
    assert config.for_layer("layer1").weight_bits == 8 and config.for_layer("layer1").layer_weight_bits == ()
    assert config.for_layer("layer0") is config
    assert CompileConfig.from_json({k: v for k, v in config.to_json().items() if k != "layer_weight_bits"}) \
        == CompileConfig(weight_bits=4)  # bundles from before the option
    assert precision_label(4, 4, 8, config.layer_weight_bits) == "W4A4 (layer1 W8, 8-bit outputs)"


# ------------------------------------------------------------ compiled designs


def test_every_layer_overridden_is_the_uniform_compile():
    x = _data(5)
    uniform = _compile(CompileConfig(weight_bits=7, **BASE))
    overridden = _compile(CompileConfig(weight_bits=3, layer_weight_bits={f"layer{i}": 7 for i in range(3)}, **BASE))
    np.testing.assert_array_equal(overridden.run(x, backend="sim")[0], uniform.run(x, backend="sim")[0])
    for layer, tiles in _tiles(uniform).items():
        for a, b in zip(tiles, _tiles(overridden)[layer], strict=True):
            for u, v in zip(_levels(a), _levels(b)):
                np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_layer_overridden_takes_the_wide_compiles_weights_there(seed):
    narrow = _layer_weights(_compile(CompileConfig(weight_bits=3, **BASE), seed))
    wide = _layer_weights(_compile(CompileConfig(weight_bits=8, **BASE), seed))
    mixed_design = _compile(CompileConfig(weight_bits=3, layer_weight_bits={"layer1": 8}, **BASE), seed)
    mixed = _layer_weights(mixed_design)
    for layer, reference in (("layer0", narrow), ("layer1", wide), ("layer2", narrow)):
        for a, b in zip(mixed[layer], reference[layer], strict=True):
            np.testing.assert_array_equal(a, b)
    # per-channel scales put every channel's largest weight at the top code of its width
    assert max(np.abs(w).max() for w in mixed["layer1"]) == 127
    assert max(np.abs(w).max() for w in mixed["layer0"]) == 3
    # 8-bit weights on 2-bit cells take 4 slices, 3-bit ones 1
    tiles = _tiles(mixed_design)
    assert {spin.get_int(t, "slices") for t in tiles["layer1"]} == {4}
    assert {spin.get_int(t, "slices") for t in tiles["layer0"]} == {1}


def test_wider_layer_costs_more_energy_in_the_report():
    from spintron_nn.backends.report.build import build_report

    narrow = build_report(_compile(CompileConfig(weight_bits=3, **BASE)))
    mixed = build_report(_compile(CompileConfig(weight_bits=3, layer_weight_bits={"layer1": 8}, **BASE)))

    def layer_energy(report, name):
        return next(layer["energy_j"]["total"] for layer in report["spintronic"]["layers"] if layer["name"] == name)

    assert layer_energy(mixed, "layer1") > layer_energy(narrow, "layer1")
    widths = {layer["name"]: layer.get("weight_bits") for layer in mixed["spintronic"]["layers"]}
    assert {name: widths[name] for name in ("layer0", "layer1", "layer2")} == {"layer0": 3, "layer1": 8, "layer2": 3}
    assert all(bits is None for name, bits in widths.items() if not name.startswith("layer"))
    assert layer_energy(mixed, "layer0") == pytest.approx(layer_energy(narrow, "layer0"), rel=1e-12)


def test_rtl_matches_the_simulator_on_mixed_widths(tmp_path):
    design = _compile(CompileConfig(weight_bits=3, layer_weight_bits={"layer0": 8, "layer2": 5},
                                    targets=("ir", "sim", "verilog", "report"), **BASE))
    x = _data(9, count=6)
    np.testing.assert_array_equal(design.run(x, backend="rtl", simulator="icarus")[0], design.run(x, backend="sim")[0])


def test_unknown_layer_is_an_error():
    with pytest.raises(SpintronError, match=r"layer7, which is not a matrix layer .*layer0, layer1, layer2"):
        _compile(CompileConfig(weight_bits=4, layer_weight_bits={"layer7": 8}, **BASE))


# ------------------------------------------------------------ CLI and pass text


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    from spintron_nn.training.export import export_onnx

    root = tmp_path_factory.mktemp("lwb")
    with single_torch_thread():
        export_onnx(_mlp(), root / "mlp.onnx", _data(0))
    np.save(root / "calib.npy", _data(0))
    return root


def test_cli_compile_and_report(onnx_model, capsys):
    out = onnx_model / "bundle"
    assert spintronc.main(["compile", str(onnx_model / "mlp.onnx"), "-o", str(out), "-q", "--weight-bits", "4",
                           "--layer-weight-bits", "layer0=8", "--calibration", str(onnx_model / "calib.npy")]) == 0
    capsys.readouterr()
    assert spintronc.main(["report", str(out)]) == 0
    assert "W4A8 (layer0 W8)" in capsys.readouterr().out


@pytest.mark.parametrize("flag, words", [("layer0=9", "weight bits of layer0 must be an integer in 2..8"),
                                         ("layer0", "must look like layer0=8"),
                                         ("layer5=8", "layer5, which is not a matrix layer")])
def test_cli_errors_write_nothing(onnx_model, capsys, flag, words):
    out = onnx_model / f"bad_{abs(hash(flag))}"
    assert spintronc.main(["compile", str(onnx_model / "mlp.onnx"), "-o", str(out), "-q",
                           "--layer-weight-bits", flag, "--calibration", str(onnx_model / "calib.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spintronc: error: ") and words in err[0]
    assert not out.exists()


def test_spintron_opt_pass_option(onnx_model, tmp_path, capsys):
    # the quantize pass alone records the widths; lower-to-spin applies them
    assert spintronc.main(["compile", str(onnx_model / "mlp.onnx"), "-o", str(tmp_path / "ir"), "-q",
                           "--targets", "ir"]) == 0
    capsys.readouterr()
    source = sorted((tmp_path / "ir").glob("*.mlir"))[0]
    with pytest.warns(UserWarning, match="synthetic"):  # calibrate without data: fine for widths
        assert spintron_opt.main([str(source), "-p",
                                  'calibrate,quantize{weight-bits=4 layer-weight-bits="layer2=6"},lower-to-spin',
                                  "-o", str(tmp_path / "out.mlir")]) == 0
    text = (tmp_path / "out.mlir").read_text()
    assert '"spin.layer_weight_bits" = {layer2 = 6 : i64}' in text or "layer2 = 6" in text
    widths = {line.split('layer = "')[1].split('"')[0]: line.split("weight_bits = ")[1].split(" ")[0]
              for line in text.splitlines() if "spin.crossbar_layer" in line}
    assert widths == {"layer0": "4", "layer1": "4", "layer2": "6"}


def test_mixed_precision_example_both_layers_wide_is_the_w8_design():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "mixed_precision.py"
    spec = importlib.util.spec_from_file_location("mixed_precision", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    test = np.load(path.parent / "digits_test.npz")
    calibration = np.load(path.parent / "digits_calibration.npy")
    rows = {(tuple(choice), bits): example.measure(2, choice, bits, 4, calibration, test["x"], test["y"])
            for choice, bits in example.CHOICES}
    uniform8 = example.measure(8, {}, None, 4, calibration, test["x"], test["y"])
    plain, first, both = rows[(), None], rows[("layer0",), None], rows[("layer0", "layer1"), None]
    assert both["accuracy"] == uniform8["accuracy"] and both["energy_j"] == uniform8["energy_j"]
    assert plain["energy_j"] < first["energy_j"] < both["energy_j"]  # wider layers read more slices
    assert plain["accuracy"] < both["accuracy"]
    assert rows[(), 8]["energy_j"] > plain["energy_j"]  # 8-bit inputs: layer0 reads twice the planes


@pytest.mark.parametrize("bad", ["layer0=8", None, [("layer0",)], [("layer0", 8, 1)]])
def test_python_config_rejects_malformed_widths(bad):
    with pytest.raises(SpintronError, match="dict or"):
        CompileConfig(layer_weight_bits=bad)


@pytest.mark.parametrize("text", ["layer0=\u00b2", "layer0=\u0663", "layer\u00e9=8"])
def test_non_ascii_digits_and_names_are_refused(text):
    with pytest.raises(SpintronError, match="look like|not a layer name"):
        parse_layer_bits(text)


def test_names_sort_naturally():
    assert [n for n, _ in check_layer_weight_bits({"layer10": 3, "layer2": 4})] == ["layer2", "layer10"]


@pytest.mark.parametrize("kind", ["weight", "activation", "adc"])
def test_ir_only_target_refuses_per_layer_widths(kind):
    with pytest.raises(SpintronError, match=f"per-layer {kind.replace('adc', 'ADC')} bits .* map nothing"):
        _compile(CompileConfig(weight_bits=4, targets=("ir",), **{f"layer_{kind}_bits": {"layer0": 8}}, **BASE))


def test_verify_bound_ignores_a_global_width_no_layer_uses():
    from spintron_nn.verification import default_bounds

    all_wide = _compile(CompileConfig(weight_bits=2, layer_weight_bits={f"layer{i}": 8 for i in range(3)}, **BASE))
    uniform8 = _compile(CompileConfig(weight_bits=8, **BASE))
    assert default_bounds(all_wide) == default_bounds(uniform8)
    one_narrow = _compile(CompileConfig(weight_bits=8, layer_weight_bits={"layer1": 3}, **BASE))
    assert default_bounds(one_narrow) == default_bounds(_compile(CompileConfig(weight_bits=3, **BASE)))


def test_lookup_tables_take_layer_numbers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.Sigmoid(), nn.Linear(16, 5)).eval()
    with pytest.raises(SpintronError, match=r"layer1, which is not a matrix layer .*layer0, layer2"):
        _compile(CompileConfig(weight_bits=4, layer_weight_bits={"layer1": 8}, **BASE), model=model)
    design = _compile(CompileConfig(weight_bits=4, layer_weight_bits={"layer2": 8}, **BASE), model=model)
    assert {spin.get_int(t, "slices") for t in _tiles(design)["layer2"]} == {4}
