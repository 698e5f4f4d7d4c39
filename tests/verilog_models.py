"""Small seeded models for the Verilog backend tests (not a test module)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig


class PoolCnn(nn.Module):
    """Conv with padding and stride, max pool, avg pool, global pool, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.avg = nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.avg(torch.relu(self.conv2(x)))
        x = torch.mean(x, dim=(2, 3))
        return self.fc(x)


class DepthwiseResidualConcat(nn.Module):
    """Depthwise conv, residual add and a channel concat."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.side = nn.Conv2d(4, 3, 1)
        self.head = nn.Conv2d(7, 3, 3, stride=2)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        z = torch.relu(self.depthwise(y)) + y
        w = torch.cat([z, torch.relu(self.side(y))], dim=1)
        return torch.flatten(self.head(w), 1)


def compiled(model_class, input_shape, *, seed=0, crossbar=(32, 32), targets=("ir", "sim")):
    """(design, held-out inputs) for a seeded model of ``model_class``."""
    torch.manual_seed(seed)
    model = model_class().eval()
    rng = np.random.default_rng(seed)
    calibration = rng.uniform(0, 1, size=(16, *input_shape)).astype(np.float32)
    held_out = rng.uniform(0, 1, size=(3, *input_shape)).astype(np.float32)
    config = CompileConfig(rows=crossbar[0], cols=crossbar[1], targets=targets)
    design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    return design, held_out


class LutSoftmax(nn.Module):
    """Sigmoid and tanh (LUTs), an unfused clip, a final softmax (host side)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 6)

    def forward(self, x):
        h = torch.clamp(torch.tanh(self.fc1(x)) + torch.sigmoid(self.fc1(x)), -0.5, 1.5)
        return torch.softmax(self.fc2(h), dim=1)
