"""A compiled design -> the ``report.json`` dictionary (schema in schema.py,
keys documented in docs/report.md).

The numbers come from ``passes/estimate_energy.estimate_module`` on the spin
design and from the accuracy measured at compile time (``design.summary``);
this module only arranges them, adds the tile map, the CMOS comparison and
the parameter entries the estimate actually read, with the user's overrides.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from spintron_nn import __version__
from spintron_nn.backends.report.rtl import rtl_section
from spintron_nn.backends.report.schema import ACCURACY_KEYS, SCHEMA_VERSION
from spintron_nn.design import Design
from spintron_nn.energy.cost_model import AREA_COMPONENTS, ENERGY_COMPONENTS
from spintron_nn.energy.params import ParameterTable, load_parameters
from spintron_nn.errors import SpintronError
from spintron_nn.ir.nn import read_float, read_int

# design.summary key (analysis.accuracy_summary) -> report key
_ACCURACY_FROM_SUMMARY = {
    "evaluated on": "evaluated_on",
    "relative RMS error vs float": "relative_rms_error",
    "relative RMS error vs float, ideal ADC": "relative_rms_error_ideal_adc",
    "top-1 agreement with float": "top1_agreement",
    "top-1 agreement with float, ideal ADC": "top1_agreement_ideal_adc",
    "ADC cost (agreement points)": "adc_cost_points",
}
assert set(_ACCURACY_FROM_SUMMARY.values()) == set(ACCURACY_KEYS)


class _RecordingTable(ParameterTable):
    """A parameter table that remembers which entries the estimate read, so
    the report lists the numbers behind it rather than the whole table."""

    def __init__(self, table: ParameterTable):
        super().__init__(dict(table.items()))
        self.read: set[str] = set()

    def value(self, name: str) -> float:
        self.read.add(name)
        return super().value(name)


def tile_map(spin_module) -> list[dict]:
    """One entry per ``spin.crossbar_tile``: where it sits and how full it is."""
    from spintron_nn.ir.spin import CrossbarTileOp

    tiles = []
    for op in spin_module.walk():
        if not isinstance(op, CrossbarTileOp):
            continue
        tiles.append({
            "layer": op.layer.data,
            "tile_id": read_int(op.tile_id),
            "array_id": read_int(op.array_id) if op.array_id is not None else None,
            "row_offset": read_int(op.row_offset),
            "col_offset": read_int(op.col_offset),
            "rows": read_int(op.rows),
            "cols": read_int(op.cols),
            "array_rows": read_int(op.array_rows),
            "array_cols": read_int(op.array_cols),
            "slices": read_int(op.slices),
            "cell_bits": read_int(op.cell_bits),
            "adc_bits": read_int(op.adc_bits) if op.adc_bits is not None else None,
            "input_bits": read_int(op.input_bits),
            "utilisation": read_float(op.utilisation),
        })
    return tiles


def _accuracy(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary.get(name) for name, key in _ACCURACY_FROM_SUMMARY.items()}


def _design_section(estimate: dict, crossbar_layers: set[str]) -> dict:
    """Layers with their kind, and the area shared by all layers (the
    digital unit, the CMOS MAC array): what the total has beyond the layers."""
    layers = [
        {"name": layer["name"], "kind": "crossbar" if layer["name"] in crossbar_layers else "digital", **{
            k: v for k, v in layer.items() if k != "name"}}
        for layer in estimate["layers"]
    ]
    total = estimate["total"]
    shared = {
        component: max(0.0, total["area_m2"][component] - math.fsum(l["area_m2"][component] for l in layers))
        for component in AREA_COMPONENTS
    }
    shared["total"] = math.fsum(shared.values())
    return {"layers": layers, "shared": {"area_m2": shared}, "total": total}


def _ratio(cmos: float, spintronic: float) -> float | None:
    return cmos / spintronic if spintronic else None


def _comparison(spintronic: dict, cmos: dict) -> dict:
    """Energy, latency and area side by side; ratio = CMOS / spintronic (> 1: crossbars win)."""
    by_name = {layer["name"]: layer for layer in cmos["layers"]}

    def pair(s: dict, c: dict) -> dict:
        return {
            "spintronic_energy_j": s["energy_j"]["total"],
            "cmos_energy_j": c["energy_j"]["total"],
            "energy_ratio": _ratio(c["energy_j"]["total"], s["energy_j"]["total"]),
            "spintronic_latency_s": s["latency_s"],
            "cmos_latency_s": c["latency_s"],
        }

    layers = [{"name": l["name"], **pair(l, by_name[l["name"]])} for l in spintronic["layers"]]
    total = pair(spintronic["total"], cmos["total"])
    total["spintronic_area_m2"] = spintronic["total"]["area_m2"]["total"]
    total["cmos_area_m2"] = cmos["total"]["area_m2"]["total"]
    return {"layers": layers, "total": total}


def _origin(parameter, shipped: ParameterTable) -> str:
    """"shipped" for the package's own tables (their install path says nothing
    and would make reports differ between machines), else the override file."""
    return "shipped" if parameter.origin == shipped[parameter.name].origin else parameter.origin


def _parameters(table: ParameterTable, read: set[str], shipped: ParameterTable) -> list[dict]:
    return [
        {"name": name, "value": table[name].value, "unit": table[name].unit, "source": table[name].source,
         "origin": _origin(table[name], shipped)}
        for name in sorted(read)
    ]


def _overrides(table: ParameterTable, shipped: ParameterTable) -> list[dict]:
    """Entries whose value differs from, or came from elsewhere than, the shipped table."""
    return [
        {"name": name, "value": p.value, "shipped_value": shipped[name].value, "unit": p.unit, "origin": p.origin}
        for name, p in table.items()
        if p.origin != shipped[name].origin or p.value != shipped[name].value
    ]


def build_report(design: Design, table: ParameterTable | None = None, folder: Path | None = None) -> dict:
    """The report of ``design`` (which must have a crossbar mapping); ``folder``
    is its bundle, where the verilog target's synthesis summary is read."""
    from spintron_nn.ir.module_info import fixed_batch, main_function
    from spintron_nn.ir.spin import CrossbarLayerOp
    from spintron_nn.passes.estimate_energy import estimate_module

    if design.spin_module is None:
        raise SpintronError("a report needs a crossbar design; this bundle has none (compiled with --targets ir)")
    table = table if table is not None else design.config.parameters()
    shipped = load_parameters()
    recording = _RecordingTable(table)
    estimate = estimate_module(design.spin_module, recording, activity=design.config.input_activity)
    if design.config.input_activity == "measured":  # every tile was priced at its own measured fraction
        recording.read.discard("crossbar.input_one_fraction")
    if not any(isinstance(op, CrossbarLayerOp) for op in design.spin_module.walk()):
        recording.read.discard("crossbar.mean_level_fraction")  # every tile priced at its programmed levels
    tiles = tile_map(design.spin_module)
    crossbar_layers = {tile["layer"] for tile in tiles}
    spintronic = _design_section(estimate["spintronic"], crossbar_layers)
    first_tile = {}
    for tile in tiles:
        first_tile.setdefault(tile["layer"], tile)
    for layer in spintronic["layers"]:
        if layer["kind"] == "crossbar":  # per layer: the --layer-*-bits options may give it its own
            layer["weight_bits"] = design.config.weight_bits_of(layer["name"])
            # what its tiles read and convert (one width per layer: every tile of it is alike)
            layer["input_bits"] = first_tile[layer["name"]]["input_bits"]
            layer["adc_bits"] = first_tile[layer["name"]]["adc_bits"]
    cmos = _design_section(estimate["cmos"], crossbar_layers)
    _add_cmos_operands(cmos, spintronic, table)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"spintron_nn": __version__},
        "source": design.source,
        "inputs_per_call": fixed_batch(main_function(design.spin_module)) or 1,
        "config": design.config.to_json(),
        "units": {"energy": "J", "latency": "s", "area": "m^2"},
        "energy_components": list(ENERGY_COMPONENTS),
        "area_components": list(AREA_COMPONENTS),
        "spintronic": spintronic,
        "cmos": cmos,
        "comparison": _comparison(spintronic, cmos),
        "tiles": tiles,
        "accuracy": _accuracy(design.summary),
        "parameters": _parameters(table, recording.read, shipped),
        "overrides": _overrides(table, shipped),
        "spice": _spice_section(design),
        "rtl": rtl_section(folder),
    }


def _add_cmos_operands(cmos: dict, spintronic: dict, table: ParameterTable) -> None:
    """Each CMOS matrix layer's operand widths, as the baseline priced them (int8, or the
    crossbar layer's own with ``cmos.operand_bits`` = 0)."""
    from spintron_nn.energy.cmos_baseline import CmosArray

    array = CmosArray.from_table(table)
    design = {layer["name"]: layer for layer in spintronic["layers"] if layer["kind"] == "crossbar"}
    for layer in cmos["layers"]:
        if layer["kind"] == "crossbar":
            own = design[layer["name"]]
            layer["weight_bits"], layer["input_bits"] = array.widths((own["weight_bits"], own["input_bits"]))


def _spice_section(design: Design) -> dict | None:
    """IR drop and analog accuracy, owned by the spice backend (null without the spice target)."""
    from spintron_nn.backends.spice.report_section import report_section

    return report_section(design)
