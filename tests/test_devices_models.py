"""Device models: bias roll-off, temperature trends, level grid, write energy.
Expected numbers are worked out by hand from the parameter table."""

import numpy as np
import pytest

from spintron_nn.devices.cells import make_cell
from spintron_nn.devices.mtj import MTJ, mtj_current
from spintron_nn.devices.sot import SOTWritePath
from spintron_nn.devices.transistor import AccessTransistor
from spintron_nn.devices.variation import Variation
from spintron_nn.devices.wire import Wire


def test_tmr_halves_at_v_half_and_rolls_off_symmetrically():
    mtj = MTJ.from_table()                                  # TMR0 1.5, V_h 0.5 V
    assert mtj.tmr_at_bias(0.0) == pytest.approx(1.5)
    assert mtj.tmr_at_bias(0.5) == pytest.approx(0.75)
    assert mtj.tmr_at_bias(-0.25) == pytest.approx(1.5 / 1.25)
    volts = np.linspace(0.0, 1.0, 11)
    assert np.all(np.diff(mtj.tmr_at_bias(volts)) < 0)
    assert mtj.r_antiparallel(0.0) == pytest.approx(6e3 * 2.5)
    assert mtj.r_antiparallel(0.5) == pytest.approx(6e3 * 1.75)


def test_tmr_falls_with_temperature_and_matches_tmr0_at_reference():
    mtj = MTJ.from_table()
    assert mtj.tmr_at(300.0) == pytest.approx(1.5, rel=1e-12)
    temps = [233.15, 300.0, 350.0, 398.15]
    tmrs = [mtj.tmr_at(t) for t in temps]
    assert all(a > b for a, b in zip(tmrs, tmrs[1:]))
    # hand calculation: P_ref^2 = 1.5/3.5, P0 = P_ref/(1 - 2e-5*300^1.5), P(400) = P0 (1 - 2e-5*400^1.5)
    p0 = np.sqrt(1.5 / 3.5) / (1 - 2e-5 * 300**1.5)
    p400 = p0 * (1 - 2e-5 * 400**1.5)
    assert mtj.tmr_at(400.0) == pytest.approx(2 * p400**2 / (1 - p400**2), rel=1e-12)
    assert 1.1 < mtj.tmr_at(400.0) < 1.3
    assert mtj.r_parallel_at(400.0) == pytest.approx(6e3 * (1 - 2e-4 * 100))


def test_mtj_slope_matches_central_difference():
    volts = np.linspace(-0.4, 0.4, 17)
    h = 1e-7
    for fraction in (0.0, 1.0 / 3.0, 1.0):
        _, slope = mtj_current(volts, fraction, 2e3, 1.5, 0.5)
        up, _ = mtj_current(volts + h, fraction, 2e3, 1.5, 0.5)
        down, _ = mtj_current(volts - h, fraction, 2e3, 1.5, 0.5)
        np.testing.assert_allclose(slope, (up - down) / (2 * h), rtol=1e-7)


def test_linear_cell_has_constant_conductance():
    current, slope = mtj_current(np.array([-0.3, 0.1, 0.2]), 0.0, 6e3, 1.5, np.inf)
    np.testing.assert_allclose(current, np.array([-0.3, 0.1, 0.2]) / 15e3, rtol=1e-15)
    np.testing.assert_allclose(slope, 1 / 15e3, rtol=1e-15)


@pytest.mark.parametrize("n_levels", [2, 3, 5, 11, 16])
def test_multilevel_grid_spans_r_ap_to_r_p_in_equal_steps(n_levels):
    cell = make_cell("dw", n_levels)                         # R_P 2 kOhm, TMR 1.5 -> R_AP 5 kOhm
    levels = np.arange(n_levels)
    current, _ = mtj_current(1e-9, cell.parallel_fraction(levels), 2e3, 1.5, 0.5)
    conductance = current / 1e-9
    g_min, g_max = 1 / 5e3, 1 / 2e3
    np.testing.assert_allclose(conductance[[0, -1]], [g_min, g_max], rtol=1e-9)
    np.testing.assert_allclose(np.diff(conductance), (g_max - g_min) / (n_levels - 1), rtol=1e-7)
    assert cell.level_step == pytest.approx((g_max - g_min) / (n_levels - 1), rel=1e-12)


def test_access_transistor_resistance_and_its_temperature_trend():
    device = AccessTransistor.from_table()      # k' 3e-4, W/L 4, overdrive 0.6 V
    assert device.on_resistance() == pytest.approx(1 / (3e-4 * 4 * 0.6))
    hot, cold = device.on_resistance(398.15), device.on_resistance(233.15)
    assert cold < device.on_resistance() < hot


def test_sot_write_energy_is_joule_heat_of_the_pulse_and_below_100_fj():
    write = SOTWritePath.from_table()           # 200 uA, 1.6 kOhm, 210 ps
    assert write.write_energy == pytest.approx(200e-6**2 * 1.6e3 * 210e-12)
    assert write.write_voltage == pytest.approx(0.32)
    assert write.write_energy < 100e-15


def test_wire_segment_resistance_from_geometry():
    assert Wire.from_table().segment_resistance == pytest.approx(4e-8 * 100e-9 / (50e-9 * 100e-9))


def test_variation_is_seeded_and_has_the_requested_spread():
    a = Variation(0.05, 0.03, seed=7).multipliers((200, 200))
    b = Variation(0.05, 0.03, seed=7).multipliers((200, 200))
    c = Variation(0.05, 0.03, seed=8).multipliers((200, 200))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert np.std(np.log(a[0])) == pytest.approx(0.05, rel=0.03)
    assert np.std(np.log(a[1])) == pytest.approx(0.03, rel=0.03)
    assert (a[0] > 0).all()
