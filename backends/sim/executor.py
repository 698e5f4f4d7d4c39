"""The behavioural simulator: executes a ``spin``-dialect module on a batch.

    run_spin(module, inputs, *, noise=None, seed=0) -> list[np.ndarray]

Every crossbar tile goes through ``dispatch.tile_matvec`` (C kernel or numpy
reference, bit-identical); everything else is the exact integer arithmetic of
quant_math / digital.  Noise (a ``NoiseSpec``) is re-keyed per tile with
``seed`` and the tile's ``tile_id``, so the same inputs and seed give
byte-identical outputs; ``noise=None`` gives the exact integer result.
``nn`` ops left in the module (lower-to-spin's digital float unit, and their
constants) run through ``float_exec.evaluate_op``.
``tile_currents`` replaces the integer column currents by analog ones (the
SPICE backend's nodal solver), which then go through the same ADC and
shift-add.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerAttr, ModuleOp, TensorType
from xdsl.ir import Operation

from spintron_nn.array_files import fits_shape, one_item_at_a_time
from spintron_nn.backends import float_exec
from spintron_nn.backends.sim import digital, dispatch, quant_math, reference
from spintron_nn.backends.sim.noise import Q
from spintron_nn.errors import SpintronError
from spintron_nn.ir import nn, spin
from spintron_nn.ir.module_info import main_function, runs_item_by_item
from spintron_nn.ir.spin import get_int, get_ints, get_real


# (tile op, its input codes [B, rows]) -> column currents [B, input_bits, S, C]
# in Q16 level units (int64, docs/semantics.md section 10).
TileCurrents = Callable[[spin.CrossbarTileOp, np.ndarray], np.ndarray]


#: Batch items simulated at once: bounds the memory of im2col patches and
#: bit planes; results do not depend on it (noise is indexed by absolute row).
CHUNK_ITEMS = 256


@dataclasses.dataclass(frozen=True)
class _Run:
    noise: object | None
    seed: int
    tile_currents: TileCurrents | None = None
    first_item: int = 0  # of this chunk in the whole batch
    items: int = 1  # in this chunk


def _analog_tile(op: spin.CrossbarTileOp, currents_q16: np.ndarray) -> np.ndarray:
    """Currents from outside the integer contract through the contract's own
    ADC and shift-add, as the noise model's Q16 currents go (section 10)."""
    adc_shift, cell_bits = get_int(op, "adc_shift"), get_int(op, "cell_bits")
    codes = reference.adc_convert(currents_q16, get_int(op, "adc_bits"), adc_shift + Q)
    return reference.shift_add(codes, adc_shift, cell_bits, spin.reads_signed_inputs(op))


def _tile(op: spin.CrossbarTileOp, x: np.ndarray, run: _Run) -> np.ndarray:
    start = get_int(op, "row_offset")
    rows = x[:, start : start + get_int(op, "rows")]
    if run.tile_currents is not None:
        return _analog_tile(op, run.tile_currents(op, rows))
    noise = run.noise
    if noise is not None:
        rows_per_item = len(rows) // max(run.items, 1)  # conv tiles read OH*OW rows per item
        noise = dataclasses.replace(_tile_noise(op, run), sample_offset=run.first_item * rows_per_item)
    return dispatch.tile_matvec(
        rows,
        op.levels_pos.array,
        op.levels_neg.array,
        input_bits=get_int(op, "input_bits"),
        cell_bits=get_int(op, "cell_bits"),
        adc_bits=get_int(op, "adc_bits"),
        adc_shift=get_int(op, "adc_shift"),
        noise=noise,
        signed_inputs=spin.reads_signed_inputs(op),
    )


def _shift_add(op: spin.ShiftAddOp, *parts: np.ndarray) -> np.ndarray:
    blocks, start = [], 0
    for count in get_ints(op, "blocks"):
        blocks.append(np.sum(np.stack(parts[start : start + count]), axis=0, dtype=np.int64))
        start += count
    return np.concatenate(blocks, axis=1)


def _tile_noise(op: spin.CrossbarTileOp, run: _Run):
    """The run's noise re-keyed for one tile (its own device draw)."""
    return dataclasses.replace(run.noise, seed=run.seed, tile_id=get_int(op, "tile_id"))


def _layer_drift_q16(op: spin.RequantOp, run: _Run) -> np.ndarray:
    """The summed ``reference.column_drift_q16`` of the tiles whose accumulator ``op`` requantizes,
    combined as their shift_add combines their results ([1, N] int64)."""
    source = op.operands[0].owner
    tiles = [source] if isinstance(source, spin.CrossbarTileOp) else (
        [v.owner for v in source.operands] if isinstance(source, spin.ShiftAddOp) else [])
    if not tiles or not all(isinstance(t, spin.CrossbarTileOp) for t in tiles):
        raise SpintronError(f"verified column sums: the accumulator of a '{op.name}' does not come from "
                            "crossbar tiles (or a shift_add of tiles)")
    drifts = [reference.column_drift_q16(t.levels_pos.array, t.levels_neg.array, get_int(t, "cell_bits"),
                                         _tile_noise(t, run))[None, :] for t in tiles]
    return drifts[0] if isinstance(source, spin.CrossbarTileOp) else _shift_add(source, *drifts)


def _requant(op: spin.RequantOp, acc: np.ndarray, run: _Run) -> np.ndarray:
    zero_point = get_int(op, "input_zero_point")
    corrected = (
        acc.astype(np.int64)
        - zero_point * op.column_sums.array
        + op.bias.array
    )
    if run.noise is not None and run.noise.verified_column_sums:
        # program-and-verify: the zero-point term sees the drawn conductances (section 10)
        corrected -= reference.verified_zero_point_drift(zero_point, _layer_drift_q16(op, run))
    return quant_math.requantize(
        corrected,
        np.array(get_ints(op, "multiplier"), dtype=np.int64),
        np.array(get_ints(op, "shift"), dtype=np.int64),
        get_int(op, "zero_point"),
        get_int(op, "clamp_min"),
        get_int(op, "clamp_max"),
    )


def _untiled(op: spin.CrossbarLayerOp, x: np.ndarray) -> np.ndarray:
    raise SpintronError(
        f"layer '{op.layer.data}' is not tiled yet: run the tile-crossbars pass before simulating"
    )


def _take(op: spin.TakeOp, indices: np.ndarray) -> np.ndarray:
    table = op.table.array
    flat = indices.reshape(-1)
    if flat.size and (flat.min() < -len(table) or flat.max() >= len(table)):
        raise SpintronError(f"spin.take: index out of range for a table of {len(table)}")
    return table[flat].reshape(1, -1)


def _quant_args(op: Operation, *names: str) -> list:
    return [get_real(op, n) if n.endswith("scale") else get_int(op, n) for n in names]


def _pool_args(op: Operation) -> list:
    return [get_ints(op, "kernel_shape"), get_ints(op, "pads"), get_ints(op, "strides")]


_Handler = Callable[..., np.ndarray]

# op class -> (op, *operand arrays) -> result array.  The tile handler also
# gets the run's noise settings (see run_spin).
_HANDLERS: dict[type[Operation], _Handler] = {
    spin.QuantizeOp: lambda op, x: quant_math.quantize_activations(x, *_quant_args(op, "scale", "zero_point", "bits")),
    spin.DequantizeOp: lambda op, q: quant_math.dequantize(q, *_quant_args(op, "scale", "zero_point")),
    spin.CrossbarLayerOp: _untiled,
    spin.ShiftAddOp: _shift_add,
    spin.Im2ColOp: lambda op, x: digital.im2col(
        x, get_ints(op, "kernel_shape"), get_ints(op, "pads"), get_ints(op, "strides"),
        get_ints(op, "dilations"), *_quant_args(op, "channel_offset", "channels", "pad_value"),
    ),
    spin.RowsToImageOp: lambda op, rows: digital.rows_to_image(rows, *spin.shape_of(op.output)[2:]),
    spin.ClampOp: lambda op, q: np.clip(q, get_int(op, "clamp_min"), get_int(op, "clamp_max")),
    spin.RescaleOp: lambda op, q: digital.rescale(
        q, *_quant_args(op, "input_zero_point", "multiplier", "shift", "zero_point", "bits")
    ),
    spin.SignedCodesOp: lambda op, q: reference.twos_complement_codes(q, get_int(op, "zero_point"),
                                                                      get_int(op, "bits")),
    spin.LutOp: lambda op, q: digital.lookup(op.table.array, q),
    spin.SoftmaxOp: lambda op, q: digital.softmax_codes(
        q, *_quant_args(op, "axis", "log", "input_scale", "input_zero_point", "scale", "zero_point", "bits")
    ),
    spin.MaxPoolOp: lambda op, q: digital.max_pool(q, *_pool_args(op)),
    spin.AvgPoolOp: lambda op, q: digital.avg_pool(
        q, *_pool_args(op), bool(get_int(op, "count_include_pad")), get_int(op, "pad_value")
    ),
    spin.GlobalAvgPoolOp: lambda op, q: digital.global_avg_pool(q),
    spin.GlobalMaxPoolOp: lambda op, q: digital.global_max_pool(q),
    spin.AddOp: lambda op, a, b: quant_math.quantized_add(
        a, get_int(op, "lhs_zero_point"), b, get_int(op, "rhs_zero_point"),
        *_quant_args(op, "lhs_multiplier", "rhs_multiplier", "shift", "zero_point", "clamp_min", "clamp_max"),
    ),
    spin.MulOp: lambda op, a, b: digital.multiply(
        a, get_int(op, "lhs_zero_point"), b, get_int(op, "rhs_zero_point"),
        *_quant_args(op, "multiplier", "shift", "zero_point", "clamp_min", "clamp_max"),
    ),
    spin.ConcatOp: lambda op, *parts: np.concatenate(parts, axis=get_int(op, "axis")),
    spin.ArgMaxOp: lambda op, q: np.argmax(q, axis=get_int(op, "axis"), keepdims=bool(get_int(op, "keepdims"))),
    spin.TransposeOp: lambda op, x: np.transpose(x, get_ints(op, "perm")),
    spin.TakeOp: _take,
    spin.ReshapeOp: lambda op, x: x.reshape([-1 if d == DYNAMIC_INDEX else d for d in spin.shape_of(op.output)]),
}

_NUMPY_TYPES = {"f32": np.float32, "ui8": np.uint8, "i64": np.int64}


def _as_result_type(op: Operation, array: np.ndarray) -> np.ndarray:
    element = str(op.results[0].type.element_type)
    # not ascontiguousarray, which makes a 0-d result (a reduction to a scalar) 1-d
    return np.asarray(array, dtype=_NUMPY_TYPES[element], order="C")


def _check_inputs(main: func.FuncOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    types = main.function_type.inputs.data
    if len(inputs) != len(types):
        raise SpintronError(f"the model takes {len(types)} input(s), got {len(inputs)}")
    singly = runs_item_by_item(main)
    arrays = []
    for index, (array, typ) in enumerate(zip(inputs, types)):
        array = np.asarray(array, dtype=np.float32)
        assert isinstance(typ, TensorType)
        expected = tuple(typ.get_shape())
        if not fits_shape(array.shape, expected, singly):
            shown = ["?" if d == DYNAMIC_INDEX else d for d in expected]
            raise SpintronError(f"input #{index} has shape {list(array.shape)}, the model expects {shown}")
        arrays.append(array)
    return arrays


def evaluate_op(op: Operation, operands: Sequence[np.ndarray], run: _Run = _Run(noise=None, seed=0)) -> np.ndarray:
    """One spin op on numpy operands (exact integer tiles unless ``run`` says
    otherwise); ``tile-crossbars`` uses it to run calibration data."""
    if isinstance(op, spin.CrossbarTileOp):
        result = _tile(op, operands[0], run)
    elif isinstance(op, spin.RequantOp):
        result = _requant(op, operands[0], run)
    elif isinstance(op, nn.NNOperation):
        # the digital float unit (lower-to-spin's fallback) and its constants:
        # float32 exactly as the float backend computes it
        return float_exec.evaluate_op(op, operands)[0]
    elif type(op) in _HANDLERS:
        result = _HANDLERS[type(op)](op, *operands)
    else:
        raise SpintronError(f"the simulator cannot execute '{op.name}' (lower the model to the spin dialect first)")
    return _as_result_type(op, result)


def _last_uses(block_ops: list[Operation]) -> dict[int, list]:
    """Op index -> values whose last reader it is (freed after it runs)."""
    last: dict = {}
    for index, op in enumerate(block_ops):
        for value in op.operands:
            last[value] = index
    by_index: dict[int, list] = {}
    for value, index in last.items():
        by_index.setdefault(index, []).append(value)
    return by_index


def _execute(main: func.FuncOp, arrays: list[np.ndarray], run: _Run) -> list[np.ndarray]:
    ops = list(main.body.block.ops)
    frees = _last_uses(ops)
    values = dict(zip(main.args, arrays))
    for index, op in enumerate(ops):
        operands = [values[v] for v in op.operands]
        if isinstance(op, func.ReturnOp):
            return operands
        values[op.results[0]] = evaluate_op(op, operands, run)
        for value in frees.get(index, ()):
            values.pop(value, None)
    raise SpintronError("@main has no func.return")


def _mixes_items(main: func.FuncOp) -> bool:
    """Whether some op works across the dynamic leading (item) axis, so that running the items
    in chunks and joining the outputs would differ from one run.  Structurally: an op that reads
    item-major values but yields one without a dynamic leading axis (a reduction over
    everything, a matmul over the items, a reshape moving them) mixes them; so does an op
    along axis 0 that keeps the shape (a concat puts all of one operand's items first, a
    softmax or argmax compares items, a transpose moves them)."""
    for op in main.body.block.ops:
        reads_items = any(isinstance(v.type, TensorType) and _batch_axis(v.type) == 0 for v in op.operands)
        if not reads_items or isinstance(op, func.ReturnOp):
            continue
        if any(not isinstance(r.type, TensorType) or _batch_axis(r.type) != 0 for r in op.results):
            return True
        if isinstance(op, (spin.ConcatOp, spin.SoftmaxOp, spin.ArgMaxOp)) and get_int(op, "axis") == 0:
            return True
        if isinstance(op, spin.TransposeOp) and get_ints(op, "perm")[0] != 0:
            return True
        if spin.FLOAT_UNIT_ATTR in op.attributes:  # an nn op on the float unit: along its axes, if any
            rank = len(op.operands[0].type.get_shape())
            if 0 in {axis % rank for key in ("axis", "axes") for axis in _ints(op.properties.get(key))}:
                return True
    return False


def _ints(attr) -> list[int]:
    """An integer or integer-array property's values ([] if absent)."""
    if isinstance(attr, IntegerAttr):
        return [attr.value.data]
    return [int(v) for v in attr.get_values()] if hasattr(attr, "get_values") else []


def _batch_axis(typ) -> int | None:
    shape = list(typ.get_shape())
    return shape.index(DYNAMIC_INDEX) if DYNAMIC_INDEX in shape else None


def run_spin(
    module: ModuleOp,
    inputs: Sequence[np.ndarray],
    *,
    noise=None,
    seed: int = 0,
    tile_currents: TileCurrents | None = None,
    first_item: int = 0,
) -> list[np.ndarray]:
    """Execute ``@main`` of a spin module on a batch; one array per output.

    The batch runs in chunks of CHUNK_ITEMS items when every input has a
    dynamic leading dimension; outputs are joined along their dynamic axis.
    ``first_item``: the index of ``inputs``' first item in a larger batch run piecewise
    (a batch-1 export's items), which numbers its read-noise draws."""
    main = main_function(module)
    arrays = _check_inputs(main, inputs)
    if tile_currents is not None and noise is not None and not noise.is_off:
        raise SpintronError("noise applies to the integer column currents, not to given analog ones")
    if runs_item_by_item(main) and arrays and len(arrays[0]) > 1:
        # several items of a batch-1 export: one at a time, the draws numbered on (tile_currents
        # is called per tile call, so it serves any split of the items)
        return one_item_at_a_time(main, arrays, lambda part, first: run_spin(
            module, part, noise=noise, seed=seed, tile_currents=tile_currents, first_item=first_item + first))
    run = _Run(noise=None if noise is None or noise.is_off else noise, seed=seed, tile_currents=tile_currents,
               first_item=first_item)
    batched = bool(arrays) and all(_batch_axis(t) == 0 for t in main.function_type.inputs.data) \
        and not _mixes_items(main)
    total = len(arrays[0]) if batched else 0
    if not batched or total <= CHUNK_ITEMS:
        return _execute(main, arrays, dataclasses.replace(run, items=max(total, 1)))
    chunks = []
    for start in range(0, total, CHUNK_ITEMS):
        part = [a[start : start + CHUNK_ITEMS] for a in arrays]
        chunks.append(_execute(main, part, dataclasses.replace(run, first_item=first_item + start,
                                                               items=len(part[0]))))
    outputs = []
    for index, typ in enumerate(main.function_type.outputs.data):
        axis = _batch_axis(typ)
        pieces = [chunk[index] for chunk in chunks]
        outputs.append(pieces[0] if axis is None else np.concatenate(pieces, axis=axis))
    return outputs
