"""The ``spice`` section of report.json / report.html / ``spintronc report``:
the IR-drop analysis (``analysis.py``) of a design compiled with the spice
target.  The report backend calls the three functions below through small
hooks; a report without the section (no spice target, or an older
report.json) shows nothing.

report.json ``spice`` = ``null`` or
``{"circuit": {...}, "evaluated_on": N, "tiles": [...], "accuracy": {...}}``
(keys documented in docs/spice.md, "Analysis").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Terminal: the tiles with the largest errors, so a 1000-tile design stays readable.
TERMINAL_TILES = 8


def report_section(design: Any) -> dict | None:
    """The analysis of ``design`` when it was compiled with the spice target."""
    if "spice" not in design.config.targets:
        return None
    from spintron_nn.backends.spice.analysis import default_analysis

    return default_analysis(design)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _accuracy_sentence(section: dict) -> str:
    accuracy = section["accuracy"]
    parts = [f"outputs equal to sim {_percent(accuracy['outputs_equal_to_sim'])}"]
    if accuracy["top1_agreement_with_sim"] is not None:
        parts.append(f"top-1 agreement with sim {_percent(accuracy['top1_agreement_with_sim'])}")
    if accuracy["accuracy_loss_points"] is not None:
        parts.append(f"top-1 agreement with float {_percent(accuracy['top1_agreement_with_float'])} "
                     f"vs {_percent(accuracy['sim_top1_agreement_with_float'])} for sim "
                     f"(loss {accuracy['accuracy_loss_points']:.2f} points)")
    return "; ".join(parts) + f", on {section['evaluated_on']} reference inputs"


def _circuit_sentence(circuit: dict) -> str:
    return (f"{circuit['cell_type']} cells ({circuit['cell_levels']} levels), v_read {circuit['v_read_v']:g} V, "
            f"wires {circuit['wordline_ohm_per_segment']:g}/{circuit['bitline_ohm_per_segment']:g} ohm per "
            f"segment, access transistor {'on' if circuit['access_device'] else 'off'}, "
            f"corner {circuit['corner']}")


def _worst(tiles: list[dict], count: int) -> list[dict]:
    return sorted(tiles, key=lambda tile: -tile["max_error_lsb"])[:count]


def terminal_lines(report: dict) -> list[str]:
    """Lines for ``spintronc report``: empty without a spice section."""
    section = report.get("spice")
    if not section:
        return []
    lines = [f"analog (spice): {_circuit_sentence(section['circuit'])}",
             f"  {_accuracy_sentence(section)}"]
    tiles = section["tiles"]
    shown = _worst(tiles, TERMINAL_TILES)
    lines.append(f"  error in LSB (all analog / IR drop), max and mean; ADC codes changed"
                 f"{'' if len(shown) == len(tiles) else f' ({len(shown)} worst of {len(tiles)} tiles)'}:")
    for tile in shown:
        lines.append(f"  tile {tile['tile_id']:>4} {tile['layer']}: {tile['max_error_lsb']:.3g} / "
                     f"{tile['max_ir_drop_lsb']:.3g} max, {tile['mean_error_lsb']:.3g} / "
                     f"{tile['mean_ir_drop_lsb']:.3g} mean; codes changed {_percent(tile['code_mismatch_rate'])}")
    return lines


def html_section(report: dict, table: Callable[..., str]) -> str:
    """The report.html section; ``table(header, rows, text_columns=...)`` is
    the page's own table renderer.  Empty without a spice section."""
    from html import escape

    section = report.get("spice")
    if not section:
        return ""
    header = ["tile", "layer", "rows x cols x slices", "max error (LSB)", "mean error (LSB)",
              "max IR drop (LSB)", "mean IR drop (LSB)", "ADC codes changed", "max code error"]
    rows = [[str(t["tile_id"]), t["layer"], f"{t['rows']} x {t['cols']} x {t['slices']}",
             f"{t['max_error_lsb']:.3g}", f"{t['mean_error_lsb']:.3g}", f"{t['max_ir_drop_lsb']:.3g}",
             f"{t['mean_ir_drop_lsb']:.3g}", _percent(t["code_mismatch_rate"]), str(t["max_code_error"])]
            for t in section["tiles"]]
    return (f"<h2>Analog accuracy (SPICE nodal solver)</h2>"
            f"<p class=note>{escape(_circuit_sentence(section['circuit']))}. "
            f"{escape(_accuracy_sentence(section))}. Errors are column currents against the exact integer "
            f"sums, in ADC LSBs before the shift; IR drop is the wires' share (same devices, zero wire "
            f"resistance).</p>{table(header, rows, text_columns=(1,))}")
