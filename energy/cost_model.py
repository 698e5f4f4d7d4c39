"""Energy, latency and area of crossbar tiles and digital ops, from event counts.

Everything here is a plain function of event counts and unit costs, so it can
be tested without the IR; ``passes/estimate_energy.py`` counts the events of a
``spin`` module and calls these.  docs/energy-model.md gives the model with
its equations and assumptions; the numbers are in the parameter tables.

Units: J, s, m^2, S (siemens), V.  Batch of one: a layer processes
``vectors`` input vectors (1 for a fully connected layer, the output pixels
of a convolution).

One crossbar tile (``spin.crossbar_tile``) holds ``slices`` arrays, one per
weight slice; each array holds the positive and the negative cells of a
differential pair side by side, so one row driver drives both and one ADC
conversion digitises the difference current of a column pair.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from spintron_nn.devices.mtj import MTJ, MTJ_FIELDS
from spintron_nn.devices.sot import SOTWritePath, WRITE_FIELDS
from spintron_nn.errors import SpintronError
from spintron_nn.energy.params import ParameterTable
from spintron_nn.tiling import check_groups, column_blocks, diagonal_block_cells, layer_tile_blocks

# Stable keys of the breakdowns (report.json depends on them).
# ``mac`` is the CMOS baseline's multiply-accumulate array (zero on crossbars).
ENERGY_COMPONENTS = ("cell_read", "row_driver", "adc", "shift_add", "mac", "digital", "buffer", "leakage")
AREA_COMPONENTS = ("cells", "adc", "row_driver", "digital")
OPS_PER_MAC = 2  # TOPS counts a multiply and an add
ACCUMULATOR_BYTES = 4  # hardware partial sums are 32-bit (the IR's i64 is headroom)
CELL_TYPES = ("mtj", "sot", "dw")


# ----------------------------------------------------------------- scaling


def node_factor(node_nm: float, reference_nm: float, exponent: float) -> float:
    """(node / reference)^exponent: the rule that moves a figure quoted at
    ``reference_nm`` to the design's node (energy: exponent ~1, area: 2)."""
    return (node_nm / reference_nm) ** exponent


# ----------------------------------------------------- unit-cost functions


def cell_read_energy(voltage: float, conductance: float, read_time: float) -> float:
    """Joule heat of one cell read: V^2 * G * t (G in S, summed if several)."""
    return voltage * voltage * conductance * read_time


def adc_conversion_energy(bits: int, energy_at_reference: float, reference_bits: int, growth: float) -> float:
    """Energy per conversion at fixed figure of merit: E_ref * growth^(bits - ref).

    With growth = 2 this is Walden's FoM * 2^bits, anchored at a measured ADC."""
    return energy_at_reference * growth ** (bits - reference_bits)


def ideal_adc_bits(rows: int, cell_bits: int) -> int:
    """Bits of an ADC that never saturates: a signed column sum of ``rows``
    cells of up to 2^cell_bits - 1 (used when the IR asks for an ideal ADC)."""
    full_scale = rows * (2**cell_bits - 1)
    return int(math.ceil(math.log2(full_scale + 1))) + 1


def sram_energy_per_byte(capacity_bytes: float, points: Iterable[tuple[float, float]], minimum_capacity: float) -> float:
    """Read energy per byte of an SRAM of ``capacity_bytes``: log-log
    interpolation between (capacity, J/byte) points, extended by the end
    segments' slopes; capacities below ``minimum_capacity`` cost as that."""
    capacities, energies = zip(*sorted(points))
    log_c = np.log(np.asarray(capacities, dtype=float))
    log_e = np.log(np.asarray(energies, dtype=float))
    x = math.log(max(capacity_bytes, minimum_capacity))
    if x <= log_c[0]:
        slope = (log_e[1] - log_e[0]) / (log_c[1] - log_c[0])
        return float(math.exp(log_e[0] + slope * (x - log_c[0])))
    if x >= log_c[-1]:
        slope = (log_e[-1] - log_e[-2]) / (log_c[-1] - log_c[-2])
        return float(math.exp(log_e[-1] + slope * (x - log_c[-1])))
    return float(math.exp(np.interp(x, log_c, log_e)))


# ------------------------------------------------------------- unit costs


@dataclass(frozen=True)
class CellCosts:
    """One cell type's read conductances, area and programming energy."""

    kind: str
    levels: int
    conductance_min: float  # S, level 0 (antiparallel at the read bias)
    conductance_max: float  # S, top level (parallel)
    area: float  # m^2
    write_energy: float  # J per programming pulse

    @property
    def conductance_step(self) -> float:
        """S per level: ``G = G_min + level * step``."""
        return (self.conductance_max - self.conductance_min) / (self.levels - 1)

    def conductance(self, mean_level: float) -> float:
        """Mean conductance of cells whose mean level is ``mean_level``."""
        return self.conductance_min + mean_level * self.conductance_step

    def conductance_sum(self, cells: int, level_sum: float) -> float:
        """Summed conductance of ``cells`` cells whose programmed levels add up to ``level_sum``."""
        return cells * self.conductance_min + level_sum * self.conductance_step


@dataclass(frozen=True)
class UnitCosts:
    """Per-event energies and per-unit areas, already scaled to the design node."""

    read_voltage: float
    read_time: float
    input_one_fraction: float
    mean_level_fraction: float
    row_driver_energy: float
    row_driver_area: float
    adc_energy_at_reference: float
    adc_reference_bits: int
    adc_energy_growth: float
    adc_area_at_reference: float
    adc_area_growth: float
    adc_sample_rate: float
    columns_per_adc: int
    leakage_power_density: float  # W/m^2 of periphery
    add8_energy: float
    add32_energy: float
    mult8_energy: float
    mult32_energy: float
    fp32_op_energy: float  # one float add + multiply, for exact digital blocks
    softmax_ops_per_element: int  # fp32 multiply-add pairs of the exact softmax
    add32_area: float
    mult8_area: float
    mult32_area: float
    digital_op_rate: float  # element ops per second of the digital unit
    sram_points: tuple[tuple[float, float], ...]  # (bytes, J/byte)
    sram_minimum_capacity: float
    sram_write_to_read: float

    def adc_energy(self, bits: int) -> float:
        return adc_conversion_energy(bits, self.adc_energy_at_reference, self.adc_reference_bits, self.adc_energy_growth)

    def adc_area(self, bits: int) -> float:
        return self.adc_area_at_reference * self.adc_area_growth ** (bits - self.adc_reference_bits)

    def sram_read_energy(self, nbytes: float, capacity: float) -> float:
        return nbytes * sram_energy_per_byte(capacity, self.sram_points, self.sram_minimum_capacity)

    def sram_write_energy(self, nbytes: float, capacity: float) -> float:
        return self.sram_write_to_read * self.sram_read_energy(nbytes, capacity)


def unit_costs(table: ParameterTable) -> UnitCosts:
    """The unit costs of ``table``, each moved from its source's node to
    ``technology.node_nm`` by the scaling exponents."""
    v = table.value
    node = v("technology.node_nm")
    e_exp, a_exp = v("technology.energy_scaling_exponent"), v("technology.area_scaling_exponent")
    periphery_e = node_factor(node, v("periphery.reference_node_nm"), e_exp)
    periphery_a = node_factor(node, v("periphery.reference_node_nm"), a_exp)
    digital_e = node_factor(node, v("digital.reference_node_nm"), e_exp)
    digital_a = node_factor(node, v("digital.reference_node_nm"), a_exp)
    sram_points = tuple(
        (capacity, digital_e * v(name) / 8.0)  # Horowitz quotes 64-bit (8-byte) reads
        for capacity, name in (
            (8 * 1024, "sram.read_64bit_8kb"),
            (32 * 1024, "sram.read_64bit_32kb"),
            (1024 * 1024, "sram.read_64bit_1mb"),
        )
    )
    return UnitCosts(
        read_voltage=v("read.v_read"),
        read_time=v("crossbar.read_time"),
        input_one_fraction=v("crossbar.input_one_fraction"),
        mean_level_fraction=v("crossbar.mean_level_fraction"),
        row_driver_energy=periphery_e * v("row_driver.energy_per_activation"),
        row_driver_area=periphery_a * v("row_driver.area"),
        adc_energy_at_reference=periphery_e * v("adc.energy_at_reference_bits"),
        adc_reference_bits=int(v("adc.reference_bits")),
        adc_energy_growth=v("adc.energy_growth_per_bit"),
        adc_area_at_reference=periphery_a * v("adc.area_at_reference_bits"),
        adc_area_growth=v("adc.area_growth_per_bit"),
        adc_sample_rate=v("adc.sample_rate"),
        columns_per_adc=int(v("adc.columns_per_adc")),
        leakage_power_density=v("periphery.leakage_power_density"),
        add8_energy=digital_e * v("digital.int8_add_energy"),
        add32_energy=digital_e * v("digital.int32_add_energy"),
        mult8_energy=digital_e * v("digital.int8_mult_energy"),
        mult32_energy=digital_e * v("digital.int32_mult_energy"),
        fp32_op_energy=digital_e * (v("digital.fp32_add_energy") + v("digital.fp32_mult_energy")),
        softmax_ops_per_element=int(v("digital.softmax_ops_per_element")),
        add32_area=digital_a * v("digital.int32_add_area"),
        mult8_area=digital_a * v("digital.int8_mult_area"),
        mult32_area=digital_a * v("digital.int32_mult_area"),
        digital_op_rate=v("digital.clock_frequency") * v("digital.lanes"),
        sram_points=sram_points,
        sram_minimum_capacity=v("sram.minimum_capacity"),
        sram_write_to_read=v("sram.write_to_read_ratio"),
    )


def _device_value(table: ParameterTable, kind: str, field_name: str) -> float:
    # The SOT and domain-wall tables share the STT table's stack properties
    # they do not define (the device table's own fallback rule).
    name = f"{kind}.{field_name}"
    return table.value(name if name in table else f"mtj.{field_name}")


def cell_costs(table: ParameterTable, kind: str, cell_bits: int) -> CellCosts:
    """Conductances (MTJ model with TMR roll-off at the read voltage), area
    and programming energy of a ``kind`` cell holding ``cell_bits`` bits."""
    if kind not in CELL_TYPES:
        raise SpintronError(f"unknown cell type {kind!r}; expected one of {', '.join(CELL_TYPES)}")
    levels = 2**cell_bits
    if kind != "dw" and levels != 2:
        raise SpintronError(f"{kind} cells are binary: cell_bits must be 1, got {cell_bits} (use dw)")
    mtj = MTJ(**{name: _device_value(table, kind, name) for name in MTJ_FIELDS}, table=kind)
    read_voltage = table.value("read.v_read")
    if kind == "mtj":
        write_energy = table.value("programming.stt_write_energy")
    else:  # SOT and domain-wall cells are written through the heavy-metal track
        write_energy = SOTWritePath(**{name: table.value(f"sot.{name}") for name in WRITE_FIELDS}).write_energy
    feature = table.value("technology.node_nm") * 1e-9
    return CellCosts(
        kind=kind,
        levels=levels,
        conductance_min=1.0 / float(mtj.r_antiparallel(read_voltage)),
        conductance_max=1.0 / mtj.r_parallel,
        area=table.value(f"cell_area.{kind}") * feature * feature,
        write_energy=write_energy,
    )


def default_cell_type(cell_bits: int) -> str:
    """Binary cells are STT MTJs; multi-level cells need the domain-wall cell."""
    return "mtj" if cell_bits == 1 else "dw"


# -------------------------------------------------------------------- costs


def _zeros(keys: tuple[str, ...]) -> dict[str, float]:
    return {key: 0.0 for key in keys}


@dataclass
class Cost:
    """Energy by component (J), programming energy (J, once per design, not
    in the inference total), latency (s), area by component (m^2), MACs."""

    energy: dict[str, float] = field(default_factory=lambda: _zeros(ENERGY_COMPONENTS))
    programming: float = 0.0
    latency: float = 0.0
    area: dict[str, float] = field(default_factory=lambda: _zeros(AREA_COMPONENTS))
    macs: int = 0

    @property
    def total_energy(self) -> float:
        return sum(self.energy.values())

    @property
    def total_area(self) -> float:
        return sum(self.area.values())

    def combine(self, other: Cost, *, parallel: bool) -> Cost:
        """Both costs; latencies overlap (``parallel``) or add up."""
        return Cost(
            energy={k: self.energy[k] + other.energy[k] for k in ENERGY_COMPONENTS},
            programming=self.programming + other.programming,
            latency=max(self.latency, other.latency) if parallel else self.latency + other.latency,
            area={k: self.area[k] + other.area[k] for k in AREA_COMPONENTS},
            macs=self.macs + other.macs,
        )

    def with_leakage(self, units: UnitCosts) -> Cost:
        """Leakage of this cost's periphery while it is busy.  Idle layers are
        assumed power-gated, which non-volatile weights make free."""
        periphery = self.total_area - self.area["cells"]
        energy = dict(self.energy)
        energy["leakage"] += units.leakage_power_density * periphery * self.latency
        return Cost(energy, self.programming, self.latency, dict(self.area), self.macs)


def combine(costs: Iterable[Cost], *, parallel: bool) -> Cost:
    total = Cost()
    for cost in costs:
        total = total.combine(cost, parallel=parallel)
    return total


# ------------------------------------------------------------ crossbar tile


@dataclass(frozen=True)
class TileShape:
    """What a crossbar tile does per inference (batch 1)."""

    rows: int  # rows in use (input features)
    cols: int  # weight columns in use (outputs); each a differential pair
    array_rows: int
    array_cols: int
    slices: int  # arrays, one per weight slice
    cell_bits: int
    input_bits: int
    adc_bits: int
    vectors: int = 1
    differential: bool = True


@dataclass(frozen=True)
class TileEvents:
    cell_reads: float  # cells conducting for one read time (their row driven)
    row_activations: float
    adc_conversions: int
    shift_adds: int
    read_cycles: int
    adcs: int
    buffer_read_bytes: int
    buffer_write_bytes: int


def one_bit_fraction(codes, bits: int) -> float:
    """Fraction of the ``bits`` bits of unsigned input ``codes`` that are 1 (0 for no codes): a
    measured ``input_one_fraction`` (bit-serial rows are driven, and their cells read, on 1s)."""
    codes = np.asarray(codes, dtype=np.int64)
    ones = sum(int(((codes >> b) & 1).sum()) for b in range(bits))
    return ones / max(codes.size * bits, 1)


def count_tile_events(tile: TileShape, input_one_fraction: float, columns_per_adc: int) -> TileEvents:
    """Events of one tile for ``tile.vectors`` input vectors.

    Per vector and input bit, each slice array drives its rows that see a 1
    bit (row driver, and every cell of those rows conducts), and converts each
    used column (pair) once; every conversion is shifted and added once."""
    signs = 2 if tile.differential else 1
    bit_steps = tile.vectors * tile.input_bits
    driven_rows = bit_steps * tile.slices * tile.rows * input_one_fraction
    conversions = bit_steps * tile.slices * tile.cols
    return TileEvents(
        cell_reads=driven_rows * tile.cols * signs,
        row_activations=driven_rows,
        adc_conversions=conversions,
        shift_adds=conversions,
        read_cycles=bit_steps,
        adcs=tile.slices * math.ceil(tile.array_cols / columns_per_adc),
        buffer_read_bytes=tile.vectors * tile.rows * math.ceil(tile.input_bits / 8),
        buffer_write_bytes=tile.vectors * tile.cols * ACCUMULATOR_BYTES,
    )


def read_cycle_time(tile: TileShape, units: UnitCosts) -> float:
    """One input bit: the array read, overlapped (sample-and-hold) with the
    conversions of the previous bit by the busiest ADC.  Each ADC serves
    ``columns_per_adc`` adjacent columns and a tile's columns start at the
    array's first (as tile-crossbars and the SPICE decks place them), so the
    first ADC converts ``min(C, columns_per_adc)`` of them: the other ADCs
    of a wide array do not share a narrow tile's columns."""
    conversions_per_adc = min(tile.cols, units.columns_per_adc)
    return max(units.read_time, conversions_per_adc / units.adc_sample_rate)


def tile_cost(
    tile: TileShape,
    units: UnitCosts,
    cell: CellCosts,
    *,
    conductance_sum: float | None = None,
    programming_pulses: float | None = None,
    buffer_capacity: float = 0.0,
    weight_cells: int | None = None,
) -> Cost:
    """Cost of one tile.  ``conductance_sum``: the summed conductance of all
    its used cells (both signs, all slices) when the levels are known;
    otherwise every cell holding a weight is at ``units.mean_level_fraction``
    of full scale.  ``programming_pulses``: write pulses to program it
    (default: one reset per cell plus one pulse per level step at the mean
    level).  ``weight_cells``: positions of the ``rows x cols`` block that
    hold a weight of the layer (default all; fewer where the tile spans
    several groups of a grouped conv).  The other positions are structural
    zeros: their cells are still read (energy), but they are not MACs."""
    signs = 2 if tile.differential else 1
    positions = tile.rows * tile.cols
    weight_cells = positions if weight_cells is None else weight_cells
    used_cells = tile.slices * positions * signs
    weight_share = weight_cells / positions  # the rest stay at level 0
    mean_level = units.mean_level_fraction * (cell.levels - 1) * weight_share
    if conductance_sum is None:
        conductance_sum = used_cells * cell.conductance(mean_level)
    if programming_pulses is None:
        programming_pulses = used_cells * (1.0 + mean_level)
    events = count_tile_events(tile, units.input_one_fraction, units.columns_per_adc)
    energy = _zeros(ENERGY_COMPONENTS)
    mean_conductance = conductance_sum / used_cells
    energy["cell_read"] = events.cell_reads * cell_read_energy(units.read_voltage, mean_conductance, units.read_time)
    energy["row_driver"] = events.row_activations * units.row_driver_energy
    energy["adc"] = events.adc_conversions * units.adc_energy(tile.adc_bits)
    energy["shift_add"] = events.shift_adds * units.add32_energy
    capacity = buffer_capacity or events.buffer_read_bytes
    energy["buffer"] = units.sram_read_energy(events.buffer_read_bytes, capacity) + units.sram_write_energy(
        events.buffer_write_bytes, events.buffer_write_bytes
    )
    area = _zeros(AREA_COMPONENTS)
    area["cells"] = tile.slices * tile.array_rows * tile.array_cols * signs * cell.area
    area["adc"] = events.adcs * units.adc_area(tile.adc_bits)
    area["row_driver"] = tile.slices * tile.array_rows * units.row_driver_area
    area["digital"] = events.adcs * units.add32_area  # one shift-add accumulator per ADC
    cost = Cost(
        energy=energy,
        programming=programming_pulses * cell.write_energy,
        latency=events.read_cycles * read_cycle_time(tile, units),
        area=area,
        macs=tile.vectors * weight_cells,
    )
    return cost.with_leakage(units)


# --------------------------------------------------------------- digital ops


@dataclass(frozen=True)
class DigitalWork:
    """Element operations of a digital op and the bytes it moves."""

    add8: float = 0
    add32: float = 0
    mult32: float = 0
    fp32: float = 0  # float multiply-add pairs (the exact softmax)
    lut_reads: float = 0  # one byte each from a 256-byte table
    read_bytes: float = 0
    write_bytes: float = 0
    buffer_capacity: float = 0  # bytes of the buffer read and written (0: the larger transfer)

    @property
    def operations(self) -> float:
        return self.add8 + self.add32 + self.mult32 + self.fp32 + self.lut_reads


def requant_work(outputs: int, *, read_bytes: float = 0) -> DigitalWork:
    """Per output: one 32-bit multiply (the fixed-point multiplier), one add
    of the folded zero-point/bias constant and one rounding add before the
    shift and clamp; one code byte written."""
    return DigitalWork(add32=2 * outputs, mult32=outputs, read_bytes=read_bytes, write_bytes=outputs)


def digital_cost(work: DigitalWork, units: UnitCosts, *, component: str = "digital") -> Cost:
    """Energy and latency of digital element ops (booked as ``component``)
    on the shared vector unit; its area is counted once per network
    (:func:`digital_unit_area`), not per op."""
    energy = _zeros(ENERGY_COMPONENTS)
    energy[component] = (
        work.add8 * units.add8_energy
        + work.add32 * units.add32_energy
        + work.mult32 * units.mult32_energy
        + work.fp32 * units.fp32_op_energy
    )
    capacity = work.buffer_capacity or max(work.read_bytes, work.write_bytes)
    energy["buffer"] = (
        units.sram_read_energy(work.read_bytes, capacity)
        + units.sram_write_energy(work.write_bytes, capacity)
        + units.sram_read_energy(work.lut_reads, 256)  # a table of 8-bit codes: 256 one-byte entries
    )
    return Cost(energy=energy, latency=work.operations / units.digital_op_rate)


def digital_unit_area(units: UnitCosts, lanes: int) -> float:
    """The shared vector unit: a 32-bit multiplier and adder per lane."""
    return lanes * (units.mult32_area + units.add32_area)


# ------------------------------------------------------------ whole layers


def weight_slices(weight_bits: int, cell_bits: int) -> int:
    """Slices of a weight magnitude (sign is in the differential pair)."""
    return math.ceil((weight_bits - 1) / cell_bits)


def estimate_layer(
    rows: int,
    cols: int,
    *,
    units: UnitCosts,
    cell: CellCosts,
    vectors: int = 1,
    weight_bits: int = 8,
    input_bits: int = 8,
    cell_bits: int = 2,
    adc_bits: int | None = 6,
    array_rows: int = 128,
    array_cols: int = 128,
    groups: int = 1,
    grouped_tiling: str = "aligned",
    level_sums: Sequence[float] | None = None,
    requant: bool = True,
) -> Cost:
    """A ``rows x cols`` weight matrix (K inputs, N outputs) applied to
    ``vectors`` input vectors, tiled onto ``array_rows x array_cols`` arrays
    the way ``tile-crossbars`` tiles it: tiles in parallel, then shift-add of
    the row tiles and (unless ``requant`` is False: the caller prices it) requant,
    with the buffer traffic ``estimate-energy`` prices on the tiled ops.  ``level_sums``: each tile's summed programmed
    levels (both signs, all slices; in ``tiling.layer_tile_blocks`` order), as
    ``estimate-energy`` prices a compiled tile; None (weights unknown):
    mean-level conductances.  ``groups`` > 1: a grouped conv's block-diagonal
    matrix, tiled by ``tiling.layer_tile_blocks`` (group-aligned tiles when a
    group fits an array, unless ``grouped_tiling = "grid"``); only the
    in-group products are MACs."""
    check_groups(rows, cols, groups)
    slices = weight_slices(weight_bits, cell_bits)
    tiles, merge_adds, partials_read, sums_written = [], 0, 0, 0
    blocks = layer_tile_blocks((rows, cols), groups, array_rows, array_cols, grouped_tiling)
    if level_sums is not None and len(level_sums) != len(blocks):
        raise ValueError(f"{len(level_sums)} level sums for a layer of {len(blocks)} tiles")
    for column_block in column_blocks(blocks):
        width = blocks[column_block[0]][1].stop - blocks[column_block[0]][1].start
        for index in column_block:
            row_span, col_span = blocks[index]
            height = row_span.stop - row_span.start
            bits = adc_bits if adc_bits is not None else ideal_adc_bits(height, cell_bits)
            shape = TileShape(height, width, array_rows, array_cols, slices, cell_bits, input_bits, bits, vectors)
            cells = slices * height * width * (2 if shape.differential else 1)
            conductance_sum = None if level_sums is None else cell.conductance_sum(cells, level_sums[index])
            tiles.append(tile_cost(shape, units, cell, conductance_sum=conductance_sum,
                                   weight_cells=diagonal_block_cells(row_span, col_span, (rows, cols), groups),
                                   buffer_capacity=vectors * rows))  # the layer's input codes
        if len(column_block) > 1:
            merge_adds += (len(column_block) - 1) * vectors * width
            partials_read += len(column_block) * vectors * width * ACCUMULATOR_BYTES
            sums_written += vectors * width * ACCUMULATOR_BYTES
    cost = combine(tiles, parallel=True)
    if merge_adds:
        merge = DigitalWork(add32=merge_adds, read_bytes=partials_read, write_bytes=sums_written)
        cost = cost.combine(digital_cost(merge, units, component="shift_add"), parallel=False)
    if not requant:
        return cost
    accumulators = vectors * cols * ACCUMULATOR_BYTES
    return cost.combine(digital_cost(requant_work(vectors * cols, read_bytes=accumulators), units), parallel=False)


# ----------------------------------------------------------------- reports


def cost_summary(cost: Cost) -> dict:
    """The report form of one cost: J, s, m^2, with pJ/MAC and TOPS/W."""
    total = cost.total_energy
    return {
        "macs": int(cost.macs),
        "energy_j": {**{k: cost.energy[k] for k in ENERGY_COMPONENTS}, "total": total},
        "programming_energy_j": cost.programming,
        "latency_s": cost.latency,
        "area_m2": {**{k: cost.area[k] for k in AREA_COMPONENTS}, "total": cost.total_area},
        "pj_per_mac": total / cost.macs * 1e12 if cost.macs else None,
        "tops_per_w": OPS_PER_MAC * cost.macs / total / 1e12 if cost.macs and total else None,
    }


def network_summary(layers: Mapping[str, Cost], *, shared_area: Mapping[str, float] | None = None) -> dict:
    """Per-layer breakdowns and the total.  Batch 1, layer after layer:
    latency is the sum of the layers'; ``pipeline_interval_s`` (layers
    pipelined over consecutive inputs) is the slowest layer's."""
    total = combine(layers.values(), parallel=False)
    for component, area in (shared_area or {}).items():
        total.area[component] += area
    summary = cost_summary(total)
    summary["pipeline_interval_s"] = max((c.latency for c in layers.values()), default=0.0)
    return {
        "layers": [{"name": name, **cost_summary(cost)} for name, cost in layers.items()],
        "total": summary,
    }
