"""Explicit pads for convolution and pooling windows.

The ``nn`` dialect always carries explicit ``pads = [begin..., end...]``;
ONNX's ``auto_pad`` is resolved here from the input's spatial size, following
the formulas of the ONNX operator specification (Conv, MaxPool, AveragePool).
"""

from __future__ import annotations

from collections.abc import Sequence


def explicit_pads(
    auto_pad: str,
    pads: Sequence[int] | None,
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """``[begin..., end...]`` for one window op.

    ``SAME_*``: the output has ``ceil(in / stride)`` elements per axis and the
    total padding is split evenly, the odd element going to the end
    (``SAME_UPPER``) or the beginning (``SAME_LOWER``)."""
    rank = len(kernel)
    if auto_pad in ("", "NOTSET"):
        return list(pads) if pads else [0] * (2 * rank)
    if auto_pad == "VALID":
        return [0] * (2 * rank)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ValueError(f"unknown auto_pad '{auto_pad}'")
    begins, ends = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin, end = (small, large) if auto_pad == "SAME_UPPER" else (large, small)
        begins.append(begin)
        ends.append(end)
    return begins + ends
