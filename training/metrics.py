"""Top-1 accuracy, the one measure the examples, the trainer and the sensitivity tool report."""

from __future__ import annotations

import numpy as np
import torch


def top1_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest logit is at the label."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def float_accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of a float torch model on a numpy batch (no gradients)."""
    with torch.no_grad():
        return top1_accuracy(model(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy(), y)
