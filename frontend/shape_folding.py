"""Evaluate constant and shape subgraphs at import time.

Exporters compute reshape targets at run time: ``Shape -> Gather -> Unsqueeze
-> Concat -> Reshape`` (torch's legacy exporter), ``Shape -> Slice -> Concat``
(dynamo), ``Constant``/``ConstantOfShape`` feeding a ``Reshape``.  The ``nn``
dialect wants such targets as attributes, so every node whose inputs are all
known is evaluated here, in numpy, and replaced by its value.

Shapes have one unknown: the batch dimension.  It is carried through the
evaluation as :data:`BATCH`, an opaque object inside an ``object`` array;
selecting, concatenating and reshaping move it around, arithmetic on it fails
(the result is then not a constant and the node stays in the graph).  A
reshape target that still holds it is resolved by :func:`reshape_target`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from onnx import NodeProto, helper, numpy_helper

from spintron_nn.frontend.safety import MAX_TENSOR_BYTES


class _Batch:
    """The symbolic batch size; any arithmetic on it raises TypeError."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "batch"


BATCH = _Batch()


class NotFoldable(Exception):
    """The node cannot be evaluated at import time (kept in the graph)."""


class TooLarge(Exception):
    """A folded value would exceed the allocation limit."""


def has_batch(value: np.ndarray) -> bool:
    return value.dtype == object and any(v is BATCH for v in value.flat)


def shape_value(shape: Sequence[int | None]) -> np.ndarray:
    """The value of ``Shape(x)``: ``int64`` or, with a dynamic dim, ``object``."""
    if all(d is not None for d in shape):
        return np.array(shape, dtype=np.int64)
    return np.array([BATCH if d is None else int(d) for d in shape], dtype=object)


def _check_size(shape: Sequence[int], itemsize: int = 8) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape)
    count = 1
    for d in dims:
        if d < 0:
            raise NotFoldable(f"negative dimension in {list(dims)}")
        count *= d
    if count * itemsize > MAX_TENSOR_BYTES:
        raise TooLarge(f"a constant of shape {list(dims)} would need {count * itemsize} bytes")
    return dims


def _ints(value: np.ndarray) -> list[int]:
    if has_batch(value):
        raise NotFoldable("depends on the batch size")
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _attr(node: NodeProto, name: str, default=None):
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def _axes(node: NodeProto, inputs: list[np.ndarray | None], position: int) -> list[int] | None:
    if len(inputs) > position and inputs[position] is not None:
        return _ints(inputs[position])
    axes = _attr(node, "axes")
    return list(axes) if axes is not None else None


# --------------------------------------------------------------------------
# evaluators: one per ONNX op, numpy semantics of that op
# --------------------------------------------------------------------------


def _constant(node, inputs):
    for attr in node.attribute:
        if attr.name == "value":
            return [numpy_helper.to_array(attr.t)]
        if attr.name == "value_float":
            return [np.array(attr.f, dtype=np.float32)]
        if attr.name == "value_floats":
            return [np.array(list(attr.floats), dtype=np.float32)]
        if attr.name == "value_int":
            return [np.array(attr.i, dtype=np.int64)]
        if attr.name == "value_ints":
            return [np.array(list(attr.ints), dtype=np.int64)]
    raise NotFoldable("Constant without a numeric value")


def _constant_of_shape(node, inputs):
    dims = _check_size(_ints(inputs[0]))
    value = _attr(node, "value")
    fill = numpy_helper.to_array(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    return [np.full(dims, fill[0], dtype=fill.dtype)]


def _gather(node, inputs):
    data, indices = inputs
    axis = _attr(node, "axis", 0)
    return [np.take(data, np.asarray(indices).astype(np.int64), axis=axis)]


def _concat(node, inputs):
    arrays = [np.asarray(a) for a in inputs]
    if any(a.dtype == object for a in arrays):
        arrays = [a.astype(object) for a in arrays]
    return [np.concatenate(arrays, axis=_attr(node, "axis"))]


def _unsqueeze(node, inputs):
    data = np.asarray(inputs[0])
    axes = _axes(node, inputs, 1)
    rank = data.ndim + len(axes)
    for axis in sorted(a % rank for a in axes):
        data = np.expand_dims(data, axis)
    return [data]


def _squeeze(node, inputs):
    data = np.asarray(inputs[0])
    axes = _axes(node, inputs, 1)
    if axes is None:
        return [np.squeeze(data)]
    return [np.squeeze(data, axis=tuple(a % data.ndim for a in axes))]


def _cast(node, inputs):
    data = np.asarray(inputs[0])
    target = helper.tensor_dtype_to_np_dtype(_attr(node, "to"))
    if data.dtype == object:
        if np.dtype(target).kind not in "iu":
            raise NotFoldable("cast of the batch size to a non-integer type")
        return [data]
    return [data.astype(target)]


def _slice(node, inputs):
    data = np.asarray(inputs[0])
    if len(inputs) >= 3:
        starts, ends = _ints(inputs[1]), _ints(inputs[2])
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    else:  # opset < 10: attributes
        starts, ends = list(_attr(node, "starts")), list(_attr(node, "ends"))
        axes, steps = _attr(node, "axes"), None
    axes = list(axes) if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[axis % data.ndim] = slice(start, end, step)
    return [data[tuple(index)]]


def _reshape(node, inputs):
    data = np.asarray(inputs[0])
    target = _ints(inputs[1]) if len(inputs) > 1 else list(_attr(node, "shape"))
    allowzero = _attr(node, "allowzero", 0)
    dims = [data.shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    return [data.reshape(dims)]


def _range(node, inputs):
    start, limit, delta = (np.asarray(v).reshape(()) for v in inputs)
    if has_batch(np.asarray([start, limit, delta], dtype=object)):
        raise NotFoldable("depends on the batch size")
    count = max(int(np.ceil((limit - start) / delta)), 0)
    _check_size([count])
    return [np.arange(start, limit, delta, dtype=np.asarray(inputs[0]).dtype)[:count]]


def _expand(node, inputs):
    data = np.asarray(inputs[0])
    shape = np.broadcast_shapes(data.shape, tuple(_ints(inputs[1])))
    _check_size(shape, data.itemsize)
    return [np.broadcast_to(data, shape).copy()]


def _binary(fn: Callable) -> Callable:
    def evaluate(node, inputs):
        if any(has_batch(np.asarray(v)) for v in inputs):
            raise NotFoldable("arithmetic on the batch size")
        a, b = (np.asarray(v) for v in inputs)
        out = fn(a, b)
        return [np.asarray(out).astype(np.result_type(a, b)) if out.dtype != bool else out]

    return evaluate


def _int_div(a, b):
    # ONNX Div on integers truncates toward zero
    if a.dtype.kind in "iu":
        return np.trunc(a / b).astype(a.dtype)
    return a / b


def _where(node, inputs):
    cond, a, b = (np.asarray(v) for v in inputs)
    return [np.where(cond, a, b)]


def _transpose(node, inputs):
    perm = _attr(node, "perm")
    return [np.transpose(np.asarray(inputs[0]), perm)]


EVALUATORS: dict[str, Callable] = {
    "Constant": _constant,
    "ConstantOfShape": _constant_of_shape,
    "Gather": _gather,
    "Concat": _concat,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Cast": _cast,
    "Slice": _slice,
    "Reshape": _reshape,
    "Range": _range,
    "Expand": _expand,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_int_div),
    "Equal": _binary(np.equal),
    "Where": _where,
    "Transpose": _transpose,
    "Identity": lambda node, inputs: [np.asarray(inputs[0])],
}


def fold_node(node: NodeProto, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """Evaluate ``node`` on known inputs; NotFoldable if it cannot be."""
    if node.domain not in ("", "ai.onnx"):
        raise NotFoldable("not a default-domain op")
    evaluate = EVALUATORS.get(node.op_type)
    if evaluate is None:
        raise NotFoldable(f"{node.op_type} is not evaluated at import time")
    try:
        return evaluate(node, inputs)
    except (TypeError, ValueError, IndexError) as exc:
        # TypeError: arithmetic reached the symbolic batch size
        raise NotFoldable(str(exc)) from None


def reshape_target(
    target: np.ndarray, input_shape: Sequence[int | None], *, allowzero: bool = False
) -> list[int]:
    """A static reshape target from a folded one that may hold :data:`BATCH`.

    The batch size can only be expressed through ONNX's own placeholders: 0
    (copy the input's dimension, valid where the input has the batch at the
    same position) or -1 (infer, valid if nothing else is inferred)."""
    if not has_batch(target):
        return [int(v) for v in target.reshape(-1)]
    entries = list(target.reshape(-1))
    positions = [i for i, v in enumerate(entries) if v is BATCH]
    if len(positions) != 1:
        raise NotFoldable("reshape target mentions the batch size more than once")
    (pos,) = positions
    if not allowzero and pos < len(input_shape) and input_shape[pos] is None:
        entries[pos] = 0
    elif -1 not in entries:
        entries[pos] = -1
    else:
        raise NotFoldable("reshape target has both the batch size and -1")
    return [int(v) for v in entries]
