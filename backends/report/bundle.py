"""The ``report`` target of ``spintronc compile``: report.json and report.html
in the bundle being written (tools/commands/compile.py TARGET_WRITERS)."""

from __future__ import annotations

import json
from pathlib import Path

from spintron_nn.backends.report.build import build_report
from spintron_nn.backends.report.html import render_html
from spintron_nn.backends.report.schema import REPORT_HTML, REPORT_JSON
from spintron_nn.design import Design


def write_report(report: dict, folder: Path) -> None:
    (folder / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n")
    (folder / REPORT_HTML).write_text(render_html(report), encoding="utf-8")


def write_target(design: Design, folder: Path) -> None:
    # after the verilog writer (compile.py TARGET_WRITERS order): rtl.json is there
    write_report(build_report(design, folder=Path(folder)), Path(folder))
