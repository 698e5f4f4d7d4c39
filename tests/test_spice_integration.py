"""The SPICE backend wired into the compiler: ``--backend spice`` (nodal
solver currents through the simulator's ADC), ``--targets spice`` (decks,
run script), the IR-drop analysis in the report and the verify lines.

Oracles: the integer simulator (``--backend sim``; with ideal devices the
analog run must equal it bit for bit), the contract's exact column sums
(``reference.column_currents``), the nodal solver called directly on one
tile, and ngspice on one small deck."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import spintron_nn as sn
from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.backends.spice import analysis as spice_analysis
from spintron_nn.backends.spice import bundle as spice_bundle
from spintron_nn.backends.spice import runner
from spintron_nn.backends.spice.analysis import analyse_design
from spintron_nn.backends.spice.checks import check_design
from spintron_nn.backends.spice.circuit import build_tile_circuit
from spintron_nn.backends.spice.ngspice import ngspice_available, run_ngspice
from spintron_nn.backends.spice.nodal import NodalSolver
from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.ir.spin import CrossbarTileOp, get_int

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MODEL = EXAMPLES / "digits_mlp.onnx"
CALIBRATION = EXAMPLES / "digits_calibration.npy"


def spintronc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "spintron_nn.tools.spintronc", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def digits():
    """The digits MLP (64-48-10) on 16x16 tiles: 15 tiles of 4 two-bit slices."""
    config = CompileConfig(rows=16, cols=16, targets=("ir", "sim", "spice", "report"))
    return sn.compile(str(MODEL), config, np.load(CALIBRATION))


@pytest.fixture(scope="module")
def digits_test():
    data = np.load(EXAMPLES / "digits_test.npz")
    return data["x"], data["y"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("spice") / "bundle"
    done = spintronc("compile", MODEL, "-o", out, "--crossbar", "16x16", "--calibration", CALIBRATION,
                     "--targets", "ir,sim,spice,report", "-q")
    assert done.returncode == 0, done.stderr
    return out


def tiles_of(design):
    return [op for op in design.spin_module.walk() if isinstance(op, CrossbarTileOp)]


# --- --backend spice ------------------------------------------------------------


def test_ideal_devices_equal_sim_bit_for_bit_on_the_digits_mlp(digits, digits_test):
    x = digits_test[0][:96]
    sim = digits.run(x, backend="sim")
    spice = digits.run(x, backend="spice", ideal=True)
    assert len(sim) == len(spice) == 1
    assert sim[0].dtype == spice[0].dtype
    np.testing.assert_array_equal(spice[0], sim[0])


def test_ideal_devices_equal_sim_bit_for_bit_on_a_small_torch_cnn(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(6 * 4 * 4, 5),
    ).eval()
    rng = np.random.default_rng(5)
    x = rng.random((24, 1, 8, 8), dtype=np.float32)
    design = sn.compile(model, CompileConfig(rows=16, cols=16, adc_bits=5), x,
                        example_input=torch.from_numpy(x[:1]))
    assert len(tiles_of(design)) > 3   # the conv layers span several row tiles
    sim = design.run(x[:6], backend="sim")[0]
    np.testing.assert_array_equal(design.run(x[:6], backend="spice", ideal=True)[0], sim)
    # with the real devices the run completes and stays near the integer result
    analog = design.run(x[:2], backend="spice")[0]
    assert analog.shape == sim[:2].shape and np.isfinite(analog).all()
    scale = np.abs(sim[:2]).max()
    assert np.abs(analog - sim[:2]).max() <= 0.25 * scale
    # the spice target of a convolution: one deck per tile from its busiest im2col row
    spice_bundle.write_target(design, tmp_path)
    assert len(list((tmp_path / "spice").glob("tile_*.cir"))) == len(tiles_of(design)) + 5
    assert "im2col row" in (tmp_path / "spice" / "README.txt").read_text()
    analysis = json.loads((tmp_path / "spice" / "analysis.json").read_text())
    assert len(analysis["tiles"]) == len(tiles_of(design))


def test_the_tile_currents_hook_with_exact_currents_is_the_simulator(digits, digits_test):
    # oracle for the executor hook alone: the contract's exact integer currents
    # in Q16 through the hook must reproduce the integer run bit for bit
    x = digits_test[0][:40]
    codes = spice_bundle.tile_input_codes(digits.spin_module, [x])
    assert sorted(codes) == sorted(get_int(op, "tile_id") for op in tiles_of(digits))
    assert all(c.shape == (40, get_int(op, "rows")) for op in tiles_of(digits)
               for c in [codes[get_int(op, "tile_id")]])
    off_by_one = []

    def exact_plus_one_lsb(op, rows):
        currents = reference.column_currents(rows, op.levels_pos.array, op.levels_neg.array,
                                             input_bits=get_int(op, "input_bits"))
        off_by_one.append(op)
        return (currents + 1) << 16
    shifted = run_spin(digits.spin_module, [x], tile_currents=exact_plus_one_lsb)[0]
    assert len(off_by_one) == len(tiles_of(digits))
    assert not np.array_equal(shifted, digits.run(x, backend="sim")[0])   # the hook's currents are used


def test_analog_currents_of_one_tile_match_the_nodal_solver_called_directly(digits, digits_test, monkeypatch):
    monkeypatch.setattr(runner, "SOLVE_CHUNK", 5)       # several chunks and duplicate vectors
    op = tiles_of(digits)[1]
    codes = spice_bundle.tile_input_codes(digits.spin_module, [digits_test[0][:6]])[get_int(op, "tile_id")]
    params = runner.design_params(digits)
    got = runner.AnalogTileCurrents(params)(op, codes)                       # [B, bits, S, C] Q16
    solver = NodalSolver(build_tile_circuit(op.levels_pos.array, op.levels_neg.array, params))
    gain = runner.level_gain(params)
    for bit in range(get_int(op, "input_bits")):
        physical = solver.column_currents((codes >> bit) & 1)
        levels = (physical[..., 0::2] - physical[..., 1::2]) / (params.v_read * params.level_step) / gain
        assert np.abs(got[:, bit] / 65536.0 - levels).max() <= 1.0 / 65536


def test_level_gain_is_one_for_ideal_devices_and_the_series_access_transistor_otherwise():
    assert runner.level_gain(CrossbarParams.ideal("dw", n_levels=4)) == pytest.approx(1.0, abs=1e-12)
    # linear cells, access transistor, no wires: full-scale cell is R_P + R_acc, level 0 is R_AP + R_acc
    params = replace(CrossbarParams.default("dw", n_levels=4, wire_resistance=0.0), bias_dependent=False)
    r_p = params.cell.mtj.r_parallel_at(params.corner.temperature)
    r_ap = r_p * (1 + params.cell.mtj.tmr_at(params.corner.temperature))
    r_acc = params.cell.access.on_resistance(params.corner.temperature)
    step = (1 / (r_p + r_acc) - 1 / (r_ap + r_acc)) / 3
    assert runner.level_gain(params) == pytest.approx(step / params.level_step, rel=1e-9)


def test_analog_run_is_close_to_sim_and_wires_are_the_ir_drop(digits, digits_test):
    x = digits_test[0][:12]
    analysis = analyse_design(digits, [x])
    tiles = analysis["tiles"]
    assert [t["tile_id"] for t in tiles] == sorted(get_int(op, "tile_id") for op in tiles_of(digits))
    assert all(t["max_ir_drop_lsb"] > 0 for t in tiles)           # 0.8 ohm wires cost something
    assert max(t["max_error_lsb"] for t in tiles) < 8              # measured ~1.6 LSB on 16-row tiles
    assert analysis["accuracy"]["top1_agreement_with_sim"] >= 0.9
    assert analysis["accuracy"]["outputs_equal_to_sim"] < 1.0      # the analog run is not the integer one
    no_wires = analyse_design(digits, [x], params=runner.design_params(digits, wire_resistance=0.0))
    assert all(t["max_ir_drop_lsb"] <= 2.0**-17 for t in no_wires["tiles"])   # Q16 rounding only
    ideal = analyse_design(digits, [x], params=runner.design_params(digits, ideal=True))
    assert all(t["max_error_lsb"] < 1e-4 and t["code_mismatch_rate"] == 0.0 for t in ideal["tiles"])
    assert ideal["accuracy"]["outputs_equal_to_sim"] == 1.0
    assert ideal["accuracy"]["accuracy_loss_points"] == 0.0


def test_more_wire_resistance_costs_more(digits, digits_test):
    x = digits_test[0][:4]
    errors = [max(t["mean_ir_drop_lsb"] for t in analyse_design(
        digits, [x], params=runner.design_params(digits, wire_resistance=ohm))["tiles"]) for ohm in (0.4, 4.0)]
    assert errors[1] > 2 * errors[0]


def test_device_variation_is_seeded(digits, digits_test):
    x = digits_test[0][:4]
    first = digits.run(x, backend="spice", variation=True, seed=1)[0]
    np.testing.assert_array_equal(first, digits.run(x, backend="spice", variation=True, seed=1)[0])
    assert not np.array_equal(first, digits.run(x, backend="spice", variation=True, seed=2)[0])


def test_bad_backend_options_are_user_errors(digits, digits_test):
    x = digits_test[0][:2]
    with pytest.raises(SpintronError, match="noise"):
        digits.run(x, backend="spice", noise=NoiseSpec(read_noise=0.5))
    with pytest.raises(SpintronError, match="takes no option"):
        digits.run(x, backend="spice", simulator="icarus")
    with pytest.raises(SpintronError, match="corner"):
        digits.run(x, backend="spice", corner="xx")
    with pytest.raises(SpintronError, match="ideal"):
        digits.run(x, backend="spice", ideal=True, wire_resistance=1.0)


# --- --targets spice ------------------------------------------------------------


def test_compile_writes_decks_script_expected_currents_and_analysis(bundle):
    folder = bundle / "spice"
    decks = sorted(p.name for p in folder.glob("*.cir"))
    assert [d for d in decks if "_" not in d.removeprefix("tile_")] == sorted(f"tile_{t}.cir" for t in range(15))
    # corners and Monte Carlo for the smallest tile only: the first of the 16x10 tiles of layer 2
    assert {"tile_12_corner_tt.cir", "tile_12_corner_ff.cir", "tile_12_corner_ss.cir",
            "tile_12_mc_1.cir", "tile_12_mc_2.cir"} <= set(decks)
    assert len(decks) == 20
    expected = json.loads((folder / "expected.json").read_text())
    assert sorted(f"{name}.cir" for name in expected) == decks
    assert os.access(folder / "run_all.sh", os.X_OK)
    readme = (folder / "README.txt").read_text()
    assert "all 15 tiles" in readme and "reference inputs" in readme
    analysis = json.loads((folder / "analysis.json").read_text())
    assert len(analysis["tiles"]) == 15 and analysis["evaluated_on"] == 32
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert "spice/tile_0.cir" in manifest["files"]
    assert "max analog column-current error" in manifest["summary"]["spice analysis"]


def test_tran_deck_holds_the_tiles_bit_serial_input(bundle):
    text = (bundle / "spice" / "tile_12.cir").read_text()
    assert ".tran" in text and "input bits 0..7" in text
    design = sn.load(bundle)
    op = next(op for op in tiles_of(design) if get_int(op, "tile_id") == 12)
    codes = spice_bundle.tile_input_codes(design.spin_module, [design.reference_inputs[0][:1]])[12][0]
    driver = next(line for line in text.splitlines() if line.startswith("vd_d_0_1 "))
    # row 1 of slice 0: one PWL level per input bit, LSB first
    levels = [float(v) for v in driver.split("pwl(")[1].rstrip(")").split()[1::2]]
    v_read = runner.design_params(design).v_read
    expected = [((int(codes[1]) >> b) & 1) * v_read for b in range(get_int(op, "input_bits"))]
    assert levels[0] == expected[0] and levels[2::2] == expected[1:]


@pytest.mark.skipif(not ngspice_available(), reason="ngspice is not installed")
def test_smallest_deck_through_ngspice_matches_expected_json(bundle):
    folder = bundle / "spice"
    stem = "tile_12_corner_ss"
    expected = json.loads((folder / "expected.json").read_text())[stem]
    vectors = run_ngspice((folder / f"{stem}.cir").read_text())
    for name, values in expected["currents"].items():
        assert vectors[name][0] == pytest.approx(values[0], rel=1e-6)


def test_spice_tiles_option_selects_decks(tmp_path):
    out = tmp_path / "b"
    done = spintronc("compile", MODEL, "-o", out, "--crossbar", "32x32", "--calibration", CALIBRATION,
                     "--targets", "ir,sim,spice", "--spice-tiles", "first", "-q")
    assert done.returncode == 0, done.stderr
    transient = sorted(p.name for p in (out / "spice").glob("tile_*.cir") if p.stem.count("_") == 1)
    assert transient == ["tile_0.cir", "tile_4.cir"]                # first tile of each of the 2 layers
    assert "first tile of each" in (out / "spice" / "README.txt").read_text()


@pytest.mark.parametrize("value,message", [("x", "--spice-tiles must be"), ("0,99", "no tile 99")])
def test_bad_spice_tiles_is_one_line_and_leaves_nothing(tmp_path, value, message):
    out = tmp_path / "b"
    done = spintronc("compile", MODEL, "-o", out, "--crossbar", "32x32", "--calibration", CALIBRATION,
                     "--targets", "ir,sim,spice", "--spice-tiles", value, "-q")
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_default_selection_is_bounded_for_large_designs(digits, monkeypatch):
    tiles = tiles_of(digits)
    assert spice_bundle.select_tiles(tiles, None)[0] == tiles
    monkeypatch.setattr(spice_bundle, "DEFAULT_CELL_BUDGET", 3000)
    chosen, note = spice_bundle.select_tiles(tiles, None)
    assert [get_int(op, "tile_id") for op in chosen] == [0]     # 2048 cells each: the budget holds one
    assert "--spice-tiles all" in note
    monkeypatch.setattr(spice_bundle, "DEFAULT_CELL_BUDGET", 10)
    assert len(spice_bundle.select_tiles(tiles, None)[0]) == 1  # never none


# --- run, report, verify -----------------------------------------------------------


def test_cli_run_backend_spice(bundle, tmp_path, digits_test):
    x = digits_test[0][:5]
    np.save(tmp_path / "x.npy", x)
    done = spintronc("run", bundle, "--backend", "spice", "--input", tmp_path / "x.npy",
                     "--output", tmp_path / "y.npy")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), sn.load(bundle).run(x, backend="spice")[0])


def test_report_has_the_ir_drop_section(bundle):
    report = json.loads((bundle / "report.json").read_text())
    section = report["spice"]
    assert section["circuit"]["cell_type"] == "dw" and section["circuit"]["cell_levels"] == 4
    assert len(section["tiles"]) == 15
    assert set(section["accuracy"]) >= {"top1_agreement_with_sim", "accuracy_loss_points"}
    assert section == json.loads((bundle / "spice" / "analysis.json").read_text())
    assert "Analog accuracy (SPICE nodal solver)" in (bundle / "report.html").read_text()
    done = spintronc("report", bundle)
    assert done.returncode == 0, done.stderr
    assert "analog (spice)" in done.stdout and "IR drop" in done.stdout


def test_report_without_the_spice_target_has_no_section(tmp_path):
    out = tmp_path / "b"
    assert spintronc("compile", MODEL, "-o", out, "--crossbar", "64x64", "--calibration", CALIBRATION,
                     "-q").returncode == 0
    assert json.loads((out / "report.json").read_text())["spice"] is None
    assert "analog (spice)" not in spintronc("report", out).stdout


def test_verify_lines(digits, monkeypatch):
    monkeypatch.setattr(spice_analysis, "DEFAULT_ANALYSIS_INPUTS", 8)
    results = check_design(digits)
    by_name = {r.name.split(" on ")[0].split(":")[0]: r for r in results}
    exact = by_name["spice (ideal devices, no wires) vs sim"]
    assert exact.passed and exact.measured == 1.0
    analog = by_name["spice vs sim top-1 agreement"]
    assert analog.passed and "on 8 inputs" in analog.name
    if ngspice_available():
        oracle = next(r for r in results if "ngspice" in r.name)
        assert oracle.passed and oracle.measured < 1e-6
    assert check_design(replace(digits, config=replace(digits.config, targets=("ir", "sim")))) == []
    # without ngspice the oracle is said to be skipped, not left out (walkthrough)
    from spintron_nn.backends.spice import ngspice

    monkeypatch.setattr(ngspice, "ngspice_available", lambda: False)
    skipped = [r for r in check_design(digits) if "ngspice" in r.name]
    assert [r.line() for r in skipped] == ["skip spice nodal solver vs ngspice: not run, ngspice is not installed"]


@pytest.mark.slow
@pytest.mark.skipif(not ngspice_available(), reason="ngspice is not installed")
def test_run_all_script_runs_every_deck_and_ngspice_agrees_with_expected_json(bundle):
    from spintron_nn.backends.spice.netlist import sample_times
    from spintron_nn.backends.spice.ngspice import read_raw

    folder = bundle / "spice"
    done = subprocess.run(["sh", str(folder / "run_all.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = json.loads((folder / "expected.json").read_text())
    for stem, deck in expected.items():
        assert f"ok   {stem}.cir" in done.stdout
        vectors = read_raw((folder / f"{stem}.raw").read_bytes())
        floor = 1e-6 * max(np.abs(v).max() for v in deck["currents"].values())   # all-zero input bits
        for name, values in deck["currents"].items():
            values = np.asarray(values)
            if deck["analysis"] == "tran":
                got = np.interp(sample_times(len(values)), vectors["time"], vectors[name])
            else:
                got = vectors[name][:1]
            relative = np.abs(got - values) / np.maximum(np.abs(values), floor)
            assert relative.max() <= 1e-6, (stem, name)
