"""``schedule{arrays=0 mtj-config=""}``: assign tiles to arrays and annotate order and latency.

Weight-stationary mapping: every tile is programmed once into its own array
(``array_id`` in program order); ``arrays`` > 0 is the number of arrays the
chip has, and a design that needs more is an error rather than a silent
reprogramming schedule.  Stages run one after another in program order: a
crossbar layer is one stage (its tiles run in parallel), and so is every op
that lower-to-spin left on the digital float unit (``spin.float_unit``).
Latency model (stated, simple), in read cycles:

* a tile needs ``input_bits`` read cycles per input vector (1-bit DAC, every
  column and slice converted in the same cycle), and a layer reads
  ``vectors`` input vectors per inference (1 for Gemm/MatMul, OH*OW for a conv);
* a float-unit op needs its fp32 multiply-adds (``estimate_energy.float_unit_ops``,
  the count its energy is booked for) on ``digital.lanes`` pipelined lanes:
  ``digital.fp32_fma_latency - 1 + ceil(ops / lanes)`` clock cycles at
  ``digital.clock_frequency``, rounded up to whole read cycles of
  ``crossbar.read_time`` (the stage after it starts on a read-cycle edge).

The integer digital ops (shift-add, requant, pools, LUTs) are taken to overlap
the reads and get no stage.  Written attributes:

* on each tile and float-unit op: ``spin.stage``, ``spin.cycles``;
* on ``@main``: ``spin.arrays``, ``spin.stages``, ``spin.cycles_per_inference``
  (sum over stages of their slowest op).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from spintron_nn.energy.params import ParameterTable, load_parameters
from spintron_nn.parameters import pass_parameter_table
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.ir.spin import FLOAT_UNIT_ATTR, get_int, int_attr
from spintron_nn.passes.estimate_energy import float_unit_ops


def vectors_per_item(tile: spin.CrossbarTileOp) -> int:
    """Input vectors the tile reads per inference (patches for a conv)."""
    owner = tile.input.owner
    if isinstance(owner, spin.SignedCodesOp):  # row for row the patches it converts
        owner = owner.input.owner
    if isinstance(owner, spin.Im2ColOp):
        _, _, h, w = spin.shape_of(owner.input)
        kh, kw = spin.get_ints(owner, "kernel_shape")
        oh, ow = spin.conv_output_hw((h, w), (kh, kw), spin.get_ints(owner, "pads"),
                                     spin.get_ints(owner, "strides"), spin.get_ints(owner, "dilations"))
        return oh * ow
    return 1


def float_unit_read_cycles(op: Operation, table: ParameterTable) -> int:
    """Read cycles an op on the digital float unit takes (module docstring)."""
    lanes = int(table.value("digital.lanes"))
    clock_cycles = int(table.value("digital.fp32_fma_latency")) - 1 + math.ceil(float_unit_ops(op) / lanes)
    clocks_per_read = table.value("digital.clock_frequency") * table.value("crossbar.read_time")
    # the small epsilon keeps an exact multiple (10 clocks in a 10-clock read) from rounding up
    return max(1, math.ceil(clock_cycles / clocks_per_read - 1e-9))


def _stage_key_and_cycles(op: Operation, table: ParameterTable) -> tuple[object, int] | None:
    """What shares a stage with ``op`` (a tile's layer name; a float-unit op
    is its own stage) and the read cycles ``op`` needs; None: no stage."""
    if isinstance(op, spin.CrossbarTileOp):
        return op.layer.data, get_int(op, "input_bits") * vectors_per_item(op)
    if FLOAT_UNIT_ATTR in op.attributes:
        return op, float_unit_read_cycles(op, table)
    return None


def schedule_module(module: ModuleOp, *, arrays: int = 0, table: ParameterTable | None = None) -> None:
    if arrays < 0:
        raise SpintronError(f"schedule: arrays must be >= 0, got {arrays}")
    if any(isinstance(op, spin.CrossbarLayerOp) for op in module.walk()):
        raise SpintronError("schedule: the module has untiled crossbar layers: run tile-crossbars first")
    tiles = [op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)]
    if arrays and len(tiles) > arrays:
        raise SpintronError(f"schedule: the design needs {len(tiles)} arrays, the chip has {arrays}")
    table = table or load_parameters()
    for array_id, tile in enumerate(tiles):
        tile.properties["array_id"] = int_attr(array_id)
    stages: dict[object, int] = {}
    stage_cycles: dict[object, int] = {}
    for op in module.walk():
        found = _stage_key_and_cycles(op, table)
        if found is None:
            continue
        key, cycles = found
        op.attributes["spin.stage"] = int_attr(stages.setdefault(key, len(stages)))
        op.attributes["spin.cycles"] = int_attr(cycles)
        stage_cycles[key] = max(cycles, stage_cycles.get(key, 0))
    main = main_function(module)
    main.attributes["spin.arrays"] = int_attr(len(tiles))
    main.attributes["spin.stages"] = int_attr(len(stages))
    main.attributes["spin.cycles_per_inference"] = int_attr(sum(stage_cycles.values()))


@dataclass(frozen=True)
class SchedulePass(ModulePass):
    """Assign tiles to arrays and annotate stage order and read-cycle latency."""

    name = "schedule"

    arrays: int = 0
    mtj_config: str = ""  # TOML file of parameter overrides (the float unit's clock, lanes, pipeline)
    parameters: str = ""  # "name=value,name=value" overrides applied after mtj_config

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        schedule_module(op, arrays=self.arrays, table=pass_parameter_table(self.mtj_config, self.parameters))
