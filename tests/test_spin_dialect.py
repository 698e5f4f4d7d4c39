"""The spin dialect: text round trip of a compiled design, and verifier diagnostics."""

from __future__ import annotations

import re

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, StringAttr, f32, i64
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.errors import SpintronError
from spintron_nn.ir import io as ir_io
from spintron_nn.ir import nn, spin
from spintron_nn.ir.weights import WeightAttr, WeightBlob, collect_weights
from spintron_nn.passes.flows import quantize_and_lower


def small_conv_net() -> ModuleOp:
    rng = np.random.default_rng(0)
    block = Block(arg_types=[nn.tensor_type([nn.DYNAMIC, 2, 6, 6])])
    w = nn.ConstantOp(WeightBlob("conv.w", rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32)))
    conv = nn.ConvOp(block.args[0], w.output, None, pads=[1, 1, 1, 1], strides=[2, 2], clamp_min=0.0)
    pool = nn.GlobalAveragePoolOp(conv.output)
    flat = nn.FlattenOp(pool.output, axis=1)
    fc = nn.ConstantOp(WeightBlob("fc.w", rng.normal(0, 0.5, (4, 3)).astype(np.float32)))
    gemm = nn.GemmOp(flat.output, fc.output)
    block.add_ops([w, conv, pool, flat, fc, gemm, func.ReturnOp(gemm.output)])
    signature = FunctionType.from_lists([block.args[0].type], [gemm.output.type])
    return ModuleOp([func.FuncOp("main", signature, Region(block))])


def test_compiled_design_round_trips_through_text_and_runs_identically(tmp_path):
    rng = np.random.default_rng(1)
    calibration = rng.normal(size=(16, 2, 6, 6)).astype(np.float32)
    design = quantize_and_lower(small_conv_net(), [calibration], rows=16, cols=16, adc_bits=4)
    path = tmp_path / "design.mlir"
    ir_io.save_ir(design, path)
    loaded = ir_io.load_ir(path)
    assert ir_io.print_module(loaded) == ir_io.print_module(design)
    x = rng.normal(size=(5, 2, 6, 6)).astype(np.float32)
    assert run_spin(loaded, [x])[0].tobytes() == run_spin(design, [x])[0].tobytes()
    names = {op.name for op in loaded.walk()}
    assert {"spin.im2col", "spin.crossbar_tile", "spin.requant", "spin.rows_to_image"} <= names
    assert not any(name.startswith("nn.") for name in names)


def tile_op(**overrides) -> spin.CrossbarTileOp:
    """A valid 2-slice 3x2 tile on a 16x16 array reading a [?, 4] input."""
    levels = np.ones((2, 3, 2), dtype=np.uint8)
    props = dict(rows=3, cols=2, row_offset=1, col_offset=0, array_rows=16, array_cols=16, cell_bits=2,
                 slices=2, input_bits=8, adc_bits=6, adc_shift=1, tile_id=0)
    values = {k: spin.int_attr(v) for k, v in props.items()} | {
        "levels_pos": WeightAttr(WeightBlob("p", levels)), "levels_neg": WeightAttr(WeightBlob("n", 0 * levels)),
        "utilisation": spin.real_attr(6 / 256), "layer": StringAttr("layer0"),
    }
    for key, value in overrides.items():
        if value is None:
            values.pop(key)
        elif isinstance(value, np.ndarray):
            values[key] = WeightAttr(WeightBlob(key, value))
        elif isinstance(value, int):
            values[key] = spin.int_attr(value)
        else:
            values[key] = value
    source = Block(arg_types=[spin.tensor([nn.DYNAMIC, 4], spin.ui8)])
    return spin.CrossbarTileOp.build(operands=[source.args[0]], result_types=[spin.tensor([nn.DYNAMIC, 2], i64)],
                                     properties=values)


def test_valid_tile_verifies():
    tile_op().verify()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(adc_bits=13), "adc_bits = 13 is outside 1..12"),
        (dict(cell_bits=5), "cell_bits = 5 is outside 1..4"),
        (dict(array_rows=8), "array_rows = 8 is outside 16..1024"),
        (dict(row_offset=2), "exceed the 4 input columns"),
        (dict(levels_pos=np.full((2, 3, 2), 4, np.uint8)), "holds a level >= 2**cell_bits = 4"),
        (dict(levels_neg=np.zeros((1, 3, 2), np.uint8)), "levels_neg must be uint8 [2, 3, 2]"),
        (dict(adc_bits=None), "0 for an ideal ADC"),
        (dict(utilisation=spin.real_attr(1.5)), "utilisation = 1.5 is outside (0, 1]"),
    ],
)
def test_tile_verifier_diagnostics(overrides, message):
    with pytest.raises(VerifyException, match=re.escape(message)):
        tile_op(**overrides).verify()


def test_requant_and_quantize_verifiers():
    acc = Block(arg_types=[spin.tensor([3, 2], i64)]).args[0]
    props = dict(input_zero_point=spin.int_attr(0), zero_point=spin.int_attr(0), bits=spin.int_attr(8),
                 clamp_min=spin.int_attr(0), clamp_max=spin.int_attr(255),
                 multiplier=spin.ints_attr([1 << 30, 1 << 30]), shift=spin.ints_attr([31, 31]),
                 column_sums=WeightAttr(WeightBlob("c", np.zeros(2, np.int64))),
                 bias=WeightAttr(WeightBlob("b", np.zeros(2, np.int64))))
    good = spin.RequantOp.build(operands=[acc], result_types=[spin.tensor([3, 2], spin.ui8)], properties=props)
    good.verify()
    bad = spin.RequantOp.build(operands=[acc], result_types=[spin.tensor([3, 2], spin.ui8)],
                               properties=props | {"clamp_max": spin.int_attr(256)})
    with pytest.raises(VerifyException, match="clamp 0..256 is not a range of 8-bit codes"):
        bad.verify()
    x = Block(arg_types=[spin.tensor([3], f32)]).args[0]
    with pytest.raises(VerifyException, match="zero_point = 16 is not a 4-bit code"):
        spin.QuantizeOp(x, 0.5, 16, 4).verify()
    with pytest.raises(VerifyException, match="scale must be finite and > 0"):
        spin.QuantizeOp(x, 0.0, 0, 4).verify()


def test_layer_verifier_rejects_weights_outside_the_bit_range_and_non_block_diagonal_groups():
    source = Block(arg_types=[spin.tensor([5, 4], spin.ui8)]).args[0]

    def layer(weights, **extra):
        props = dict(weight_bits=spin.int_attr(4), input_bits=spin.int_attr(8), cell_bits=spin.int_attr(2),
                     array_rows=spin.int_attr(16), array_cols=spin.int_attr(16), layer=StringAttr("l"),
                     weights=WeightAttr(WeightBlob("w", weights))) | extra
        return spin.CrossbarLayerOp.build(operands=[source], result_types=[spin.tensor([5, 2], i64)], properties=props)

    layer(np.full((4, 2), 7, np.int8)).verify()
    with pytest.raises(VerifyException, match="exceed the symmetric 4-bit range"):
        layer(np.full((4, 2), 8, np.int8)).verify()
    with pytest.raises(VerifyException, match="not block diagonal with 2 groups"):
        layer(np.ones((4, 2), np.int8), groups=spin.int_attr(2)).verify()
    layer(np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.int8), groups=spin.int_attr(2)).verify()


def test_simulator_refuses_untiled_layers_and_bad_inputs():
    from spintron_nn.passes.calibrate import calibrate_module
    from spintron_nn.passes.pipeline import run_pipeline

    module = small_conv_net()
    calibrate_module(module, [np.zeros((4, 2, 6, 6), np.float32)])
    run_pipeline(module, "quantize,lower-to-spin{rows=16 cols=16}")
    with pytest.raises(SpintronError, match="run the tile-crossbars pass"):
        run_spin(module, [np.zeros((1, 2, 6, 6), np.float32)])
    run_pipeline(module, "tile-crossbars")
    with pytest.raises(SpintronError, match=r"input #0 has shape \[1, 3, 6, 6\]"):
        run_spin(module, [np.zeros((1, 3, 6, 6), np.float32)])
    with pytest.raises(SpintronError, match="takes 1 input"):
        run_spin(module, [])
    assert collect_weights(module)  # tiles carry their levels as weights


def test_chunked_batches_give_the_same_bytes_with_noise(monkeypatch):
    """Read noise is indexed by the absolute row (conv tiles read OH*OW rows per
    item), so splitting a batch into chunks changes nothing."""
    from spintron_nn.backends.sim import executor
    from spintron_nn.backends.sim.reference import NoiseSpec

    rng = np.random.default_rng(2)
    calibration = rng.normal(size=(16, 2, 6, 6)).astype(np.float32)
    design = quantize_and_lower(small_conv_net(), [calibration], rows=16, cols=16, adc_bits=4)
    x = rng.normal(size=(10, 2, 6, 6)).astype(np.float32)
    noise = NoiseSpec(read_noise=0.7, conductance_variation=0.05)
    whole = run_spin(design, [x], noise=noise, seed=3)[0]
    monkeypatch.setattr(executor, "CHUNK_ITEMS", 3)
    chunked = run_spin(design, [x], noise=noise, seed=3)[0]
    assert chunked.tobytes() == whole.tobytes()
    assert whole.tobytes() != run_spin(design, [x])[0].tobytes()
