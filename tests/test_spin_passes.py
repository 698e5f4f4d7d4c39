"""calibrate, quantize, lower-to-spin, tile-crossbars, schedule: options, errors, mapping."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, FunctionType, ModuleOp, StringAttr
from xdsl.ir import Block, Region

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.errors import SpintronError
from spintron_nn.ir import nn, spin
from spintron_nn.ir.io import load_ir, save_ir
from spintron_nn.ir.weights import WeightBlob
from spintron_nn.passes.calibrate import calibrate_module, read_range
from spintron_nn.passes.flows import quantize_and_lower
from spintron_nn.passes.pipeline import run_pipeline
from spintron_nn.tools import spintron_opt

SPIN_PASS_FOLDERS = ("calibrate", "quantize", "lower-to-spin", "tile-crossbars", "schedule")


def graph(build, input_shape) -> ModuleOp:
    """``build(block, x) -> output value`` inside a fresh @main."""
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, *input_shape])])
    out = build(block, block.args[0])
    block.add_op(func.ReturnOp(out))
    signature = FunctionType.from_lists([block.args[0].type], [out.type])
    main = func.FuncOp("main", signature, Region(block))
    main.attributes["nn.input_names"] = ArrayAttr([StringAttr("pixels")])
    return ModuleOp([main])


def add(block, op):
    block.add_op(op)
    return op.results[0]


def const(block, key, array):
    return add(block, nn.ConstantOp(WeightBlob(key, np.asarray(array, np.float32))))


def gemm_net(k=40, n=20, seed=0) -> ModuleOp:
    rng = np.random.default_rng(seed)

    def build(block, x):
        return add(block, nn.GemmOp(x, const(block, "w", rng.normal(size=(k, n))), const(block, "b", rng.normal(size=n))))

    return graph(build, (k,))


def grouped_conv_net(channels=64, groups=4) -> ModuleOp:
    rng = np.random.default_rng(0)

    def build(block, x):
        w = const(block, "w", rng.normal(size=(channels, channels // groups, 1, 1)))
        return add(block, nn.ConvOp(x, w, None, group=groups))

    return graph(build, (channels, 3, 3))


def tiles_of(module):
    return [op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)]


# -- calibrate -------------------------------------------------------------


def test_calibrate_reads_npy_and_npz_and_percentile_narrows_the_range(tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 40)).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    np.savez(tmp_path / "cal.npz", pixels=x)
    ranges = {}
    for name, spec in [("npy", "calibrate{data=\"%s\"}" % (tmp_path / "cal.npy")),
                       ("npz", "calibrate{data=\"%s\"}" % (tmp_path / "cal.npz")),
                       ("p99", "calibrate{data=\"%s\" percentile=99.0}" % (tmp_path / "cal.npy"))]:
        module = gemm_net()
        run_pipeline(module, spec)
        (gemm,) = [op for op in module.walk() if op.name == "nn.gemm"]
        ranges[name] = read_range(gemm)
    weights = np.random.default_rng(0)  # gemm_net's draws: w then b
    w, b = weights.normal(size=(40, 20)), weights.normal(size=20)
    expected = x.astype(np.float64) @ w.astype(np.float32) + b.astype(np.float32)
    assert ranges["npy"] == ranges["npz"]
    assert ranges["npy"][0] == pytest.approx(expected.min(), rel=1e-4)
    assert ranges["npy"][1] == pytest.approx(expected.max(), rel=1e-4)
    assert ranges["npy"][0] < ranges["p99"][0] < ranges["p99"][1] < ranges["npy"][1]


def test_calibrate_without_data_warns_and_uses_the_synthetic_fallback():
    module = gemm_net()
    with pytest.warns(UserWarning, match="synthetic standard-normal inputs"):
        calibrate_module(module, None)
    lo, hi = module.body.block.first_op.attributes["spin.input_ranges"].get_values()
    assert -6 < lo < -1.5 and 1.5 < hi < 6  # 32 x 40 standard-normal draws


@pytest.mark.parametrize("spec, message", [
    ("calibrate{percentile=20.0}", "percentile must be in"),
    ("calibrate{data=\"/nonexistent/cal.npy\"}", "no such file"),
])
def test_calibrate_errors(spec, message):
    with pytest.raises(SpintronError, match=message):
        run_pipeline(gemm_net(), spec)


def test_calibrate_npz_without_the_input_names_is_an_error(tmp_path):
    np.savez(tmp_path / "cal.npz", a=np.zeros((2, 40)), b=np.zeros((2, 40)))
    with pytest.raises(SpintronError, match="missing input"):
        run_pipeline(gemm_net(), "calibrate{data=\"%s\"}" % (tmp_path / "cal.npz"))


# -- quantize / lower-to-spin -----------------------------------------------


@pytest.mark.parametrize("spec, message", [
    ("quantize", "run the calibrate pass first"),
    ("calibrate,quantize{weight-bits=9}", "weight bits must be in 2..8"),
    ("calibrate,quantize{activation-bits=1}", "activation bits must be in 2..8"),
    ("calibrate,lower-to-spin", "not quantized"),
    ("calibrate,quantize,lower-to-spin{crossbar=8x8}", "crossbar rows must be in 16..1024"),
    ("calibrate,quantize,lower-to-spin{crossbar=big}", "crossbar must look like 128x128"),
    ("calibrate,quantize,lower-to-spin{cell-bits=5}", "cell bits must be in 1..4"),
    ("calibrate,quantize,lower-to-spin{adc-bits=13}", "ADC bits must be in 1..12"),
])
def test_option_and_order_errors(spec, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # calibrate without data warns; tested above
        with pytest.raises(SpintronError, match=message):
            run_pipeline(gemm_net(), spec)


def test_unmapped_op_runs_on_the_float_unit_with_its_reason():
    """Div of two activations has no integer mapping: it stays on the digital
    float unit (tests/test_sim_fallback.py), marked with why."""
    def build(block, x):
        return add(block, nn.DivOp(x, x))

    module = graph(build, (4,))
    calibrate_module(module, [np.ones((2, 4), np.float32)])
    run_pipeline(module, "quantize,lower-to-spin")
    (div,) = [op for op in module.walk() if op.name == "nn.div"]
    assert div.attributes[spin.FLOAT_UNIT_ATTR].data == \
        "nn.div is supported with a per-tensor or per-channel constant divisor only"


# -- tile-crossbars / schedule ----------------------------------------------


def test_non_square_crossbar_tiles_and_utilisation():
    x = np.random.default_rng(1).normal(size=(32, 40)).astype(np.float32)
    module = gemm_net()
    calibrate_module(module, [x])
    run_pipeline(module, "quantize,lower-to-spin{crossbar=16x32 adc-bits=0},tile-crossbars,schedule")
    tiles = tiles_of(module)
    # K=40 rows in blocks of 16 (16, 16, 8), N=20 columns in one block of 32.
    assert [(spin.get_int(t, "rows"), spin.get_int(t, "cols")) for t in tiles] == [(16, 20), (16, 20), (8, 20)]
    assert [spin.get_real(t, "utilisation") for t in tiles] == [320 / 512, 320 / 512, 160 / 512]
    assert [spin.get_int(t, "array_id") for t in tiles] == [0, 1, 2]
    assert all(t.attributes["spin.cycles"].value.data == 8 for t in tiles)
    (shift_add,) = [op for op in module.walk() if isinstance(op, spin.ShiftAddOp)]
    assert spin.get_ints(shift_add, "blocks") == (3,)
    assert "adc_bits" not in tiles[0].properties  # adc-bits=0: ideal ADC


def test_grouped_conv_maps_only_the_diagonal_blocks():
    module = grouped_conv_net(channels=64, groups=4)  # block-diagonal 64x64 of 16x16 blocks
    x = np.random.default_rng(2).normal(size=(8, 64, 3, 3)).astype(np.float32)
    calibrate_module(module, [x])
    run_pipeline(module, "quantize,lower-to-spin{rows=16 cols=16},tile-crossbars,schedule")
    tiles = tiles_of(module)
    assert [(spin.get_int(t, "row_offset"), spin.get_int(t, "col_offset")) for t in tiles] == [
        (0, 0), (16, 16), (32, 32), (48, 48)]
    assert all(spin.get_real(t, "utilisation") == 1.0 for t in tiles)
    main = module.body.block.first_op
    assert main.attributes["spin.cycles_per_inference"].value.data == 8 * 9  # 8 input bits x 9 pixels


def test_depthwise_utilisation_counts_only_the_diagonal_cells():
    module = grouped_conv_net(channels=8, groups=8)  # 1x1 depthwise: an 8x8 diagonal matrix
    calibrate_module(module, [np.ones((2, 8, 3, 3), np.float32)])
    run_pipeline(module, "quantize,lower-to-spin{rows=16 cols=16},tile-crossbars")
    (tile,) = tiles_of(module)
    assert (spin.get_int(tile, "rows"), spin.get_int(tile, "cols")) == (8, 8)
    assert spin.get_real(tile, "utilisation") == 8 / 256


def test_schedule_rejects_too_small_chips_and_untiled_layers():
    module = grouped_conv_net()
    calibrate_module(module, [np.ones((2, 64, 3, 3), np.float32)])
    run_pipeline(module, "quantize,lower-to-spin{rows=16 cols=16}")
    with pytest.raises(SpintronError, match="run tile-crossbars first"):
        run_pipeline(module, "schedule")
    with pytest.raises(SpintronError, match="needs 4 arrays, the chip has 3"):
        run_pipeline(module, "tile-crossbars,schedule{arrays=3}")


def test_each_pass_runs_alone_from_spintron_opt(tmp_path, capsys):
    x = np.random.default_rng(3).normal(size=(24, 40)).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    save_ir(gemm_net(), tmp_path / "step0.mlir")
    steps = ["calibrate{data=\"%s\"}" % (tmp_path / "cal.npy"), "quantize{weight-bits=6}",
             "lower-to-spin{crossbar=16x16 cell-bits=1 adc-bits=5}", "tile-crossbars", "schedule"]
    for index, step in enumerate(steps):
        status = spintron_opt.main([str(tmp_path / f"step{index}.mlir"), "-p", step,
                                    "-o", str(tmp_path / f"step{index + 1}.mlir")])
        assert status == 0, capsys.readouterr().err
    stepwise = load_ir(tmp_path / "step5.mlir")
    direct = quantize_and_lower(gemm_net(), [x], weight_bits=6, rows=16, cols=16, cell_bits=1, adc_bits=5)
    assert run_spin(stepwise, [x])[0].tobytes() == run_spin(direct, [x])[0].tobytes()
    assert spintron_opt.main([str(tmp_path / "step0.mlir"), "-p", "lower-to-spin"]) == 2
    assert "not quantized" in capsys.readouterr().err


def test_filecheck_weight_files_of_the_spin_passes_are_up_to_date():
    """The .npz beside each lit case of these passes, made by make_weights' rules
    (its --check covers only the float-pass folders)."""
    import importlib.util

    folder = Path(__file__).resolve().parent / "filecheck"
    spec = importlib.util.spec_from_file_location("make_weights", folder / "make_weights.py")
    make_weights = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_weights)
    cases = [m for name in SPIN_PASS_FOLDERS for m in sorted((folder / name).glob("*.mlir"))]
    assert len(cases) >= 2 * len(SPIN_PASS_FOLDERS)  # a positive and a negative case each
    for mlir in cases:
        table = make_weights.weights_for(mlir)
        if not table:
            continue
        with np.load(mlir.with_suffix(".npz")) as stored:
            assert sorted(stored.files) == sorted(table), mlir.name
            for key, array in table.items():
                np.testing.assert_array_equal(stored[key], array)


def _bias_relu_as_three_ops_and_as_one():
    """``(unfused, fused, x)``: MatMul + Add(per-column constant) + Relu, and the same as one Gemm."""
    rng = np.random.default_rng(4)
    w, b = rng.normal(size=(12, 5)), rng.normal(size=(1, 5))

    def unfused(block, x):
        product = add(block, nn.MatMulOp(x, const(block, "w", w)))
        return add(block, nn.ReluOp(add(block, nn.AddOp(product, const(block, "b", b)))))

    def fused(block, x):
        return add(block, nn.GemmOp(x, const(block, "w", w), const(block, "b", b[0]), clamp_min=0.0))

    return unfused, fused, rng.normal(size=(40, 12)).astype(np.float32)


def test_matmul_bias_add_and_relu_fold_into_one_layer():
    """MatMul + Add(per-column constant) + Relu (skl2onnx's pattern) become one
    crossbar layer whose requant carries the bias and the ReLU clamp, and the
    result matches the same network written as one Gemm with a fused ReLU."""
    unfused, fused, x = _bias_relu_as_three_ops_and_as_one()
    designs = [quantize_and_lower(graph(build, (12,)), [x], pipeline="") for build in (unfused, fused)]
    names = [op.name for op in designs[0].walk() if op.name.startswith("spin.")]
    assert names == ["spin.quantize", "spin.crossbar_tile", "spin.requant", "spin.dequantize"]
    (requant,) = [op for op in designs[0].walk() if isinstance(op, spin.RequantOp)]
    assert spin.get_int(requant, "clamp_min") == spin.get_int(requant, "zero_point") == 0
    np.testing.assert_array_equal(run_spin(designs[0], [x])[0], run_spin(designs[1], [x])[0])


def test_matmul_over_a_sequence_equals_the_flattened_rows():
    """[B, T, K] @ [K, N] (+ bias) maps to the crossbar as B*T rows: same codes
    as the 2-D graph on the flattened input (same values, so same ranges; ideal ADC)."""
    rng = np.random.default_rng(6)
    w, b = rng.normal(size=(12, 7)) / 3, rng.normal(size=7)

    def net(shape):
        def build(block, x):
            return add(block, nn.AddOp(add(block, nn.MatMulOp(x, const(block, "w", w))), const(block, "b", b)))
        return graph(build, shape)

    x = rng.normal(size=(30, 5, 12)).astype(np.float32)
    sequence = run_spin(quantize_and_lower(net((5, 12)), [x], adc_bits=None), [x])[0]
    flat = x.reshape(-1, 12)
    rows = run_spin(quantize_and_lower(net((12,)), [flat], adc_bits=None), [flat])[0]
    assert sequence.shape == (30, 5, 7)
    np.testing.assert_array_equal(sequence.reshape(-1, 7), rows)


def test_calibrate_runs_a_fixed_batch_model_in_whole_batches():
    def module():
        block = Block(arg_types=[nn.tensor_type([2, 6])])
        w = nn.ConstantOp(WeightBlob("w", np.ones((6, 3), np.float32)))
        gemm = nn.GemmOp(block.args[0], w.output)
        block.add_ops([w, gemm, func.ReturnOp(gemm.output)])
        signature = FunctionType.from_lists([block.args[0].type], [gemm.output.type])
        return ModuleOp([func.FuncOp("main", signature, Region(block))])

    x = np.arange(48, dtype=np.float32).reshape(8, 6)
    fixed = module()
    calibrate_module(fixed, [x])
    (gemm_op,) = [op for op in fixed.walk() if op.name == "nn.gemm"]
    assert read_range(gemm_op) == (float(x.sum(axis=1).min()), float(x.sum(axis=1).max()))
    with pytest.raises(SpintronError, match="fixed batch of 2; give a multiple of it"):
        calibrate_module(module(), [x[:5]])
    with pytest.warns(UserWarning):
        calibrate_module(module(), None)


def _two_layer_net(block, x):
    rng = np.random.default_rng(8)
    hidden = add(block, nn.GemmOp(x, const(block, "w1", rng.normal(size=(12, 9))),
                                  const(block, "b1", rng.normal(size=9)), clamp_min=0.0))
    return add(block, nn.GemmOp(hidden, const(block, "w2", rng.normal(size=(9, 5))), const(block, "b2", rng.normal(size=5))))


def _properties(op) -> dict:
    return {name: value.array.tolist() if hasattr(value, "array") else str(value)
            for name, value in op.properties.items()}


def test_output_bits_widen_only_the_returned_layer():
    """output-bits changes the returned matrix layer's requant (and the host's dequantize);
    every crossbar input, and so every hidden layer, is the same as without it."""
    x = np.random.default_rng(6).normal(size=(64, 12)).astype(np.float32)
    narrow, wide = (quantize_and_lower(graph(_two_layer_net, (12,)), [x], activation_bits=3, output_bits=bits)
                    for bits in (None, 8))
    narrow_requants, wide_requants = ([op for op in d.walk() if isinstance(op, spin.RequantOp)] for d in (narrow, wide))
    assert [spin.get_int(op, "bits") for op in narrow_requants] == [3, 3]
    assert [spin.get_int(op, "bits") for op in wide_requants] == [3, 8]
    assert [spin.get_int(op, "bits") for op in wide.walk() if isinstance(op, spin.DequantizeOp)] == [8]
    assert _properties(narrow_requants[0]) == _properties(wide_requants[0])
    out_narrow, out_wide = run_spin(narrow, [x])[0], run_spin(wide, [x])[0]
    assert len(np.unique(out_narrow)) <= 8 < len(np.unique(out_wide))
    # same range, finer grid: both round the same accumulator, each within half its own step
    (narrow_step, wide_step) = (spin.get_real(next(op for op in d.walk() if isinstance(op, spin.DequantizeOp)), "scale")
                                for d in (narrow, wide))
    assert narrow_step / wide_step == pytest.approx(255 / 7, rel=1e-6)
    assert np.abs(out_wide - out_narrow).max() <= (narrow_step + wide_step) / 2 * (1 + 1e-6)


def _returned_bits(design) -> tuple[list[int], list[int]]:
    """Requant and output-dequantize code widths of a lowered design, in program order."""
    requants = [spin.get_int(op, "bits") for op in design.walk() if isinstance(op, spin.RequantOp)]
    dequants = [spin.get_int(op, "bits") for op in design.walk() if isinstance(op, spin.DequantizeOp)]
    return requants, dequants


def test_output_bits_follow_the_tail_a_layer_absorbs():
    """MatMul + bias Add (the TF/Keras pattern) and an unfused Relu are one crossbar layer:
    the returned tail's width is the layer's, and the result matches the fused Gemm's."""
    unfused, fused, x = _bias_relu_as_three_ops_and_as_one()
    designs = [quantize_and_lower(graph(build, (12,)), [x], activation_bits=4, output_bits=8, pipeline="")
               for build in (unfused, fused)]
    assert [_returned_bits(d) for d in designs] == [([8], [8])] * 2
    np.testing.assert_array_equal(run_spin(designs[0], [x])[0], run_spin(designs[1], [x])[0])
    assert len(np.unique(run_spin(designs[0], [x])[0])) > 16


def test_output_bits_leave_hidden_and_non_matrix_outputs_alone():
    """A returned tensor that also feeds another layer, or that no matrix layer makes,
    keeps the activation bits; a bad width is an error."""
    x = np.random.default_rng(7).normal(size=(32, 12)).astype(np.float32)

    def hidden_also_returned(block, x):
        rng = np.random.default_rng(8)
        hidden = add(block, nn.GemmOp(x, const(block, "w1", rng.normal(size=(12, 9))),
                                      const(block, "b1", rng.normal(size=9)), clamp_min=0.0))
        out = add(block, nn.GemmOp(hidden, const(block, "w2", rng.normal(size=(9, 5)))))
        block.add_op(func.ReturnOp(out, hidden))
        return None

    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, 12])])
    hidden_also_returned(block, block.args[0])
    outputs = [v.type for v in block.last_op.operands]
    main = func.FuncOp("main", FunctionType.from_lists([block.args[0].type], outputs), Region(block))
    design = quantize_and_lower(ModuleOp([main]), [x], activation_bits=4, output_bits=8)
    assert _returned_bits(design) == ([4, 8], [8, 4])  # the head widened, the shared hidden layer not

    def sum_of_two(block, x):  # a returned digital op (the sum of two layers' codes): not widened
        first = _two_layer_net(block, x)
        rng = np.random.default_rng(9)
        second = add(block, nn.GemmOp(x, const(block, "w3", rng.normal(size=(12, 5)))))
        return add(block, nn.AddOp(first, second))

    requants, dequants = _returned_bits(quantize_and_lower(graph(sum_of_two, (12,)), [x], activation_bits=4, output_bits=8))
    assert set(requants) == set(dequants) == {4}
    with pytest.raises(SpintronError, match="output bits must be in 2..8"):
        quantize_and_lower(gemm_net(), [np.zeros((4, 40), np.float32)], output_bits=9)


def test_quantizing_again_without_output_bits_forgets_them():
    x = np.random.default_rng(6).normal(size=(64, 12)).astype(np.float32)
    module = graph(_two_layer_net, (12,))
    calibrate_module(module, [x])
    run_pipeline(module, "quantize{activation-bits=3 output-bits=8},quantize{activation-bits=3}")
    run_pipeline(module, "lower-to-spin,tile-crossbars")
    assert _returned_bits(module) == ([3, 3], [3])
