"""Shared by the per-layer precision tests (input, activation and ADC widths; not a test module)."""

from __future__ import annotations

import pytest

from spintron_nn.config import CompileConfig
from spintron_nn.training.threads import single_torch_thread

# small arrays (several row and column tiles) and a 5-bit ADC with non-zero shifts
W4A4 = CompileConfig(weight_bits=4, activation_bits=4, rows=32, cols=16, adc_bits=5, targets=("ir", "sim"))


@pytest.fixture(autouse=True)
def one_thread():
    """Fake quantization and compiles on one torch thread: reproducible and no oversubscription."""
    with single_torch_thread():
        yield
