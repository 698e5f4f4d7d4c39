"""``schedule{arrays=0}``: assign tiles to arrays and annotate order and latency.

Weight-stationary mapping: every tile is programmed once into its own array
(``array_id`` in program order); ``arrays`` > 0 is the number of arrays the
chip has, and a design that needs more is an error rather than a silent
reprogramming schedule.  Layers run one after another in program order
(``spin.stage`` on each tile = its layer's position); the tiles of one layer
run in parallel.  Latency model (stated, simple): a tile needs ``input_bits``
read cycles per input vector (1-bit DAC, every column and slice converted in
the same cycle), and a layer reads ``vectors`` input vectors per inference
(1 for Gemm/MatMul, OH*OW for a conv).  Written attributes:

* on each tile: ``spin.stage``, ``spin.cycles`` (= input_bits * vectors);
* on ``@main``: ``spin.arrays``, ``spin.stages``, ``spin.cycles_per_inference``
  (sum over layers of their slowest tile).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.ir.spin import get_int, int_attr


def vectors_per_item(tile: spin.CrossbarTileOp) -> int:
    """Input vectors the tile reads per inference (patches for a conv)."""
    owner = tile.input.owner
    if isinstance(owner, spin.Im2ColOp):
        _, _, h, w = spin.shape_of(owner.input)
        kh, kw = spin.get_ints(owner, "kernel_shape")
        oh, ow = spin.conv_output_hw((h, w), (kh, kw), spin.get_ints(owner, "pads"),
                                     spin.get_ints(owner, "strides"), spin.get_ints(owner, "dilations"))
        return oh * ow
    return 1


def schedule_module(module: ModuleOp, *, arrays: int = 0) -> None:
    if arrays < 0:
        raise SpintronError(f"schedule: arrays must be >= 0, got {arrays}")
    if any(isinstance(op, spin.CrossbarLayerOp) for op in module.walk()):
        raise SpintronError("schedule: the module has untiled crossbar layers: run tile-crossbars first")
    tiles = [op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)]
    if arrays and len(tiles) > arrays:
        raise SpintronError(f"schedule: the design needs {len(tiles)} arrays, the chip has {arrays}")
    stages: dict[str, int] = {}
    layer_cycles: dict[str, int] = {}
    for array_id, tile in enumerate(tiles):
        layer = tile.layer.data
        stage = stages.setdefault(layer, len(stages))
        cycles = get_int(tile, "input_bits") * vectors_per_item(tile)
        tile.properties["array_id"] = int_attr(array_id)
        tile.attributes["spin.stage"] = int_attr(stage)
        tile.attributes["spin.cycles"] = int_attr(cycles)
        layer_cycles[layer] = max(cycles, layer_cycles.get(layer, 0))
    main = main_function(module)
    main.attributes["spin.arrays"] = int_attr(len(tiles))
    main.attributes["spin.stages"] = int_attr(len(stages))
    main.attributes["spin.cycles_per_inference"] = int_attr(sum(layer_cycles.values()))


@dataclass(frozen=True)
class SchedulePass(ModulePass):
    """Assign tiles to arrays and annotate stage order and read-cycle latency."""

    name = "schedule"

    arrays: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        schedule_module(op, arrays=self.arrays)
