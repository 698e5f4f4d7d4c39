"""Seeded device-to-device variation: lognormal multipliers (always positive,
median 1) on R_P and TMR0, one independent draw per device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Variation:
    """``sigma_*`` are the standard deviations of log(value/nominal)."""

    sigma_r_parallel: float
    sigma_tmr: float
    seed: int

    def multipliers(self, shape) -> tuple[np.ndarray, np.ndarray]:
        """(R_P multipliers, TMR multipliers) for devices of ``shape``."""
        rng = np.random.default_rng(self.seed)
        r_parallel = rng.lognormal(0.0, self.sigma_r_parallel, size=shape)
        tmr = rng.lognormal(0.0, self.sigma_tmr, size=shape)
        return r_parallel, tmr
