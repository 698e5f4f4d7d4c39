"""Sparse nodal solver of a tile circuit (``circuit.py``): the same devices
ngspice simulates, solved in numpy/scipy for many input vectors at once.

Each cell branch (access resistance in series with the bias-dependent MTJ) is
a two-terminal nonlinear element; its current for a branch voltage is found
by a vectorised scalar Newton on the MTJ voltage, so the internal node never
enters the matrix.  The network equations are solved by a chord iteration
(:class:`NodalSolver`): the Jacobian at zero bias does not depend on the
inputs, so it is prepared once per tile and reused for every input vector
and iteration; the TMR roll-off at read voltages changes the cell
conductances by a few percent, so the iteration contracts fast.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from spintron_nn.backends.spice.chains import ChainSolver
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
MAX_SWEEP_ITERATIONS = 300
MAX_CELL_ITERATIONS = 60


def cell_branch_current(circuit: TileCircuit, voltage: np.ndarray, v_mtj: np.ndarray | None = None,
                        max_iterations: int = MAX_CELL_ITERATIONS):
    """Current, dI/dV and MTJ voltage of every cell branch for branch voltages
    [cells, B], by Newton on ``V = V_mtj + R_access I(V_mtj)`` from the guess
    ``v_mtj``; also the size of the last Newton step.  The network iteration
    takes one step per sweep from the previous iterate (both converge
    together); alone it iterates to ``CELL_VOLTAGE_TOLERANCE``."""
    args = (circuit.parallel_fraction[:, None], circuit.r_parallel[:, None],
            circuit.tmr[:, None], circuit.v_half[:, None])
    if not circuit.r_access.any():
        current, slope = mtj_current(voltage, *args)
        return current, slope, voltage, 0.0
    r_access = circuit.r_access[:, None]
    if v_mtj is None:
        _, slope0 = mtj_current(np.zeros_like(voltage), *args)
        v_mtj = voltage / (1.0 + r_access * slope0)
    tolerance = CELL_VOLTAGE_TOLERANCE * circuit.v_read
    size = np.inf
    for _ in range(max_iterations):
        current, slope = mtj_current(v_mtj, *args)
        step = (v_mtj + r_access * current - voltage) / (1.0 + r_access * slope)
        v_mtj = v_mtj - step
        size = np.max(np.abs(step), initial=0.0)
        if size <= tolerance:
            break
    else:
        if max_iterations == MAX_CELL_ITERATIONS:
            raise VerificationMismatch("MTJ branch current did not converge")
    current, slope = mtj_current(v_mtj, *args)
    return current, slope / (1.0 + r_access * slope), v_mtj, size


class NodalSolver:
    """Nodal equations of one tile, prepared once; :meth:`column_currents`
    solves them for a batch of input bit vectors.

    The network iteration is a chord iteration ``v -= M^-1 F(v)`` on the
    residual ``F`` (Kirchhoff's current law at every free node).  ``M`` is
    one block Gauss-Seidel sweep over the zero-bias Jacobian: exact
    tridiagonal solves of all word lines, then of all bit lines.  The two
    families couple only through the cells, whose conductance is tiny next
    to a wire segment's, so this converges in a few sweeps while costing
    O(nodes) per sweep.  Should it ever stall (extreme wire resistance), the
    exact chord iteration with a sparse LU factorisation takes over.
    """

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
        _, slope0, _, _ = cell_branch_current(circuit, np.zeros((len(circuit.cell_from), 1)))
        self.cell_slope0 = slope0[:, 0]
        self.jacobian0 = (self.g_unknown
                          + self.cell_unknown @ sp.diags(self.cell_slope0) @ self.cell_unknown.T).tocsc()
        self._prepare_line_solvers()
        self._factor = None
        # sense current = current of the elements that end on a sense node
        sense_index = np.full(n_nodes, -1)
        sense_index[circuit.sense_nodes.ravel()] = np.arange(circuit.sense_nodes.size)
        self.res_sense = _selection(sense_index[circuit.res_to], circuit.sense_nodes.size)
        self.cell_sense = _selection(sense_index[circuit.cell_to], circuit.sense_nodes.size)

    def _prepare_line_solvers(self):
        circuit = self.circuit
        slices, rows, cols = circuit.shape
        diagonal = self.jacobian0.diagonal()
        block = slices * rows * cols
        self.wordlines = self.bitlines = None
        offset = 0
        if circuit.r_wordline > 0.0:
            self.wordlines = ChainSolver(diagonal[:block].reshape(slices * rows, cols), 1.0 / circuit.r_wordline)
            offset = block
        if circuit.r_bitline > 0.0:
            columns = diagonal[offset:offset + block].reshape(slices, rows, cols).transpose(0, 2, 1)
            self.bitlines = ChainSolver(columns.reshape(slices * cols, rows), 1.0 / circuit.r_bitline)

    def _line_sweep(self, residual: np.ndarray) -> np.ndarray:
        """One block Gauss-Seidel sweep of the zero-bias Jacobian on ``residual``."""
        slices, rows, cols = self.circuit.shape
        batch = residual.shape[1]
        block = slices * rows * cols
        step = np.empty_like(residual)
        offset = 0
        if self.wordlines is not None:
            step[:block] = self.wordlines.solve(residual[:block].reshape(slices * rows, cols, batch)) \
                .reshape(block, batch)
            offset = block
        if self.bitlines is not None:
            rhs = residual[offset:]
            if offset:   # the cells couple bit-line node k to word-line node k
                rhs = rhs + self.cell_slope0[:, None] * step[:block]
            columns = rhs.reshape(slices, rows, cols, batch).transpose(0, 2, 1, 3).reshape(slices * cols, rows, batch)
            solved = self.bitlines.solve(columns).reshape(slices, cols, rows, batch).transpose(0, 2, 1, 3)
            step[offset:] = solved.reshape(block, batch)
        return step

    def _lu_solve(self, residual: np.ndarray) -> np.ndarray:
        if self._factor is None:
            self._factor = spla.splu(self.jacobian0, permc_spec="MMD_AT_PLUS_A")
        return self._factor.solve(residual)

    def _iterate(self, voltages, fixed, precondition, max_iterations: int) -> bool:
        """Chord iteration in place; False if it does not converge."""
        circuit = self.circuit
        free = voltages[: circuit.n_unknown]
        tolerance = VOLTAGE_TOLERANCE * circuit.v_read
        first = v_mtj = None
        for _ in range(max_iterations):
            branch = self.cell_incidence.T @ voltages
            current, _, v_mtj, cell_step = cell_branch_current(circuit, branch, v_mtj,
                                                               1 if v_mtj is not None else MAX_CELL_ITERATIONS)
            residual = self.g_unknown @ free + self.g_fixed @ fixed + self.cell_unknown @ current
            step = precondition(residual)
            free -= step
            size = np.max(np.abs(step))
            if size <= tolerance and cell_step <= tolerance:
                return True
            first = size if first is None else first
            if not np.isfinite(size) or size > 10.0 * first:
                return False
        return False

    def node_voltages(self, x_bits: np.ndarray) -> np.ndarray:
        """[nodes, B] voltages for input bits [B, R]."""
        circuit = self.circuit
        batch = x_bits.shape[0]
        fixed = np.zeros((circuit.n_nodes - circuit.n_unknown, batch))
        fixed[: circuit.driver_nodes.size] = circuit.driver_voltages(x_bits).T
        voltages = np.vstack([np.zeros((circuit.n_unknown, batch)), fixed])
        if circuit.n_unknown == 0:
            return voltages
        if self._iterate(voltages, fixed, self._line_sweep, MAX_SWEEP_ITERATIONS):
            return voltages
        voltages[: circuit.n_unknown] = 0.0
        if self._iterate(voltages, fixed, self._lu_solve, MAX_CHORD_ITERATIONS):
            return voltages
        raise VerificationMismatch("nodal solver did not converge")

    def column_currents(self, x_bits) -> np.ndarray:
        """[B, S, P] physical column currents (A) into the virtual grounds."""
        circuit = self.circuit
        x_bits = check_bits(x_bits, circuit.shape[1])
        voltages = self.node_voltages(x_bits)
        cell_current, _, _, _ = cell_branch_current(circuit, self.cell_incidence.T @ voltages)
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
    bit: ``x_bits`` is [B, R] (or [R]) of 0/1; stack several input bits along
    B to solve them in one batch.  With ``CrossbarParams.ideal`` the values
    round to exactly those integers.  The prepared solver of the last few
    tiles is kept, so calling once per input bit does not rebuild it.
    """
    levels_pos = np.ascontiguousarray(levels_pos, dtype=np.uint8)
    levels_neg = np.ascontiguousarray(levels_neg, dtype=np.uint8)
    solver = _tile_solver(levels_pos.tobytes(), levels_neg.tobytes(), levels_pos.shape,
                          levels_neg.shape, params)
    physical = solver.column_currents(x_bits)
    differential = physical[..., 0::2] - physical[..., 1::2]
    return differential / (params.v_read * params.level_step)


@lru_cache(maxsize=16)
def _tile_solver(pos: bytes, neg: bytes, pos_shape, neg_shape, params: CrossbarParams) -> NodalSolver:
    levels_pos = np.frombuffer(pos, dtype=np.uint8).reshape(pos_shape)
    levels_neg = np.frombuffer(neg, dtype=np.uint8).reshape(neg_shape)
    return NodalSolver(build_tile_circuit(levels_pos, levels_neg, params))
