"""Per-vector shapes of the values of a spin ``@main``.

The RTL processes one vector (one item of a dynamic batch) at a time, so every
tensor needs its shape for a batch of one.  A dynamic leading dimension is the
batch for images and ``batch * OH * OW`` for the matrices of a convolution,
which the types alone do not say; this module derives it op by op.
"""

from __future__ import annotations

import math

from xdsl.dialects import func
from xdsl.ir import SSAValue

from spintron_nn.ir import spin
from spintron_nn.ir.spin import DYNAMIC, get_ints, shape_of


def _leading(op, in_shapes: list[tuple[int, ...]]) -> int:
    """The per-vector size of ``op``'s dynamic leading result dimension."""
    first = in_shapes[0]
    if isinstance(op, spin.Im2ColOp):
        oh, ow = spin.conv_output_hw(
            first[2:], get_ints(op, "kernel_shape"), get_ints(op, "pads"),
            get_ints(op, "strides"), get_ints(op, "dilations"),
        )
        return first[0] * oh * ow
    out = shape_of(op.results[0])
    if isinstance(op, spin.RowsToImageOp):
        return first[0] // (out[2] * out[3])
    if isinstance(op, spin.ReshapeOp):
        return math.prod(first) // math.prod(out[1:])
    if isinstance(op, spin.TransposeOp):
        return first[get_ints(op, "perm")[0]]
    return first[0]


def vector_shapes(main: func.FuncOp) -> dict[SSAValue, tuple[int, ...]]:
    shapes: dict[SSAValue, tuple[int, ...]] = {}
    for arg in main.args:
        shapes[arg] = tuple(1 if d == DYNAMIC else d for d in shape_of(arg))
    for op in main.body.block.ops:
        if isinstance(op, func.ReturnOp):
            break
        out = shape_of(op.results[0])
        if DYNAMIC in out:
            leading = _leading(op, [shapes[v] for v in op.operands])
            out = (leading, *out[1:])
        shapes[op.results[0]] = out
    return shapes
