"""Sparse nodal solver of a tile circuit (``circuit.py``): the same devices
ngspice simulates, solved in numpy/scipy for many input vectors at once.

Each cell branch (access resistance in series with the bias-dependent MTJ) is
a two-terminal nonlinear element; its current for a branch voltage is found
by a vectorised scalar Newton on the MTJ voltage, so the internal node never
enters the matrix.  The network equations are solved by a chord iteration:
the Jacobian at zero bias does not depend on the inputs, so it is factorised
once per tile and reused for every input vector and iteration; the TMR
roll-off at read voltages changes the cell conductances by a few percent,
so the iteration contracts fast.  Linear cells converge in one step.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from spintron_nn.backends.spice.circuit import TileCircuit, build_tile_circuit, check_bits
from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.devices.mtj import mtj_current
from spintron_nn.errors import VerificationMismatch

# Relative to v_read: stop when no node voltage moves by more than this.
# Large tiles reach a round-off floor near 1e-13 v_read, so the network
# iteration stops at 1e-12 (column currents then agree to ~1e-9 relative).
VOLTAGE_TOLERANCE = 1e-12
CELL_VOLTAGE_TOLERANCE = 1e-14
MAX_CHORD_ITERATIONS = 200
MAX_CELL_ITERATIONS = 60


def cell_branch_current(circuit: TileCircuit, voltage: np.ndarray):
    """Current and dI/dV of every cell branch for branch voltages [cells, B]."""
    r_access = circuit.r_access[:, None]
    args = (circuit.parallel_fraction[:, None], circuit.r_parallel[:, None],
            circuit.tmr[:, None], circuit.v_half[:, None])
    _, slope0 = mtj_current(np.zeros_like(voltage), *args)
    v_mtj = voltage / (1.0 + r_access * slope0)
    tolerance = CELL_VOLTAGE_TOLERANCE * circuit.v_read
    for _ in range(MAX_CELL_ITERATIONS):
        current, slope = mtj_current(v_mtj, *args)
        step = (v_mtj + r_access * current - voltage) / (1.0 + r_access * slope)
        v_mtj = v_mtj - step
        if np.max(np.abs(step), initial=0.0) <= tolerance:
            break
    else:
        raise VerificationMismatch("MTJ branch current did not converge")
    current, slope = mtj_current(v_mtj, *args)
    return current, slope / (1.0 + r_access * slope)


class NodalSolver:
    """Factorised nodal equations of one tile; :meth:`column_currents` solves
    them for a batch of input bit vectors."""

    def __init__(self, circuit: TileCircuit):
        self.circuit = circuit
        n_nodes, n_unknown = circuit.n_nodes, circuit.n_unknown
        conductance = 1.0 / circuit.res_ohm
        # node-by-element incidence: +1 where current leaves, -1 where it enters
        self.res_incidence = _incidence(circuit.res_from, circuit.res_to, n_nodes)
        self.cell_incidence = _incidence(circuit.cell_from, circuit.cell_to, n_nodes)
        self.res_conductance = conductance
        laplacian = (self.res_incidence @ sp.diags(conductance) @ self.res_incidence.T).tocsr()
        self.g_unknown = laplacian[:n_unknown, :n_unknown]
        self.g_fixed = laplacian[:n_unknown, n_unknown:]
        self.cell_unknown = self.cell_incidence[:n_unknown]
        zero = np.zeros((len(circuit.cell_from), 1))
        _, slope0 = cell_branch_current(circuit, zero)
        jacobian0 = self.g_unknown + self.cell_unknown @ sp.diags(slope0[:, 0]) @ self.cell_unknown.T
        self.factor = spla.splu(jacobian0.tocsc()) if n_unknown else None
        # sense current = current of the elements that end on a sense node
        sense_index = np.full(n_nodes, -1)
        sense_index[circuit.sense_nodes.ravel()] = np.arange(circuit.sense_nodes.size)
        self.res_sense = _selection(sense_index[circuit.res_to], circuit.sense_nodes.size)
        self.cell_sense = _selection(sense_index[circuit.cell_to], circuit.sense_nodes.size)

    def node_voltages(self, x_bits: np.ndarray) -> np.ndarray:
        """[nodes, B] voltages for input bits [B, R]."""
        circuit = self.circuit
        batch = x_bits.shape[0]
        fixed = np.zeros((circuit.n_nodes - circuit.n_unknown, batch))
        fixed[: circuit.driver_nodes.size] = circuit.driver_voltages(x_bits).T
        voltages = np.vstack([np.zeros((circuit.n_unknown, batch)), fixed])
        if self.factor is None:
            return voltages
        voltages[: circuit.n_unknown] = self.factor.solve(-(self.g_fixed @ fixed))
        tolerance = VOLTAGE_TOLERANCE * circuit.v_read
        for _ in range(MAX_CHORD_ITERATIONS):
            current, _ = cell_branch_current(circuit, self.cell_incidence.T @ voltages)
            residual = self.g_unknown @ voltages[: circuit.n_unknown] + self.g_fixed @ fixed \
                + self.cell_unknown @ current
            step = self.factor.solve(residual)
            voltages[: circuit.n_unknown] -= step
            if np.max(np.abs(step)) <= tolerance:
                return voltages
        raise VerificationMismatch("nodal solver did not converge (chord iteration)")

    def column_currents(self, x_bits) -> np.ndarray:
        """[B, S, P] physical column currents (A) into the virtual grounds."""
        circuit = self.circuit
        x_bits = check_bits(x_bits, circuit.shape[1])
        voltages = self.node_voltages(x_bits)
        cell_current, _ = cell_branch_current(circuit, self.cell_incidence.T @ voltages)
        res_current = (self.res_incidence.T @ voltages) * self.res_conductance[:, None]
        sense = self.res_sense @ res_current + self.cell_sense @ cell_current
        return sense.T.reshape(x_bits.shape[0], circuit.shape[0], circuit.shape[2])


def _incidence(start: np.ndarray, end: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    count = len(start)
    rows = np.concatenate([start, end])
    cols = np.concatenate([np.arange(count), np.arange(count)])
    signs = np.concatenate([np.ones(count), -np.ones(count)])
    return sp.csr_matrix((signs, (rows, cols)), shape=(n_nodes, count))


def _selection(target: np.ndarray, n_targets: int) -> sp.csr_matrix:
    """[targets, elements] matrix summing the elements mapped to each target."""
    chosen = np.flatnonzero(target >= 0)
    return sp.csr_matrix((np.ones(len(chosen)), (target[chosen], chosen)), shape=(n_targets, len(target)))


def column_currents_levels(levels_pos, levels_neg, x_bits, params: CrossbarParams) -> np.ndarray:
    """[B, S, C] differential column currents in level units, I / (v_read dG).

    Drop-in for the tile contract's exact integer ``I[b, s, c]`` for one input
    bit: ``x_bits`` is [B, R] (or [R]) of 0/1.  With ``CrossbarParams.ideal``
    the values round to exactly those integers.
    """
    circuit = build_tile_circuit(levels_pos, levels_neg, params)
    physical = NodalSolver(circuit).column_currents(x_bits)
    differential = physical[..., 0::2] - physical[..., 1::2]
    return differential / (params.v_read * params.level_step)
