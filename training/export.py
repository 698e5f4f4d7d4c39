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

