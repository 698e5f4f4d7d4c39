"""Word-line / bit-line wire: resistance of one segment per cell pitch,
``R = resistivity * cell_pitch / (width * thickness)``."""

from __future__ import annotations

from dataclasses import dataclass

from spintron_nn.devices.table import check_fields, from_table

WIRE_FIELDS = ("resistivity", "cell_pitch", "width", "thickness")


@dataclass(frozen=True)
class Wire:
    """Metal line geometry (ohm m, m)."""

    resistivity: float
    cell_pitch: float
    width: float
    thickness: float

    def __post_init__(self):
        check_fields(self, "wire", WIRE_FIELDS)

    @classmethod
    def from_table(cls, parameters=None, **overrides) -> "Wire":
        return from_table(cls, "wire", WIRE_FIELDS, overrides, parameters)

    @property
    def segment_resistance(self) -> float:
        return self.resistivity * self.cell_pitch / (self.width * self.thickness)
