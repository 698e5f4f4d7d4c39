"""The cost model: hand-computed event counts and energies, and physics sanity."""

from __future__ import annotations

import dataclasses
import math

import pytest

from spintron_nn.energy.cmos_baseline import CmosArray, cmos_layer_cost
from spintron_nn.energy.cost_model import (
    CellCosts,
    Cost,
    TileShape,
    UnitCosts,
    adc_conversion_energy,
    cell_costs,
    count_tile_events,
    estimate_layer,
    ideal_adc_bits,
    network_summary,
    read_cycle_time,
    sram_energy_per_byte,
    tile_cost,
    unit_costs,
)
from spintron_nn.energy.params import load_parameters
from spintron_nn.errors import SpintronError

PERIPHERY = ("row_driver", "adc", "shift_add", "digital", "buffer")


@pytest.fixture(scope="module")
def table():
    return load_parameters()


@pytest.fixture(scope="module")
def units(table):
    return unit_costs(table)


# ------------------------------------------------ hand-computed small cases

SIMPLE_UNITS = UnitCosts(
    read_voltage=0.2,
    read_time=1e-9,
    input_one_fraction=0.5,
    mean_level_fraction=0.25,
    row_driver_energy=1e-13,
    row_driver_area=1e-12,
    adc_energy_at_reference=1e-12,
    adc_reference_bits=8,
    adc_energy_growth=2.0,
    adc_area_at_reference=1e-9,
    adc_area_growth=2.0,
    adc_sample_rate=1e9,
    columns_per_adc=8,
    leakage_power_density=0.0,
    add8_energy=1e-15,
    add32_energy=1e-14,
    mult8_energy=2e-15,
    mult32_energy=3e-14,
    fp32_op_energy=4e-14,
    softmax_ops_per_element=8,
    add32_area=1e-11,
    mult8_area=2e-11,
    mult32_area=3e-10,
    digital_op_rate=1e9,
    sram_points=((1024, 1e-12), (2048, 2e-12)),
    sram_minimum_capacity=1024,
    sram_write_to_read=1.0,
)
SIMPLE_CELL = CellCosts("test", levels=2, conductance_min=1e-5, conductance_max=1e-4, area=1e-15, write_energy=1e-14)
# 4 rows x 3 columns, 2 slices on 16x16 arrays, 2 input bits, 6-bit ADC, 5 vectors
SIMPLE_TILE = TileShape(rows=4, cols=3, array_rows=16, array_cols=16, slices=2, cell_bits=1,
                        input_bits=2, adc_bits=6, vectors=5)


def test_tile_event_counts_by_hand():
    events = count_tile_events(SIMPLE_TILE, input_one_fraction=0.5, columns_per_adc=8)
    assert events.row_activations == 5 * 2 * 2 * 4 * 0.5 == 40
    assert events.adc_conversions == 5 * 2 * 2 * 3 == 60
    assert events.cell_reads == 40 * 3 * 2  # both cells of each pair in a driven row
    assert events.read_cycles == 10
    assert events.adcs == 2 * 2  # two 8-column ADCs per 16-column array, per slice
    assert events.buffer_read_bytes == 5 * 4 and events.buffer_write_bytes == 5 * 3 * 4


def test_tile_cost_by_hand():
    cost = tile_cost(SIMPLE_TILE, SIMPLE_UNITS, SIMPLE_CELL, conductance_sum=1e-3)
    assert cost.energy["row_driver"] == pytest.approx(40 * 1e-13)
    assert cost.energy["adc"] == pytest.approx(60 * 1e-12 / 4)  # 6 bits: 2^-2 of the 8-bit energy
    assert cost.energy["shift_add"] == pytest.approx(60 * 1e-14)
    # 0.5 of 5 vectors x 2 bits drive the rows: V^2 * sum(G) * t each
    assert cost.energy["cell_read"] == pytest.approx(5 * 0.04 * 1e-3 * 1e-9)
    # 20 input bytes and 60 accumulator bytes, both costed as 1 KB buffers
    assert cost.energy["buffer"] == pytest.approx(80 * 1e-12)
    # 10 read cycles of max(1 ns read, 3 conversions at 1 GS/s): the 3 columns share the first
    # 8-column ADC (the second ADC of the 16-column array serves columns 8..15, unused here)
    assert cost.latency == pytest.approx(10 * 3e-9)
    assert cost.area["cells"] == pytest.approx(2 * 16 * 16 * 2 * 1e-15)
    assert cost.area["adc"] == pytest.approx(4 * 1e-9 / 4)
    assert cost.area["row_driver"] == pytest.approx(2 * 16 * 1e-12)
    assert cost.macs == 60


def test_tile_defaults_use_mean_level():
    cost = tile_cost(SIMPLE_TILE, SIMPLE_UNITS, SIMPLE_CELL)
    cells = 2 * 4 * 3 * 2
    mean_conductance = 1e-5 + 0.25 * 9e-5
    assert cost.energy["cell_read"] == pytest.approx(5 * 0.04 * cells * mean_conductance * 1e-9)
    assert cost.programming == pytest.approx(cells * 1.25 * 1e-14)  # reset + 0.25 level steps


def test_a_wider_array_does_not_speed_up_a_narrow_tile():
    """A 48-column tile converts on one 128-column ADC whatever the array's width; a 200-column
    tile on a 256-column array has two ADCs, the first converting 128 columns."""
    units = dataclasses.replace(SIMPLE_UNITS, columns_per_adc=128, adc_sample_rate=1e9, read_time=1e-9)
    narrow = [dataclasses.replace(SIMPLE_TILE, cols=48, array_rows=128, array_cols=width) for width in (128, 256)]
    assert [read_cycle_time(tile, units) for tile in narrow] == [pytest.approx(48e-9)] * 2
    wide = dataclasses.replace(SIMPLE_TILE, cols=200, array_rows=256, array_cols=256)
    assert read_cycle_time(wide, units) == pytest.approx(128e-9)


def test_read_limited_cycle_when_adcs_are_fast():
    fast = dataclasses.replace(SIMPLE_UNITS, adc_sample_rate=1e12)
    assert tile_cost(SIMPLE_TILE, fast, SIMPLE_CELL).latency == pytest.approx(10 * 1e-9)


def test_leakage_is_periphery_area_times_busy_time():
    leaky = dataclasses.replace(SIMPLE_UNITS, leakage_power_density=100.0)
    cost = tile_cost(SIMPLE_TILE, leaky, SIMPLE_CELL)
    periphery = cost.total_area - cost.area["cells"]
    assert cost.energy["leakage"] == pytest.approx(100.0 * periphery * 20e-9)


def test_sram_interpolation_reproduces_horowitz_points(table):
    at_45 = unit_costs(table.with_values({"technology.node_nm": 45.0}))
    assert sram_energy_per_byte(8192, at_45.sram_points, 1024) == pytest.approx(10e-12 / 8)
    assert sram_energy_per_byte(1 << 20, at_45.sram_points, 1024) == pytest.approx(100e-12 / 8)
    # halfway in log capacity between 8 KB and 32 KB: the geometric mean
    assert sram_energy_per_byte(16384, at_45.sram_points, 1024) == pytest.approx(math.sqrt(1.25 * 2.5) * 1e-12)


def test_node_scaling_of_digital_energy(table):
    at_45 = unit_costs(table.with_values({"technology.node_nm": 45.0}))
    assert at_45.add32_energy == pytest.approx(0.1e-12)  # Horowitz as published
    assert at_45.mult8_energy == pytest.approx(0.2e-12)
    half = unit_costs(table.with_values({"technology.node_nm": 22.5}))
    assert half.add32_energy == pytest.approx(0.05e-12)  # exponent 1
    assert half.add32_area == pytest.approx(137e-12 / 4)  # exponent 2


def test_ideal_adc_resolves_the_full_column_sum():
    assert ideal_adc_bits(128, 2) == 10  # |sum| <= 384 needs 9 bits + sign
    assert ideal_adc_bits(1, 1) == 2


# ----------------------------------------------------------- physics sanity


def test_adc_energy_grows_with_bits(units):
    energies = [units.adc_energy(bits) for bits in range(1, 13)]
    assert all(a < b for a, b in zip(energies, energies[1:]))
    assert units.adc_energy(8) / units.adc_energy(6) == pytest.approx(4.0)  # Walden: x2 per bit
    assert adc_conversion_energy(8, 1.5625e-12, 8, 2.0) == 1.5625e-12


def test_cell_read_energy_scales_with_read_voltage_squared(table):
    tile = TileShape(128, 128, 128, 128, slices=4, cell_bits=2, input_bits=8, adc_bits=6)
    reads = {}
    for volts in (0.05, 0.1, 0.2):
        scaled = table.with_values({"read.v_read": volts})
        cost = tile_cost(tile, unit_costs(scaled), cell_costs(scaled, "dw", 2), conductance_sum=0.5)
        reads[volts] = cost.energy["cell_read"]
    assert reads[0.1] / reads[0.05] == pytest.approx(4.0)
    assert reads[0.2] / reads[0.1] == pytest.approx(4.0)
    # with the device's conductances the TMR roll-off raises G_AP at higher bias: at least V^2
    low, high = (table.with_values({"read.v_read": v}) for v in (0.1, 0.2))
    e_low = tile_cost(tile, unit_costs(low), cell_costs(low, "dw", 2)).energy["cell_read"]
    e_high = tile_cost(tile, unit_costs(high), cell_costs(high, "dw", 2)).energy["cell_read"]
    assert e_high / e_low >= 4.0


def _per_mac(cost: Cost, components=None) -> float:
    keys = components or cost.energy.keys()
    return sum(cost.energy[k] for k in keys) / cost.macs * 1e12


@pytest.mark.parametrize("cell_type, cell_bits", [("mtj", 1), ("dw", 2)])
def test_more_rows_per_tile_amortise_the_periphery(table, units, cell_type, cell_bits):
    cell = cell_costs(table, cell_type, cell_bits)
    periphery, total = [], []
    for rows in (32, 64, 128, 256, 512):
        cost = estimate_layer(rows, 128, units=units, cell=cell, cell_bits=cell_bits, array_rows=rows)
        periphery.append(_per_mac(cost, PERIPHERY))
        total.append(_per_mac(cost))
    assert all(a > b for a, b in zip(periphery, periphery[1:])), periphery
    assert all(a > b for a, b in zip(total, total[1:])), total


REALISTIC_LAYERS = [  # (K inputs, N outputs, vectors): fc and im2col'd conv layers
    (784, 128, 1),
    (128, 10, 1),
    (64, 48, 1),
    (27, 16, 1024),  # 3x3x3 first conv on 32x32
    (576, 64, 196),  # 3x3x64 conv on 14x14
    (1152, 128, 49),
]


@pytest.mark.parametrize("cell_type, cell_bits", [("mtj", 1), ("sot", 1), ("dw", 2), ("dw", 3)])
@pytest.mark.parametrize("adc_bits", [4, 6, 8])
@pytest.mark.parametrize("array", [64, 128, 256])
def test_pj_per_mac_is_physical_for_realistic_layers(table, units, cell_type, cell_bits, adc_bits, array):
    cell = cell_costs(table, cell_type, cell_bits)
    for rows, cols, vectors in REALISTIC_LAYERS:
        cost = estimate_layer(rows, cols, units=units, cell=cell, vectors=vectors, cell_bits=cell_bits,
                              adc_bits=adc_bits, array_rows=array, array_cols=array)
        assert 0.05 <= _per_mac(cost) <= 20.0, (rows, cols, vectors, _per_mac(cost))


def test_binary_cell_types_refuse_multi_bit_cells(table):
    with pytest.raises(SpintronError, match="sot cells are binary"):
        cell_costs(table, "sot", 2)
    with pytest.raises(SpintronError, match="unknown cell type"):
        cell_costs(table, "rram", 1)


def test_cell_conductances_follow_the_device_table(table):
    cell = cell_costs(table.with_values({"read.v_read": 0.01}), "mtj", 1)
    assert cell.conductance_max == pytest.approx(1 / 6.0e3)
    # at 10 mV the roll-off is negligible: R_AP = R_P (1 + TMR0)
    assert cell.conductance_min == pytest.approx(1 / (6.0e3 * 2.5), rel=1e-3)


# ----------------------------------------------------------- CMOS and totals


def test_cmos_baseline_by_hand(table):
    at_45 = unit_costs(table.with_values({"technology.node_nm": 45.0}))
    array = CmosArray(mac_units=256, clock_frequency=1e9, weight_reuse=1, operand_bits=8)
    cost = cmos_layer_cost(64, 128, units=at_45, array=array)  # 8 KB of int8 weights
    assert cost.macs == 8192
    assert cost.energy["mac"] == pytest.approx(8192 * (0.2 + 0.1) * 1e-12)  # int8 mult + int32 add
    assert cost.energy["digital"] == pytest.approx(128 * (3.1 + 2 * 0.1) * 1e-12)  # requant
    per_byte_1kb = 1.25e-12 * (1 / 8) ** 0.5  # the 8 KB -> 32 KB slope (0.5) extended to 1 KB
    weights, inputs, outputs = 8192 * 1.25e-12, 64 * per_byte_1kb, 128 * per_byte_1kb
    assert cost.energy["buffer"] == pytest.approx(weights + inputs + outputs)
    assert cost.latency == pytest.approx(32e-9 + 384 / 16e9)  # 32 MAC cycles + requant ops


def test_cmos_baseline_at_4_bit_operands_by_hand(table):
    """W4A4 operands: Horowitz's multiplies (0.2 pJ at 8x8 bits, 3.1 pJ at 32x32) fix the power law
    in the width product, so 4x4 bits cost 0.2 * (16/64)**(ln 15.5 / ln 16) pJ; packed weights halve
    the SRAM (4 KB) and the bytes read."""
    at_45 = unit_costs(table.with_values({"technology.node_nm": 45.0}))
    array = CmosArray(mac_units=256, clock_frequency=1e9, weight_reuse=1, operand_bits=0)
    cost = cmos_layer_cost(64, 128, units=at_45, array=array, widths=(4, 4))
    multiply = 0.2e-12 * 0.25 ** (math.log(15.5) / math.log(16))
    assert multiply == pytest.approx(0.0508e-12, rel=1e-3)
    assert cost.energy["mac"] == pytest.approx(8192 * (multiply + 0.1e-12))
    per_byte_1kb, per_byte_4kb = 1.25e-12 * (1 / 8) ** 0.5, 1.25e-12 * (4 / 8) ** 0.5
    weights, inputs, outputs = 4096 * per_byte_4kb, 32 * per_byte_1kb, 128 * per_byte_1kb
    assert cost.energy["buffer"] == pytest.approx(weights + inputs + outputs)
    int8 = cmos_layer_cost(64, 128, units=at_45, array=array)
    assert cost.latency == int8.latency  # one MAC per unit per cycle whatever the width
    assert array.area(at_45, (4, 4)) == pytest.approx(256 * (282e-12 * 0.25 ** (math.log(3495 / 282) / math.log(16))
                                                             + 137e-12))
    assert array.widths((4, 5)) == (4, 5)
    assert CmosArray(256, 1e9, 1, operand_bits=6).widths((4, 5)) == (6, 6)


def test_network_summary_latency_and_efficiency():
    a = Cost(latency=2e-6, macs=1000)
    a.energy["adc"] = 1e-9
    b = Cost(latency=1e-6, macs=3000)
    b.energy["cell_read"] = 3e-9
    summary = network_summary({"a": a, "b": b})
    total = summary["total"]
    assert total["latency_s"] == pytest.approx(3e-6)
    assert total["pipeline_interval_s"] == pytest.approx(2e-6)
    assert total["pj_per_mac"] == pytest.approx(1.0)
    assert total["tops_per_w"] == pytest.approx(2.0)
    assert [layer["name"] for layer in summary["layers"]] == ["a", "b"]
    assert summary["layers"][0]["energy_j"]["total"] == pytest.approx(1e-9)
