"""``FakeQuantNetwork``: a float torch model run the way its compiled design runs.

    net = FakeQuantNetwork(model, CompileConfig(weight_bits=4, activation_bits=4))
    net.calibrate(calibration_inputs)       # the compiler's ranges and ADC shifts
    logits = net(x)                         # forward = the simulator's result

``model`` stays an ordinary float model: any module torch.fx can trace
(training/graph.py) made of Linear, Conv2d (any groups, an optional
BatchNorm2d folded in with its frozen running statistics), each with an
optional ReLU/ReLU6/Hardtanh/LearnedClip, adds of two activations (residual
blocks), standalone ReLU/ReLU6/Hardtanh, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d(1), Flatten, Dropout/Identity.  Training updates its
parameters, and it exports to ONNX and compiles with ``spintronc`` with no
manual step.  The forward value is the compiled design's
(docs/semantics.md), the gradient the float layer's (straight-through,
training/ste.py).

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

import numpy as np
import torch

from spintron_nn.backends.sim import quant_math
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training.calibration import HardwareCalibration, compiler_calibration
from spintron_nn.training.elementwise_steps import AddStep, ClampStep
from spintron_nn.training.graph import StepGraph, trace_steps
from spintron_nn.training.ste import fake_quant_activation
from spintron_nn.training.steps import Grid, MatrixStep


def build_steps(model: torch.nn.Module) -> list:
    """The model's ops as fake-quantization steps in execution order (SpintronError if unsupported)."""
    return trace_steps(model).steps


def _check_match(steps: list, hardware: HardwareCalibration) -> None:
    """The compiler's layers and adds are the traced ones, in the same order."""
    matrices = [s for s in steps if isinstance(s, MatrixStep)]
    channels = tuple(int(s.module.weight.shape[0]) for s in matrices)
    adds = sum(isinstance(s, AddStep) for s in steps)
    if channels != hardware.layer_channels or adds != len(hardware.add_ranges):
        raise SpintronError(
            f"fake quantization: the compiled graph has matrix layers of {list(hardware.layer_channels)} channels "
            f"and {len(hardware.add_ranges)} adds, the traced model {list(channels)} and {adds}")
    if hardware.unfolded_batch_norms and any(s.batch_norm is not None for s in matrices):
        raise SpintronError("fake quantization: torch's exporter left a BatchNorm unfolded (fold-batchnorm "
                            "would fold it in float64, which fake quantization does not reproduce)")


class FakeQuantNetwork(torch.nn.Module):
    """A float model whose forward pass is its compiled design's integer result."""

    def __init__(self, model: torch.nn.Module, config: CompileConfig | None = None):
        super().__init__()
        self.model = model
        self.config = config or CompileConfig()
        if not self.config.per_channel:
            raise SpintronError("fake quantization follows the compiler's per-channel weights only")
        self.graph: StepGraph = trace_steps(model)
        self.steps = self.graph.steps
        self.hardware: HardwareCalibration | None = None
        self.noise = None  # a NoiseSpec, or None for the exact integer result
        # matrix layers (MatrixStep.index) whose tiles see ``noise``; None: all of them, the
        # simulator's contract.  A subset isolates layers (training/sensitivity.py).
        self.noise_layers: frozenset[int] | None = None
        # device draws per forward call (training): averages the noisy gradient over draws
        # at the cost of one forward; 1 = the simulator's contract (one draw per call)
        self.draws_per_batch = 1
        self.matrix_inputs: list[tuple[torch.Tensor, Grid, MatrixStep]] = []  # of the last forward

    def calibrate(self, calibration: np.ndarray) -> HardwareCalibration:
        """Take ranges and ADC shifts from the compiler on ``calibration``.

        Call again whenever the weights changed a lot (the trainer does once per
        epoch and at the end): the compiled design will be calibrated on the
        final weights."""
        hardware = compiler_calibration(self.model, calibration, self.config)
        _check_match(self.steps, hardware)
        for step in self.steps:
            if isinstance(step, MatrixStep):
                step.first_tile_id = hardware.first_tile_ids[step.index]
        self.hardware = hardware
        return hardware

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
        if self.noise_layers is not None:
            known = {step.index for step in self.steps if isinstance(step, MatrixStep)}
            if not set(self.noise_layers) <= known:
                raise SpintronError(f"noise_layers {sorted(set(self.noise_layers) - known)} are not matrix layers "
                                    f"of this network (it has {sorted(known)})")
        bits = self.config.activation_bits
        input_bits = self.config.graph_input_bits
        grid = Grid(*quant_math.activation_quant_params(*self.hardware.input_range, input_bits), input_bits)
        values = {self.graph.input: (fake_quant_activation(x, grid.scale, grid.zero_point, input_bits), grid)}
        self.matrix_inputs = []
        for node in self.graph.nodes:
            step, (x, grid) = node.step, values[node.inputs[0]]
            if isinstance(step, MatrixStep):
                self.matrix_inputs.append((x, grid, step))
                layer_noise = noise if self.noise_layers is None or step.index in self.noise_layers else None
                values[node.output] = step.forward(x, grid, self.hardware.layer_ranges[step.index],
                                                   self.hardware.adc_shifts[step.index], self.config, layer_noise)
            elif isinstance(step, AddStep):
                values[node.output] = step.forward(x, grid, *values[node.inputs[1]],
                                                   self.hardware.add_ranges[step.index], bits)
            elif isinstance(step, ClampStep):
                values[node.output] = step.forward(x, grid, bits)
            else:
                values[node.output] = step.forward(x, grid)
        return values[self.graph.output][0]

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Outputs on a numpy batch (float32), in chunks.  With ``noise``, chunk ``x[i:]`` reads
        with ``sample_offset`` advanced by ``i`` samples, so read noise is the simulator's for
        the whole batch, whatever ``batch_size``."""
        base = self.noise
        parts = []
        try:
            for i in range(0, len(x), batch_size):
                if base is not None:
                    self.noise = dataclasses.replace(base, sample_offset=(base.sample_offset + i) % 2**64)
                parts.append(self(torch.from_numpy(np.asarray(x[i:i + batch_size], dtype=np.float32))).numpy())
        finally:
            self.noise = base
        return np.concatenate(parts)
