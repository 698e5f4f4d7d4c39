"""Facts about a model module that the CLI, the API and the backends need."""

from __future__ import annotations

from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp

from spintron_nn.errors import SpintronError


def main_function(module: ModuleOp) -> FuncOp:
    for op in module.ops:
        if isinstance(op, FuncOp) and op.sym_name.data == "main":
            return op
    raise SpintronError("the IR has no func.func @main")


def _names(func: FuncOp, attr_name: str, count: int, prefix: str) -> list[str]:
    attr = func.attributes.get(attr_name)
    if isinstance(attr, ArrayAttr) and len(attr.data) == count:
        return [a.data for a in attr.data if isinstance(a, StringAttr)]
    return [f"{prefix}{i}" for i in range(count)]


def input_names(module: ModuleOp) -> list[str]:
    func = main_function(module)
    return _names(func, "nn.input_names", len(func.function_type.inputs.data), "input")


def output_names(module: ModuleOp) -> list[str]:
    func = main_function(module)
    return _names(func, "nn.output_names", len(func.function_type.outputs.data), "output")


def set_io_names(module: ModuleOp, inputs: list[str], outputs: list[str]) -> None:
    func = main_function(module)
    func.attributes["nn.input_names"] = ArrayAttr([StringAttr(n) for n in inputs])
    func.attributes["nn.output_names"] = ArrayAttr([StringAttr(n) for n in outputs])


def count_ops(module: ModuleOp) -> dict[str, int]:
    counts: dict[str, int] = {}
    for op in module.walk():
        counts[op.name] = counts.get(op.name, 0) + 1
    return counts


def fixed_batch(main: FuncOp) -> int | None:
    """The static leading dimension of a fixed-batch model (e.g. exported without a dynamic
    batch axis), None if dynamic."""
    from xdsl.dialects.builtin import DYNAMIC_INDEX

    leading = {t.get_shape()[0] for t in main.function_type.inputs.data if t.get_shape()}
    # one static leading size shared by every input; with a dynamic-batch input beside it, a
    # static one ([4] bias) is a constant-like argument, not the batch
    return leading.pop() if len(leading) == 1 and DYNAMIC_INDEX not in leading else None


def runs_item_by_item(main: FuncOp) -> bool:
    """A batch-1 export (every input's leading dimension a static 1): its items are
    independent, so any number of them runs one at a time.  A larger static leading size may
    not be a batch at all (a sequence a softmax runs over), so such a model takes exactly its
    declared inputs."""
    return fixed_batch(main) == 1
