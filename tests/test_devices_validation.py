"""Device parameters: the table is well formed and nonsense is a clear error."""

import math

import numpy as np
import pytest

from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.devices.cells import make_cell
from spintron_nn.devices.corners import Corner
from spintron_nn.devices.mtj import MTJ
from spintron_nn.devices.sot import SOTWritePath
from spintron_nn.devices.table import check_parameter, load_device_table
from spintron_nn.devices.transistor import AccessTransistor
from spintron_nn.devices.wire import Wire
from spintron_nn.errors import SpintronError


def test_every_entry_has_unit_range_and_source_and_lies_in_its_range():
    table = load_device_table()
    assert len(table) > 20
    for name, entry in table.items():
        assert entry.low < entry.high and entry.low <= entry.value <= entry.high, name
        assert entry.unit, name
        assert len(entry.source) > 10, name


def test_negative_resistance_names_field_unit_and_range():
    with pytest.raises(SpintronError) as error:
        MTJ.from_table(r_parallel=-5.0)
    message = str(error.value)
    assert "mtj.r_parallel" in message and "ohm" in message and "[100, 1e+06]" in message


@pytest.mark.parametrize("tmr", [0.0, -0.5, math.nan, math.inf])
def test_non_positive_or_non_finite_tmr_is_rejected(tmr):
    with pytest.raises(SpintronError, match="sot.tmr0"):
        MTJ.from_table("sot", tmr0=tmr)


@pytest.mark.parametrize("levels", [0, 1, 17])
def test_level_count_outside_2_to_16_is_rejected(levels):
    with pytest.raises(SpintronError, match=r"dw.n_levels .* \[2, 16\]"):
        make_cell("dw", levels)


def test_fractional_level_count_and_binary_cells_with_levels_are_rejected():
    with pytest.raises(SpintronError, match="dw.n_levels .* integer"):
        make_cell("dw", 4.5)
    with pytest.raises(SpintronError, match="binary"):
        make_cell("mtj", 4)


def test_levels_beyond_the_cell_are_rejected():
    cell = make_cell("dw", 4)
    with pytest.raises(SpintronError, match="level 4"):
        cell.parallel_fraction(np.array([0, 4]))


def test_text_where_a_number_belongs_is_rejected():
    with pytest.raises(SpintronError, match=r"read.v_read \(V\) must be a number"):
        check_parameter("read.v_read", "0.1")


def test_transistor_that_never_turns_on_is_rejected():
    with pytest.raises(SpintronError, match="v_gate"):
        AccessTransistor.from_table(v_gate=0.35, v_threshold=0.4)


def test_unknown_names_are_rejected():
    with pytest.raises(SpintronError, match="unknown cell type"):
        make_cell("pcm")
    with pytest.raises(SpintronError, match="unknown corner"):
        Corner.named("fs")


@pytest.mark.parametrize("field,value", [("width", 0.0), ("resistivity", -1e-8), ("cell_pitch", 1.0)])
def test_wire_geometry_is_checked(field, value):
    with pytest.raises(SpintronError, match=f"wire.{field}"):
        Wire.from_table(**{field: value})


def test_sot_write_path_is_checked():
    with pytest.raises(SpintronError, match=r"sot.write_pulse \(s\)"):
        SOTWritePath.from_table(write_pulse=-1e-9)


def test_crossbar_params_reject_negative_wires_and_absurd_read_voltage():
    with pytest.raises(SpintronError, match="r_wordline"):
        CrossbarParams.default(wire_resistance=-1.0)
    params = CrossbarParams.default()
    with pytest.raises(SpintronError, match=r"read.v_read \(V\) = 5 V is outside .* \[0.01, 0.5\] V"):
        CrossbarParams(params.cell, 5.0, 1.0, 1.0, params.corner)


def test_overrides_of_the_merged_table_reach_the_device_models():
    from spintron_nn.energy.params import load_parameters

    table = load_parameters({"mtj.r_parallel": 5e3, "wire.width": 1e-7, "read.v_read": 0.2})
    params = CrossbarParams.default("mtj", parameters=table)
    assert params.cell.mtj.r_parallel == 5e3 and params.v_read == 0.2
    assert params.r_wordline == pytest.approx(0.4)
    assert make_cell("dw", parameters=table).mtj.r_parallel == 2e3      # dw has its own stack
    with pytest.raises(SpintronError, match=r"mtj.tmr0 .* \[0.01, 6.5\]"):
        load_parameters({"mtj.tmr0": -1.0})
