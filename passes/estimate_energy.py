"""``estimate-energy``: energy, latency and area of a ``spin`` module, batch 1.

Counts the events of every op (energy/cost_model.py turns them into joules,
seconds and square metres with the parameter tables), writes a ``cost``
attribute on each costed op and a ``spin.cost`` summary on the module.
:func:`estimate_module` returns the full report (per layer and total, with
the CMOS baseline beside it) for the report backend.

Layers: the crossbar tiles of one ``layer`` run in parallel, then their
``spin.shift_add`` and ``spin.requant``; every other op is its own layer, and
layers run one after another.  Pure addressing (reshape, im2col, which the
tiles' input reads already count, rows_to_image, concat, transpose) is free.

Input activity (``activity``): ``table`` prices every tile's reads at the
parameter table's ``crossbar.input_one_fraction``; ``measured`` at the
tile's own ``spin.input_one_fraction``, which ``tile-crossbars`` measured on
the calibration sample (an error for a tile without one, or for an untiled
layer).  Either way each
crossbar layer's entry states the fraction it was priced at
(``input_one_fraction``, the tiles' row-weighted mean).

MACs are the weights of a layer times its input vectors: the zero positions
between a grouped conv's diagonal blocks are read by the tiles that span
them (energy) but are not MACs, and the CMOS baseline skips them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, TensorType, f64, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from spintron_nn.energy.cmos_baseline import INT8, CmosArray, cmos_layer_cost
from spintron_nn.energy.cost_model import (
    ACCUMULATOR_BYTES,
    ENERGY_COMPONENTS,
    CellCosts,
    Cost,
    DigitalWork,
    TileShape,
    UnitCosts,
    cell_costs,
    combine,
    default_cell_type,
    digital_cost,
    digital_unit_area,
    estimate_layer,
    ideal_adc_bits,
    network_summary,
    requant_work,
    tile_cost,
    unit_costs,
)
from spintron_nn.energy.params import ParameterTable, load_parameters
from spintron_nn.parameters import pass_parameter_table
from spintron_nn.tiling import check_grouped_tiling
from spintron_nn.config import INPUT_ACTIVITIES
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.spin import FLOAT_UNIT_ATTR
from spintron_nn.passes.tile_crossbars import INPUT_ONE_FRACTION_ATTR

FREE_OPS = (spin.ReshapeOp, spin.Im2ColOp, spin.RowsToImageOp, spin.ConcatOp, spin.TransposeOp)


# ------------------------------------------------------------------ shapes


def _rows_per_item(value: SSAValue) -> int:
    """Rows of a dynamic-batch matrix ``[?, N]`` per batch item: a conv's patch
    matrix ``[B*OH*OW, K]`` has OH*OW, and so do the tile, shift-add and requant
    results computed from it (row for row); a reshape ``[?, T, K] -> [?, K]``
    has T; any other dynamic leading dimension is the batch itself (1)."""
    owner = value.owner
    if isinstance(owner, spin.Im2ColOp):
        b, _c, h, w = spin.shape_of(owner.input)
        oh, ow = spin.conv_output_hw(
            (h, w), spin.get_ints(owner, "kernel_shape"), spin.get_ints(owner, "pads"),
            spin.get_ints(owner, "strides"), spin.get_ints(owner, "dilations"),
        )
        return oh * ow * (1 if b == spin.DYNAMIC else b)
    if isinstance(owner, (spin.CrossbarTileOp, spin.CrossbarLayerOp, spin.RequantOp, spin.SignedCodesOp)):
        return _rows_per_item(owner.input)
    if isinstance(owner, spin.ShiftAddOp):
        return _rows_per_item(owner.inputs[0])
    if isinstance(owner, spin.ReshapeOp):
        before, after = spin.shape_of(owner.input), spin.shape_of(value)
        if before and before[0] == spin.DYNAMIC and spin.DYNAMIC not in (*before[1:], *after[1:]):
            per_item = int(np.prod(before[1:], dtype=np.int64)) * _rows_per_item(owner.input)
            return max(per_item // max(int(np.prod(after[1:], dtype=np.int64)), 1), 1)
    return 1


def _batch1_shape(value: SSAValue) -> tuple[int, ...]:
    """Static shape with a dynamic batch dimension taken as 1 item (``_rows_per_item``
    rows of a matrix computed per item)."""
    shape = list(spin.shape_of(value))
    if shape and shape[0] == spin.DYNAMIC:
        shape[0] = _rows_per_item(value)
    return tuple(shape)


def _elements(value: SSAValue) -> int:
    return int(np.prod(_batch1_shape(value), dtype=np.int64))


def _code_bytes(value: SSAValue) -> int:
    """Bytes a tensor occupies in a buffer: codes 1 byte, accumulators 4."""
    assert isinstance(value.type, TensorType)
    width = value.type.element_type.bitwidth if hasattr(value.type.element_type, "bitwidth") else 32
    return _elements(value) * (1 if width <= 8 else ACCUMULATOR_BYTES)


# ------------------------------------------------------------ op -> cost


@dataclass
class _Context:
    table: ParameterTable
    units: UnitCosts
    cell_type: str
    cells: dict[int, CellCosts]
    grouped_tiling: str = "aligned"  # how an untiled grouped layer would be tiled (tiling.py)
    activity: str = "table"  # input one-bit fraction: the table's, or each tile's measured one

    def cell(self, cell_bits: int) -> CellCosts:
        if cell_bits not in self.cells:
            kind = default_cell_type(cell_bits) if self.cell_type == "auto" else self.cell_type
            self.cells[cell_bits] = cell_costs(self.table, kind, cell_bits)
        return self.cells[cell_bits]


def input_one_fraction(op: spin.CrossbarTileOp, ctx: _Context) -> float:
    """The input one-bit fraction ``op`` is priced at (``ctx.activity``)."""
    if ctx.activity == "table":
        return ctx.units.input_one_fraction
    tile = spin.get_int(op, "tile_id")
    measured = op.attributes.get(INPUT_ONE_FRACTION_ATTR)
    if measured is None:
        raise SpintronError(f"estimate-energy: activity=measured, but tile {tile} has no "
                            f"measured input activity ({INPUT_ONE_FRACTION_ATTR}; tile-crossbars records it "
                            "when calibration data is on @main)")
    value = measured.value.data if isinstance(measured, FloatAttr) else None
    if not isinstance(value, float) or not 0.0 <= value <= 1.0:  # also refuses nan
        raise SpintronError(f"estimate-energy: tile {tile}'s {INPUT_ONE_FRACTION_ATTR} must be an f64 in [0, 1], "
                            f"got {measured}")
    return value


def _tile_cost(op: spin.CrossbarTileOp, ctx: _Context, one_fraction: float) -> Cost:
    rows, cols = spin.get_int(op, "rows"), spin.get_int(op, "cols")
    cell_bits = spin.get_int(op, "cell_bits")
    adc_bits = spin.get_int(op, "adc_bits")
    shape = TileShape(
        rows=rows,
        cols=cols,
        array_rows=spin.get_int(op, "array_rows"),
        array_cols=spin.get_int(op, "array_cols"),
        slices=spin.get_int(op, "slices"),
        cell_bits=cell_bits,
        input_bits=spin.get_int(op, "input_bits"),
        adc_bits=adc_bits if adc_bits is not None else ideal_adc_bits(rows, cell_bits),
        vectors=_batch1_shape(op.input)[0],
    )
    cell = ctx.cell(cell_bits)
    level_sum = float(op.levels_pos.array.sum(dtype=np.int64) + op.levels_neg.array.sum(dtype=np.int64))
    cells = op.levels_pos.array.size + op.levels_neg.array.size
    return tile_cost(
        shape,
        dataclasses.replace(ctx.units, input_one_fraction=one_fraction),
        cell,
        conductance_sum=cell.conductance_sum(cells, level_sum),
        programming_pulses=cells + level_sum,  # reset every cell, then step it up to its level
        buffer_capacity=_code_bytes(op.input),
        weight_cells=_weight_cells(op),
    )


def _weight_cells(op: spin.CrossbarTileOp) -> int:
    """Positions of the tile holding a weight of its layer (fewer than
    rows x cols where it spans several groups of a grouped conv): the tile's
    ``utilisation`` times its array, which tile-crossbars derives from the
    layer's groups (an exact count, recovered from the f64 ratio)."""
    return round(spin.get_real(op, "utilisation") * spin.get_int(op, "array_rows") * spin.get_int(op, "array_cols"))


def _layer_op_cost(op: spin.CrossbarLayerOp, ctx: _Context) -> Cost:
    k, n = op.weights.array.shape
    return estimate_layer(
        k, n, units=ctx.units, cell=ctx.cell(spin.get_int(op, "cell_bits")),
        vectors=_batch1_shape(op.input)[0], weight_bits=spin.get_int(op, "weight_bits"),
        input_bits=spin.get_int(op, "input_bits"), cell_bits=spin.get_int(op, "cell_bits"),
        adc_bits=spin.get_int(op, "adc_bits"), array_rows=spin.get_int(op, "array_rows"),
        array_cols=spin.get_int(op, "array_cols"), groups=spin.get_int(op, "groups", 1),
        grouped_tiling=ctx.grouped_tiling, requant=False,  # the spin.requant after it is priced as an op
    )


def _digital_work(op: Operation, units: UnitCosts) -> tuple[DigitalWork, str] | None:
    """Element ops and bytes of a digital op, and the component they go to."""
    reads = sum(_code_bytes(v) for v in op.operands)
    out = op.results[0]
    n_out = _elements(out)
    moves = {"read_bytes": reads, "write_bytes": _code_bytes(out)}
    if isinstance(op, spin.ShiftAddOp):
        # a block of k > 1 row tiles: k - 1 adds per element of its columns, its k partial sums
        # read and the sum written; a lone tile's sums are in place already (concatenation
        # is addressing), so a block of one costs nothing
        adds = partials_read = sums_written = start = 0
        for count in spin.get_ints(op, "blocks"):
            block = op.inputs[start:start + count]
            if count > 1:
                adds += (count - 1) * _elements(block[0])
                partials_read += sum(_code_bytes(v) for v in block)
                sums_written += _code_bytes(block[0])
            start += count
        return DigitalWork(add32=adds, read_bytes=partials_read, write_bytes=sums_written), "shift_add"
    if isinstance(op, spin.RequantOp):
        return requant_work(n_out, read_bytes=reads), "digital"
    if isinstance(op, (spin.RescaleOp, spin.AddOp)):
        terms = len(op.operands)
        return DigitalWork(mult32=terms * n_out, add32=(terms + 1) * n_out, **moves), "digital"
    if isinstance(op, spin.MulOp):
        # per output: the two zero-point subtractions, the product, the fixed-point
        # multiplier, and the rounding and zero-point adds
        return DigitalWork(add8=2 * n_out, mult32=2 * n_out, add32=2 * n_out, **moves), "digital"
    if isinstance(op, spin.TakeOp):
        return DigitalWork(lut_reads=n_out, **moves), "digital"  # one table entry per index
    if isinstance(op, spin.ClampOp):
        return DigitalWork(add8=2 * n_out, **moves), "digital"
    if isinstance(op, spin.SignedCodesOp):
        # one 8-bit subtract per code on its way to the row drivers (no buffer traffic of its
        # own; a conv's patch matrix: an upper bound, each input could be converted once)
        return DigitalWork(add8=n_out), "digital"
    if isinstance(op, spin.LutOp):
        return DigitalWork(lut_reads=n_out, **moves), "digital"
    if isinstance(op, (spin.MaxPoolOp, spin.AvgPoolOp)):
        window = math.prod(spin.get_ints(op, "kernel_shape"))
        return DigitalWork(add8=window * n_out, **moves), "digital"
    if isinstance(op, (spin.GlobalAvgPoolOp, spin.GlobalMaxPoolOp, spin.ArgMaxOp)):
        return DigitalWork(add32=_elements(op.operands[0]), **moves), "digital"
    if isinstance(op, spin.SoftmaxOp):
        return DigitalWork(fp32=units.softmax_ops_per_element * n_out, **moves), "digital"
    if isinstance(op, (spin.QuantizeOp, spin.DequantizeOp)):
        return DigitalWork(fp32=n_out, **moves), "digital"
    if FLOAT_UNIT_ATTR in op.attributes:
        return DigitalWork(fp32=float_unit_ops(op), **moves), "digital"
    return None


MATRIX_FLOAT_OPS = ("nn.matmul", "nn.gemm", "nn.conv")  # float-unit ops whose work is MACs


def float_unit_ops(op: Operation) -> int:
    """fp32 multiply-add pairs (``DigitalWork.fp32``) of an nn op on the
    digital float unit (lower-to-spin's fallback): one per weight of a MatMul/Gemm/Conv output
    element, a compare/add per window element of a pool, else one op per
    element read or written, whichever is more (reductions read more)."""
    n_out = _elements(op.results[0])
    if op.name in ("nn.matmul", "nn.gemm"):
        a_shape = spin.shape_of(op.operands[0])
        k = a_shape[-2] if op.name == "nn.gemm" and spin.get_int(op, "trans_a") else a_shape[-1]
        return n_out * k
    if op.name == "nn.conv":
        return n_out * math.prod(spin.shape_of(op.operands[1])[1:])
    if "kernel_shape" in op.properties:
        return n_out * math.prod(spin.get_ints(op, "kernel_shape"))
    return max(n_out, *(_elements(v) for v in op.operands))


# ------------------------------------------------------------- the module


def _main_ops(module: ModuleOp) -> list[Operation]:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return list(op.body.ops)
    raise SpintronError("estimate-energy: the module has no func.func @main")


def _layer_name(op: Operation, owners: dict[Operation, str], index: int) -> str:
    if "layer" in op.properties:
        return op.properties["layer"].data
    if isinstance(op, (spin.ShiftAddOp, spin.RequantOp)):
        for operand in op.operands:
            if operand.owner in owners:
                return owners[operand.owner]
    return f"{op.name.removeprefix('spin.')}_{index}"


@dataclass
class _Layer:
    tiles: list[Cost]
    after: list[Cost]  # shift-add, requant: once the tiles are done
    rows: int = 0  # matrix size for the CMOS baseline (crossbar layers only)
    cols: int = 0
    weights: int = 0  # real weights: rows x cols / groups
    vectors: int = 0
    activity_rows: list[tuple[float, int]] = dataclasses.field(default_factory=list)  # (fraction, rows) per tile
    crossbar_only: bool = False  # digital work only the crossbar design does (signed-input conversion)
    widths: tuple[int, int] = (0, 0)  # (weight bits, input bits) its tiles hold and read

    @property
    def groups(self) -> int:
        """Diagonal blocks of the layer matrix (1: dense; a grouped conv's
        tiles hold rows x cols / groups weights between them)."""
        return self.rows * self.cols // self.weights

    def cost(self) -> Cost:
        return combine([combine(self.tiles, parallel=True), *self.after], parallel=False)


def _cost_attr(cost: Cost) -> DictionaryAttr:
    entries = {f"{k}_pj": cost.energy[k] * 1e12 for k in ENERGY_COMPONENTS if cost.energy[k]}
    entries["energy_pj"] = cost.total_energy * 1e12
    entries["latency_ns"] = cost.latency * 1e9
    entries["area_um2"] = cost.total_area * 1e12
    attrs = {k: FloatAttr(float(f"{v:.6g}"), f64) for k, v in entries.items()}
    if cost.programming:
        attrs["programming_pj"] = FloatAttr(float(f"{cost.programming * 1e12:.6g}"), f64)
    if cost.macs:
        attrs["macs"] = IntegerAttr(int(cost.macs), i64)
    return DictionaryAttr(attrs)


def estimate_module(module: ModuleOp, table: ParameterTable | None = None, *, cell_type: str = "auto",
                    annotate: bool = False, grouped_tiling: str = "aligned", activity: str = "table") -> dict:
    """The energy report of ``module``: ``{"spintronic": {...}, "cmos": {...},
    "parameters": {...}}``, each ``{"layers": [...], "total": {...}}``.
    ``grouped_tiling``: how a grouped layer not yet tiled is priced (tiled ones: as tiled);
    ``activity``: ``"table"`` or ``"measured"`` input one-bit fractions (module docstring)."""
    table = table or load_parameters()
    if cell_type not in ("auto", "mtj", "sot", "dw"):
        raise SpintronError(f"estimate-energy: unknown cell type {cell_type!r} (auto, mtj, sot, dw)")
    if activity not in INPUT_ACTIVITIES:
        raise SpintronError(f"estimate-energy: activity must be one of {', '.join(INPUT_ACTIVITIES)}, "
                            f"got {activity!r}")
    check_grouped_tiling(grouped_tiling)
    ctx = _Context(table, unit_costs(table), cell_type, {}, grouped_tiling, activity)
    layers: dict[str, _Layer] = {}
    owners: dict[Operation, str] = {}
    for index, op in enumerate(_main_ops(module)):
        if isinstance(op, FREE_OPS) or not op.results or not (op.name.startswith("spin.")
                                                              or FLOAT_UNIT_ATTR in op.attributes):
            continue
        name = _layer_name(op, owners, index)
        layer = layers.setdefault(name, _Layer([], []))
        if isinstance(op, spin.CrossbarTileOp):
            fraction = input_one_fraction(op, ctx)
            cost = _tile_cost(op, ctx, fraction)
            layer.tiles.append(cost)
            layer.rows = max(layer.rows, spin.get_int(op, "row_offset") + spin.get_int(op, "rows"))
            layer.cols = max(layer.cols, spin.get_int(op, "col_offset") + spin.get_int(op, "cols"))
            layer.weights += _weight_cells(op)
            layer.vectors = _batch1_shape(op.input)[0]
            layer.activity_rows.append((fraction, spin.get_int(op, "rows")))
            layer.widths = (_tile_weight_bits(op), spin.get_int(op, "input_bits"))
        elif isinstance(op, spin.CrossbarLayerOp):
            if activity == "measured":
                raise SpintronError(f"estimate-energy: activity=measured prices tiles' measured activity; layer "
                                    f"{op.layer.data} is not tiled yet (run tile-crossbars first)")
            cost = _layer_op_cost(op, ctx)
            layer.tiles.append(cost)
            layer.rows, layer.cols = op.weights.array.shape
            layer.weights = layer.rows * layer.cols // spin.get_int(op, "groups", 1)
            layer.vectors = _batch1_shape(op.input)[0]
            layer.activity_rows.append((ctx.units.input_one_fraction, layer.rows))
            layer.widths = (spin.get_int(op, "weight_bits"), spin.get_int(op, "input_bits"))
        else:
            work = _digital_work(op, ctx.units)
            if work is None:  # a new op without a cost rule must not cost nothing unnoticed
                raise SpintronError(f"estimate-energy has no cost rule for {op.name}")
            cost = digital_cost(work[0], ctx.units, component=work[1])
            if FLOAT_UNIT_ATTR in op.attributes and op.name in MATRIX_FLOAT_OPS:
                cost.macs = float_unit_ops(op)  # multiply-accumulates, if on the float unit
            layer.after.append(cost)
            layer.crossbar_only = isinstance(op, spin.SignedCodesOp)
        owners[op] = name
        if annotate:
            op.attributes["spin.cost"] = _cost_attr(cost)
    shared_digital = digital_unit_area(ctx.units, int(table.value("digital.lanes")))
    spintronic = network_summary({n: l.cost() for n, l in layers.items()}, shared_area={"digital": shared_digital})
    for entry in spintronic["layers"]:
        tiles = layers[entry["name"]].activity_rows
        if tiles:  # the fraction the layer's reads were priced at (row-weighted over its tiles)
            entry["input_one_fraction"] = math.fsum(f * r for f, r in tiles) / sum(r for _, r in tiles)
    cmos = _cmos_report(layers, ctx.units, table, shared_digital)
    if annotate:
        total = spintronic["total"]
        module.attributes["spin.cost_total"] = DictionaryAttr({
            "energy_pj": FloatAttr(float(f"{total['energy_j']['total'] * 1e12:.6g}"), f64),
            "latency_ns": FloatAttr(float(f"{total['latency_s'] * 1e9:.6g}"), f64),
            "area_um2": FloatAttr(float(f"{total['area_m2']['total'] * 1e12:.6g}"), f64),
            "macs": IntegerAttr(total["macs"], i64),
            "cmos_energy_pj": FloatAttr(float(f"{cmos['total']['energy_j']['total'] * 1e12:.6g}"), f64),
        })
    return {
        "spintronic": spintronic,
        "cmos": cmos,
        "parameters": {name: {"value": p.value, "unit": p.unit, "source": p.source} for name, p in table.items()},
    }


def _tile_weight_bits(op: spin.CrossbarTileOp) -> int:
    """The tile's weight width; a design written before tiles recorded it: the widest its
    slices hold (semantics section 3), at most 8."""
    if op.weight_bits is not None:
        return spin.get_int(op, "weight_bits")
    return min(8, spin.get_int(op, "slices") * spin.get_int(op, "cell_bits") + 1)


def _cmos_report(layers: dict[str, _Layer], units: UnitCosts, table: ParameterTable, shared_digital: float) -> dict:
    """The same layers on the MAC array (int8, or the design's widths); digital-only layers
    cost the same."""
    array = CmosArray.from_table(table)
    matrices = {name: layer for name, layer in layers.items() if layer.tiles}
    widths = {name: array.widths(layer.widths) for name, layer in matrices.items()}
    weight_bytes = sum(layer.weights * widths[name][0] / 8 for name, layer in matrices.items())
    # one multiplier size serves every layer: the widest operand product's
    widest = max(widths.values(), key=lambda w: w[0] * w[1], default=INT8)
    costs = {}
    for name, layer in layers.items():
        if layer.tiles:
            costs[name] = cmos_layer_cost(layer.rows, layer.cols, units=units, array=array, vectors=layer.vectors,
                                          weight_memory_bytes=weight_bytes, groups=layer.groups,
                                          widths=widths[name], array_widths=widest)
        elif layer.crossbar_only:  # the MAC array takes signed codes directly: nothing to convert
            costs[name] = digital_cost(DigitalWork(), units)
        else:
            costs[name] = layer.cost()
    return network_summary(costs, shared_area={"digital": shared_digital + array.area(units, widest)})


@dataclass(frozen=True)
class EstimateEnergyPass(ModulePass):
    """Energy, latency and area per op (spin.cost) and in total (module attribute spin.cost_total)."""

    name = "estimate-energy"

    mtj_config: str = ""  # TOML file of parameter overrides (same names as docs/parameters.md)
    parameters: str = ""  # "name=value,name=value" overrides applied after mtj_config
    cell_type: str = "auto"  # mtj | sot | dw | auto (mtj for 1-bit cells, dw otherwise)
    grouped_tiling: str = "aligned"  # untiled grouped layers: priced as tile-crossbars would tile them
    activity: str = "table"  # or "measured": each tile's spin.input_one_fraction (tile-crossbars)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        table = pass_parameter_table(self.mtj_config, self.parameters)
        estimate_module(op, table, cell_type=self.cell_type, annotate=True, grouped_tiling=self.grouped_tiling,
                        activity=self.activity)
