"""A Conv2d's weight and bias with the BatchNorm2d after it folded in, as the compiled design has them.

torch's ONNX exporter (TorchScript, eval mode: what ``spintronc compile``,
``compile_model`` and ``training.export`` run) folds an inference
BatchNormalization into the Conv before it, in float32
(``fuseConvBatchNorm`` in torch/csrc/jit/passes/onnx/eval_peephole.cpp):

    s = gamma / sqrt(running_var + eps)
    W' = W * s[o]                     b' = beta + (b - running_mean) * s   (b' = beta - running_mean * s without b)

so the compiler never sees the BN (its ``fold-batchnorm`` pass, float64, only
folds what an exporter left; ``compiler_calibration`` counts those and fake
quantization refuses them).  Every step is a correctly rounded float32
operation, so the same torch ops here give the exporter's bits, and autograd
gives the folded surrogate's gradient to W, b, gamma and beta.

The running statistics are frozen while training hardware-aware: the
compiled design uses them (eval mode) and the fake-quantized forward never
runs the BN module, so they keep the values of the float pre-training
(standard practice for quantization-aware fine-tuning).
"""

from __future__ import annotations

import torch

from spintron_nn.errors import SpintronError


def check_foldable(bn: torch.nn.Module) -> None:
    if not isinstance(bn, torch.nn.BatchNorm2d):
        raise SpintronError(f"fake quantization folds a BatchNorm2d after a Conv2d, not a {type(bn).__name__}")
    if not bn.affine or not bn.track_running_stats:
        raise SpintronError("fake quantization folds BatchNorm2d with affine parameters and running "
                            "statistics only")


def folded_weight(conv: torch.nn.Conv2d, bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    return conv.weight * _bn_scale(bn).reshape(-1, 1, 1, 1)


def folded_bias(conv: torch.nn.Conv2d, bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    scale = _bn_scale(bn)
    if conv.bias is None:
        return bn.bias - bn.running_mean * scale
    return bn.bias + (conv.bias - bn.running_mean) * scale


def _bn_scale(bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    return bn.weight / torch.sqrt(bn.running_var + bn.eps)
