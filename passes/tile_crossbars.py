"""``tile-crossbars{adc-shift-rule=... max-saturation=0.001}``: split each layer matrix into physical tiles.

Each ``spin.crossbar_layer`` (a ``[K, N]`` weight-integer matrix, K = inputs
on rows) is cut into ``array_rows x array_cols`` blocks (``reference.tile_grid``,
row-major; the last row/column block may be partial; ``utilisation`` is the
fraction of the array's cells that hold a weight of the layer).  Each block
becomes a ``spin.crossbar_tile`` holding its differential bit slices
(``reference.slice_weights``) and a ``spin.shift_add`` sums the row tiles of
each column block and concatenates the column blocks.  A grouped conv arrives
as one block-diagonal matrix (``groups``, see lower-to-spin); grid blocks
entirely off its diagonal blocks get no tile.

ADC shift per tile (docs/semantics.md section 5): the calibration items that
``calibrate`` kept on ``@main`` run through the quantized network, layer by
layer as it is tiled (``executor.evaluate_op``, exact integer tiles), so each
layer sees the codes its predecessors really produce; at most
``MAX_CALIBRATION_ROWS`` evenly spaced input rows per layer go to
``reference.choose_layer_adc_shifts`` (the reference's rule unless
``adc-shift-rule`` ("min-error" | "saturation") / ``max-saturation`` say
otherwise).  Without a calibration sample every tile gets the worst-case
shift of its row count (no read can saturate).
``tile_id`` numbers tiles module-wide in row-major order per layer.
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
from spintron_nn.energy.cost_model import diagonal_block_cells
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.ir.spin import get_int
from spintron_nn.ir.weights import WeightAttr, WeightBlob
from spintron_nn.passes.calibrate import calibration_sample

#: Calibration rows per layer for the ADC-shift choice (evenly spaced).
#: 128 rows x 8 input bits x S slices x C columns is ~0.5 M reads per 128x128
#: tile, plenty for a 1e-3 saturation rate; the exact currents cost
#: rows * 8 * S * K * N multiply-adds per layer, the bulk of compile time.
MAX_CALIBRATION_ROWS = 128


def _worst_case_shift(rows: int, cell_bits: int, adc_bits: int) -> int:
    bound = rows * (2**cell_bits - 1)
    return reference.choose_adc_shift(np.array([bound, -bound]), adc_bits, 0.0)


def _layer_shifts(layer: spin.CrossbarLayerOp, calibration: np.ndarray | None, options: dict) -> np.ndarray:
    """ADC shift of every grid block ``[row block, col block]`` (reference rule)."""
    weights = layer.weights.array
    array_rows, array_cols = get_int(layer, "array_rows"), get_int(layer, "array_cols")
    grid_shape = (-(-weights.shape[0] // array_rows), -(-weights.shape[1] // array_cols))
    adc_bits = get_int(layer, "adc_bits")
    if adc_bits is None:
        return np.zeros(grid_shape, dtype=np.int64)
    if calibration is None:
        heights = [min(array_rows, weights.shape[0] - start) for start in range(0, weights.shape[0], array_rows)]
        shifts = [_worst_case_shift(h, get_int(layer, "cell_bits"), adc_bits) for h in heights]
        return np.repeat(np.array(shifts, dtype=np.int64)[:, None], grid_shape[1], axis=1)
    if len(calibration) > MAX_CALIBRATION_ROWS:
        calibration = calibration[np.linspace(0, len(calibration) - 1, MAX_CALIBRATION_ROWS).astype(np.int64)]
    return reference.choose_layer_adc_shifts(
        calibration, weights, weight_bits=get_int(layer, "weight_bits"),
        cell_bits=get_int(layer, "cell_bits"), input_bits=get_int(layer, "input_bits"), adc_bits=adc_bits,
        rows_per_tile=array_rows, cols_per_tile=array_cols, **options,
    )


def _mapped_cells(layer: spin.CrossbarLayerOp, rows: slice, cols: slice) -> int:
    """Cells of the block that hold a weight of the layer: the whole block for a
    dense matrix, only its parts inside diagonal blocks for a grouped conv.
    The energy model counts MACs with the same rule."""
    return diagonal_block_cells(rows, cols, layer.weights.array.shape, get_int(layer, "groups", 1))


def _mapped_blocks(layer: spin.CrossbarLayerOp, grid: list[tuple[slice, slice]]) -> list[tuple[slice, slice]]:
    """The grid blocks that get a physical tile: all of them for a dense matrix;
    for a block-diagonal one (``groups`` > 1) those that hold a weight.
    Every column block meets a diagonal block, so every output column is produced."""
    return [(r, c) for r, c in grid if _mapped_cells(layer, r, c) > 0]


def tile_layer(layer: spin.CrossbarLayerOp, first_tile_id: int, shift_options: dict,
               calibration: np.ndarray | None = None) -> list[Operation]:
    """Replace ``layer`` by its tiles (and shift_add); returns the new ops in order.
    ``calibration``: the layer's input codes on calibration data, if known."""
    weights = layer.weights.array
    k, n = weights.shape
    array_rows, array_cols = get_int(layer, "array_rows"), get_int(layer, "array_cols")
    cell_bits = get_int(layer, "cell_bits")
    levels_pos, levels_neg = reference.slice_weights(weights, get_int(layer, "weight_bits"), cell_bits)
    name = layer.layer.data
    grid = reference.tile_grid(k, n, array_rows, array_cols)
    rewriter = Rewriter()
    m = spin.shape_of(layer.input)[0]
    shared = {key: layer.properties[key] for key in
              ("array_rows", "array_cols", "cell_bits", "input_bits", "adc_bits", "layer")
              if key in layer.properties}
    shifts = _layer_shifts(layer, calibration, shift_options)
    tiles: dict[tuple[int, int], spin.CrossbarTileOp] = {}
    for index, (rows, cols) in enumerate(_mapped_blocks(layer, grid)):
        tile_pos, tile_neg = levels_pos[:, rows, cols], levels_neg[:, rows, cols]
        height, width = rows.stop - rows.start, cols.stop - cols.start
        key = f"spin.{name}.t{rows.start // array_rows}_{cols.start // array_cols}"
        props = dict(
            rows=height, cols=width, row_offset=rows.start, col_offset=cols.start,
            slices=tile_pos.shape[0], adc_shift=int(shifts[rows.start // array_rows, cols.start // array_cols]),
            tile_id=first_tile_id + index,
        )
        tile = spin.CrossbarTileOp.build(
            operands=[layer.input],
            result_types=[spin.tensor((m, width), i64)],
            properties=shared | {k: spin.int_attr(v) for k, v in props.items()} | {
                "levels_pos": WeightAttr(WeightBlob(f"{key}.pos", tile_pos)),
                "levels_neg": WeightAttr(WeightBlob(f"{key}.neg", tile_neg)),
                "utilisation": spin.real_attr(_mapped_cells(layer, rows, cols) / (array_rows * array_cols)),
            },
        )
        rewriter.insert_op(tile, InsertPoint.before(layer))
        tiles[(rows.start, cols.start)] = tile
    # shift_add operands: column blocks in order, each its row tiles in order.
    col_starts = sorted({c for _, c in tiles})
    row_starts = sorted({r for r, _ in tiles})
    new_ops: list[Operation] = list(tiles.values())
    if len(tiles) == 1:
        result = new_ops[0].results[0]
    else:
        blocks = [[tiles[(r, c)].results[0] for r in row_starts if (r, c) in tiles] for c in col_starts]
        shift_add = spin.ShiftAddOp.build(
            operands=[[v for block in blocks for v in block]], result_types=[layer.output.type],
            properties={"blocks": spin.ints_attr([len(block) for block in blocks])},
        )
        rewriter.insert_op(shift_add, InsertPoint.before(layer))
        new_ops.append(shift_add)
        result = shift_add.results[0]
    rewriter.replace_op(layer, [], [result])
    return new_ops


def tile_module(module: ModuleOp, *, rule: str | None = None, max_saturation: float | None = None) -> None:
    """Tile every crossbar layer; ``rule``/``max_saturation`` go to
    ``reference.choose_layer_adc_shifts`` (None: the reference's defaults)."""
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
    values = None if sample is None else dict(zip(main.args, sample))
    for op in list(main.body.block.ops):
        if isinstance(op, func.ReturnOp):
            break
        if isinstance(op, spin.CrossbarLayerOp):
            new_ops = tile_layer(op, next_id, options, None if values is None else values[op.input])
            next_id += sum(isinstance(new, spin.CrossbarTileOp) for new in new_ops)
        else:
            new_ops = [op]
        if values is not None:
            for new in new_ops:
                values[new.results[0]] = evaluate_op(new, [values[v] for v in new.operands])


@dataclass(frozen=True)
class TileCrossbarsPass(ModulePass):
    """Split crossbar layers into physical tiles with bit slices and per-tile ADC shifts."""

    name = "tile-crossbars"

    adc_shift_rule: str | None = None
    max_saturation: float | None = None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        max_saturation = None if self.max_saturation is None else float(self.max_saturation)
        tile_module(op, rule=self.adc_shift_rule, max_saturation=max_saturation)
