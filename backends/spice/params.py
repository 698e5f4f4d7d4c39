"""Electrical parameters of one crossbar tile as the SPICE backend builds it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from spintron_nn.devices.cells import ReadCell, make_cell
from spintron_nn.devices.corners import Corner
from spintron_nn.devices.table import check_parameter, table_value
from spintron_nn.devices.variation import Variation
from spintron_nn.devices.wire import Wire
from spintron_nn.errors import SpintronError


# Plausible wire resistance per cell pitch (ohm): 0 = ideal wire.
SEGMENT_RESISTANCE_RANGE = (0.0, 1.0e4)


def check_segment_resistance(name: str, value) -> float:
    """``value`` if it is a wire segment resistance in the plausible range;
    ``name`` (a field or a CLI flag) is what the error message names."""
    low, high = SEGMENT_RESISTANCE_RANGE
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        raise SpintronError(f"{name} = {value!r} ohm per segment is outside the plausible range [{low:g}, {high:g}] ohm")
    return value


@dataclass(frozen=True)
class CrossbarParams:
    """Cell type, read voltage (V), wire segment resistances (ohm per cell
    pitch; 0 = ideal wire), corner and optional seeded device variation.

    ``bias_dependent = False`` makes the MTJ a linear resistor (no TMR
    roll-off); ``access_device = False`` drops the access transistor.  With
    both off, zero wires and the TT corner, the tile computes the integer
    column sums of the tile contract exactly.
    """

    cell: ReadCell
    v_read: float
    r_wordline: float
    r_bitline: float
    corner: Corner
    variation_seed: int | None = None
    bias_dependent: bool = True
    access_device: bool = True

    def __post_init__(self):
        check_parameter("read.v_read", self.v_read)
        for name in ("r_wordline", "r_bitline"):
            check_segment_resistance(name, getattr(self, name))

    @classmethod
    def default(cls, cell_type: str = "mtj", *, n_levels: int | None = None, corner: str = "tt",
                variation_seed: int | None = None, wire_resistance: float | None = None,
                parameters=None) -> "CrossbarParams":
        """Values of ``parameters`` (an ``energy.params.ParameterTable``, e.g.
        with ``--mtj-config`` applied) or the shipped table;
        ``wire_resistance`` (ohm per segment) overrides the wire geometry."""
        if wire_resistance is None:
            wire_resistance = Wire.from_table(parameters).segment_resistance
        return cls(make_cell(cell_type, n_levels, parameters), table_value("read.v_read", parameters),
                   wire_resistance, wire_resistance, Corner.named(corner, parameters), variation_seed)

    @classmethod
    def ideal(cls, cell_type: str = "mtj", *, n_levels: int | None = None) -> "CrossbarParams":
        """Zero wire resistance, no access transistor, linear cells, TT corner."""
        params = cls.default(cell_type, n_levels=n_levels, wire_resistance=0.0)
        return replace(params, bias_dependent=False, access_device=False)

    @property
    def level_step(self) -> float:
        """dG (S) of the nominal cell: the unit of the tile contract's column sums."""
        return self.cell.level_step

    @property
    def variation(self) -> Variation | None:
        if self.variation_seed is None:
            return None
        mtj = self.cell.mtj
        return Variation(mtj.sigma_r_parallel, mtj.sigma_tmr, self.variation_seed)
