"""Hardware-aware training (docs/training.md).

* :class:`FakeQuantNetwork`: a float model whose forward pass is its compiled
  design's exact integer result (the compiler's own ranges and ADC shifts),
  with straight-through gradients.
* :class:`QuantizationAwareTrainer`: QAT, variation-aware (the simulator's
  device noise per batch, seeded) and energy-aware (a regulariser from the
  energy model's per-layer costs) training.
* ``training.precision.choose_layer_weight_bits``: per-layer weight widths
  chosen for crossbar energy within an accuracy budget (a measured search).
"""

from spintron_nn.training.network import FakeQuantNetwork, build_steps
from spintron_nn.training.calibration import HardwareCalibration, compiler_calibration

__all__ = ["FakeQuantNetwork", "build_steps", "HardwareCalibration", "compiler_calibration"]
