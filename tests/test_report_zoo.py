"""Every zoo model gets a complete report.json whose physics is sane (issue 7:
pJ/MAC within 0.05-20) and whose MAC count matches the count taken from the
torch model itself with forward hooks (an oracle outside the compiler)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.backends.report.build import build_report
from spintron_nn.backends.report.schema import check_report
from spintron_nn.config import CompileConfig
from spintron_nn.energy.cost_model import ENERGY_COMPONENTS
from spintron_nn.models import zoo

INPUT_SHAPES = {
    "keyword_cnn": (1, 48, 13),
    "tiny_vision_cnn": (3, 32, 32),
    "resnet_style": (3, 32, 32),
    "mobilenet_v2_style": (3, 32, 32),
}


def _torch_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Weight x input products of one inference (grouped convolutions count
    only their in-group products)."""
    total = 0

    def count(module, _inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.in_channels // module.groups * math.prod(module.kernel_size)
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features * output.numel() // module.out_features

    handles = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        model(example)
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "keyword_cnn",
    "tiny_vision_cnn",
    "resnet_style",
    "mobilenet_v2_style",  # depthwise convs: only the in-group products are MACs
])
def test_zoo_report_is_complete_and_sane(name):
    torch.manual_seed(0)
    model = getattr(zoo, name)().eval()
    shape = INPUT_SHAPES[name]
    example = torch.randn(1, *shape)
    calibration = np.random.default_rng(0).standard_normal((16, *shape)).astype(np.float32)
    design = compile_model(model, CompileConfig(), calibration, example_input=example)
    report = check_report(build_report(design))
    total = report["spintronic"]["total"]
    assert math.isclose(total["energy_j"]["total"], math.fsum(total["energy_j"][c] for c in ENERGY_COMPONENTS),
                        rel_tol=1e-9)
    assert 0.05 <= total["pj_per_mac"] <= 20
    assert report["accuracy"]["top1_agreement"] is not None
    expected = _torch_macs(model, example)
    assert total["macs"] == expected
    assert report["cmos"]["total"]["macs"] == expected
