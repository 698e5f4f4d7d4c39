"""Three-terminal SOT-MTJ cell.

The read path is the MTJ stack (read through its own access transistor, see
``cells.py``); the write path is the heavy-metal track under the free layer, so
writing never stresses the barrier.  The write costs the Joule energy of the
track current pulse, ``E = I^2 R_track t_pulse``.
"""

from __future__ import annotations

from dataclasses import dataclass

from spintron_nn.devices.table import check_fields, from_table

WRITE_FIELDS = ("track_resistance", "write_current", "write_pulse")


@dataclass(frozen=True)
class SOTWritePath:
    """Heavy-metal track (ohm) driven by a current pulse (A, s)."""

    track_resistance: float
    write_current: float
    write_pulse: float

    def __post_init__(self):
        check_fields(self, "sot", WRITE_FIELDS)

    @classmethod
    def from_table(cls, parameters=None, **overrides) -> "SOTWritePath":
        return from_table(cls, "sot", WRITE_FIELDS, overrides, parameters)

    @property
    def write_voltage(self) -> float:
        return self.write_current * self.track_resistance

    @property
    def write_energy(self) -> float:
        """Joules per written bit, track dissipation only."""
        return self.write_current**2 * self.track_resistance * self.write_pulse
