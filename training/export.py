"""Export a trained model to ONNX for ``spintronc compile`` (no manual step)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def export_onnx(model: torch.nn.Module, path: str | Path, example_input: np.ndarray, *,
                input_name: str = "input", output_name: str = "logits") -> Path:
    """Write ``model`` (its float parameters: the fake quantization is the
    compiler's job) as ONNX with a dynamic batch axis."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    try:
        torch.onnx.export(
            model, (torch.from_numpy(np.asarray(example_input[:1], dtype=np.float32)),), str(path),
            input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=17, dynamo=False)
    finally:
        model.train(was_training)
    return path


#: Weight rows this far below their layer's largest row are numerically dead.
NEGLIGIBLE_ROW = 2.0**-24


def zero_negligible_rows(model: torch.nn.Module, relative: float = NEGLIGIBLE_ROW) -> int:
    """Set the weight rows (output channels) of every Linear / Conv2d whose largest
    magnitude is below ``relative`` x the layer's largest weight to exact zeros; how many.

    A unit that never fires gets only weight decay's gradient, which Adam
    shrinks geometrically (to ~1e-25 in 40 epochs).  The compiler copes with
    such a unit (``quant_math.fit_bias`` gives it a coarser scale, so its bias
    code stays within 2**24); zeroing makes the exported model say what the
    hardware computes, exact zeros.  The bias is kept, so the float outputs
    change by at most the zeroed weights times the inputs."""
    zeroed = 0
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                peak = layer.weight.abs().reshape(layer.weight.shape[0], -1).amax(dim=1)
                negligible = (peak < relative * peak.max()) & (peak > 0)
                layer.weight[negligible] = 0.0
                zeroed += int(negligible.sum())
    return zeroed
