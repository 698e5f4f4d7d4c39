"""Text form of the IR: ``.mlir`` plus its weights in an ``.npz`` beside it.

``print -> parse -> print`` is a fixed point: weights print as keys
(``#nn.weight<"fc1.weight">``) and are looked up in the ``.npz`` table when
parsing, so the text stays small whatever the model size.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError

from spintron_nn.errors import SpintronError
from spintron_nn.ir import dtypes
from spintron_nn.ir.context import make_context
from spintron_nn.ir.weights import collect_weights, weights_for_parsing


def print_module(module: ModuleOp) -> str:
    out = io.StringIO()
    Printer(stream=out).print_op(module)
    out.write("\n")
    return out.getvalue()


def parse_module(
    text: str, weights: Mapping[str, np.ndarray] | None = None, *, name: str = "<ir>"
) -> ModuleOp:
    """Parse and verify IR text; ``weights`` resolves ``#nn.weight`` keys."""
    try:
        with weights_for_parsing(weights or {}):
            module = Parser(make_context(), text, name).parse_module()
    except ParseError as exc:
        raise SpintronError(f"invalid IR:\n{exc}", path=name) from None
    verify_module(module, name)
    return module


def verify_module(module: ModuleOp, where: str = "<ir>") -> None:
    from xdsl.utils.exceptions import DiagnosticException

    try:
        module.verify()
    except DiagnosticException as exc:
        raise SpintronError(f"IR does not verify: {exc}", path=where) from None


def weights_path_for(mlir_path: Path) -> Path:
    return mlir_path.with_suffix(".npz")


# npz entry naming the ml_dtypes type (bfloat16, float8, int4, ...) of arrays
# stored as raw bits: npz has no such dtypes and would restore them as void.
DTYPE_TAGS = "__nn_dtypes__"


def save_weights(table: Mapping[str, np.ndarray], path: Path) -> None:
    arrays, tags = {}, {}
    for key, array in table.items():
        if key == DTYPE_TAGS:
            raise SpintronError(f'"{DTYPE_TAGS}" is reserved and cannot name a weight')
        if array.dtype in dtypes.EXTENSION_DTYPES.values():
            tags[key] = array.dtype.name
            array = array.view(np.dtype(f"u{array.dtype.itemsize}"))
        arrays[key] = array
    if tags:
        arrays[DTYPE_TAGS] = np.array(json.dumps(tags, sort_keys=True))
    np.savez(path, **arrays)


def load_weights(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            table = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SpintronError(f"cannot read weights: {exc}", path=str(path)) from None
    tags = table.pop(DTYPE_TAGS, None)
    if tags is not None:
        _restore_tagged(table, tags, path)
    return table


def _restore_tagged(table: dict[str, np.ndarray], tags: np.ndarray, path: Path) -> None:
    try:
        names = json.loads(str(tags))
        assert isinstance(names, dict)
    except (ValueError, AssertionError):
        raise SpintronError(f"cannot read weights: {DTYPE_TAGS} is not a JSON table", path=str(path)) from None
    for key, name in names.items():
        dtype = dtypes.EXTENSION_DTYPES.get(name)
        raw = table.get(key)
        if dtype is None or raw is None or raw.dtype != np.dtype(f"u{dtype.itemsize}"):
            raise SpintronError(
                f"cannot read weights: '{key}' is tagged {name!r} but does not hold its bits",
                path=str(path),
            )
        table[key] = raw.view(dtype)


def save_ir(module: ModuleOp, mlir_path: Path) -> None:
    mlir_path = Path(mlir_path)
    mlir_path.write_text(print_module(module))
    save_weights(collect_weights(module), weights_path_for(mlir_path))


def load_ir(mlir_path: Path) -> ModuleOp:
    mlir_path = Path(mlir_path)
    try:
        text = mlir_path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpintronError(f"cannot read IR: {exc}", path=str(mlir_path)) from None
    weights = load_weights(weights_path_for(mlir_path))
    return parse_module(text, weights, name=str(mlir_path))
