"""The float-graph pipeline on imported models keeps onnxruntime's result.

A small PyTorch CNN with the patterns the passes exist for (Conv+BN, depthwise
Conv+BN, ReLU / ReLU6, Dropout, Linear+BatchNorm1d, a standalone BN) is
exported to ONNX, imported, run through every float pass and executed by the
float backend; onnxruntime on the same ONNX bytes is the oracle.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from spintron_nn.backends.float_exec import run_float
from spintron_nn.frontend import load_model
from spintron_nn.ir import io as ir_io
from spintron_nn.passes.pipeline import run_pipeline

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

PIPELINE = "canonicalize,fold-constants,fold-batchnorm,fuse-activations,canonicalize,shape-inference"


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.input_bn = nn.BatchNorm2d(3)  # nothing before it to fold into
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.bn_dw = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(8 * 4 * 4, 16)
        self.bn_fc = nn.BatchNorm1d(16)
        self.out = nn.Linear(16, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(self.input_bn(x))))
        x = torch.nn.functional.relu6(self.bn_dw(self.depthwise(x)))
        x = self.drop(torch.flatten(x, 1))
        return self.out(torch.relu(self.bn_fc(self.fc(x))))


def trained_looking(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial BN statistics, as after training (fresh BNs are identities)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen))
                module.running_mean.copy_(torch.randn(n, generator=gen))
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.2)
    return model.eval()


def count(module, name: str) -> int:
    return sum(op.name == name for op in module.walk())


def test_float_pipeline_on_a_torch_cnn_matches_onnxruntime():
    torch.manual_seed(0)
    model = trained_looking(SmallCNN(), seed=1)
    example = torch.randn(2, 3, 8, 8)
    buffer = io.BytesIO()
    torch.onnx.export(
        model, (example,), buffer, dynamo=False, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, do_constant_folding=False,
    )
    x = np.random.default_rng(2).standard_normal((3, 3, 8, 8)).astype(np.float32)
    (expected,) = ort.InferenceSession(buffer.getvalue()).run(None, {"x": x})

    module = load_model(onnx.load_from_string(buffer.getvalue()))
    assert count(module, "nn.batch_normalization") == 4
    run_pipeline(module, PIPELINE + ",fold-batchnorm{standalone=true}")

    assert count(module, "nn.batch_normalization") == 0
    assert count(module, "nn.relu") == 0 and count(module, "nn.clip") == 0
    assert count(module, "nn.identity") == 0
    # Only the input BN is left, as x * s + t.
    assert count(module, "nn.mul") == 1
    (got,) = run_float(module, [x])
    tolerance = 1e-4 * (1 + float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)

    text = ir_io.print_module(module)
    from spintron_nn.ir.weights import collect_weights

    assert ir_io.print_module(ir_io.parse_module(text, collect_weights(module))) == text
