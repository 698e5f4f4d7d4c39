"""Models exported with a fixed batch (torch.onnx.export without dynamic_axes: batch 1).

Found by a user walkthrough: such a model could be calibrated, run and verified on
one item only.  Now any multiple of its batch runs a batch at a time.  Oracles:
onnxruntime item by item for the float graph, and the same network exported with
a dynamic batch, whose design must give identical results on every backend,
with device read noise too (its draws are numbered by item across batches)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spintron_nn.api import compile_model
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError

ort = pytest.importorskip("onnxruntime")


def _export(tmp_path, batch: int, dynamic: bool) -> str:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 3 * 3, 5)).eval()
    path = tmp_path / f"b{batch}{'d' if dynamic else ''}.onnx"
    axes = {"x": {0: "n"}, "y": {0: "n"}} if dynamic else None
    torch.onnx.export(model, torch.randn(batch, 3, 5, 5), path, opset_version=13, dynamo=False,
                      input_names=["x"], output_names=["y"], dynamic_axes=axes)
    return str(path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_batch_1_export_runs_any_number_of_items(tmp_path):
    rng = np.random.default_rng(5)
    calibration = rng.standard_normal((32, 3, 5, 5)).astype(np.float32)
    x = rng.standard_normal((7, 3, 5, 5)).astype(np.float32)
    config = CompileConfig(targets=("ir", "sim"))
    fixed = compile_model(_export(tmp_path, 1, False), config, calibration)
    dynamic = compile_model(_export(tmp_path, 1, True), config, calibration)
    session = ort.InferenceSession(str(tmp_path / "b1.onnx"))
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    np.testing.assert_allclose(fixed.run(x, backend="float")[0], expected, rtol=1e-5, atol=1e-5)
    noise = NoiseSpec(conductance_variation=0.05, read_noise=0.02)
    for kwargs in ({}, {"noise": noise, "seed": 3}):
        np.testing.assert_array_equal(fixed.run(x, backend="sim", **kwargs)[0], dynamic.run(x, backend="sim", **kwargs)[0])
    same = np.repeat(x[:1], 4, axis=0)  # read noise draws differ from item to item
    noisy = fixed.run(same, backend="sim", noise=noise, seed=3)[0]
    assert len({row.tobytes() for row in noisy}) > 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_larger_static_leading_size_takes_exactly_that_many_items(tmp_path):
    """Review: a static leading size of 2 may not be a batch (a sequence a softmax runs over), so it
    is not split: exactly 2 items, as onnxruntime asks; the error says how to get other counts."""
    rng = np.random.default_rng(6)
    design = compile_model(_export(tmp_path, 2, False), CompileConfig(targets=("ir", "sim")),
                           rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    assert design.run(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), backend="sim")[0].shape == (2, 5)
    for backend in ("float", "sim"):
        with pytest.raises(SpintronError, match="re-export the model with a dynamic batch axis"):
            design.run(rng.standard_normal((4, 3, 5, 5)).astype(np.float32), backend=backend)
    with pytest.raises(SpintronError, match="re-export"):
        compile_model(_export(tmp_path, 2, False), CompileConfig(targets=("ir", "sim")),
                      rng.standard_normal((8, 3, 5, 5)).astype(np.float32))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_report_says_a_fixed_batch_is_priced_per_call(tmp_path, capsys):
    """Review: a batch-2 export was priced per call of the graph (two inputs) under the heading
    "per inference"; the report now states what one priced call takes."""
    from spintron_nn.tools.spintronc import main

    rng = np.random.default_rng(8)
    for batch in (1, 2):
        items = 8 if batch == 1 else batch  # a batch-2 export takes exactly its 2 inputs
        np.save(tmp_path / f"cal{batch}.npy", rng.standard_normal((items, 3, 5, 5)).astype(np.float32))
        out = tmp_path / f"bundle{batch}"
        assert main(["compile", _export(tmp_path, batch, False), "-o", str(out), "-q",
                     "--calibration", str(tmp_path / f"cal{batch}.npy")]) == 0
        assert main(["report", str(out)]) == 0
        printed, html = capsys.readouterr().out, (out / "report.html").read_text()
        report = __import__("json").loads((out / "report.json").read_text())
        assert report["inputs_per_call"] == batch
        assert ("per call of the graph: 2 inputs" in printed) == (batch == 2)
        assert ("per call of the graph: 2 inputs" in html) == (batch == 2)
    macs = [__import__("json").loads((tmp_path / f"bundle{b}" / "report.json").read_text())["spintronic"]["total"]["macs"]
            for b in (1, 2)]
    assert macs[1] == 2 * macs[0]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.skipif(__import__("shutil").which("iverilog") is None, reason="needs iverilog (CI installs it)")
def test_the_rtl_runs_a_batch_1_export_a_vector_per_item(tmp_path):
    """Its testbench gets a vector per item (32 calibration items, 32 vectors), and the RTL is
    bit-exact with the simulator on 6 items."""
    from spintron_nn.backends.verilog.bundle import write_target
    from spintron_nn.design import Design

    rng = np.random.default_rng(9)
    design = compile_model(_export(tmp_path, 1, False), CompileConfig(targets=("ir", "sim", "verilog")),
                           rng.standard_normal((32, 3, 5, 5)).astype(np.float32))
    design.save(tmp_path / "bundle", extra_writers=[write_target])
    bundle = Design.load(tmp_path / "bundle")
    x = rng.standard_normal((6, 3, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(bundle.run(x, backend="rtl")[0], bundle.run(x, backend="sim")[0])


class _DivideByBuffer(torch.nn.Module):
    """A float-unit op with a constant operand ([3, 6] divisor) after a crossbar layer (review:
    tile-crossbars split the constant as if it carried the batch)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(4, 6), torch.nn.Linear(6, 5)
        self.register_buffer("divisor", torch.rand(3, 6) + 0.5)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)) / self.divisor)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_constants_of_a_batch_1_export_are_not_split(tmp_path):
    torch.manual_seed(1)
    model = _DivideByBuffer().eval()
    paths = {}
    for dynamic in (False, True):
        paths[dynamic] = str(tmp_path / f"div{dynamic}.onnx")
        torch.onnx.export(model, torch.randn(1, 3, 4), paths[dynamic], opset_version=13, dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "n"}} if dynamic else None)
    rng = np.random.default_rng(10)
    calibration = rng.standard_normal((16, 3, 4)).astype(np.float32)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    fixed, dynamic = (compile_model(paths[d], CompileConfig(targets=("ir", "sim")), calibration) for d in (False, True))
    np.testing.assert_array_equal(fixed.run(x, backend="sim")[0], dynamic.run(x, backend="sim")[0])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_spice_target_analyses_a_batch_1_export_item_by_item(tmp_path):
    """Walkthrough: the spice target's IR-drop analysis ran the 7 kept calibration items as one
    batch through the graph's reshape to [1, 27] and crashed; the ideal-device analog run must
    equal the simulator item for item."""
    from spintron_nn.backends.spice.bundle import write_target
    from spintron_nn.design import Design

    rng = np.random.default_rng(11)
    calibration = rng.standard_normal((7, 3, 5, 5)).astype(np.float32)
    design = compile_model(_export(tmp_path, 1, False), CompileConfig(targets=("ir", "sim", "spice"), rows=16, cols=16),
                           calibration)
    design.save(tmp_path / "bundle", extra_writers=[write_target])
    bundle = Design.load(tmp_path / "bundle")
    np.testing.assert_array_equal(bundle.run(calibration, backend="spice", ideal=True)[0],
                                  bundle.run(calibration, backend="sim")[0])
