"""The model zoo (docs/training.md#model-zoo).

    from spintron_nn import models
    models.names()                                # what there is
    model = models.get("digits_mlp", pretrained=True)
    models.input_shape("keyword_cnn")             # [1, 1, 48, 13]: an example input for export

``pretrained=True`` loads the small float weights shipped in
``models/weights/<name>.npz`` (a plain ``state_dict``: no pickle), written by
the example that trains the model (``examples/digits.py --save-weights``,
``examples/wake_word.py --head pool --save-weights``); a model without shipped weights is
an error that names that script.  Keyword arguments change the architecture
(and then there are no pretrained weights for it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from spintron_nn.errors import SpintronError
from spintron_nn.models import zoo

WEIGHTS = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ZooEntry:
    build: Callable[..., torch.nn.Module]
    input_shape: tuple[int, ...]  # one example input, batch 1
    trained_by: str  # the script that writes its pretrained weights
    description: str


ZOO: dict[str, ZooEntry] = {
    "digits_mlp": ZooEntry(zoo.digits_mlp, (1, 64), "examples/digits.py --save-weights",
                           "MLP 64-96-10 on sklearn digits"),
    "keyword_cnn": ZooEntry(zoo.keyword_cnn, (1, 1, 48, 13), "examples/wake_word.py --head pool --save-weights",
                            "3-conv keyword spotter on MFCCs"),
    "tiny_vision_cnn": ZooEntry(zoo.tiny_vision_cnn, (1, 3, 32, 32), "examples/tiny_vision.py --save-weights",
                                "3-conv CIFAR-sized image classifier (shapes, examples/shapes_data.py)"),
    "mobilenet_v2_style": ZooEntry(zoo.mobilenet_v2_style, (1, 3, 32, 32), "(untrained definition)",
                                   "narrow MobileNetV2 (depthwise, BN, ReLU6, residual adds)"),
    "resnet_style": ZooEntry(zoo.resnet_style, (1, 3, 32, 32), "(untrained definition)",
                             "ResNet-8-like network (basic blocks, BN, residual adds)"),
}


def names() -> list[str]:
    return sorted(ZOO)


def _entry(name: str) -> ZooEntry:
    if name not in ZOO:
        raise SpintronError(f"unknown model '{name}' (the zoo has: {', '.join(names())})")
    return ZOO[name]


def input_shape(name: str) -> tuple[int, ...]:
    return _entry(name).input_shape


def weights_path(name: str) -> Path:
    return WEIGHTS / f"{name}.npz"


def get(name: str, pretrained: bool = False, **kwargs) -> torch.nn.Module:
    """A zoo model in eval mode, float, optionally with its shipped weights."""
    entry = _entry(name)
    model = entry.build(**kwargs)
    if pretrained:
        path = weights_path(name)
        if kwargs or not path.exists():
            raise SpintronError(f"no pretrained weights for '{name}'"
                                + (" with a changed architecture" if kwargs else f"; run {entry.trained_by}"))
        with np.load(path, allow_pickle=False) as data:
            state = {key: torch.from_numpy(data[key]) for key in data.files}
        model.load_state_dict(state)
    return model.eval()


def save_weights(name: str, model: torch.nn.Module, path: str | Path | None = None) -> Path:
    """Write ``model``'s state_dict as the zoo's ``.npz`` for ``name``."""
    _entry(name)
    path = Path(path) if path is not None else weights_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    return path
