"""Nodal solver: exact integer sums for ideal tiles (oracle: the numpy
reference of the tile contract), physical trends with wires, bad input."""

from dataclasses import replace

import numpy as np
import pytest

from spintron_nn.backends.sim.reference import column_currents
from spintron_nn.backends.spice.circuit import build_tile_circuit
from spintron_nn.backends.spice.nodal import NodalSolver, column_currents_levels
from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.errors import SpintronError

CELLS = [("mtj", None, 1), ("sot", None, 1), ("dw", 4, 2), ("dw", 16, 4)]


def random_tile(rng, slices, rows, cols, cell_bits):
    shape = (slices, rows, cols)
    top = 2**cell_bits
    return (rng.integers(0, top, shape).astype(np.uint8), rng.integers(0, top, shape).astype(np.uint8))


@pytest.mark.parametrize("kind,n_levels,cell_bits", CELLS)
def test_ideal_tile_gives_the_contract_integer_sums_for_every_input_bit(kind, n_levels, cell_bits):
    rng = np.random.default_rng(11)
    levels_pos, levels_neg = random_tile(rng, 3, 24, 10, cell_bits)
    x = rng.integers(0, 256, (6, 24))
    expected = column_currents(x, levels_pos, levels_neg, input_bits=8)     # [B, 8, S, C]
    params = CrossbarParams.ideal(kind, n_levels=n_levels)
    for bit in range(8):
        got = column_currents_levels(levels_pos, levels_neg, (x >> bit) & 1, params)
        assert np.abs(got - expected[:, bit]).max() < 1e-9
        np.testing.assert_array_equal(np.rint(got).astype(np.int64), expected[:, bit])


def test_single_vector_input_is_accepted():
    rng = np.random.default_rng(2)
    levels_pos, levels_neg = random_tile(rng, 1, 8, 4, 1)
    x = rng.integers(0, 2, 8)
    got = column_currents_levels(levels_pos, levels_neg, x, CrossbarParams.ideal())
    assert got.shape == (1, 1, 4)
    np.testing.assert_array_equal(np.rint(got)[0, 0], x @ (levels_pos[0].astype(int) - levels_neg[0]))


def test_wire_resistance_lowers_every_column_current_and_more_for_more_resistance():
    rng = np.random.default_rng(3)
    levels_pos, levels_neg = random_tile(rng, 1, 32, 16, 1)
    x = np.ones((1, 32), dtype=int)
    base = replace(CrossbarParams.ideal(), bias_dependent=True, access_device=True)
    currents = []
    for ohm in (0.0, 1.0, 10.0):
        params = replace(base, r_wordline=ohm, r_bitline=ohm)
        currents.append(NodalSolver(build_tile_circuit(levels_pos, levels_neg, params)).column_currents(x))
    assert (currents[1] < currents[0]).all() and (currents[2] < currents[1]).all()


def test_bias_roll_off_raises_the_antiparallel_current():
    # a lone AP cell at 0.3 V, no access device, no wires: I = V / (R_P (1 + TMR0/(1+(V/Vh)^2)))
    params = replace(CrossbarParams.ideal("mtj"), bias_dependent=True, v_read=0.3)
    zeros = np.zeros((1, 1, 1), dtype=np.uint8)
    current = NodalSolver(build_tile_circuit(zeros, zeros, params)).column_currents([[1]])
    expected = 0.3 / (6e3 * (1 + 1.5 / (1 + (0.3 / 0.5) ** 2)))
    np.testing.assert_allclose(current[0, 0], [expected, expected], rtol=1e-12)


def test_access_resistance_in_series_with_a_parallel_cell():
    # f = 1 (R_P, bias independent) in series with the 1388.9 ohm access device
    params = replace(CrossbarParams.ideal("mtj"), access_device=True)
    ones = np.ones((1, 1, 1), dtype=np.uint8)
    current = NodalSolver(build_tile_circuit(ones, ones, params)).column_currents([[1]])
    np.testing.assert_allclose(current[0, 0], 0.1 / (6e3 + 1 / (3e-4 * 4 * 0.6)), rtol=1e-12)


def test_monte_carlo_is_seeded_and_moves_the_currents():
    rng = np.random.default_rng(4)
    levels_pos, levels_neg = random_tile(rng, 1, 16, 8, 1)
    x = rng.integers(0, 2, (2, 16))
    run = lambda seed: column_currents_levels(levels_pos, levels_neg, x,
                                              CrossbarParams.default(variation_seed=seed))
    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


@pytest.mark.parametrize("bits,match", [([[0, 2, 1, 0]], "0 or 1"), ([[1, 0, 1]], r"\[B, 4\]")])
def test_bad_input_bits_are_user_errors(bits, match):
    levels = np.zeros((1, 4, 2), dtype=np.uint8)
    with pytest.raises(SpintronError, match=match):
        column_currents_levels(levels, levels, bits, CrossbarParams.ideal())


def test_mismatched_tile_arrays_are_user_errors():
    with pytest.raises(SpintronError, match=r"\[S, R, C\]"):
        column_currents_levels(np.zeros((1, 4, 2), np.uint8), np.zeros((1, 4, 3), np.uint8),
                               [[1, 0, 1, 0]], CrossbarParams.ideal())


def test_chain_solver_matches_a_dense_solve():
    from spintron_nn.backends.spice.chains import ChainSolver

    rng = np.random.default_rng(8)
    diagonal = rng.random((4, 9)) + 2.0
    rhs = rng.random((4, 9, 3))
    solved = ChainSolver(diagonal, 0.9).solve(rhs)
    for chain in range(4):
        dense = np.diag(diagonal[chain]) - 0.9 * (np.eye(9, k=1) + np.eye(9, k=-1))
        np.testing.assert_allclose(dense @ solved[chain], rhs[chain], atol=1e-13)


@pytest.mark.parametrize("ohm", [0.8, 50.0])
def test_line_relaxation_agrees_with_the_exact_lu_chord_iteration(ohm):
    rng = np.random.default_rng(9)
    levels_pos, levels_neg = random_tile(rng, 2, 20, 12, 2)
    x = rng.integers(0, 2, (3, 20))
    circuit = build_tile_circuit(levels_pos, levels_neg, CrossbarParams.default("dw", wire_resistance=ohm))
    fast = NodalSolver(circuit).column_currents(x)
    exact_solver = NodalSolver(circuit)
    exact_solver._line_sweep = exact_solver._lu_solve        # force the fallback path
    np.testing.assert_allclose(fast, exact_solver.column_currents(x), rtol=1e-9)
