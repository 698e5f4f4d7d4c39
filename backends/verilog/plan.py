"""spin ``@main`` -> a hardware plan: memory map, engine stages, ROM contents.

Every value of one vector lives in the activation buffer (``spin_memory``);
a value is an array of word addresses in its per-vector shape.  Ops that only
move codes (reshape, transpose, rows_to_image, concat) cost nothing: their
result is a rearranged address array.  A value is copied into a contiguous
region (a gather stage) only when an engine that reads ranges needs it.

Engines (``rtl/*.v``), one stage each, run one after the other:

========================  =======================================================
spin op                   engine
========================  =======================================================
crossbar_tile             ``spin_tile`` + ``spin_crossbar_macro`` (levels ROMs)
shift_add                 ``spin_reduce`` sum over the row tiles of each column
requant                   ``spin_requant`` (per-channel offset/multiplier/shift)
im2col, gathers           ``spin_reduce`` sum of one entry (pads give the code)
max/avg/global pools      ``spin_reduce`` max / avg over window tables
argmax                    ``spin_reduce`` argmax
add, mul                  ``spin_add`` (MUL = 0 / 1)
clamp, rescale, lut       ``spin_map`` (256-entry table)
signed_codes              ``spin_map`` (the two's-complement codes' table)
========================  =======================================================

``quantize`` and a final ``dequantize`` (and a final ``softmax``, which is
float64 arithmetic, and a final ``take`` of class labels) run on the host,
with the simulator's own kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from spintron_nn.backends.sim import digital, reference
from spintron_nn.backends.verilog import buffer_layout
from spintron_nn.backends.verilog.buffer_layout import FOREVER, Region
from spintron_nn.backends.verilog.netlist import Const
from spintron_nn.backends.verilog.vector_shapes import vector_shapes
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.ir.spin import DYNAMIC, get_int, get_ints, get_real, shape_of

PAD = -1  # an address-array entry that is padding, not a word
ADDRESSES = 0  # Rom.width of address words
WINDOW = -1  # Rom.width of {pad flag, address} words

# requant reads 32-bit accumulators: the semantics require |acc| < 2**31
ACCUMULATOR_READ_BITS = 32

# reduce engine modes (spin_reduce.v)
SUM, MAX, AVG, ARGMAX = 0, 1, 2, 3


@dataclass
class Rom:
    values: np.ndarray  # int64, one word a line; negative values are two's complement
    width: int  # bits per word, or ADDRESSES / WINDOW (address words, sized at lowering)
    pad_to_power_of_two: bool = True


@dataclass
class Stage:
    module: str
    op: str
    parameters: dict[str, int | Const]
    roms: dict[str, Rom] = field(default_factory=dict)
    read_width: int = 0  # bits of read port 0 the engine takes (0: the whole word)
    reads: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # addresses it reads (PAD allowed)
    dual_read: bool = False
    macro_roms: dict[str, Rom] = field(default_factory=dict)


@dataclass
class HostInput:
    scale: float
    zero_point: int
    bits: int
    batched: bool  # leading dimension dynamic: one vector per item


@dataclass
class HostOutput:
    addresses: np.ndarray  # per-vector shape of the value the RTL streams
    steps: list[Operation]  # host-side ops applied afterwards (softmax, dequantize), in order
    dtype: str
    batched: bool


@dataclass
class Plan:
    stages: list[Stage]
    depth: int
    word_bits: int
    inputs: list[HostInput]
    outputs: list[HostOutput]
    input_words: int  # codes per vector, all inputs in order, at addresses 0..

    @property
    def address_bits(self) -> int:
        return max(1, math.ceil(math.log2(self.depth)))


def _bits(value: int) -> int:
    """Bits of a signed word holding +-value."""
    return int(value).bit_length() + 1


def _contiguous(addresses: np.ndarray) -> bool:
    flat = addresses.reshape(-1)
    return flat.size > 0 and bool(np.all(flat == flat[0] + np.arange(flat.size)))


class _Planner:
    def __init__(self, main: func.FuncOp):
        self.main = main
        self.shapes = vector_shapes(main)
        self.addresses: dict[SSAValue, np.ndarray] = {}
        self.bounds: dict[SSAValue, int] = {}  # |value| bound of accumulator values
        self.host_steps: dict[SSAValue, tuple[SSAValue, Operation]] = {}
        self.stages: list[Stage] = []
        self.next_free = 0
        self.regions: list[Region] = []
        self.word_needs = [9]  # codes 0..255 as non-negative signed words

    # -- memory ------------------------------------------------------------

    def allocate(self, shape: tuple[int, ...]) -> np.ndarray:
        size = math.prod(shape)
        region = self.next_free + np.arange(size, dtype=np.int64).reshape(shape)
        self.regions.append(Region(self.next_free, size, written_by=len(self.stages)))
        self.next_free += size
        return region

    def in_one_region(self, addresses: np.ndarray) -> bool:
        starts = np.array([r.start for r in self.regions])
        ends = buffer_layout.region_index(starts, addresses.reshape(-1)[[0, -1]])
        return ends[0] == ends[1]

    def contiguous(self, value: SSAValue) -> int:
        """Base address of ``value`` laid out contiguously (gathering it if needed)."""
        addresses = self.addresses[value]
        if not (_contiguous(addresses) and self.in_one_region(addresses)):
            target = self.allocate(addresses.shape)
            self.reduce_stage("gather", addresses.reshape(-1, 1), target, SUM)
            self.addresses[value] = addresses = target
        return int(addresses.reshape(-1)[0])

    # -- stages ------------------------------------------------------------

    def reduce_stage(self, op: str, windows: np.ndarray, target: np.ndarray, mode: int,
                     pad_counts: bool = False, pad_value: int = 0) -> None:
        """``target[o] = reduce(windows[o, :])``; ``target`` contiguous."""
        n_out, k = windows.shape
        self.word_needs.append(_bits(255 * k))
        self.stages.append(Stage(
            "spin_reduce", op,
            {"N_OUT": n_out, "K": k, "MODE": mode, "PAD_COUNTS": int(pad_counts),
             "PAD_VALUE": pad_value, "DST": int(target.reshape(-1)[0])},
            roms={"ROM_FILE": Rom(windows.reshape(-1), WINDOW)}, reads=windows.reshape(-1),
        ))

    def produce(self, op: Operation, shape: tuple[int, ...]) -> np.ndarray:
        target = self.allocate(shape)
        self.addresses[op.results[0]] = target
        return target

    # -- ops ---------------------------------------------------------------

    def op_crossbar_tile(self, op: spin.CrossbarTileOp) -> None:
        rows, cols = get_int(op, "rows"), get_int(op, "cols")
        m, k_in = self.shapes[op.input]
        src = self.contiguous(op.input) + get_int(op, "row_offset")
        target = self.produce(op, (m, cols))
        cell_bits, input_bits = get_int(op, "cell_bits"), get_int(op, "input_bits")
        slices, shift = get_int(op, "slices"), get_int(op, "adc_shift")
        adc_bits = get_int(op, "adc_bits") or 0
        current_bits = _bits(rows * (2**cell_bits - 1))
        largest_code = 2 ** (adc_bits - 1) if adc_bits else rows * (2**cell_bits - 1)
        bound = largest_code * 2**shift * (2**input_bits - 1) * sum(2 ** (s * cell_bits) for s in range(slices))
        self.bounds[op.results[0]] = bound
        self.word_needs += [_bits(bound), max(current_bits, shift + 1) + 2]
        self.stages.append(Stage(
            "spin_tile", f"{op.name} {op.layer.data} tile {get_int(op, 'tile_id')}",
            {"R": rows, "C": cols, "S": slices, "CB": cell_bits, "IB": input_bits,
             "SIGNED": int(spin.reads_signed_inputs(op)), "WI": current_bits,
             "ADC_BITS": adc_bits, "ADC_SHIFT": shift, "M": m, "K_IN": k_in, "SRC": src,
             "DST": int(target.reshape(-1)[0])},
            read_width=input_bits, reads=np.array([src, src + (m - 1) * k_in + rows - 1]),
            macro_roms={
                "POS_FILE": Rom(op.levels_pos.array.reshape(-1).astype(np.int64), cell_bits, False),
                "NEG_FILE": Rom(op.levels_neg.array.reshape(-1).astype(np.int64), cell_bits, False),
            },
        ))

    def op_shift_add(self, op: spin.ShiftAddOp) -> None:
        parts = [self.addresses[v] for v in op.inputs]
        blocks, start, bound = [], 0, 0
        widest = max(get_ints(op, "blocks"))
        for count in get_ints(op, "blocks"):
            stacked = np.stack(parts[start : start + count])  # [count, M, cols]
            padding = np.full((widest - count, *stacked.shape[1:]), PAD, dtype=np.int64)
            blocks.append(np.concatenate([stacked, padding]).transpose(1, 2, 0))
            bound = max(bound, sum(self.bounds[v] for v in op.inputs[start : start + count]))
            start += count
        windows = np.concatenate(blocks, axis=1)  # [M, N, K]
        self.bounds[op.results[0]] = bound
        self.word_needs.append(_bits(bound))
        target = self.produce(op, windows.shape[:2])
        self.reduce_stage(op.name, windows.reshape(-1, widest), target, SUM)

    def op_requant(self, op: spin.RequantOp) -> None:
        src = self.contiguous(op.input)
        shape = self.shapes[op.input]
        target = self.produce(op, shape)
        offsets = op.bias.array.astype(np.int64) - get_int(op, "input_zero_point") * op.column_sums.array.astype(np.int64)
        if offsets.size and np.abs(offsets).max() >= 2**31:
            raise SpintronError(f"{op.name}: bias and zero-point offsets exceed the 32-bit accumulator")
        self.stages.append(Stage(
            "spin_requant", op.name,
            {"N": math.prod(shape), "CH": shape[1], "SRC": src, "DST": int(target.reshape(-1)[0]),
             "ZP": get_int(op, "zero_point"), "QMIN": get_int(op, "clamp_min"), "QMAX": get_int(op, "clamp_max"),
             "WA": ACCUMULATOR_READ_BITS},
            read_width=ACCUMULATOR_READ_BITS, reads=np.array([src, src + math.prod(shape) - 1]),
            roms={"OFFSET_FILE": Rom(offsets, 32),
                  "MULT_FILE": Rom(np.array(get_ints(op, "multiplier"), dtype=np.int64), 32),
                  "SHIFT_FILE": Rom(np.array(get_ints(op, "shift"), dtype=np.int64), 8)},
        ))

    def op_im2col(self, op: spin.Im2ColOp) -> None:
        windows = digital.im2col(
            self.addresses[op.input], get_ints(op, "kernel_shape"), get_ints(op, "pads"),
            get_ints(op, "strides"), get_ints(op, "dilations"), get_int(op, "channel_offset"),
            get_int(op, "channels"), PAD,
        )
        target = self.produce(op, windows.shape)
        self.reduce_stage(op.name, windows.reshape(-1, 1), target, SUM, True, get_int(op, "pad_value"))

    def _pool_windows(self, op: Operation, kernel, pads, strides) -> np.ndarray:
        """[B*C*OH*OW, KH*KW] addresses (PAD for padding) of each pooling window."""
        source = self.addresses[op.input]
        b, c = source.shape[:2]
        patches = digital.im2col(source, kernel, pads, strides, (1, 1), 0, c, PAD)
        _, _, oh, ow = self.shapes[op.results[0]]
        patches = patches.reshape(b, oh, ow, c, kernel[0] * kernel[1]).transpose(0, 3, 1, 2, 4)
        return patches.reshape(-1, kernel[0] * kernel[1])

    def op_pool(self, op: Operation) -> None:
        if isinstance(op, (spin.GlobalAvgPoolOp, spin.GlobalMaxPoolOp)):
            source = self.addresses[op.input]
            windows = source.reshape(source.shape[0] * source.shape[1], -1)
        else:
            windows = self._pool_windows(op, get_ints(op, "kernel_shape"), get_ints(op, "pads"), get_ints(op, "strides"))
        target = self.produce(op, self.shapes[op.results[0]])
        if isinstance(op, (spin.MaxPoolOp, spin.GlobalMaxPoolOp)):
            self.reduce_stage(op.name, windows, target, MAX)
        elif isinstance(op, spin.AvgPoolOp):
            self.reduce_stage(op.name, windows, target, AVG, bool(get_int(op, "count_include_pad")),
                              get_int(op, "pad_value"))
        else:
            self.reduce_stage(op.name, windows, target, AVG)

    def op_argmax(self, op: spin.ArgMaxOp) -> None:
        source = self.addresses[op.input]
        axis = get_int(op, "axis") % source.ndim
        windows = np.moveaxis(source, axis, -1)
        self.word_needs.append(_bits(windows.shape[-1]))
        target = self.produce(op, self.shapes[op.results[0]])
        self.reduce_stage(op.name, windows.reshape(-1, windows.shape[-1]), target, ARGMAX)

    def op_binary(self, op: spin.AddOp | spin.MulOp) -> None:
        shape = self.shapes[op.results[0]]
        lhs = np.broadcast_to(self.addresses[op.lhs], shape).reshape(-1)
        rhs = np.broadcast_to(self.addresses[op.rhs], shape).reshape(-1)
        target = self.produce(op, shape)
        self.stages.append(Stage(
            "spin_add", op.name,
            {"N": lhs.size, "DST": int(target.reshape(-1)[0]),
             "MUL": int(isinstance(op, spin.MulOp)),
             "ZA": get_int(op, "lhs_zero_point"), "ZB": get_int(op, "rhs_zero_point"),
             "MA": Const(32, get_int(op, "multiplier" if isinstance(op, spin.MulOp) else "lhs_multiplier")),
             "MB": Const(32, 0 if isinstance(op, spin.MulOp) else get_int(op, "rhs_multiplier")),
             "SHIFT": get_int(op, "shift"), "ZP": get_int(op, "zero_point"),
             "QMIN": get_int(op, "clamp_min"), "QMAX": get_int(op, "clamp_max")},
            roms={"LHS_FILE": Rom(lhs, ADDRESSES), "RHS_FILE": Rom(rhs, ADDRESSES)},
            read_width=8, dual_read=True, reads=np.concatenate([lhs, rhs]),
        ))

    def op_map(self, op: Operation, table: np.ndarray) -> None:
        """``table`` is [256], or [C, 256] per channel (axis 1)."""
        src = self.contiguous(op.input)
        shape = self.shapes[op.input]
        target = self.produce(op, shape)
        tables = np.asarray(table, dtype=np.int64).reshape(-1, 256)
        channels = tables.shape[0]
        inner = math.prod(shape[2:]) if channels > 1 else target.size
        padded = np.zeros((1 << max(1, math.ceil(math.log2(channels))), 256), dtype=np.int64)
        padded[:channels] = tables
        self.stages.append(Stage(
            "spin_map", op.name,
            {"N": target.size, "SRC": src, "DST": int(target.reshape(-1)[0]), "CH": channels, "INNER": inner},
            roms={"TABLE_FILE": Rom(padded.reshape(-1), 8, False)},
            read_width=8, reads=np.array([src, src + target.size - 1]),
        ))

    def alias(self, op: Operation, addresses: np.ndarray) -> None:
        self.addresses[op.results[0]] = addresses

    # -- host-side boundary --------------------------------------------------

    def host_only(self, op: Operation) -> None:
        """softmax / dequantize / take (class labels), and reshapes of their
        results: host steps after the RTL, allowed only on the way to func.return."""
        self.host_steps[op.results[0]] = (op.operands[0], op)
        self.alias(op, self.addresses[op.operands[0]])

    def check_not_on_host(self, op: Operation) -> None:
        for value in op.operands:
            if value in self.host_steps:
                host_op = self.host_steps[value][1]
                raise SpintronError(
                    f"the Verilog backend cannot implement '{host_op.name}' inside the network; "
                    f"only a final {host_op.name} is supported (it runs on the host, like dequantize)"
                )

    def run(self) -> Plan:
        inputs = []
        for arg in self.main.args:
            self.addresses[arg] = self.allocate(self.shapes[arg])
            self.regions[-1].written_by = -1
        for op in self.main.body.block.ops:
            if isinstance(op, func.ReturnOp):
                return self.finish(op, inputs)
            self.visit(op, inputs)
        raise SpintronError("@main has no func.return")

    def visit(self, op: Operation, inputs: list[HostInput]) -> None:
        if isinstance(op, (spin.SoftmaxOp, spin.DequantizeOp, spin.TakeOp)) or (
            isinstance(op, spin.ReshapeOp) and op.input in self.host_steps
        ):
            return self.host_only(op)
        self.check_not_on_host(op)
        if isinstance(op, spin.QuantizeOp):
            if op.input not in self.main.args or any(
                isinstance(u.operation, spin.QuantizeOp) and u.operation is not op for u in op.input.uses
            ):
                raise SpintronError("the Verilog backend needs each input quantized exactly once, at the top")
            inputs.append(HostInput(get_real(op, "scale"), get_int(op, "zero_point"), get_int(op, "bits"),
                                    shape_of(op.input)[0] == DYNAMIC))
            self.alias(op, self.addresses[op.input])
        elif isinstance(op, spin.CrossbarTileOp):
            self.op_crossbar_tile(op)
        elif isinstance(op, spin.ShiftAddOp):
            self.op_shift_add(op)
        elif isinstance(op, spin.RequantOp):
            self.op_requant(op)
        elif isinstance(op, spin.Im2ColOp):
            self.op_im2col(op)
        elif isinstance(op, (spin.MaxPoolOp, spin.AvgPoolOp, spin.GlobalAvgPoolOp, spin.GlobalMaxPoolOp)):
            self.op_pool(op)
        elif isinstance(op, spin.ArgMaxOp):
            self.op_argmax(op)
        elif isinstance(op, (spin.AddOp, spin.MulOp)):
            self.op_binary(op)
        elif isinstance(op, spin.ClampOp):
            self.op_map(op, np.clip(np.arange(256), get_int(op, "clamp_min"), get_int(op, "clamp_max")))
        elif isinstance(op, spin.RescaleOp):
            self.op_map(op, digital.rescale(
                np.arange(256), get_int(op, "input_zero_point"), get_int(op, "multiplier"),
                get_int(op, "shift"), get_int(op, "zero_point"), get_int(op, "bits")))
        elif isinstance(op, spin.LutOp):
            self.op_map(op, op.table.array)
        elif isinstance(op, spin.ReshapeOp):
            self.alias(op, self.addresses[op.input].reshape(self.shapes[op.results[0]]))
        elif isinstance(op, spin.TransposeOp):
            self.alias(op, np.transpose(self.addresses[op.input], get_ints(op, "perm")))
        elif isinstance(op, spin.RowsToImageOp):
            self.alias(op, digital.rows_to_image(self.addresses[op.input], *shape_of(op.output)[2:]))
        elif isinstance(op, spin.ConcatOp):
            if get_int(op, "axis") == 0 and shape_of(op.output)[0] == DYNAMIC:
                # the RTL runs one item at a time; this concat puts all items of one operand
                # before those of the next, which no item-by-item order produces
                raise SpintronError("the Verilog target runs one batch item at a time and cannot concatenate "
                                    "along the dynamic batch axis (spin.concat axis 0); the sim target can")
            self.alias(op, np.concatenate([self.addresses[v] for v in op.inputs], axis=get_int(op, "axis")))
        elif isinstance(op, spin.CrossbarLayerOp):
            raise SpintronError(f"layer '{op.layer.data}' is not tiled: run tile-crossbars before emitting Verilog")
        elif isinstance(op, spin.SignedCodesOp):
            self.op_map(op, reference.twos_complement_codes(np.arange(256), get_int(op, "zero_point"),
                                                          get_int(op, "bits")))
        else:
            raise SpintronError(f"the Verilog backend does not support '{op.name}'")

    def finish(self, ret: func.ReturnOp, inputs: list[HostInput]) -> Plan:
        outputs = []
        for value in ret.operands:
            steps = []
            while value in self.host_steps:
                value, op = self.host_steps[value]
                steps.insert(0, op)
            if not isinstance(value.owner, Operation) or value in self.main.args:
                raise SpintronError("the Verilog backend cannot return a network input unchanged")
            dtype = str(ret.operands[len(outputs)].type.element_type)
            outputs.append(HostOutput(self.addresses[value], steps, dtype, shape_of(value)[0] == DYNAMIC))
        if not self.stages:
            raise SpintronError("the network has no operation for the Verilog backend to implement")
        depth = max(2, self.lay_out_buffer(outputs))
        n_in = sum(math.prod(self.shapes[a]) for a in self.main.args)
        return Plan(self.stages, depth, max(self.word_needs), inputs, outputs, n_in)

    def lay_out_buffer(self, outputs: list[HostOutput]) -> int:
        """Share buffer words between values that are never live together (buffer_layout)."""
        starts = np.array([r.start for r in self.regions])

        def regions_of(addresses: np.ndarray) -> np.ndarray:
            addresses = np.asarray(addresses).reshape(-1)
            return np.unique(buffer_layout.region_index(starts, addresses[addresses != PAD]))

        for index, stage in enumerate(self.stages):
            for r in regions_of(stage.reads):
                self.regions[r].last_read = max(self.regions[r].last_read, index)
        for output in outputs:
            for r in regions_of(output.addresses):
                self.regions[r].last_read = FOREVER
        depth = buffer_layout.place(self.regions, fixed=len(self.main.args))
        for stage in self.stages:
            for key in ("SRC", "DST"):
                if key in stage.parameters:
                    stage.parameters[key] = int(buffer_layout.remap(self.regions, np.array([stage.parameters[key]]), PAD)[0])
            for rom in stage.roms.values():
                if rom.width in (WINDOW, ADDRESSES):
                    rom.values = buffer_layout.remap(self.regions, rom.values, PAD)
        for output in outputs:
            output.addresses = buffer_layout.remap(self.regions, output.addresses, PAD)
        return depth


def _refuse_float_unit_ops(module: ModuleOp) -> None:
    """Ops left on the digital float unit have no RTL engine; name the op
    itself rather than the dequantize that feeds it."""
    from spintron_nn.ir.spin import FLOAT_UNIT_ATTR

    for op in module.walk():
        reason = op.attributes.get(FLOAT_UNIT_ATTR)
        if reason is not None:
            raise SpintronError(
                f"the Verilog backend has no engine for '{op.name}', which runs on the "
                f"digital float unit ({getattr(reason, 'data', reason)})"
            )


def plan_design(module: ModuleOp) -> Plan:
    """The hardware plan of a spin module; SpintronError for what RTL cannot do."""
    _refuse_float_unit_ops(module)
    plan = _Planner(main_function(module)).run()
    if plan.word_bits > 64:
        raise SpintronError(f"accumulators need {plan.word_bits} bits, more than the 64 the RTL supports")
    return plan
