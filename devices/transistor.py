"""Access transistor as a series on-resistance.

In a read the access NMOS sits in its linear region with a small V_DS, so it
acts as ``R_on = 1 / (k' (W/L) (V_GS - V_th))`` (square-law linear region,
Sze and Ng, Physics of Semiconductor Devices, 3rd ed.).  Temperature enters
through the mobility (``k' ~ T^-mobility_exponent``) and the threshold
(``V_th(T) = V_th + vth_temp_coeff (T - t_ref)``).  No transistor model card
ships with an installed package, so no BSIM device is offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from spintron_nn.devices.table import check_fields, from_table, table_value
from spintron_nn.errors import SpintronError

ACCESS_FIELDS = ("k_prime", "w_over_l", "v_gate", "v_threshold", "vth_temp_coeff",
                 "mobility_exponent")


@dataclass(frozen=True)
class AccessTransistor:
    """NMOS access device (A/V^2, V, V/K); ``t_ref`` is where k' and V_th hold."""

    k_prime: float
    w_over_l: float
    v_gate: float
    v_threshold: float
    vth_temp_coeff: float
    mobility_exponent: float
    t_ref: float = 300.0

    def __post_init__(self):
        check_fields(self, "access", ACCESS_FIELDS)
        if self.v_gate <= self.v_threshold:
            raise SpintronError(
                f"access.v_gate = {self.v_gate} V must exceed access.v_threshold = "
                f"{self.v_threshold} V for the access transistor to conduct"
            )

    @classmethod
    def from_table(cls, parameters=None, **overrides) -> "AccessTransistor":
        overrides.setdefault("t_ref", table_value("mtj.t_ref", parameters))
        return from_table(cls, "access", ACCESS_FIELDS, overrides, parameters)

    def on_resistance(self, temperature: float | None = None) -> float:
        temperature = self.t_ref if temperature is None else temperature
        k_prime = self.k_prime * (temperature / self.t_ref) ** -self.mobility_exponent
        overdrive = self.v_gate - (self.v_threshold + self.vth_temp_coeff * (temperature - self.t_ref))
        if overdrive <= 0.0:
            raise SpintronError(f"access transistor is off at {temperature} K (V_GS - V_th = {overdrive:g} V)")
        return 1.0 / (k_prime * self.w_over_l * overdrive)
