"""Reproduction of a published figure: ISAAC's per-IMA power breakdown.

ISAAC (Shafiee et al., ISCA 2016) publishes the power of each component of
one IMA (in-situ multiply-accumulate unit, 32 nm): 8 ADCs 16 mW, 8x128 DACs
4 mW, 8 arrays 2.4 mW, 4 shift-and-add units 0.2 mW, registers 1.48 mW, and
12 IMAs per tile 289 mW.  Each per-event energy is derived here from one
published power and the rate at which the *published hardware* performs that
event (e.g. 8 ADCs at 1.28 GS/s).  The cost model then counts the events of
ISAAC's configuration (8 arrays of 128x128 2-bit cells, no differential pair,
16 input bits, one 8-bit ADC per array) and its read-cycle time; power =
energy / latency must give back the published breakdown.

What this checks: the event counts and the latency model (cycle time from
ADC sharing, events per cycle, slices, signs).  What it cannot check: the
device physics of the cell reads (ISAAC gives no conductances) or the
parameters of other designs.  docs/energy-model.md reports the result.
"""

from __future__ import annotations

import dataclasses

from spintron_nn.energy.cost_model import CellCosts, TileShape, tile_cost, unit_costs
from spintron_nn.energy.params import ParameterTable, load_parameters

# ISAAC's IMA configuration (ISCA 2016, Sections 5-6 and its parameter table).
ARRAYS = 8
ARRAY_SIZE = 128
CELL_BITS = 2
INPUT_BITS = 16
ADC_BITS = 8
ADCS = 8
ADC_SAMPLE_RATE = 1.28e9  # S/s: 128 columns in one 100 ns read
DACS = ARRAYS * ARRAY_SIZE
SHIFT_ADD_UNITS = 4
IMAS_PER_TILE = 12

TOLERANCE = 0.05  # relative, per component and in total


def isaac_configuration(table: ParameterTable) -> tuple[TileShape, object, CellCosts]:
    """ISAAC's IMA as one tile, its unit costs and its cell, with per-event
    energies derived from the published powers and rates."""
    v = table.value
    read_cycle = v("isaac.read_cycle")
    reads_per_second = 1.0 / read_cycle
    base = unit_costs(table.with_values({"technology.node_nm": v("periphery.reference_node_nm")}))
    units = dataclasses.replace(
        base,
        read_time=read_cycle,
        input_one_fraction=1.0,  # the published powers are at full activity
        row_driver_energy=v("isaac.ima_dac_power") / (DACS * reads_per_second),
        adc_energy_at_reference=v("isaac.ima_adc_power") / (ADCS * ADC_SAMPLE_RATE),
        adc_reference_bits=ADC_BITS,
        adc_sample_rate=ADC_SAMPLE_RATE,
        columns_per_adc=ARRAY_SIZE,
        # one shift-and-add per conversion, by the 4 units at the ADCs' rate
        add32_energy=v("isaac.ima_shift_add_power") / (ADCS * ADC_SAMPLE_RATE),
        leakage_power_density=0.0,  # included in the published powers
    )
    # ISAAC gives only the arrays' power: one cell read = that power over
    # all cells and one read cycle, expressed as the conductance that
    # dissipates it at the read voltage.
    cell_energy = v("isaac.ima_array_power") * read_cycle / (ARRAYS * ARRAY_SIZE * ARRAY_SIZE)
    conductance = cell_energy / (units.read_voltage**2 * read_cycle)
    cell = CellCosts("isaac", 2**CELL_BITS, conductance, conductance, 0.0, 0.0)
    tile = TileShape(
        rows=ARRAY_SIZE,
        cols=ARRAY_SIZE,
        array_rows=ARRAY_SIZE,
        array_cols=ARRAY_SIZE,
        slices=ARRAYS,
        cell_bits=CELL_BITS,
        input_bits=INPUT_BITS,
        adc_bits=ADC_BITS,
        differential=False,
    )
    return tile, units, cell


def reproduce_isaac_ima(table: ParameterTable | None = None, *, tile: TileShape | None = None) -> dict:
    """Model vs published IMA power (W) per component and in total.

    ``tile`` replaces the configuration (to show that a wrong one fails)."""
    table = table or load_parameters()
    isaac_tile, units, cell = isaac_configuration(table)
    cost = tile_cost(tile or isaac_tile, units, cell)
    power = {name: energy / cost.latency for name, energy in cost.energy.items()}
    v = table.value
    other = v("isaac.ima_other_power")  # registers and S+H: published, not modelled
    rows = {
        "adc": (power["adc"], v("isaac.ima_adc_power")),
        "row_driver": (power["row_driver"], v("isaac.ima_dac_power")),
        "cell_read": (power["cell_read"], v("isaac.ima_array_power")),
        "shift_add": (power["shift_add"], v("isaac.ima_shift_add_power")),
        "tile_total": (
            IMAS_PER_TILE * (power["adc"] + power["row_driver"] + power["cell_read"] + power["shift_add"] + other),
            v("isaac.tile_ima_power"),
        ),
    }
    return {
        name: {"model_w": model, "published_w": published, "relative_error": abs(model - published) / published}
        for name, (model, published) in rows.items()
    }


def reproduction_passes(result: dict, tolerance: float = TOLERANCE) -> bool:
    return all(row["relative_error"] <= tolerance for row in result.values())
