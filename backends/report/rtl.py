"""The ``rtl`` section of report.json / report.html / ``spintronc report``:
the Yosys statistics of the digital part, as the verilog target wrote them
into ``verilog/rtl.json`` (``backends/verilog/tools.generic_synthesis``).

report.json ``rtl`` = ``null`` (no verilog target, or a bundle saved
without its folder) or ``{"status", "flow", "yosys", "seconds", "cells",
"flip_flops", "latches", "blackboxes", "cells_by_type", ...}`` (docs/report.md).
Cells are Yosys word-level cells ($add, $mux, $dffe, ...), flip-flops are bits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from pathlib import Path

# Written by backends/verilog/bundle.py; named here so the report does not
# import the verilog backend (and its simulator dependencies) to read a file.
RTL_JSON = Path("verilog") / "rtl.json"


def rtl_section(folder: Path | None) -> dict | None:
    """The ``synthesis`` entry of the bundle's rtl.json, or None without one."""
    if folder is None or not (Path(folder) / RTL_JSON).is_file():
        return None
    return json.loads((Path(folder) / RTL_JSON).read_text()).get("synthesis")


def _blackboxes(section: dict) -> str:
    return ", ".join(f"{count} x {name}" for name, count in sorted(section["blackboxes"].items())) or "none"


def summary_sentence(section: dict) -> str:
    if section["status"] != "done":
        reason = section.get("reason") or (f"after {section['timeout_s']:g} s" if "timeout_s" in section else "")
        status = f"yosys {section['status']}" + (f" ({reason})" if reason else "")
        return f"{status}; full synthesis: {section['full_synthesis']}"
    return (f"{section['cells']} word-level cells, {section['flip_flops']} flip-flop bits, {section['latches']} latches; "
            f"blackboxes {_blackboxes(section)}; {section['flow']}, {section['seconds']:g} s ({section['yosys']})")


def terminal_lines(report: dict) -> list[str]:
    """Lines for ``spintronc report``: empty without an rtl section."""
    section = report.get("rtl")
    return [f"rtl (digital part): {summary_sentence(section)}"] if section else []


def html_section(report: dict, table: Callable[..., str]) -> str:
    """The report.html section, with the cells by type; empty without an rtl section."""
    section = report.get("rtl")
    if not section:
        return ""
    note = (f"<p class=note>{escape(summary_sentence(section))}. Cells are Yosys word-level cells "
            f"($add, $mux, $dffe, ... with their width), not gates of a technology library; flip-flops "
            f"are bits; the crossbar macro is a blackbox.</p>")
    if section["status"] != "done":
        return f"<h2>RTL synthesis (Yosys)</h2>{note}"
    rows = [[kind, str(count)] for kind, count in sorted(section["cells_by_type"].items())]
    return f"<h2>RTL synthesis (Yosys)</h2>{note}{table(['cell type', 'count'], rows)}"
