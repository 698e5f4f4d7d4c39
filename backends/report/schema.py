"""The ``report.json`` schema: its version, its keys and a checker.

docs/report.md documents every key.  ``schema_version`` changes whenever a key
is renamed, removed or changes meaning; adding a key does not change it.
:func:`check_report` is what ``spintronc report`` runs on a file it did not
write itself, so a stale or hand-edited report is an error, not a crash.
"""

from __future__ import annotations

from typing import Any

from spintron_nn.energy.cost_model import AREA_COMPONENTS, ENERGY_COMPONENTS
from spintron_nn.errors import SpintronError

SCHEMA_VERSION = 1
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"

# Human names of the breakdown components (the keys are the cost model's).
ENERGY_LABELS = {
    "cell_read": "cell reads",
    "row_driver": "DAC / row drivers",
    "adc": "ADC",
    "shift_add": "shift-add",
    "mac": "MAC array (CMOS)",
    "digital": "digital (requant, pool, ...)",
    "buffer": "buffers / data movement",
    "leakage": "leakage",
}
AREA_LABELS = {"cells": "cells", "adc": "ADC", "row_driver": "row drivers", "digital": "digital"}

# Keys of one cost entry (a layer, or a design's total).
COST_KEYS = ("macs", "energy_j", "programming_energy_j", "latency_s", "area_m2", "pj_per_mac", "tops_per_w")
TOP_LEVEL_KEYS = (
    "schema_version", "generator", "source", "config", "units", "energy_components", "area_components",
    "spintronic", "cmos", "comparison", "tiles", "accuracy", "parameters", "overrides",
)
ACCURACY_KEYS = (
    "evaluated_on", "relative_rms_error", "relative_rms_error_ideal_adc",
    "top1_agreement", "top1_agreement_ideal_adc", "adc_cost_points",
)
TILE_KEYS = ("layer", "tile_id", "array_id", "row_offset", "col_offset", "rows", "cols",
             "array_rows", "array_cols", "slices", "cell_bits", "adc_bits", "utilisation")
PARAMETER_KEYS = ("name", "value", "unit", "source", "origin")
OVERRIDE_KEYS = ("name", "value", "shipped_value", "unit", "origin")

assert set(ENERGY_LABELS) == set(ENERGY_COMPONENTS) and set(AREA_LABELS) == set(AREA_COMPONENTS)


def _missing(where: str, data: Any, keys: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise SpintronError(f"report.json: {where} must be an object")
    absent = [k for k in keys if k not in data]
    if absent:
        raise SpintronError(f"report.json: {where} lacks {', '.join(absent)}")


def _check_cost(where: str, cost: Any) -> None:
    _missing(where, cost, COST_KEYS)
    _missing(f"{where}.energy_j", cost["energy_j"], (*ENERGY_COMPONENTS, "total"))
    _missing(f"{where}.area_m2", cost["area_m2"], (*AREA_COMPONENTS, "total"))


def _check_design(where: str, design: Any) -> None:
    _missing(where, design, ("layers", "shared", "total"))
    if not isinstance(design["layers"], list):
        raise SpintronError(f"report.json: {where}.layers must be a list")
    for index, layer in enumerate(design["layers"]):
        _check_cost(f"{where}.layers[{index}]", layer)
        _missing(f"{where}.layers[{index}]", layer, ("name", "kind"))
    _missing(f"{where}.shared", design["shared"], ("area_m2",))
    _check_cost(f"{where}.total", design["total"])


def check_report(report: Any) -> dict:
    """``report`` if it has every key of this schema version, else a SpintronError."""
    _missing("the top level", report, ("schema_version",))
    if report["schema_version"] != SCHEMA_VERSION:
        raise SpintronError(
            f"report.json has schema version {report['schema_version']!r}, this version reads {SCHEMA_VERSION}"
        )
    _missing("the top level", report, TOP_LEVEL_KEYS)
    _check_design("spintronic", report["spintronic"])
    _check_design("cmos", report["cmos"])
    _missing("comparison", report["comparison"], ("layers", "total"))
    _missing("accuracy", report["accuracy"], ACCURACY_KEYS)
    for index, tile in enumerate(report["tiles"]):
        _missing(f"tiles[{index}]", tile, TILE_KEYS)
    for index, entry in enumerate(report["parameters"]):
        _missing(f"parameters[{index}]", entry, PARAMETER_KEYS)
    for index, entry in enumerate(report["overrides"]):
        _missing(f"overrides[{index}]", entry, OVERRIDE_KEYS)
    return report


def cmos_operands_label(report: dict) -> str:
    """What the CMOS baseline computes at: "int8", "W4A4", or "the design's widths" when its
    layers differ; "int8" for reports written before the widths were recorded."""
    widths = {(layer.get("weight_bits", 8), layer.get("input_bits", 8))
              for layer in report["cmos"]["layers"] if layer["kind"] == "crossbar"}
    if len(widths) != 1:
        return "the design's widths" if widths else "int8"
    (weight_bits, input_bits), = widths
    return f"int{weight_bits}" if weight_bits == input_bits else f"W{weight_bits}A{input_bits}"
