"""Magnetic tunnel junction: resistance, TMR bias roll-off, temperature.

Models (docs/devices.md gives the derivations and sources):

* bias roll-off ``TMR(V) = TMR(T) / (1 + (V / v_half)^2)`` (Zhang, Zhao et al.,
  IEEE TED 59(3), 2012); R_P is bias independent, ``R_AP = R_P (1 + TMR(V))``.
* temperature: Julliere ``TMR = 2 P^2 / (1 - P^2)`` with the spin-wave
  polarisation ``P(T) = P0 (1 - alpha T^1.5)`` (Shang et al., PRB 58, R2917,
  1998), P0 fixed so that ``TMR(t_ref) = tmr0``; R_P linear in T.
* a cell whose free layer is a fraction ``f`` parallel (a domain wall splits
  it into a parallel and an antiparallel area conducting side by side) has
  ``G = f / R_P + (1 - f) / R_AP(V)``; a binary MTJ is ``f`` in {0, 1}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spintron_nn.devices.table import check_fields, from_table

MTJ_FIELDS = ("r_parallel", "tmr0", "v_half", "spin_wave_alpha", "r_temp_coeff",
              "t_ref", "sigma_r_parallel", "sigma_tmr")


@dataclass(frozen=True)
class MTJ:
    """One MTJ stack.  Resistances in ohm, voltages in V, temperatures in K;
    ``table`` names the parameter table whose ranges validate the fields."""

    r_parallel: float
    tmr0: float
    v_half: float
    spin_wave_alpha: float
    r_temp_coeff: float
    t_ref: float
    sigma_r_parallel: float
    sigma_tmr: float
    table: str = "mtj"

    def __post_init__(self):
        check_fields(self, self.table, MTJ_FIELDS)

    @classmethod
    def from_table(cls, table: str = "mtj", parameters=None, **overrides) -> "MTJ":
        """The ``table`` stack (``mtj``, ``sot``, ``dw``) from ``parameters``
        (a ``parameters.ParameterTable``) or the shipped table."""
        return from_table(cls, table, MTJ_FIELDS, {"table": table, **overrides}, parameters)

    def r_parallel_at(self, temperature: float) -> float:
        return self.r_parallel * (1.0 + self.r_temp_coeff * (temperature - self.t_ref))

    def tmr_at(self, temperature: float) -> float:
        """Zero-bias TMR at ``temperature`` (Julliere + spin-wave polarisation)."""
        p_ref = np.sqrt(self.tmr0 / (2.0 + self.tmr0))
        p0 = p_ref / (1.0 - self.spin_wave_alpha * self.t_ref**1.5)
        p = p0 * (1.0 - self.spin_wave_alpha * temperature**1.5)
        return float(2.0 * p * p / (1.0 - p * p))

    def tmr_at_bias(self, voltage, temperature: float | None = None):
        tmr = self.tmr_at(self.t_ref if temperature is None else temperature)
        return tmr / (1.0 + (np.asarray(voltage) / self.v_half) ** 2)

    def r_antiparallel(self, voltage=0.0, temperature: float | None = None):
        temperature = self.t_ref if temperature is None else temperature
        return self.r_parallel_at(temperature) * (1.0 + self.tmr_at_bias(voltage, temperature))


def mtj_current(voltage, parallel_fraction, r_parallel, tmr, v_half):
    """Current through MTJ cells and its derivative dI/dV (numpy broadcasting).

    ``tmr`` is the zero-bias TMR (already at the device temperature);
    ``v_half = inf`` gives a linear, bias-independent cell.
    """
    # u = (V/V_h)^2, TMR(V) = tmr / (1 + u), G = f/R_P + (1-f) / (R_P (1 + TMR(V)))
    u = np.square(voltage / v_half)
    roll = 1.0 / (1.0 + u)
    tmr_v = tmr * roll
    antiparallel = (1.0 - parallel_fraction) / (r_parallel * (1.0 + tmr_v))
    conductance = parallel_fraction / r_parallel + antiparallel
    # dI/dV = G + V dG/dV, and V dG_AP/dV = 2 u TMR(V) roll G_AP / (1 + TMR(V))
    slope = conductance + 2.0 * u * tmr_v * roll * antiparallel / (1.0 + tmr_v)
    return voltage * conductance, slope
