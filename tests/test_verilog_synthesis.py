"""Yosys quality gate: the digital part synthesizes, with no latch; compile
runs the bounded word-level flow and its stat reaches rtl.json and the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from spintron_nn.backends.verilog import bundle, tools
from spintron_nn.errors import SpintronError
from spintron_nn.tools.spintronc import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

LATCH = """module spintron_top (input wire en, input wire d, output reg q);
    always @* if (en) q = d;
endmodule
"""


def _latch_design(folder: Path) -> Path:
    shutil.copyfile(bundle.LIBRARY / tools.MACRO, folder / tools.MACRO)
    (folder / "spintron_top.v").write_text(LATCH)
    return folder


@pytest.mark.parametrize("flow", [tools.synthesize, lambda folder: tools.quick_synthesis(folder, 60)],
                         ids=["full", "compile-time"])
def test_a_latch_fails_the_gate(tmp_path, flow):
    with pytest.raises(SpintronError, match="selection is not empty"):
        flow(_latch_design(tmp_path))


def test_stat_summary_counts_flip_flop_bits_latches_and_blackboxes():
    stat = {"design": {"num_cells": 9, "num_cells_by_type": {
        "$dffe_21": 2, "$sdff_1": 1, "$_DFFE_PP_": 3, "$mux_4": 1, "$dlatch_3": 1, "spin_crossbar_macro": 2}}}
    summary = tools.summarize_stat(stat)
    assert summary["flip_flops"] == 2 * 21 + 1 + 3
    assert summary["latches"] == 3
    assert summary["blackboxes"] == {"spin_crossbar_macro": 2}
    assert summary["cells"] == 9


def test_compile_time_flow_times_out_or_is_skipped_honestly(tmp_path, monkeypatch):
    folder = _latch_design(tmp_path)
    assert tools.quick_synthesis(folder, 0.001)["status"] == "timed out"
    assert tools.quick_synthesis(folder, 0)["status"] == "not run"
    monkeypatch.setenv(tools.SYNTH_TIMEOUT_ENV, "soon")
    with pytest.raises(SpintronError, match="not a number"):
        tools.synth_timeout()


def test_compile_puts_the_yosys_stat_in_rtl_json_and_the_report(tmp_path, capsys):
    out = tmp_path / "bundle"
    # report before verilog on purpose: the writers run in their own order
    assert main(["compile", str(EXAMPLES / "digits_mlp.onnx"), "-o", str(out), "--calibration",
                 str(EXAMPLES / "digits_calibration.npy"), "--targets", "ir,sim,report,verilog", "-q"]) == 0
    rtl = json.loads((out / "verilog" / bundle.SIZES_JSON).read_text())
    synthesis = rtl["synthesis"]
    assert synthesis["status"] == "done" and synthesis["latches"] == 0
    # the activation buffer is flip-flops (asynchronous reads): at least its bits
    assert synthesis["flip_flops"] >= rtl["buffer_words"] * rtl["word_bits"]
    assert synthesis["blackboxes"] == {"spin_crossbar_macro": 2}  # one macro per tile, not synthesized
    assert synthesis["cells"] > 100 and synthesis["cells_by_type"]["spin_crossbar_macro"] == 2
    assert synthesis["yosys"].startswith("Yosys")
    assert (out / "verilog" / tools.QUICK_STAT_JSON).is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["rtl"] == synthesis
    assert "RTL synthesis (Yosys)" in (out / "report.html").read_text()
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    assert f"{synthesis['flip_flops']} flip-flop bits, 0 latches" in capsys.readouterr().out


@pytest.mark.slow
def test_small_mlp_synthesizes_without_latches(tmp_path):
    import torch
    from torch import nn

    from spintron_nn.api import compile_model
    from spintron_nn.config import CompileConfig

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)).eval()
    calibration = np.random.default_rng(0).uniform(0, 1, (8, 16)).astype(np.float32)
    design = compile_model(model, CompileConfig(targets=("ir", "sim"), rows=16, cols=16), calibration,
                           example_input=torch.from_numpy(calibration[:1]))
    bundle.write_rtl(design.spin_module, tmp_path)
    summary = tools.synthesize(tmp_path)
    assert summary["cells"] > 1000 and summary["flip_flops"] > 100
    assert not any("LATCH" in kind.upper() for kind in summary["cells_by_type"])
    assert summary["cells_by_type"].get("spin_crossbar_macro") == 2  # the analog macros stay blackboxes
    stat = json.loads((tmp_path / tools.STAT_JSON).read_text())
    assert stat["design"]["num_cells"] == summary["cells"]


def test_report_says_when_synthesis_timed_out():
    from spintron_nn.backends.report.rtl import html_section, terminal_lines

    section = {"status": "timed out", "timeout_s": 120.0, "full_synthesis": "make -C verilog synth"}
    assert terminal_lines({"rtl": section}) == [
        "rtl (digital part): yosys timed out (after 120 s); full synthesis: make -C verilog synth"]
    assert "timed out" in html_section({"rtl": section}, lambda *a, **k: "")
    assert terminal_lines({"rtl": None}) == [] and html_section({}, lambda *a, **k: "") == ""
