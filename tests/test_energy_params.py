"""The parameter loader: shipped tables, merging, overrides and their range errors."""

from __future__ import annotations

import pytest

from spintron_nn.energy.params import SHIPPED_TABLES, load_parameters
from spintron_nn.errors import SpintronError

ENTRY = '[{name}]\nvalue = {value}\nunit = "{unit}"\nrange = [{low}, {high}]\nsource = "{source}"\n'


def write_entry(path, name="x.length", value=1.0, unit="m", low=0.0, high=2.0, source="assumed: test"):
    path.write_text(ENTRY.format(name=name, value=value, unit=unit, low=low, high=high, source=source))
    return path


@pytest.fixture(scope="module")
def table():
    return load_parameters()


def test_shipped_tables_merge_with_sources_and_units(table):
    origins = {parameter.origin for parameter in table.values()}
    assert {str(path) for path in SHIPPED_TABLES} <= origins  # both tables are read
    for parameter in table.values():
        assert parameter.unit and parameter.source.strip()
        assert parameter.low <= parameter.value <= parameter.high, parameter.name


def test_device_and_energy_entries_are_reachable_by_dotted_name(table):
    assert table.value("mtj.r_parallel") == 6.0e3  # devices/parameters.toml
    assert table.value("digital.int8_mult_energy") == 0.2e-12  # Horowitz, energy table
    assert table["read.v_read"].unit == "V"


@pytest.mark.parametrize(
    "text",
    [
        '[mtj]\nr_parallel = 5000.0\n',
        '"mtj.r_parallel" = 5000.0\n',
        '[mtj.r_parallel]\nvalue = 5000.0\n',
        'mtj.r_parallel = 5000\n',  # an integer is fine for a float field
    ],
)
def test_override_file_forms(tmp_path, text):
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    table = load_parameters(path)
    assert table.value("mtj.r_parallel") == 5000.0
    assert table["mtj.r_parallel"].origin == str(path)
    assert table.value("mtj.tmr0") == load_parameters().value("mtj.tmr0")  # others untouched


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"mtj.r_parallel": -5.0}, r"mtj\.r_parallel \(ohm\) = -5 ohm is outside the plausible range \[100, 1e\+06\] ohm"),
        ({"mtj.tmr0": 0.0}, r"mtj\.tmr0 \(dimensionless\) = 0 is outside the plausible range \[0\.01, 6\.5\]$"),
        ({"mtj.tmr0": -0.5}, r"mtj\.tmr0 \(dimensionless\) = -0\.5 is outside"),
        ({"dw.n_levels": 0}, r"dw\.n_levels \(dimensionless\) = 0 is outside the plausible range \[2, 16\]"),
        ({"dw.n_levels": 2.5}, r"dw\.n_levels \(dimensionless\) must be an integer, got 2\.5"),
        ({"read.v_read": 3.0}, r"read\.v_read \(V\) = 3 V is outside the plausible range \[0\.01, 0\.5\] V"),
        ({"adc.sample_rate": "fast"}, r"adc\.sample_rate \(S/s\) must be a number, got 'fast'"),
        ({"crossbar.read_time": float("nan")}, r"crossbar\.read_time \(s\) must be finite"),
        ({"adc.sampel_rate": 1e9}, r"unknown parameter 'adc\.sampel_rate' \(did you mean adc\.sample_rate\?\)"),
    ],
)
def test_bad_overrides_name_field_unit_and_range(overrides, expected):
    with pytest.raises(SpintronError, match=expected):
        load_parameters(overrides)


def test_bad_override_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[cell_area]\nmtj = 1e-9\n")  # m^2 meant, F^2 expected
    with pytest.raises(SpintronError, match=r"bad\.toml: cell_area\.mtj \(F\^2\) = 1e-09 F\^2 is outside"):
        load_parameters(path)
    path.write_text("mtj.r_parallel = = 3\n")
    with pytest.raises(SpintronError, match=r"bad\.toml: not a valid TOML file"):
        load_parameters(path)
    with pytest.raises(SpintronError, match=r"missing\.toml: no such parameter file"):
        load_parameters(tmp_path / "missing.toml")


def test_same_name_in_two_tables_is_refused(tmp_path):
    first = write_entry(tmp_path / "a.toml")
    second = write_entry(tmp_path / "b.toml")
    with pytest.raises(SpintronError, match=r"'x\.length' is defined in both .*a\.toml and .*b\.toml"):
        load_parameters(tables=(first, second))


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"source": "  "}, "has no source"),
        ({"low": 3.0}, r"range must be \[low, high\]"),
        ({"value": 5.0}, r"x\.length \(m\) = 5 m is outside the plausible range \[0, 2\] m"),
    ],
)
def test_malformed_shipped_entries_are_errors(tmp_path, fields, expected):
    path = write_entry(tmp_path / "t.toml", **fields)
    with pytest.raises(SpintronError, match=expected):
        load_parameters(tables=(path,))


def test_entry_with_missing_key_is_an_error(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[x.length]\nvalue = 1.0\nunit = "m"\nrange = [0.0, 2.0]\n')
    with pytest.raises(SpintronError, match="must have exactly the keys"):
        load_parameters(tables=(path,))


def test_missing_table_is_an_error_not_a_silent_gap(tmp_path):
    present = write_entry(tmp_path / "a.toml")
    with pytest.raises(SpintronError, match=r"gone\.toml: no such parameter file"):
        load_parameters(tables=(present, tmp_path / "gone.toml"))
