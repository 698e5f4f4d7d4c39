"""Model definitions of the zoo (plain torch modules, float).

All of them can be trained hardware-aware with ``training.FakeQuantNetwork``
(the first three are chains; the MobileNetV2- and ResNet-style networks use
batch norm, depthwise convolutions and residual adds, which the compiler maps
with the batch norm folded and fake quantization follows, training/graph.py).
The last two ship untrained: they are for compile, energy and area studies.
"""

from __future__ import annotations

import torch
from torch import nn

from spintron_nn.errors import SpintronError
from spintron_nn.training.learned_clip import LearnedClip


def digits_mlp(hidden: int = 96, classes: int = 10) -> nn.Sequential:
    """sklearn digits (8x8 images flattened to 64 features in [0, 1])."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def _keyword_activation(activation: str, clip_init: float, clip_decay: float) -> nn.Module:
    if activation == "relu6":
        return nn.ReLU6()
    if activation == "learned_clip":
        return LearnedClip(clip_init, clip_decay)
    raise SpintronError(f"keyword_cnn: activation must be 'relu6' or 'learned_clip', got {activation!r}")


def keyword_cnn(classes: int = 6, width: int = 16, activation: str = "relu6",
                clip_init: float = 6.0, clip_decay: float = 0.0, head: str = "pool",
                frames: int = 48, coefficients: int = 13) -> nn.Sequential:
    """Keyword spotting on MFCCs ``[N, 1, frames, coefficients]`` (examples/keyword_data.py).

    ``activation="relu6"`` bounds every activation range to [0, 6], which keeps
    min/max calibration at 4 bits from spending its codes on outliers;
    ``"learned_clip"`` learns each layer's range [0, alpha] instead (PACT,
    training/learned_clip.py: alpha starts at ``clip_init``, L2 decay ``clip_decay``).
    ``head="pool"``: global average pool + Linear (any input size works);
    ``"flatten"``: a third max pool, then the Linear sees every remaining
    position (``frames // 8`` x ``coefficients // 8``), so it keeps *when* in
    the clip a feature occurs and its inputs are not averaged onto the 4-bit grid."""
    def act() -> nn.Module:
        return _keyword_activation(activation, clip_init, clip_decay)

    features = [
        nn.Conv2d(1, width, 3, padding=1), act(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), act(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), act(),
    ]
    if head == "pool":
        return nn.Sequential(*features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes))
    if head == "flatten":
        positions = (frames // 8) * (coefficients // 8)
        if positions < 1:
            raise SpintronError(
                f"keyword_cnn: head 'flatten' needs inputs of at least 8x8, got {frames}x{coefficients}")
        return nn.Sequential(*features, nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * width * positions, classes))
    raise SpintronError(f"keyword_cnn: head must be 'pool' or 'flatten', got {head!r}")


def tiny_vision_cnn(classes: int = 10, channels: int = 3, width: int = 16) -> nn.Sequential:
    """A small CIFAR-sized image classifier ``[N, channels, 32, 32]`` (trained on
    ``examples/shapes_data.py`` by ``examples/tiny_vision.py``).  ReLU6, as in
    ``keyword_cnn``: bounded activations keep min/max calibration at 4 bits from
    spending its codes on outliers."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.ReLU6(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU6(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, classes),
    )


class _InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 project (+ residual when shapes allow)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2Style(nn.Module):
    """A narrow MobileNetV2 for ``[N, 3, 32, 32]`` inputs."""

    # (expansion, output channels, blocks, first stride), a shortened MobileNetV2 table
    STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2))

    def __init__(self, classes: int = 10, width: int = 16):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU6()]
        cin = width
        for expand, cout, blocks, stride in self.STAGES:
            for b in range(blocks):
                layers.append(_InvertedResidual(cin, cout, stride if b == 0 else 1, expand))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNetStyle(nn.Module):
    """A ResNet-8-like network (three stages of basic blocks) for ``[N, 3, 32, 32]``."""

    def __init__(self, classes: int = 10, width: int = 16, blocks_per_stage: int = 1):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        cin = width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks_per_stage):
                layers.append(_BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def mobilenet_v2_style(classes: int = 10, width: int = 16) -> MobileNetV2Style:
    return MobileNetV2Style(classes, width)


def resnet_style(classes: int = 10, width: int = 16, blocks_per_stage: int = 1) -> ResNetStyle:
    return ResNetStyle(classes, width, blocks_per_stage)
