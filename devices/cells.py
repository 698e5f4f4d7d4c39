"""The read path of every crossbar cell type, as the SPICE backend sees it.

All three cell types read the same way: word line -> access transistor ->
MTJ stack -> bit line.  They differ in their stack parameters and in how many
conductance levels one cell holds:

* ``mtj``: binary STT MTJ (2 levels: AP = level 0, P = level 1);
* ``sot``: binary three-terminal SOT-MTJ (separate write path, ``sot.py``);
* ``dw``:  domain-wall / multi-level SOT cell with 2..16 levels.

Level ``l`` of an ``n``-level cell is the parallel fraction ``f = l / (n-1)``,
so at zero bias ``G = G_min + l * dG`` with ``G_min = 1/R_AP``,
``dG = (1/R_P - 1/R_AP) / (n - 1)``: the tile contract's conductance grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spintron_nn.devices.mtj import MTJ
from spintron_nn.devices.sot import SOTWritePath
from spintron_nn.devices.table import check_parameter, table_value
from spintron_nn.devices.transistor import AccessTransistor
from spintron_nn.errors import SpintronError

CELL_TYPES = ("mtj", "sot", "dw")


@dataclass(frozen=True)
class ReadCell:
    """One cell type: its MTJ stack, level count and access transistor."""

    kind: str
    mtj: MTJ
    n_levels: int
    access: AccessTransistor
    write_path: SOTWritePath | None = field(default=None)

    def __post_init__(self):
        if self.kind not in CELL_TYPES:
            raise SpintronError(f"unknown cell type {self.kind!r}; expected one of {', '.join(CELL_TYPES)}")
        check_parameter("dw.n_levels", self.n_levels)
        if self.kind != "dw" and self.n_levels != 2:
            raise SpintronError(f"{self.kind} cells are binary: n_levels must be 2, got {self.n_levels}")

    @property
    def level_step(self) -> float:
        """dG in siemens at zero bias and the reference temperature."""
        return (1.0 / self.mtj.r_parallel - 1.0 / self.mtj.r_antiparallel()) / (self.n_levels - 1)

    def parallel_fraction(self, levels: np.ndarray) -> np.ndarray:
        levels = np.asarray(levels)
        if levels.size and (levels.min() < 0 or levels.max() >= self.n_levels):
            raise SpintronError(
                f"cell level {int(levels.max())} does not fit a {self.kind} cell with "
                f"{self.n_levels} levels (0..{self.n_levels - 1})"
            )
        return levels.astype(np.float64) / (self.n_levels - 1)


def make_cell(kind: str, n_levels: int | None = None, parameters=None, **mtj_overrides) -> ReadCell:
    """The cell type ``kind`` from ``parameters`` (a ``parameters.
    ParameterTable``, e.g. with ``--mtj-config`` applied) or the shipped
    table; ``n_levels`` for ``dw`` (default from the table)."""
    if kind not in CELL_TYPES:
        raise SpintronError(f"unknown cell type {kind!r}; expected one of {', '.join(CELL_TYPES)}")
    if n_levels is None:
        n_levels = int(table_value("dw.n_levels", parameters)) if kind == "dw" else 2
    write_path = SOTWritePath.from_table(parameters) if kind in ("sot", "dw") else None
    return ReadCell(kind, MTJ.from_table(kind, parameters, **mtj_overrides), n_levels,
                    AccessTransistor.from_table(parameters), write_path)
