"""Yosys quality gate: the digital part synthesizes, with no latch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from spintron_nn.backends.verilog import bundle, tools
from spintron_nn.errors import SpintronError

LATCH = """module spintron_top (input wire en, input wire d, output reg q);
    always @* if (en) q = d;
endmodule
"""


def test_a_latch_fails_the_gate(tmp_path):
    shutil.copyfile(bundle.LIBRARY / tools.MACRO, tmp_path / tools.MACRO)
    (tmp_path / "spintron_top.v").write_text(LATCH)
    with pytest.raises(SpintronError, match="selection is not empty"):
        tools.synthesize(tmp_path)


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
