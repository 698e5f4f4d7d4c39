"""Nodal solver vs ngspice on the same tile circuit: every column current
within 1e-6 relative, for every cell type, corner, wire case, Monte Carlo
and the transient deck.  Random tiles and inputs are seeded."""

from dataclasses import replace

import numpy as np
import pytest

from spintron_nn.backends.spice.circuit import build_tile_circuit
from spintron_nn.backends.spice.netlist import op_deck, sample_times, tile_decks, tran_deck
from spintron_nn.backends.spice.ngspice import NgspiceFailure, ngspice_available, run_ngspice
from spintron_nn.backends.spice.nodal import NodalSolver
from spintron_nn.backends.spice.params import CrossbarParams

pytestmark = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")

TOLERANCE = 1e-6
CELLS = [("mtj", None), ("sot", None), ("dw", 4), ("dw", 11)]


def random_case(seed, slices, rows, cols, n_levels, batch=1):
    rng = np.random.default_rng(seed)
    shape = (slices, rows, cols)
    levels_pos = rng.integers(0, n_levels, shape).astype(np.uint8)
    levels_neg = rng.integers(0, n_levels, shape).astype(np.uint8)
    x_bits = rng.integers(0, 2, (batch, rows))
    x_bits[:, 0] = 1            # every column carries current: relative error is defined
    return levels_pos, levels_neg, x_bits


def sense_vectors(circuit, vectors):
    names = circuit.node_names()
    return np.stack([vectors[f"i(vsense_{names[node]})"] for node in circuit.sense_nodes.ravel()])


def assert_op_matches(levels_pos, levels_neg, x_bits, params):
    circuit = build_tile_circuit(levels_pos, levels_neg, params)
    nodal = NodalSolver(circuit).column_currents(x_bits[:1])[0].ravel()
    spice = sense_vectors(circuit, run_ngspice(op_deck(circuit, x_bits[0])))[:, 0]
    assert (np.abs(spice) > 0).all()
    assert np.max(np.abs(nodal - spice) / np.abs(spice)) <= TOLERANCE


@pytest.mark.parametrize("corner", ["tt", "ff", "ss"])
@pytest.mark.parametrize("kind,n_levels", CELLS)
def test_op_8x8_two_slices_with_wires(kind, n_levels, corner):
    params = CrossbarParams.default(kind, n_levels=n_levels, corner=corner)
    assert_op_matches(*random_case(1, 2, 8, 8, params.cell.n_levels), params)


@pytest.mark.parametrize("kind,n_levels", CELLS)
def test_op_16x16_monte_carlo_with_heavy_wires(kind, n_levels):
    params = CrossbarParams.default(kind, n_levels=n_levels, corner="ss", variation_seed=21,
                                    wire_resistance=20.0)
    assert_op_matches(*random_case(2, 1, 16, 16, params.cell.n_levels), params)


@pytest.mark.parametrize("r_wordline,r_bitline", [(0.0, 5.0), (5.0, 0.0), (0.0, 0.0)])
def test_op_with_ideal_wires_merged_nodes(r_wordline, r_bitline):
    params = replace(CrossbarParams.default("dw"), r_wordline=r_wordline, r_bitline=r_bitline)
    assert_op_matches(*random_case(3, 1, 12, 6, 4), params)


def test_op_linear_cells_and_strong_roll_off_at_high_read_voltage():
    case = random_case(4, 1, 16, 8, 2)
    assert_op_matches(*case, replace(CrossbarParams.default(), bias_dependent=False))
    assert_op_matches(*case, replace(CrossbarParams.default(), v_read=0.5))


def test_tran_sequence_matches_the_operating_point_of_each_vector():
    levels_pos, levels_neg, x_bits = random_case(5, 1, 16, 16, 4, batch=4)
    circuit = build_tile_circuit(levels_pos, levels_neg, CrossbarParams.default("dw", variation_seed=3))
    nodal = NodalSolver(circuit).column_currents(x_bits).reshape(4, -1)
    vectors = run_ngspice(tran_deck(circuit, x_bits))
    currents = sense_vectors(circuit, vectors)
    spice = np.stack([np.interp(sample_times(4), vectors["time"], row) for row in currents], axis=1)
    assert np.max(np.abs(nodal - spice) / np.abs(spice)) <= TOLERANCE


def test_tile_decks_cover_corners_and_seeded_monte_carlo():
    levels_pos, levels_neg, x_bits = random_case(6, 1, 4, 4, 2)
    params = CrossbarParams.default()
    decks = tile_decks(levels_pos, levels_neg, x_bits[0], params, monte_carlo_seeds=(1, 2))
    assert sorted(decks) == ["corner_ff", "corner_ss", "corner_tt", "mc_1", "mc_2"]
    assert ".temp 125" in decks["corner_ss"] and ".temp -40" in decks["corner_ff"]
    assert decks["mc_1"] != decks["mc_2"]
    assert decks["mc_1"] == tile_decks(levels_pos, levels_neg, x_bits[0], params, corners=(),
                                       monte_carlo_seeds=(1,))["mc_1"]


def test_any_ngspice_warning_is_a_failure():
    floating = "* floating node\nv1 a 0 1\nc1 a b 1p\nc2 b 0 1p\nr1 a 0 1k\n.op\n.end\n"
    with pytest.raises(NgspiceFailure, match="(?i)warning"):
        run_ngspice(floating)


def test_ngspice_errors_are_failures():
    with pytest.raises(NgspiceFailure, match="(?i)error"):
        run_ngspice("* broken\nv1 a 0 1\nx1 a b nosuch\n.op\n.end\n")


@pytest.mark.slow
@pytest.mark.parametrize("corner", ["tt", "ff", "ss"])
@pytest.mark.parametrize("kind,n_levels", CELLS)
def test_op_64x64_with_wires(kind, n_levels, corner):
    params = CrossbarParams.default(kind, n_levels=n_levels, corner=corner, variation_seed=64)
    assert_op_matches(*random_case(7, 1, 64, 64, params.cell.n_levels), params)
