"""The CMOS baseline: the same layers on a digital int8 MAC array with SRAM weights.

Dataflow (docs/energy-model.md): each MAC is an 8-bit multiply and a 32-bit
accumulate (Horowitz 45 nm, moved to the design node by the same scaling rule
as the crossbar periphery); each MAC reads its int8 weight from a weight SRAM
sized for the whole network (``cmos.weight_reuse`` MACs share one read;
only real weights: a grouped conv's structural zeros are skipped); each
input vector is read once from, and each output written once to, an
activation SRAM; requant is the same digital work as on the crossbar design.
The MAC array has ``cmos.mac_units`` units at ``cmos.clock_frequency``.
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


@dataclass(frozen=True)
class CmosArray:
    mac_units: int
    clock_frequency: float
    weight_reuse: int

    @classmethod
    def from_table(cls, table: ParameterTable) -> CmosArray:
        return cls(
            mac_units=int(table.value("cmos.mac_units")),
            clock_frequency=table.value("cmos.clock_frequency"),
            weight_reuse=int(table.value("cmos.weight_reuse")),
        )

    def area(self, units: UnitCosts) -> float:
        """int8 multiplier + 32-bit accumulator per MAC unit (SRAM area not modelled)."""
        return self.mac_units * (units.mult8_area + units.add32_area)


def cmos_layer_cost(
    rows: int,
    cols: int,
    *,
    units: UnitCosts,
    array: CmosArray,
    vectors: int = 1,
    weight_memory_bytes: float | None = None,
    groups: int = 1,
) -> Cost:
    """A ``rows x cols`` int8 matrix applied to ``vectors`` vectors.

    ``groups`` > 1: the block-diagonal matrix of a grouped conv.  A digital
    array skips its structural zeros, so it stores and multiplies only the
    ``rows x cols / groups`` real weights; every input is still read once
    per vector and every output written once.

    Energy goes to the components of the crossbar breakdown where the work
    is the same (``buffer``: activation and weight SRAM, ``digital``:
    requant) and to ``mac`` for the multiply-accumulates, so that the two
    designs can be compared item by item.  ``weight_memory_bytes``: size
    of the weight SRAM (default: this layer's weights).  The array's area is
    shared by all layers: :meth:`CmosArray.area`, added once per network."""
    check_groups(rows, cols, groups)
    weights = rows * cols // groups
    macs = weights * vectors
    weight_capacity = weight_memory_bytes or weights
    input_bytes = rows * vectors
    requant = digital_cost(requant_work(cols * vectors), units)  # writes the outputs
    energy = dict(requant.energy)
    energy["mac"] = macs * (units.mult8_energy + units.add32_energy)
    energy["buffer"] += units.sram_read_energy(macs / array.weight_reuse, weight_capacity)
    energy["buffer"] += units.sram_read_energy(input_bytes, input_bytes)
    latency = math.ceil(macs / array.mac_units) / array.clock_frequency + requant.latency
    # leakage of the MAC array while it works; power-gated otherwise, the
    # same assumption as for the crossbar periphery
    energy["leakage"] += units.leakage_power_density * array.area(units) * latency
    return Cost(energy=energy, latency=latency, macs=macs)
