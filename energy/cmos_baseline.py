"""The CMOS baseline: the same layers on a digital int8 MAC array with SRAM weights.

Dataflow (docs/energy-model.md): each MAC is an 8-bit multiply and a 32-bit
accumulate (Horowitz 45 nm, moved to the design node by the same scaling rule
as the crossbar periphery); each MAC reads its int8 weight from a weight SRAM
sized for the whole network (``cmos.weight_reuse`` MACs share one read;
only real weights: a grouped conv's structural zeros are skipped); each
input vector is read once from, and each output written once to, an
activation SRAM; requant is the same digital work as on the crossbar design.
The MAC array has ``cmos.mac_units`` units at ``cmos.clock_frequency``.

Operand widths: int8 by default (``cmos.operand_bits`` = 8), or the crossbar
design's own widths per layer (0).  A narrower multiplier costs the power law
in the product of the operand widths that Horowitz's 8- and 32-bit multiplies
fix (energy 0.2 -> 3.1 pJ and area 282 -> 3495 um^2 for 16x the product:
exponents 0.99 and 0.91); weights and input codes are stored packed, so the
SRAM moves ``bits / 8`` bytes per operand.  The 32-bit accumulator stays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spintron_nn.energy.cost_model import (
    Cost,
    UnitCosts,
    digital_cost,
    requant_work,
)
from spintron_nn.energy.params import ParameterTable
from spintron_nn.tiling import check_groups


INT8 = (8, 8)  # (weight bits, input bits) of the int8 baseline


def _width_power_law(at_int8: float, at_int32: float, weight_bits: int, input_bits: int) -> float:
    """A multiplier's cost for these operand widths: the power law in the product of the widths
    through the int8 (product 64) and int32 (product 1024) figures; exactly ``at_int8`` for int8."""
    exponent = math.log(at_int32 / at_int8) / math.log(1024 / 64)
    return at_int8 * (weight_bits * input_bits / 64) ** exponent


def multiplier_energy(units: UnitCosts, weight_bits: int, input_bits: int) -> float:
    return _width_power_law(units.mult8_energy, units.mult32_energy, weight_bits, input_bits)


def multiplier_area(units: UnitCosts, weight_bits: int, input_bits: int) -> float:
    return _width_power_law(units.mult8_area, units.mult32_area, weight_bits, input_bits)


@dataclass(frozen=True)
class CmosArray:
    mac_units: int
    clock_frequency: float
    weight_reuse: int
    operand_bits: int = 8  # both operands' width; 0: each layer at the crossbar design's widths

    @classmethod
    def from_table(cls, table: ParameterTable) -> CmosArray:
        return cls(
            mac_units=int(table.value("cmos.mac_units")),
            clock_frequency=table.value("cmos.clock_frequency"),
            weight_reuse=int(table.value("cmos.weight_reuse")),
            operand_bits=int(table.value("cmos.operand_bits")),
        )

    def widths(self, design_widths: tuple[int, int]) -> tuple[int, int]:
        """(weight bits, input bits) of a layer whose crossbar tiles have ``design_widths``."""
        return design_widths if self.operand_bits == 0 else (self.operand_bits, self.operand_bits)

    def area(self, units: UnitCosts, widest: tuple[int, int] = INT8) -> float:
        """A multiplier for the ``widest`` layer's operands + a 32-bit accumulator per MAC unit
        (SRAM area not modelled)."""
        return self.mac_units * (multiplier_area(units, *widest) + units.add32_area)


def cmos_layer_cost(
    rows: int,
    cols: int,
    *,
    units: UnitCosts,
    array: CmosArray,
    vectors: int = 1,
    weight_memory_bytes: float | None = None,
    groups: int = 1,
    widths: tuple[int, int] = INT8,
    array_widths: tuple[int, int] | None = None,
) -> Cost:
    """A ``rows x cols`` int8 matrix applied to ``vectors`` vectors.

    ``groups`` > 1: the block-diagonal matrix of a grouped conv.  A digital
    array skips its structural zeros, so it stores and multiplies only the
    ``rows x cols / groups`` real weights; every input is still read once
    per vector and every output written once.  ``widths``: (weight bits,
    input bits) of the operands, packed in SRAM; ``array_widths``: the widths the array's
    multipliers are built for (default ``widths``; a network's are its widest layer's), whose
    area leaks while the layer runs.

    Energy goes to the components of the crossbar breakdown where the work
    is the same (``buffer``: activation and weight SRAM, ``digital``:
    requant) and to ``mac`` for the multiply-accumulates, so that the two
    designs can be compared item by item.  ``weight_memory_bytes``: size
    of the weight SRAM (default: this layer's weights).  The array's area is
    shared by all layers: :meth:`CmosArray.area`, added once per network."""
    check_groups(rows, cols, groups)
    weight_bits, input_bits = widths
    weights = rows * cols // groups
    macs = weights * vectors
    weight_capacity = weight_memory_bytes or weights * weight_bits / 8
    input_bytes = rows * vectors * input_bits / 8
    requant = digital_cost(requant_work(cols * vectors), units)  # writes the outputs
    energy = dict(requant.energy)
    energy["mac"] = macs * (multiplier_energy(units, weight_bits, input_bits) + units.add32_energy)
    energy["buffer"] += units.sram_read_energy(macs / array.weight_reuse * weight_bits / 8, weight_capacity)
    energy["buffer"] += units.sram_read_energy(input_bytes, input_bytes)
    latency = math.ceil(macs / array.mac_units) / array.clock_frequency + requant.latency
    # leakage of the MAC array while it works; power-gated otherwise, the
    # same assumption as for the crossbar periphery
    energy["leakage"] += units.leakage_power_density * array.area(units, array_widths or widths) * latency
    return Cost(energy=energy, latency=latency, macs=macs)
