"""Element-wise activations as spin.lut tables (GELU in both ONNX forms, HardSwish,
HardSigmoid, Softplus, ELU, Abs; Sigmoid, Tanh and LeakyReLU as before).

Each table is the float backend's own kernel tabulated over the input codes
(``float_exec.elementwise_function``), so float and sim share one definition.
Oracles: onnxruntime for the float graph (torch exports at opset 17, where GELU
is an Erf expression, and 20, where it is one Gelu node); the float backend for
the simulator, within the quantization error on in-range inputs; Icarus for the
RTL, bit for bit.  ONNX's node tests cover each op's float semantics
(docs/op-coverage.md)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig
from spintron_nn.ir import spin

ort = pytest.importorskip("onnxruntime")

ACTIVATIONS = {
    "gelu": torch.nn.GELU(), "gelu_tanh": torch.nn.GELU(approximate="tanh"), "hardswish": torch.nn.Hardswish(),
    "hardsigmoid": torch.nn.Hardsigmoid(), "softplus": torch.nn.Softplus(), "elu": torch.nn.ELU(alpha=0.7),
    "abs": None,
}


class _Abs(torch.nn.Module):
    def forward(self, x):
        return torch.abs(x)


def _exported(tmp_path, name: str, opset: int) -> str:
    torch.manual_seed(0)
    activation = ACTIVATIONS[name] or _Abs()
    model = torch.nn.Sequential(torch.nn.Linear(16, 12), activation, torch.nn.Linear(12, 4)).eval()
    path = str(tmp_path / f"{name}_{opset}.onnx")
    torch.onnx.export(model, torch.randn(2, 16), path, opset_version=opset, dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "n"}})
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_compiles_to_a_table(name, opset, tmp_path):
    rng = np.random.default_rng(opset)
    calibration = rng.standard_normal((256, 16)).astype(np.float32)
    path = _exported(tmp_path, name, opset)
    design = compile_model(path, CompileConfig(targets=("ir", "sim")), calibration)
    assert any(isinstance(op, spin.LutOp) for op in design.spin_module.walk())
    x = calibration[:64]  # in the calibrated range: the error is quantization only
    expected = ort.InferenceSession(path).run(None, {"x": x})[0]
    np.testing.assert_allclose(design.run(x, backend="float")[0], expected, rtol=1e-5, atol=1e-5)
    sim = design.run(x, backend="sim")[0]
    assert np.sqrt(np.mean((sim - expected) ** 2)) <= 0.03 * np.sqrt(np.mean(expected ** 2))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs iverilog (CI installs it)")
def test_gelu_tables_run_bit_exactly_on_the_rtl(tmp_path):
    """The Erf form (opset 17) is a table, products and constant scalings: all on the RTL."""
    from spintron_nn.backends.verilog.bundle import write_target
    from spintron_nn.design import Design

    rng = np.random.default_rng(3)
    calibration = rng.standard_normal((32, 16)).astype(np.float32)
    design = compile_model(_exported(tmp_path, "gelu", 17), CompileConfig(targets=("ir", "sim", "verilog")),
                           calibration)
    design.save(tmp_path / "bundle", extra_writers=[write_target])
    bundle = Design.load(tmp_path / "bundle")
    x = rng.standard_normal((8, 16)).astype(np.float32)
    np.testing.assert_array_equal(bundle.run(x, backend="rtl")[0], bundle.run(x, backend="sim")[0])
