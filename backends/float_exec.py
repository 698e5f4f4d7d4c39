"""Execution of the ``nn`` dialect in numpy (``--backend float``).

Each tensor is computed in its own element type's numpy dtype (float32 for
networks; the other ONNX types through ``ir/dtypes.py``), with ONNX's integer
semantics where numpy's differ (Div truncates toward zero, Cast saturates).

The oracle for this executor is onnxruntime: every op agrees with it within
``1e-4 * (1 + max|ref|)`` (tests/test_float_exec.py).  One small function per
op, registered against the op class; :func:`evaluate_op` runs a single op
(constant folding uses it) and :func:`run_float` runs ``func.func @main``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from spintron_nn.array_files import fits_shape, one_item_at_a_time
from spintron_nn.errors import SpintronError
from spintron_nn.ir import dtypes, nn
from spintron_nn.ir.module_info import runs_item_by_item

Kernel = Callable[..., np.ndarray]
Observer = Callable[[Operation, list[np.ndarray]], None]

_KERNELS: dict[type[Operation], Kernel] = {}


def _kernel(*op_classes: type[Operation]) -> Callable[[Kernel], Kernel]:
    """Register ``fn(operands, **attribute_values)`` as the meaning of the ops."""

    def register(fn: Kernel) -> Kernel:
        for op_class in op_classes:
            _KERNELS[op_class] = fn
        return fn

    return register


def numpy_dtype(element: Attribute) -> np.dtype:
    return dtypes.numpy_dtype(element)


def evaluate_op(op: Operation, operand_values: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The results of one ``nn`` op on concrete operand arrays."""
    kernel = _KERNELS.get(type(op))
    if kernel is None:
        raise SpintronError(f"the float backend does not support the op {op.name}")
    assert isinstance(op, nn.NNOperation)
    try:
        value = kernel(list(operand_values), **op.attribute_values())
    except (VerifyException, ValueError) as exc:
        # the concrete shapes break a shape rule, or inputs that share the
        # dynamic batch dimension arrived with different batch sizes
        message = str(exc) if str(exc).startswith(op.name) else f"{op.name}: {exc}"
        raise SpintronError(message) from None
    results = value if isinstance(value, list) else [value]
    arrays = [
        np.asarray(r, dtype=numpy_dtype(res.type.element_type))
        for r, res in zip(results, op.results, strict=True)
    ]
    for array, result in zip(arrays, op.results):
        if not fits_shape(array.shape, nn.shape_of(result), False):
            raise SpintronError(
                f"{op.name} produced shape {list(array.shape)}, but its result "
                f"type is {nn.shape_text(nn.shape_of(result))} (the batch size "
                f"of the inputs does not fit this graph)"
            )
    return arrays


# --------------------------------------------------------------------------
# running @main
# --------------------------------------------------------------------------


def main_function(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    raise SpintronError("the module has no func.func @main")


def input_names(main: func.FuncOp) -> list[str] | None:
    names = main.attributes.get("nn.input_names")
    if not isinstance(names, ArrayAttr):
        return None
    return [n.data for n in names.data if isinstance(n, StringAttr)]


def _ordered_inputs(
    main: func.FuncOp, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    args = main.body.block.args
    if isinstance(inputs, Mapping):
        names = input_names(main)
        if names is None:
            raise SpintronError("@main has no nn.input_names: pass inputs as a list")
        missing = [n for n in names if n not in inputs]
        unknown = sorted(set(inputs) - set(names))
        if missing or unknown:
            raise SpintronError(
                f"inputs do not match the model's {names}: "
                f"missing {missing}, unknown {unknown}"
            )
        inputs = [inputs[n] for n in names]
    if len(inputs) != len(args):
        raise SpintronError(f"the model takes {len(args)} input(s), got {len(inputs)}")
    singly = runs_item_by_item(main)
    return [_checked_input(i, arg, np.asarray(x), singly) for i, (arg, x) in enumerate(zip(args, inputs))]


def _checked_input(index: int, arg: SSAValue, array: np.ndarray, item_by_item: bool) -> np.ndarray:
    typ = arg.type
    assert isinstance(typ, TensorType)
    expected = typ.get_shape()
    if not fits_shape(array.shape, expected, item_by_item):
        raise SpintronError(
            f"input #{index} has shape {list(array.shape)}, the model expects "
            f"{nn.shape_text(expected)}"
        )
    target = numpy_dtype(typ.element_type)
    if not dtypes.is_integer_dtype(array.dtype) and dtypes.is_integer_dtype(target):
        # float -> int would silently truncate the user's data
        raise SpintronError(
            f"input #{index} holds {array.dtype} values, the model expects {typ.element_type}"
        )
    return array.astype(target, copy=False)


def run_float(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    *,
    observer: Observer | None = None,
) -> list[np.ndarray]:
    """Run ``@main`` in float32; ``inputs`` in argument order or by input name.

    ``observer(op, results)`` is called after every op (calibration records
    activation ranges through it)."""
    main = main_function(module)
    ordered = _ordered_inputs(main, inputs)
    return one_item_at_a_time(main, ordered, lambda part, _first: _run_once(main, part, observer))


def _run_once(main: func.FuncOp, inputs: list[np.ndarray], observer: Observer | None) -> list[np.ndarray]:
    block = main.body.block
    values: dict[SSAValue, np.ndarray] = dict(zip(block.args, inputs))
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            # copies: an output may be a read-only weight or a view of an input
            return [np.array(values[v]) for v in op.operands]
        results = evaluate_op(op, [values[v] for v in op.operands])
        for result, array in zip(op.results, results):
            values[result] = array
        if observer is not None:
            observer(op, results)
    raise SpintronError("@main has no func.return")


# --------------------------------------------------------------------------
# element-wise
# --------------------------------------------------------------------------


@_kernel(nn.ConstantOp)
def _constant(operands: list[np.ndarray], *, value: np.ndarray) -> np.ndarray:
    return value


@_kernel(nn.IdentityOp)
def _identity(operands: list[np.ndarray]) -> np.ndarray:
    return operands[0]


@_kernel(nn.ReluOp)
def _relu(operands: list[np.ndarray]) -> np.ndarray:
    x = operands[0]
    return np.maximum(x, np.zeros((), x.dtype))


@_kernel(nn.LeakyReluOp)
def _leaky_relu(operands: list[np.ndarray], *, alpha: float) -> np.ndarray:
    x = operands[0]
    return np.where(x >= 0, x, x * np.float32(alpha))


def clamp(x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """Clip ``x`` to bounds given as Python numbers, in ``x``'s own dtype."""
    if low is None and high is None:
        return x
    return np.clip(
        x,
        None if low is None else np.asarray(low).astype(x.dtype),
        None if high is None else np.asarray(high).astype(x.dtype),
    )


@_kernel(nn.ClipOp)
def _clip(
    operands: list[np.ndarray], *, min: float | None = None, max: float | None = None
) -> np.ndarray:
    return clamp(operands[0], min, max)


@_kernel(nn.SigmoidOp)
def _sigmoid(operands: list[np.ndarray]) -> np.ndarray:
    x = operands[0].astype(np.float64)
    # exp of a non-positive number only: no overflow for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@_kernel(nn.TanhOp)
def _tanh(operands: list[np.ndarray]) -> np.ndarray:
    return np.tanh(operands[0])


@_kernel(nn.ExpOp)
def _exp(operands: list[np.ndarray]) -> np.ndarray:
    return np.exp(operands[0])


_erf = np.vectorize(math.erf, otypes=[np.float64])  # numpy has no erf; exact, not fast


@_kernel(nn.ErfOp)
def _erf_kernel(operands: list[np.ndarray]) -> np.ndarray:
    return _erf(operands[0].astype(np.float64))


@_kernel(nn.GeluOp)
def _gelu(operands: list[np.ndarray], *, tanh_approximation: int) -> np.ndarray:
    x = operands[0].astype(np.float64)
    if tanh_approximation:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


@_kernel(nn.EluOp)
def _elu(operands: list[np.ndarray], *, alpha: float) -> np.ndarray:
    x = operands[0].astype(np.float64)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@_kernel(nn.HardSigmoidOp)
def _hard_sigmoid(operands: list[np.ndarray], *, alpha: float, beta: float) -> np.ndarray:
    return np.clip(alpha * operands[0].astype(np.float64) + beta, 0, 1)


@_kernel(nn.HardSwishOp)
def _hard_swish(operands: list[np.ndarray]) -> np.ndarray:
    x = operands[0].astype(np.float64)
    return x * np.clip(x / 6 + 0.5, 0, 1)


@_kernel(nn.SoftplusOp)
def _softplus(operands: list[np.ndarray]) -> np.ndarray:
    return np.logaddexp(0, operands[0].astype(np.float64))  # log(1 + e^x) without overflow


@_kernel(nn.AbsOp)
def _abs(operands: list[np.ndarray]) -> np.ndarray:
    return np.abs(operands[0])


def elementwise_function(op: Operation) -> Callable[[np.ndarray], np.ndarray]:
    """``op``'s float meaning on any array of real values, for an element-wise ``nn`` op
    (lower-to-spin tabulates it as a ``spin.lut``: one definition of each function)."""
    kernel = _KERNELS.get(type(op))
    if kernel is None or not isinstance(op, nn.UnaryElementwiseOp):
        raise SpintronError(f"{op.name} is not an element-wise op of the float backend")
    attributes = op.attribute_values()
    return lambda values: np.asarray(kernel([np.asarray(values)], **attributes), dtype=np.float64)


@_kernel(nn.LogOp)
def _log(operands: list[np.ndarray]) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(-1) = NaN
        return np.log(operands[0])


@_kernel(nn.CastOp)
def _cast(operands: list[np.ndarray], *, to: Attribute, saturate: int = 1) -> np.ndarray:
    from spintron_nn.backends.casting import cast_array

    return cast_array(operands[0], numpy_dtype(to), saturate=bool(saturate))


def _int_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Div: floats divide, integers truncate toward zero (C's rule, not
    numpy's floor); computed in integers so int64 keeps every bit."""
    if not dtypes.is_integer_dtype(a.dtype):
        return np.divide(a, b)
    with np.errstate(divide="ignore"):
        quotient = np.floor_divide(a, b)
        remainder = np.remainder(a, b)
    if a.dtype.kind == "u":
        return quotient
    adjust = (remainder != 0) & ((a < 0) ^ (b < 0))
    return quotient + adjust.astype(quotient.dtype)


_BINARY = {
    nn.AddOp: np.add,
    nn.SubOp: np.subtract,
    nn.MulOp: np.multiply,
    nn.DivOp: _int_divide,
    nn.LessOp: np.less,
    nn.GreaterOp: np.greater,
    nn.EqualOp: np.equal,
    nn.OrOp: np.logical_or,
}


def _binary(ufunc: np.ufunc) -> Kernel:
    def apply(operands: list[np.ndarray]) -> np.ndarray:
        return ufunc(operands[0], operands[1])

    return apply


for _op_class, _ufunc in _BINARY.items():
    _kernel(_op_class)(_binary(_ufunc))


@_kernel(nn.MaxOp)
def _max(operands: list[np.ndarray]) -> np.ndarray:
    return np.maximum.reduce(np.broadcast_arrays(*operands)) if len(operands) > 1 else operands[0]


@_kernel(nn.MinOp)
def _min(operands: list[np.ndarray]) -> np.ndarray:
    return np.minimum.reduce(np.broadcast_arrays(*operands)) if len(operands) > 1 else operands[0]


@_kernel(nn.WhereOp)
def _where(operands: list[np.ndarray]) -> np.ndarray:
    condition, x, y = operands
    return np.where(condition, x, y)


# --------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------


def _softmax_axis_view(
    x: np.ndarray, axis: int, legacy_2d: int
) -> tuple[np.ndarray, int]:
    """The array and axis to normalise over: opset < 13 flattens to 2-D at axis."""
    if legacy_2d:
        return x.reshape(int(np.prod(x.shape[:axis])), -1), 1
    return x, axis


@_kernel(nn.SoftmaxOp)
def _softmax(operands: list[np.ndarray], *, axis: int, legacy_2d: int) -> np.ndarray:
    x = operands[0]
    view, view_axis = _softmax_axis_view(x, axis, legacy_2d)
    shifted = view - view.max(axis=view_axis, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=view_axis, keepdims=True)).reshape(x.shape)


@_kernel(nn.LogSoftmaxOp)
def _log_softmax(
    operands: list[np.ndarray], *, axis: int, legacy_2d: int
) -> np.ndarray:
    x = operands[0]
    view, view_axis = _softmax_axis_view(x, axis, legacy_2d)
    shifted = view - view.max(axis=view_axis, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=view_axis, keepdims=True))
    return (shifted - log_sum).reshape(x.shape)


@_kernel(nn.BatchNormalizationOp)
def _batch_normalization(operands: list[np.ndarray], *, epsilon: float) -> np.ndarray:
    x, scale, bias, mean, var = operands
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    factor = scale / np.sqrt(var + np.float32(epsilon))
    return (x - mean.reshape(per_channel)) * factor.reshape(per_channel) + bias.reshape(
        per_channel
    )


# --------------------------------------------------------------------------
# linear algebra
# --------------------------------------------------------------------------


@_kernel(nn.GemmOp)
def _gemm(
    operands: list[np.ndarray],
    *,
    alpha: float,
    beta: float,
    trans_a: int,
    trans_b: int,
    clamp_min: float | None = None,
    clamp_max: float | None = None,
) -> np.ndarray:
    a, b = operands[0], operands[1]
    out = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if alpha != 1.0:
        out = out * np.float32(alpha)
    if len(operands) == 3:
        out = out + operands[2] * np.float32(beta)
    return clamp(out, clamp_min, clamp_max)


@_kernel(nn.MatMulOp)
def _matmul(
    operands: list[np.ndarray],
    *,
    clamp_min: float | None = None,
    clamp_max: float | None = None,
) -> np.ndarray:
    return clamp(np.matmul(operands[0], operands[1]), clamp_min, clamp_max)


def _windows(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    out_sizes: Sequence[int],
) -> np.ndarray:
    """View ``[N, C, out..., kernel...]`` of the (already padded) ``x``."""
    rank = len(kernel)
    extents = [nn.window_extent(k, d) for k, d in zip(kernel, dilations)]
    view = sliding_window_view(x, extents, axis=tuple(range(2, 2 + rank)))
    index = (
        (slice(None), slice(None))
        + tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(out_sizes, strides))
        + tuple(slice(None, None, d) for d in dilations)
    )
    return view[index]


def _pad_spatial(
    x: np.ndarray, pads: Sequence[int], extra_end: Sequence[int] = (), value: float = 0.0
) -> np.ndarray:
    rank = len(pads) // 2
    extra = list(extra_end) or [0] * rank
    widths = [(0, 0), (0, 0)] + [
        (pads[i], pads[rank + i] + extra[i]) for i in range(rank)
    ]
    return np.pad(x, widths, constant_values=value)


def _conv_im2col(
    windows: np.ndarray, w: np.ndarray, group: int
) -> np.ndarray:
    """im2col per group, then one batched matmul over the groups."""
    n, c = windows.shape[:2]
    m, c_per_group, *kernel = w.shape
    rank = len(kernel)
    out_sizes = windows.shape[2 : 2 + rank]
    # [N, G, C/G, out..., k...] -> [G, N*out, C/G*k]
    windows = windows.reshape(n, group, c_per_group, *out_sizes, *kernel)
    spatial_axes = tuple(range(3, 3 + rank))
    kernel_axes = tuple(range(3 + rank, 3 + 2 * rank))
    columns = windows.transpose(1, 0, *spatial_axes, 2, *kernel_axes).reshape(
        group, n * int(np.prod(out_sizes)), c_per_group * int(np.prod(kernel))
    )
    filters = w.reshape(group, m // group, -1).transpose(0, 2, 1)
    out = np.matmul(columns, filters)  # [G, N*out, M/G]
    out = out.reshape(group, n, *out_sizes, m // group)
    return out.transpose(1, 0, 2 + rank, *range(2, 2 + rank)).reshape(n, m, *out_sizes)


def _conv_depthwise(windows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One input channel per group: a multiply-accumulate per kernel tap.

    A batched matmul with an inner dimension of only k*k is slow (measured
    1.2 s vs 0.1 s for 64x64x32x32, 3x3), so depthwise convolution takes
    this path."""
    n, c = windows.shape[:2]
    m, _, *kernel = w.shape
    rank = len(kernel)
    out_sizes = windows.shape[2 : 2 + rank]
    per_channel = w.reshape(c, m // c, *kernel)
    out = np.zeros((n, c, m // c, *out_sizes), np.result_type(windows, w))
    broadcast = (1, c, m // c) + (1,) * rank
    for tap in np.ndindex(*kernel):
        taps = windows[(Ellipsis, *tap)][:, :, None]
        out += taps * per_channel[(slice(None), slice(None), *tap)].reshape(broadcast)
    return out.reshape(n, m, *out_sizes)


@_kernel(nn.ConvOp)
def _conv(
    operands: list[np.ndarray],
    *,
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    group: int,
    clamp_min: float | None = None,
    clamp_max: float | None = None,
) -> np.ndarray:
    x, w = operands[0], operands[1]
    m, c_per_group, *kernel = w.shape
    out_sizes = nn.windowed_shape(
        "nn.conv", x.shape, m, kernel, strides, pads, dilations
    )[2:]
    windows = _windows(_pad_spatial(x, pads), kernel, strides, dilations, out_sizes)
    if c_per_group == 1 and group > 1:
        out = _conv_depthwise(windows, w)
    else:
        out = _conv_im2col(windows, w, group)
    if len(operands) == 3:
        out = out + operands[2].reshape((1, m) + (1,) * len(kernel))
    return clamp(np.ascontiguousarray(out), clamp_min, clamp_max)


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------


def _pool_geometry(
    x: np.ndarray,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: int,
) -> tuple[list[int], list[int]]:
    """Output sizes, and how far ceil_mode's last window hangs past the end pad."""
    out_sizes = list(
        nn.windowed_shape(
            "pool", x.shape, x.shape[1], kernel_shape, strides, pads, dilations,
            bool(ceil_mode),
        )[2:]
    )
    rank = len(kernel_shape)
    overhang = [
        max(
            0,
            (out_sizes[i] - 1) * strides[i]
            + nn.window_extent(kernel_shape[i], dilations[i])
            - (x.shape[2 + i] + pads[i] + pads[rank + i]),
        )
        for i in range(rank)
    ]
    return out_sizes, overhang


@_kernel(nn.MaxPoolOp)
def _max_pool(
    operands: list[np.ndarray],
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: int,
) -> np.ndarray:
    x = operands[0]
    out_sizes, overhang = _pool_geometry(x, kernel_shape, strides, pads, dilations, ceil_mode)
    lowest = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    padded = _pad_spatial(x, pads, overhang, value=lowest)
    windows = _windows(padded, kernel_shape, strides, dilations, out_sizes)
    return windows.max(axis=tuple(range(-len(kernel_shape), 0)))


@_kernel(nn.AveragePoolOp)
def _average_pool(
    operands: list[np.ndarray],
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: int,
    count_include_pad: int,
) -> np.ndarray:
    """Sum over the window divided by the number of counted positions: input
    positions, plus explicit padding if ``count_include_pad``; never the
    ceil_mode overhang."""
    x = operands[0]
    rank = len(kernel_shape)
    out_sizes, overhang = _pool_geometry(x, kernel_shape, strides, pads, dilations, ceil_mode)
    sums = _windows(_pad_spatial(x, pads, overhang), kernel_shape, strides, dilations, out_sizes)
    sums = sums.sum(axis=tuple(range(-rank, 0)), dtype=np.float64)
    counted = np.ones((1, 1, *x.shape[2:]))
    if count_include_pad:
        counted = _pad_spatial(counted, pads, value=1.0)
        counted = _pad_spatial(counted, [0] * rank * 2, overhang)
    else:
        counted = _pad_spatial(counted, pads, overhang)
    counts = _windows(counted, kernel_shape, strides, dilations, out_sizes)
    counts = counts.sum(axis=tuple(range(-rank, 0)))
    return sums / counts


@_kernel(nn.GlobalAveragePoolOp)
def _global_average_pool(operands: list[np.ndarray]) -> np.ndarray:
    x = operands[0]
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float64)


@_kernel(nn.GlobalMaxPoolOp)
def _global_max_pool(operands: list[np.ndarray]) -> np.ndarray:
    x = operands[0]
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


# --------------------------------------------------------------------------
# shape manipulation
# --------------------------------------------------------------------------


def _reshaping(op_class: type[nn.NNOperation]) -> Kernel:
    """A kernel that reshapes to what the op's own shape rule gives for the
    concrete input: no second copy of Reshape's 0/-1 or Flatten's rules."""

    def apply(operands: list[np.ndarray], **attrs: Any) -> np.ndarray:
        x = operands[0]
        return x.reshape(op_class.shape_rule([x.shape], **attrs)[0])

    return apply


for _op_class in (nn.FlattenOp, nn.ReshapeOp, nn.SqueezeOp, nn.UnsqueezeOp):
    _kernel(_op_class)(_reshaping(_op_class))


@_kernel(nn.TransposeOp)
def _transpose(operands: list[np.ndarray], *, perm: Sequence[int]) -> np.ndarray:
    return np.transpose(operands[0], perm)


@_kernel(nn.ConcatOp)
def _concat(operands: list[np.ndarray], *, axis: int) -> np.ndarray:
    return np.concatenate(operands, axis=axis)


# --------------------------------------------------------------------------
# reductions and selection
# --------------------------------------------------------------------------


def _reduction(reduce: Callable[[np.ndarray, tuple[int, ...], bool], np.ndarray]) -> Kernel:
    def apply(
        operands: list[np.ndarray],
        *,
        keepdims: int,
        noop_with_empty_axes: int,
        axes: Sequence[int] | None = None,
    ) -> np.ndarray:
        x = operands[0]
        reduced = nn.reduced_axes(x.ndim, axes, noop_with_empty_axes, "reduce")
        if not reduced:
            return x
        return reduce(x, reduced, bool(keepdims))

    return apply


def _lowest(dtype: np.dtype):
    """ReduceMax's value over no elements (ONNX: the type's lowest value)."""
    if dtype == np.bool_:
        return False
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


_kernel(nn.ReduceMeanOp)(
    _reduction(lambda x, axes, keep: x.mean(axis=axes, keepdims=keep, dtype=np.float64))
)
_kernel(nn.ReduceSumOp)(
    _reduction(lambda x, axes, keep: x.sum(axis=axes, keepdims=keep, dtype=x.dtype))
)
_kernel(nn.ReduceMaxOp)(
    _reduction(lambda x, axes, keep: x.max(axis=axes, keepdims=keep, initial=_lowest(x.dtype)))
)


@_kernel(nn.ArgMaxOp)
def _arg_max(
    operands: list[np.ndarray], *, axis: int, keepdims: int, select_last_index: int
) -> np.ndarray:
    x = operands[0]
    if select_last_index:
        flipped = np.flip(x, axis=axis)
        index = x.shape[axis] - 1 - np.argmax(flipped, axis=axis)
    else:
        index = np.argmax(x, axis=axis)
    return np.expand_dims(index, axis) if keepdims else index


@_kernel(nn.ArrayFeatureExtractorOp)
def _array_feature_extractor(operands: list[np.ndarray]) -> np.ndarray:
    data, indices = operands
    flat = indices.reshape(-1)
    if flat.size and (flat.min() < -data.shape[-1] or flat.max() >= data.shape[-1]):
        raise SpintronError(
            f"nn.array_feature_extractor: index out of range for {data.shape[-1]} features"
        )
    picked = np.take(data, flat, axis=-1)
    return picked.reshape(1, -1) if data.ndim == 1 else picked
