"""One step of a fake-quantized chain per supported torch layer.

A step maps ``(x, Grid)`` to ``(y, Grid)``: ``x`` is a fake-quantized real
tensor on the grid ``scale * (q - zero_point)`` and the forward value is
bit-exact with the compiled design; gradients come from the float surrogate
(training/ste.py); with device noise, a matrix layer's surrogate uses that
draw's effective weights (training/device_weights.py).  Matrix layers
(Linear, Conv2d of any groups + an optional folded BatchNorm2d
(training/batch_norm.py) + an optional fused ReLU / ReLU6 / Hardtanh /
LearnedClip) run the numpy reference's tiles (docs/semantics.md sections
1-7: bit slices, bit-serial inputs, per-tile ADC, shift-add, requant) on the
blocks ``tile-crossbars`` maps (training/crossbar_matrix.py: the grid, or a
grouped conv's group-aligned tiles), with the simulator's tile implementation
(``dispatch.tile_matvec``: the C kernel when built, bit-identical to the numpy
reference); pools use the exact integer pools of
``backends/sim/digital.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from spintron_nn.backends.sim import digital, dispatch, quant_math, reference
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training import batch_norm as bn_fold
from spintron_nn.training.crossbar_matrix import block_diagonal, diagonal_blocks, mapped_blocks
from spintron_nn.training.device_weights import effective_integer_weights, noisy_weight, zero_point_correction
from spintron_nn.training.learned_clip import LearnedClip
from spintron_nn.training.ste import codes_of, with_exact_value


@dataclass(frozen=True)
class Grid:
    """Per-tensor affine quantization of an activation: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int
    bits: int | None = None  # code width; None: the activation width

    def code_bits(self, config: CompileConfig) -> int:
        """The width of this grid's codes."""
        return config.activation_bits if self.bits is None else self.bits


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def activation_bounds(module: torch.nn.Module | None) -> tuple[float | None, float | None] | None:
    """The clamp ``fuse-activations`` folds ``module`` into (as it exports: Relu, Clip), or None
    if it is not a clamp.  Read at every forward: a LearnedClip's alpha moves while training."""
    if module is None:
        return None, None
    if isinstance(module, torch.nn.ReLU):
        return 0.0, None
    if isinstance(module, torch.nn.ReLU6):
        return 0.0, 6.0
    if isinstance(module, torch.nn.Hardtanh):
        return float(module.min_val), float(module.max_val)
    if isinstance(module, LearnedClip):
        return module.bounds()
    return None


@dataclass
class MatrixStep:
    """Linear or Conv2d (+ folded BatchNorm2d) on crossbar tiles, with the output clamp of a fused
    activation."""

    module: torch.nn.Module
    activation: torch.nn.Module | None  # fused: ReLU, ReLU6, Hardtanh or LearnedClip (activation_bounds)
    index: int  # position among the network's matrix layers (= compiler's layer<index>)
    first_tile_id: int = 0  # module-wide id of its first tile, as tile-crossbars numbers them
    # the network's output (its last step): its codes take ``config.output_bits``, as
    # ``quantize`` gives a returned matrix layer
    is_output: bool = False
    batch_norm: torch.nn.Module | None = None  # a BatchNorm2d folded into the conv (eval statistics)

    def __post_init__(self):
        m = self.module
        if isinstance(m, torch.nn.Conv2d):
            if isinstance(m.padding, str) or m.padding_mode != "zeros":
                raise SpintronError("fake quantization supports Conv2d with numeric zero padding only")
        if self.batch_norm is not None:
            bn_fold.check_foldable(self.batch_norm)
            if not isinstance(m, torch.nn.Conv2d):
                raise SpintronError("fake quantization folds a BatchNorm2d into the Conv2d before it only")

    @property
    def is_conv(self) -> bool:
        return isinstance(self.module, torch.nn.Conv2d)

    @property
    def groups(self) -> int:
        return self.module.groups if self.is_conv else 1

    def weight(self) -> torch.Tensor:
        """The layer's float weight as exported (BN folded in), in the autograd graph."""
        if self.batch_norm is not None:
            return bn_fold.folded_weight(self.module, self.batch_norm)
        return self.module.weight

    def layer_config(self, config: CompileConfig) -> CompileConfig:
        """``config`` with this layer's own weight width (the compiler names it ``layer<index>``)."""
        return config.for_layer(f"layer{self.index}")

    def integer_weights(self, config: CompileConfig, x_scale: float,
                        input_bits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(w_int [out, ...], scale [out])`` by the compiler's per-channel rule, with the
        coarser scale of a channel whose bias code would overflow the accumulator
        (``quant_math.fit_bias``, on the crossbar matrix: a grouped conv's block-diagonal
        one, whose row count sets the headroom; ``input_bits``: the input codes' width,
        default the activations')."""
        config = self.layer_config(config)
        w = self.weight().detach().to(torch.float64).cpu().numpy()
        w_int, w_scale = quant_math.quantize_weights_per_channel(w, config.weight_bits, axis=0)
        bias = self.bias().detach().to(torch.float64).cpu().numpy()
        matrix, w_scale, _ = quant_math.fit_bias(block_diagonal(w_int, self.groups), w_scale, bias, x_scale,
                                                 axis=1, weight_bits=config.weight_bits,
                                                 input_bits=input_bits or config.activation_bits)
        return diagonal_blocks(matrix, self.groups, w_int.shape), w_scale

    def fake_quant_weight(self, w_int: np.ndarray, w_scale: np.ndarray) -> torch.Tensor:
        w = self.weight()
        shape = (-1,) + (1,) * (w.dim() - 1)
        exact = w_int * w_scale.reshape(shape)
        return with_exact_value(w, exact)

    def bias(self) -> torch.Tensor:
        m = self.module
        if self.batch_norm is not None:
            return bn_fold.folded_bias(m, self.batch_norm)
        return m.bias if m.bias is not None else torch.zeros(m.weight.shape[0], dtype=m.weight.dtype,
                                                             device=m.weight.device)

    def rows_of(self, codes: np.ndarray, zero_point: int) -> np.ndarray:
        """Crossbar input rows: the codes (Linear) or their im2col patches (Conv)."""
        if not self.is_conv:
            return codes
        m = self.module
        ph, pw = _pair(m.padding)
        return digital.im2col(codes, m.kernel_size, (ph, pw, ph, pw), _pair(m.stride), _pair(m.dilation),
                              channel_offset=0, channels=codes.shape[1], pad_value=zero_point)

    def output_code_bits(self, config: CompileConfig) -> int:
        """The width of this layer's result codes, as the compiler gives it: ``output_bits`` for a
        network output, else its own (``layer_activation_bits``), else the activations'."""
        own = dict(config.layer_activation_bits).get(f"layer{self.index}")
        if self.is_output:
            if own is not None:
                raise SpintronError(f"layer{self.index}'s result is a network output, whose code width is "
                                    "output_bits, not a per-layer activation width")
            return config.activation_bits if config.output_bits is None else config.output_bits
        return config.activation_bits if own is None else own

    def forward(self, x: torch.Tensor, grid_in: Grid, out_range: tuple[float, float],
                adc_shifts: np.ndarray, config: CompileConfig, noise=None) -> tuple[torch.Tensor, Grid]:
        if not self.is_conv and x.dim() != 2:
            raise SpintronError(f"fake quantization runs Linear on [N, features] inputs, got {x.dim()}-D "
                                f"{tuple(x.shape)} (flatten first)")
        config = self.layer_config(config)
        bits = self.output_code_bits(config)
        grid_out = Grid(*quant_math.activation_quant_params(*out_range, bits), bits)
        w_int, w_scale = self.integer_weights(config, grid_in.scale, grid_in.code_bits(config))
        noise = self.tile_noise(noise)
        surrogate = self.surrogate(x, grid_in, w_int, w_scale, config, noise)
        qmin, qmax = quant_math.fused_clamp_bounds(*activation_bounds(self.activation), grid_out.scale,
                                                   grid_out.zero_point, bits)
        surrogate = self.clamp_surrogate(surrogate, grid_out, qmin, qmax, bits)
        codes = self.exact_codes(x, grid_in, grid_out, (qmin, qmax), w_int, w_scale, adc_shifts, config, noise)
        if self.is_conv:
            codes = digital.rows_to_image(codes, surrogate.shape[2], surrogate.shape[3])
        exact = quant_math.dequantize(codes, grid_out.scale, grid_out.zero_point)
        return with_exact_value(surrogate, exact), grid_out

    def clamp_surrogate(self, surrogate: torch.Tensor, grid_out: Grid, qmin: int, qmax: int,
                        bits: int) -> torch.Tensor:
        """The output clamp on the surrogate: no gradient to clamped values; for a LearnedClip
        whose alpha sets the top code, the PACT gradient (1 to alpha where the output is clipped
        at the top, since the next calibration puts the grid's top at alpha)."""
        low, high = grid_out.scale * (qmin - grid_out.zero_point), grid_out.scale * (qmax - grid_out.zero_point)
        clamped = torch.clamp(surrogate, low, high)
        if not isinstance(self.activation, LearnedClip):
            return clamped
        _, alpha_value = self.activation.bounds()
        if grid_out.zero_point + np.rint(alpha_value / grid_out.scale) > 2**bits - 1:
            return clamped  # the top code is the calibrated range's, not alpha's
        alpha = self.activation.upper()
        top = alpha + (high - alpha).detach()  # value: the top code; gradient: alpha's
        return torch.where(surrogate >= high, top, clamped)

    def surrogate(self, x: torch.Tensor, grid_in: Grid, w_int: np.ndarray, w_scale: np.ndarray,
                  config: CompileConfig, noise) -> torch.Tensor:
        """The float layer that gives the gradient (before the output clamp); ``noise`` tile-numbered.

        Without noise: the layer with fake-quantized weights.  With a device draw:
        that draw's effective weights (noise injection, training/device_weights.py),
        so that the gradient sees the devices of the forward value."""
        w_fq, bias = self.fake_quant_weight(w_int, w_scale), self.bias()
        if noise is not None and not noise.is_off:
            w_eff = self.effective_weights(w_int, noise, config)
            w_noisy = noisy_weight(w_fq, w_int, w_scale, w_eff)
            # verified: the digital term sees the drawn weights too; signed inputs: there is none
            # (the array reads x - zp itself, which x_fq @ w_noisy already is)
            if not noise.verified_column_sums and not config.signed_inputs:
                bias = bias + zero_point_correction(w_noisy, w_fq, grid_in.scale, grid_in.zero_point)
            w_fq = w_noisy
        m = self.module
        if self.is_conv:
            return F.conv2d(x, w_fq, bias, m.stride, m.padding, m.dilation, m.groups)
        return F.linear(x, w_fq, bias)

    def tile_noise(self, noise):
        """``noise`` with the simulator's tile numbering, so the same seed draws the same devices."""
        if noise is None:
            return None
        return noise.tile(self.first_tile_id)

    def effective_weights(self, w_int: np.ndarray, noise, config: CompileConfig) -> np.ndarray:
        """``W_eff`` of the device draw ``noise`` (already tile-numbered), shaped like ``w_int``."""
        matrix = block_diagonal(w_int, self.groups)
        options = dict(weight_bits=config.weight_bits, cell_bits=config.cell_bits,
                       rows_per_tile=config.rows, cols_per_tile=config.cols)
        effective = np.zeros(matrix.shape, dtype=np.float64)
        for t, (rows, cols) in enumerate(mapped_blocks(matrix.shape, self.groups, config)):
            # one mapped block is one tile: its draw is tile t of the layer's numbering
            effective[rows, cols] = effective_integer_weights(
                matrix[rows, cols], noise.tile(t), **options)
        return diagonal_blocks(effective, self.groups, w_int.shape)

    def exact_codes(self, x, grid_in: Grid, grid_out: Grid, bounds, w_int, w_scale, adc_shifts,
                    config: CompileConfig, noise) -> np.ndarray:
        """The compiled layer's output codes ``[rows, out]`` (numpy reference); ``noise`` tile-numbered,
        ``adc_shifts`` one per tile in tile_id order."""
        rows = self.rows_of(codes_of(x, grid_in.scale, grid_in.zero_point), grid_in.zero_point)
        if noise is not None and noise.sample_offset:
            # the network counts samples; a tile numbers its read rows (OH*OW per sample for a conv)
            noise = dataclasses.replace(noise, sample_offset=noise.sample_offset * (rows.shape[0] // max(len(x), 1))
                                        % 2**64)
        matrix = block_diagonal(w_int, self.groups)
        bias = self.bias().detach().to(torch.float64).cpu().numpy()
        bias_int = np.rint(bias / (grid_in.scale * w_scale)).astype(np.int64)
        requant = [quant_math.requant_multiplier(grid_in.scale * s / grid_out.scale) for s in w_scale]
        multiplier, shift = np.array([m for m, _ in requant]), np.array([s for _, s in requant])
        # the compiled tiles, numbered in tile_id order, through the simulator's own layer
        blocks = mapped_blocks(matrix.shape, self.groups, config)
        if len(blocks) != len(adc_shifts):
            raise SpintronError(f"{len(adc_shifts)} ADC shifts for a layer of {len(blocks)} tiles")
        return reference.linear_reference(
            rows, matrix, blocks=blocks, adc_shifts=np.asarray(adc_shifts, dtype=np.int64), noise=noise,
            weight_bits=config.weight_bits, cell_bits=config.cell_bits, input_bits=grid_in.code_bits(config),
            adc_bits=config.adc_bits, rows_per_tile=config.rows, cols_per_tile=config.cols,
            tile_function=dispatch.tile_matvec, x_zero_point=grid_in.zero_point, bias=bias_int,
            signed_inputs=config.signed_inputs,
            multiplier=multiplier, shift=shift, out_zero_point=grid_out.zero_point, qmin=bounds[0], qmax=bounds[1])

    def crossbar_shape(self, x_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """``(rows K, columns N, input vectors per sample)`` of this layer's matrix."""
        w = self.module.weight
        if not self.is_conv:
            return int(w.shape[1]), int(w.shape[0]), 1
        m = self.module
        out = [(x_shape[2 + i] + 2 * _pair(m.padding)[i] - _pair(m.dilation)[i] * (m.kernel_size[i] - 1) - 1)
               // _pair(m.stride)[i] + 1 for i in range(2)]
        # a grouped conv's matrix is block diagonal over all input channels
        return int(np.prod(w.shape[1:])) * self.groups, int(w.shape[0]), out[0] * out[1]



@dataclass
class PoolStep:
    """MaxPool2d / AvgPool2d / global average pool, exact on codes; keeps the grid."""

    module: torch.nn.Module

    def forward(self, x: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, Grid]:
        m = self.module
        if isinstance(m, torch.nn.MaxPool2d):
            # max commutes with the increasing map q -> scale * (q - zp): exact as is
            return F.max_pool2d(x, m.kernel_size, m.stride, m.padding, m.dilation), grid
        codes = codes_of(x, grid.scale, grid.zero_point)
        if isinstance(m, torch.nn.AdaptiveAvgPool2d):
            surrogate = F.adaptive_avg_pool2d(x, 1)
            pooled = digital.global_avg_pool(codes)
        else:
            kernel, stride, pad = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
            surrogate = F.avg_pool2d(x, kernel, stride, pad, count_include_pad=m.count_include_pad)
            pooled = digital.avg_pool(codes, kernel, (pad[0], pad[1], pad[0], pad[1]), stride,
                                      bool(m.count_include_pad), grid.zero_point)
        return with_exact_value(surrogate, quant_math.dequantize(pooled, grid.scale, grid.zero_point)), grid


def check_pool(module: torch.nn.Module) -> None:
    if isinstance(module, torch.nn.MaxPool2d) and (module.ceil_mode or module.return_indices):
        raise SpintronError("fake quantization supports MaxPool2d without ceil_mode/return_indices")
    if isinstance(module, torch.nn.AvgPool2d) and (module.ceil_mode or module.divisor_override):
        raise SpintronError("fake quantization supports AvgPool2d without ceil_mode/divisor_override")
    if isinstance(module, torch.nn.AdaptiveAvgPool2d) and _pair(module.output_size) != (1, 1):
        raise SpintronError("fake quantization supports AdaptiveAvgPool2d(1) (global average pool) only")
