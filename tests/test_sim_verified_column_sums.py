"""The simulator's verified column sums on module shapes the compiler does not make, and training's switch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType

from spintron_nn.api import compile_model
from spintron_nn.backends.sim import executor
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.training.trainer import Variation


def test_a_requant_not_fed_by_tiles_is_a_clear_error_only_when_verified():
    torch.manual_seed(0)
    calibration = np.random.default_rng(0).standard_normal((16, 20)).astype(np.float32)
    design = compile_model(nn.Sequential(nn.Linear(20, 10)).eval(),
                           CompileConfig(weight_bits=4, activation_bits=4, rows=32, cols=16, adc_bits=6),
                           calibration, example_input=torch.from_numpy(calibration[:1]))
    module = design.spin_module.clone()
    requant = next(op for op in module.walk() if isinstance(op, spin.RequantOp))
    main = next(op for op in module.walk() if isinstance(op, func.FuncOp) and op.sym_name.data == "main")
    block = main.body.block
    # the accumulator comes in as an argument of @main instead of from the tiles
    requant.operands[0] = block.insert_arg(requant.operands[0].type, len(block.args))
    main.function_type = FunctionType.from_lists(
        list(main.function_type.inputs.data) + [requant.operands[0].type], list(main.function_type.outputs.data))
    module.verify()
    accumulator = np.zeros((16, 10), dtype=np.int64)
    executor.run_spin(module, [calibration, accumulator], noise=NoiseSpec(conductance_variation=0.2), seed=1)
    with pytest.raises(SpintronError, match="verified column sums: .* does not come from crossbar tiles"):
        executor.run_spin(module, [calibration, accumulator],
                          noise=NoiseSpec(conductance_variation=0.2, verified_column_sums=True), seed=1)


def test_variation_carries_the_option_into_training_noise():
    assert Variation(0.1, verified_column_sums=True).noise(seed=5) == NoiseSpec(
        seed=5, conductance_variation=0.1, verified_column_sums=True)
    assert not Variation(0.1).noise(seed=5).verified_column_sums
