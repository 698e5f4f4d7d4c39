"""``LearnedClip``: an activation ``clamp(x, 0, alpha)`` with a trainable ``alpha`` (PACT).

PACT (Choi et al. 2018, arXiv:1805.06085) lets each layer choose the range
its low-bit activation codes cover: ``y = clamp(x, 0, alpha)``, with
``dy/dalpha = 1`` where ``x > alpha`` (else 0).  Clipping error pushes alpha
up, an L2 decay on alpha (``decay``, the paper's lambda_alpha) pulls it
down; the 4-bit grid of the compiled layer is then ``[0, alpha]`` in steps of
``alpha / 15`` instead of ReLU6's fixed ``[0, 6]``.

The forward is ``torch.clamp`` with tensor bounds: ONNX export writes one
``Clip(x, 0, alpha)`` whose bounds are a Constant and an initializer, which
the frontend reads as constants and ``fuse-activations`` folds into the
preceding layer's requant clamp, exactly like ReLU6 (= ``Clip(x, 0, 6)``).
Fake quantization (training/steps.py) fuses it the same way and reads
``alpha`` at every forward, since it moves while training.
"""

from __future__ import annotations

import torch


def clip_decay_penalty(model: torch.nn.Module) -> torch.Tensor | float:
    """``sum decay / 2 * alpha**2`` over the model's LearnedClips: the trainers add it to the
    loss once per step.  (A term in the loss, not a gradient hook in the forward: the forward
    may run several times per step, e.g. once per device draw, or not read alpha at all while
    the calibrated range, not alpha, sets the top code.)  The optimiser's weight decay comes on top."""
    terms = [m.decay / 2 * m.alpha**2 for m in model.modules() if isinstance(m, LearnedClip) and m.decay]
    return sum(terms) if terms else 0.0


class LearnedClip(torch.nn.Module):
    """``clamp(x, 0, alpha)`` with one trainable ``alpha`` per layer (initially ``init``);
    ``decay`` is alpha's own L2 regulariser (``clip_decay_penalty``, added by the trainers)."""

    def __init__(self, init: float = 6.0, decay: float = 0.0):
        super().__init__()
        if not init > 0 or decay < 0:
            raise ValueError(f"LearnedClip: need init > 0 and decay >= 0, got init={init}, decay={decay}")
        self.alpha = torch.nn.Parameter(torch.tensor(float(init)))
        self.decay = float(decay)
        # a constant lower bound (a buffer, not saved): exports as one Constant, not an op chain
        self.register_buffer("zero", torch.tensor(0.0), persistent=False)

    def upper(self) -> torch.Tensor:
        """``alpha`` as a tensor in the autograd graph."""
        return self.alpha

    def bounds(self) -> tuple[float, float]:
        """The clamp as the compiler fuses it (alpha in float32, as exported)."""
        return 0.0, float(self.alpha.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=self.zero, max=self.upper())

    def extra_repr(self) -> str:
        return f"alpha={float(self.alpha.detach()):.4g}, decay={self.decay:g}"
