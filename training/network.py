"""``FakeQuantNetwork``: a float torch model run the way its compiled design runs.

    net = FakeQuantNetwork(model, CompileConfig(weight_bits=4, activation_bits=4))
    net.calibrate(calibration_inputs)       # the compiler's ranges and ADC shifts
    logits = net(x)                         # forward = the simulator's result

``model`` stays an ordinary float model (an ``nn.Sequential`` chain of Linear,
Conv2d, each with an optional ReLU/ReLU6/Hardtanh/LearnedClip, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten,
Dropout/Identity): training updates its parameters, and it exports to ONNX
and compiles with ``spintronc`` with no manual step.  The forward value is the
compiled design's (docs/semantics.md), the gradient the float layer's
(straight-through, training/ste.py).

``noise`` (a ``NoiseSpec``) injects the simulator's own device model
(conductance variation, stuck cells) into the forward pass, with the
simulator's tile numbering: ``noise = NoiseSpec(seed=s, ...)`` draws the same
devices as ``design.run(x, noise=spec, seed=s)``.  (Read noise is drawn per
call; ``predict`` splits batches into chunks, so it matches the simulator's
draws only for one chunk.)  The trainer sets a fresh seed per batch for
variation-aware training; ``draws_per_batch = k`` (training only) splits a
batch into ``k`` chunks, each with its own device draw, so that one step's
gradient averages over ``k`` devices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from spintron_nn.backends.sim import quant_math
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training.calibration import HardwareCalibration, compiler_calibration
from spintron_nn.training.ste import fake_quant_activation
from spintron_nn.training.steps import Grid, MatrixStep, PoolStep, activation_bounds, check_pool

_POOLS = (torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.AdaptiveAvgPool2d)
_PASS_THROUGH = (torch.nn.Dropout, torch.nn.Identity)


@dataclass
class _FlattenStep:
    start_dim: int

    def forward(self, x: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, Grid]:
        return torch.flatten(x, self.start_dim), grid


def _leaves(model: torch.nn.Module) -> list[torch.nn.Module]:
    if isinstance(model, torch.nn.Sequential):
        return [leaf for child in model for leaf in _leaves(child)]
    return [model]


def build_steps(model: torch.nn.Module) -> list:
    """The model's layers as fake-quantization steps (SpintronError if unsupported)."""
    leaves = [m for m in _leaves(model) if not isinstance(m, _PASS_THROUGH)]
    steps, matrices, i = [], 0, 0
    while i < len(leaves):
        module = leaves[i]
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            following = leaves[i + 1] if i + 1 < len(leaves) else None
            fused = following is not None and activation_bounds(following) is not None
            steps.append(MatrixStep(module, following if fused else None, matrices))
            matrices += 1
            i += 2 if fused else 1
            continue
        if isinstance(module, _POOLS):
            check_pool(module)
            steps.append(PoolStep(module))
        elif isinstance(module, torch.nn.Flatten) and module.end_dim == -1:
            steps.append(_FlattenStep(module.start_dim))
        else:
            raise SpintronError(
                f"fake quantization does not support {type(module).__name__} here "
                "(supported: a chain of Linear/Conv2d [+ReLU/ReLU6/Hardtanh/LearnedClip], pools, Flatten, "
                "Dropout)")
        i += 1
    if not matrices:
        raise SpintronError("the model has no Linear or Conv2d layer to map onto crossbars")
    if isinstance(steps[-1], MatrixStep):
        steps[-1].is_output = True  # its result is returned: quantize gives it the output bits
    return steps


class FakeQuantNetwork(torch.nn.Module):
    """A float model whose forward pass is its compiled design's integer result."""

    def __init__(self, model: torch.nn.Module, config: CompileConfig | None = None):
        super().__init__()
        self.model = model
        self.config = config or CompileConfig()
        if not self.config.per_channel:
            raise SpintronError("fake quantization follows the compiler's per-channel weights only")
        self.steps = build_steps(model)
        self.hardware: HardwareCalibration | None = None
        self.noise = None  # a NoiseSpec, or None for the exact integer result
        # device draws per forward call (training): averages the noisy gradient over draws
        # at the cost of one forward; 1 = the simulator's contract (one draw per call)
        self.draws_per_batch = 1
        self.matrix_inputs: list[tuple[torch.Tensor, Grid, MatrixStep]] = []  # of the last forward

    def calibrate(self, calibration: np.ndarray) -> HardwareCalibration:
        """Take ranges and ADC shifts from the compiler on ``calibration``.

        Call again whenever the weights changed a lot (the trainer does once per
        epoch and at the end): the compiled design will be calibrated on the
        final weights."""
        self.hardware = compiler_calibration(self.model, calibration, self.config)
        first = 0
        for step in self.steps:
            if isinstance(step, MatrixStep):
                step.first_tile_id = first
                first += self.hardware.adc_shifts[step.index].size
        return self.hardware

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hardware is None:
            raise SpintronError("FakeQuantNetwork: call calibrate(...) before running it")
        if self.noise is None or self.draws_per_batch == 1 or len(x) < 2 or not torch.is_grad_enabled():
            return self._forward(x, self.noise)
        # training only (never under no_grad, so predict keeps the simulator's draws):
        # chunk k of the batch sees its own devices, seed = noise.seed * draws + k
        outputs, inputs = [], []
        for k, chunk in enumerate(torch.tensor_split(x, min(self.draws_per_batch, len(x)))):
            seed = (self.noise.seed * self.draws_per_batch + k) % 2**64
            outputs.append(self._forward(chunk, dataclasses.replace(self.noise, seed=seed)))
            inputs.append(self.matrix_inputs)
        self.matrix_inputs = [(torch.cat([chunk[i][0] for chunk in inputs]),) + inputs[0][i][1:]
                              for i in range(len(inputs[0]))]
        return torch.cat(outputs)

    def _forward(self, x: torch.Tensor, noise) -> torch.Tensor:
        bits = self.config.activation_bits
        grid = Grid(*quant_math.activation_quant_params(*self.hardware.input_range, bits))
        x = fake_quant_activation(x, grid.scale, grid.zero_point, bits)
        self.matrix_inputs = []
        for step in self.steps:
            if isinstance(step, MatrixStep):
                self.matrix_inputs.append((x, grid, step))
                x, grid = step.forward(x, grid, self.hardware.layer_ranges[step.index],
                                       self.hardware.adc_shifts[step.index], self.config, noise)
            else:
                x, grid = step.forward(x, grid)
        return x

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Outputs on a numpy batch (float32), in chunks."""
        parts = [self(torch.from_numpy(np.asarray(x[i:i + batch_size], dtype=np.float32))).numpy()
                 for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)
