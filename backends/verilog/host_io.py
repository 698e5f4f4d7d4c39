"""The host side of the RTL: what runs around the streaming interface.

Inputs are quantized on the host (``spin.quantize``, the same function as the
simulator) and streamed as codes, all inputs of one vector in order.  The
RTL streams back raw words (codes, or argmax indices); a final ``softmax`` and
``dequantize`` are applied here, again with the simulator's own functions, so
``run --backend rtl`` returns exactly what ``run --backend sim`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from spintron_nn.array_files import fits_shape
from spintron_nn.backends.sim import executor, quant_math
from spintron_nn.backends.verilog.plan import Plan
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function, runs_item_by_item

_DTYPES = {"f32": np.float32, "ui8": np.uint8, "i64": np.int64}


def encode_inputs(plan: Plan, module: ModuleOp, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """[vectors, input_words] codes."""
    main = main_function(module)
    if len(arrays) != len(plan.inputs):
        raise SpintronError(f"the model takes {len(plan.inputs)} input(s), got {len(arrays)}")
    singly = runs_item_by_item(main)  # a batch-1 export: one vector per item, as a dynamic batch
    per_input, vectors = [], set()
    for index, (array, host, arg) in enumerate(zip(arrays, plan.inputs, main.args)):
        array = np.asarray(array, dtype=np.float32)
        expected = spin.shape_of(arg)
        if not fits_shape(array.shape, expected, singly):
            shown = ["?" if d == spin.DYNAMIC else d for d in expected]
            raise SpintronError(f"input #{index} has shape {list(array.shape)}, the model expects {shown}")
        codes = quant_math.quantize_activations(array, host.scale, host.zero_point, host.bits)
        rows = array.shape[0] if host.batched or singly else 1
        vectors.add(rows)
        per_input.append(codes.reshape(rows, -1))
    if len(vectors) != 1:
        raise SpintronError(f"inputs disagree on the batch size: {sorted(vectors)}")
    return np.concatenate(per_input, axis=1)


def decode_outputs(plan: Plan, words: np.ndarray) -> list[np.ndarray]:
    """[vectors, output_words] raw words -> the model's outputs."""
    outputs, start = [], 0
    for host in plan.outputs:
        shape = host.addresses.shape
        size = math.prod(shape)
        values = words[:, start : start + size].reshape(words.shape[0], *shape)
        start += size
        # one vector per item (a dynamic batch, or a batch-1 export's items): join along the leading axis
        values = values.reshape(-1, *shape[1:]) if host.batched or len(words) > 1 else values.reshape(shape)
        for op in host.steps:
            # The simulator's own kernel for the op, so the host steps cannot drift from run_spin.
            values = executor._HANDLERS[type(op)](op, values)
        outputs.append(np.ascontiguousarray(values, dtype=_DTYPES[host.dtype]))
    return outputs


def raw_output_module(module: ModuleOp, plan: Plan) -> ModuleOp:
    """A copy of ``module`` returning the words the RTL streams (before the
    host steps), so the simulator can produce the testbench's expected words."""
    clone = module.clone()
    ret = main_function(clone).body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    roots = []
    for value, host in zip(ret.operands, plan.outputs):
        for _ in host.steps:
            value = value.owner.operands[0]
        roots.append(value)
    ret.operands = roots
    return clone
