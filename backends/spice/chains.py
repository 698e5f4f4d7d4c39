"""Batched tridiagonal solves for the word-line and bit-line chains.

A wired word line is a chain of nodes (driver - w0 - w1 - ...), a wired bit
line another (b0 - b1 - ... - sense); with the cells' conductances on the
diagonal each chain's equations are tridiagonal with one constant
off-diagonal (minus the segment conductance).  ``ChainSolver`` factorises all
chains of one kind at once (Thomas algorithm) and solves them for a batch of
right-hand sides, vectorised across chains and batch.
"""

from __future__ import annotations

import numpy as np


class ChainSolver:
    """Factorised chains with ``diagonal`` [chains, n] and off-diagonal ``-coupling``."""

    def __init__(self, diagonal: np.ndarray, coupling: float):
        chains, length = diagonal.shape
        self.coupling = coupling
        self.pivot = np.empty_like(diagonal)          # Thomas denominators
        self.upper = np.empty_like(diagonal)          # modified super-diagonal c'_i
        self.pivot[:, 0] = diagonal[:, 0]
        for i in range(length):
            if i:
                self.pivot[:, i] = diagonal[:, i] + coupling * self.upper[:, i - 1]
            self.upper[:, i] = -coupling / self.pivot[:, i]

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solutions for ``rhs`` [chains, n, B]."""
        length = rhs.shape[1]
        out = np.empty_like(rhs)
        pivot, upper = self.pivot[:, :, None], self.upper[:, :, None]
        out[:, 0] = rhs[:, 0] / pivot[:, 0]
        for i in range(1, length):
            out[:, i] = (rhs[:, i] + self.coupling * out[:, i - 1]) / pivot[:, i]
        for i in range(length - 2, -1, -1):
            out[:, i] -= upper[:, i] * out[:, i + 1]
        return out
