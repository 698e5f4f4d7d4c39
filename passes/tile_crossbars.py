"""``tile-crossbars{adc-shift-rule=... max-saturation=0.001}``: split each layer matrix into physical tiles.

Each ``spin.crossbar_layer`` (a ``[K, N]`` weight-integer matrix, K = inputs
on rows) is cut into the blocks ``tiling.layer_tile_blocks`` gives: the
``array_rows x array_cols`` grid for a dense matrix (row-major; the last
row/column block may be partial); for a grouped conv's block-diagonal matrix
(``groups``, see lower-to-spin) group-aligned tiles of whole consecutive
groups when a group fits an array, else the grid blocks that meet a diagonal
block.  ``utilisation`` is the fraction of the array's cells that hold a
weight of the layer.  Each block becomes a ``spin.crossbar_tile`` holding its
differential bit slices (``reference.slice_weights``) and a ``spin.shift_add``
sums the row tiles of each column block and concatenates the column blocks
(``tiling.column_blocks``; group-aligned tiles are column blocks of one tile).

ADC shift per tile (docs/semantics.md section 5): the calibration items that
``calibrate`` kept on ``@main`` run through the quantized network, layer by
layer as it is tiled (``executor.evaluate_op``, exact integer tiles), so each
layer sees the codes its predecessors really produce; at most
``MAX_CALIBRATION_ROWS`` evenly spaced input rows per layer go to
``reference.choose_tile_adc_shifts`` (the reference's rule unless
``adc-shift-rule`` ("min-error" | "saturation") / ``max-saturation`` say
otherwise).  Without a calibration sample every tile gets the worst-case
shift of its row count (no read can saturate).
``tile_id`` numbers tiles module-wide, per layer in ``layer_tile_blocks`` order.

Input activity: with a calibration sample, every tile also gets
``spin.input_one_fraction`` (f64, discardable), the fraction of its input
bits that are 1 over all the calibration rows its layer sees (a conv's
zero-padding rows included, as the tile reads them): the measured
counterpart of the parameter table's ``crossbar.input_one_fraction``, which
``estimate-energy{activity=measured}`` prices instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, i64
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xdsl.dialects import func
from xdsl.ir import Operation

from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.executor import evaluate_op
from spintron_nn.energy.cost_model import one_bit_fraction
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import fixed_batch, main_function
from spintron_nn.ir.spin import get_int
from spintron_nn.ir.weights import WeightAttr, WeightBlob
from spintron_nn.passes.calibrate import calibration_sample
from spintron_nn.tiling import check_grouped_tiling, column_blocks, diagonal_block_cells, layer_tile_blocks

#: Discardable attribute: a tile's measured input one-bit fraction on the calibration sample.
INPUT_ONE_FRACTION_ATTR = "spin.input_one_fraction"

#: Calibration rows per layer for the ADC-shift choice (evenly spaced).
#: 128 rows x 8 input bits x S slices x C columns is ~0.5 M reads per 128x128
#: tile, plenty for a 1e-3 saturation rate; the exact currents cost
#: rows * 8 * S * K * N multiply-adds per layer, the bulk of compile time.
MAX_CALIBRATION_ROWS = 128


def _worst_case_shift(rows: int, cell_bits: int, adc_bits: int) -> int:
    bound = rows * (2**cell_bits - 1)
    return reference.choose_adc_shift(np.array([bound, -bound]), adc_bits, 0.0)


def _layer_shifts(layer: spin.CrossbarLayerOp, blocks: list[tuple[slice, slice]],
                  calibration: np.ndarray | None, options: dict) -> list[int]:
    """ADC shift of every tile ``blocks[t]`` (reference rule), in tile order."""
    adc_bits = get_int(layer, "adc_bits")
    if adc_bits is None:
        return [0] * len(blocks)
    if calibration is None:
        return [_worst_case_shift(rows.stop - rows.start, get_int(layer, "cell_bits"), adc_bits) for rows, _ in blocks]
    if len(calibration) > MAX_CALIBRATION_ROWS:
        calibration = calibration[np.linspace(0, len(calibration) - 1, MAX_CALIBRATION_ROWS).astype(np.int64)]
    return [int(s) for s in reference.choose_tile_adc_shifts(
        calibration, layer.weights.array, blocks, weight_bits=get_int(layer, "weight_bits"),
        cell_bits=get_int(layer, "cell_bits"), input_bits=get_int(layer, "input_bits"), adc_bits=adc_bits,
        signed_inputs=spin.reads_signed_inputs(layer), **options,
    )]


def _tile_key(name: str, rows: slice, cols: slice, array_rows: int, array_cols: int) -> str:
    """Weight key prefix of a tile: its grid position, or (a group-aligned tile off
    the grid) its offsets."""
    if rows.start % array_rows == 0 and cols.start % array_cols == 0:
        return f"spin.{name}.t{rows.start // array_rows}_{cols.start // array_cols}"
    return f"spin.{name}.at{rows.start}_{cols.start}"


def tile_layer(layer: spin.CrossbarLayerOp, first_tile_id: int, shift_options: dict,
               calibration: np.ndarray | None = None, grouped: str = "aligned") -> list[Operation]:
    """Replace ``layer`` by its tiles (and shift_add); returns the new ops in order.
    ``calibration``: the layer's input codes on calibration data, if known;
    ``grouped``: ``tiling.GROUPED_TILINGS`` for a grouped layer."""
    weights = layer.weights.array
    array_rows, array_cols = get_int(layer, "array_rows"), get_int(layer, "array_cols")
    groups = get_int(layer, "groups", 1)
    cell_bits = get_int(layer, "cell_bits")
    levels_pos, levels_neg = reference.slice_weights(weights, get_int(layer, "weight_bits"), cell_bits)
    name = layer.layer.data
    blocks = layer_tile_blocks(weights.shape, groups, array_rows, array_cols, grouped)
    rewriter = Rewriter()
    m = spin.shape_of(layer.input)[0]
    shared = {key: layer.properties[key] for key in
              ("array_rows", "array_cols", "cell_bits", "input_bits", "adc_bits", "layer", "signed_inputs",
               "weight_bits")
              if key in layer.properties}
    shifts = _layer_shifts(layer, blocks, calibration, shift_options)
    tiles: list[spin.CrossbarTileOp] = []
    for index, (rows, cols) in enumerate(blocks):
        tile_pos, tile_neg = levels_pos[:, rows, cols], levels_neg[:, rows, cols]
        height, width = rows.stop - rows.start, cols.stop - cols.start
        key = _tile_key(name, rows, cols, array_rows, array_cols)
        props = dict(
            rows=height, cols=width, row_offset=rows.start, col_offset=cols.start,
            slices=tile_pos.shape[0], adc_shift=shifts[index], tile_id=first_tile_id + index,
        )
        # the fraction of the array's cells that hold a weight of the layer
        # (only the parts inside diagonal blocks for a grouped conv; the energy model counts MACs alike)
        mapped = diagonal_block_cells(rows, cols, weights.shape, groups)
        tile = spin.CrossbarTileOp.build(
            operands=[layer.input],
            result_types=[spin.tensor((m, width), i64)],
            properties=shared | {k: spin.int_attr(v) for k, v in props.items()} | {
                "levels_pos": WeightAttr(WeightBlob(f"{key}.pos", tile_pos)),
                "levels_neg": WeightAttr(WeightBlob(f"{key}.neg", tile_neg)),
                "utilisation": spin.real_attr(mapped / (array_rows * array_cols)),
            },
        )
        if calibration is not None:
            tile.attributes[INPUT_ONE_FRACTION_ATTR] = spin.real_attr(
                one_bit_fraction(calibration[:, rows], get_int(layer, "input_bits")))
        rewriter.insert_op(tile, InsertPoint.before(layer))
        tiles.append(tile)
    new_ops: list[Operation] = list(tiles)
    if len(tiles) == 1:
        result = new_ops[0].results[0]
    else:
        # shift_add operands: column blocks in order, each its row tiles in order
        partition = column_blocks(blocks)
        shift_add = spin.ShiftAddOp.build(
            operands=[[tiles[i].results[0] for block in partition for i in block]],
            result_types=[layer.output.type],
            properties={"blocks": spin.ints_attr([len(block) for block in partition])},
        )
        rewriter.insert_op(shift_add, InsertPoint.before(layer))
        new_ops.append(shift_add)
        result = shift_add.results[0]
    rewriter.replace_op(layer, [], [result])
    return new_ops


def tile_module(module: ModuleOp, *, rule: str | None = None, max_saturation: float | None = None,
                grouped: str = "aligned") -> None:
    """Tile every crossbar layer; ``rule``/``max_saturation`` go to
    ``reference.choose_tile_adc_shifts`` (None: the reference's defaults);
    ``grouped``: how grouped layers are tiled (``tiling.GROUPED_TILINGS``)."""
    check_grouped_tiling(grouped)
    options: dict = {}
    if rule is not None:
        if rule not in reference.ADC_SHIFT_RULES:
            raise SpintronError(
                f"tile-crossbars: adc-shift-rule must be one of {', '.join(reference.ADC_SHIFT_RULES)}, got '{rule}'"
            )
        options["rule"] = rule
    if max_saturation is not None:
        if not 0.0 <= max_saturation <= 1.0:
            raise SpintronError(f"tile-crossbars: max-saturation must be in [0, 1], got {max_saturation}")
        options["max_saturation_rate"] = max_saturation
    next_id = 1 + max((get_int(t, "tile_id") for t in module.walk() if isinstance(t, spin.CrossbarTileOp)), default=-1)
    main = main_function(module)
    sample = calibration_sample(main)
    # The kept calibration items go through the quantized graph op by op.  A fixed-batch
    # model's graph takes its batch at a time (reshapes to a static shape), so each batch
    # has values of its own (constants included); a layer's ADC shifts see them all.
    batch = fixed_batch(main)
    step = len(sample[0]) if sample is not None and batch is None else batch
    batches = [] if sample is None else [dict(zip(main.args, (a[start:start + step] for a in sample)))
                                         for start in range(0, len(sample[0]), step)]
    for op in list(main.body.block.ops):
        if isinstance(op, func.ReturnOp):
            break
        if isinstance(op, spin.CrossbarLayerOp):
            inputs = np.concatenate([values[op.input] for values in batches]) if batches else None
            new_ops = tile_layer(op, next_id, options, inputs, grouped)
            next_id += sum(isinstance(new, spin.CrossbarTileOp) for new in new_ops)
        else:
            new_ops = [op]
        for values in batches:
            for new in new_ops:
                values[new.results[0]] = evaluate_op(new, [values[v] for v in new.operands])


@dataclass(frozen=True)
class TileCrossbarsPass(ModulePass):
    """Split crossbar layers into physical tiles with bit slices and per-tile ADC shifts."""

    name = "tile-crossbars"

    adc_shift_rule: str | None = None
    max_saturation: float | None = None
    grouped_tiling: str = "aligned"  # or "grid": fewest arrays (tiling.py says when it matters)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        max_saturation = None if self.max_saturation is None else float(self.max_saturation)
        tile_module(op, rule=self.adc_shift_rule, max_saturation=max_saturation, grouped=self.grouped_tiling)
