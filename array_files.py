"""Reading and writing user array files (``--input``, ``--calibration``, ``--output``).

``.npy`` holds one array (the model's single input); ``.npz`` holds one array
per model input, keyed by the ONNX input name.  Pickled object arrays are
refused: loading them would run code from the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from spintron_nn.errors import SpintronError


def read_array_file(path: str | Path):
    """``np.load(path)`` without pickles: an array (.npy) or an archive (.npz); a missing,
    empty, truncated or foreign file is a one-line error naming it."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SpintronError("no such file", path=str(path)) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise SpintronError(f"not a readable .npy/.npz array file ({exc})", path=str(path)) from None


def load_arrays(path: str | Path, input_names: list[str]) -> list[np.ndarray]:
    """The arrays in ``path`` in the order of ``input_names``."""
    path = Path(path)
    data = read_array_file(path)
    if isinstance(data, np.ndarray):
        if len(input_names) != 1:
            raise SpintronError(
                f"the model has {len(input_names)} inputs ({', '.join(input_names)}); "
                "give them in an .npz keyed by input name",
                path=str(path),
            )
        arrays = [data]
    else:
        with data:
            missing = [name for name in input_names if name not in data.files]
            if missing and len(input_names) == 1 and len(data.files) == 1:
                arrays = [data[data.files[0]]]
            elif missing:
                raise SpintronError(
                    f"missing input(s) {', '.join(missing)} (file has {', '.join(data.files) or 'nothing'})",
                    path=str(path),
                )
            else:
                arrays = [data[name] for name in input_names]
    for name, array in zip(input_names, arrays):
        if array.dtype.kind not in "fiub":
            raise SpintronError(f"input '{name}' has unsupported dtype {array.dtype}", path=str(path))
    # asarray(order="C"), not ascontiguousarray: that one makes a 0-d
    # (scalar) input 1-d, which the model's shape check then refuses.
    return [np.asarray(a, dtype=np.float32, order="C") if a.dtype.kind == "f" else a for a in arrays]


def as_input_list(data, names: list[str], *, what: str = "input") -> list:
    """One array (numpy, torch tensor, anything with ``__array__``), a
    list/tuple of them, or a dict keyed by input name -> a list with one entry
    per model input, in ``names`` order.  A tensor is one input, not a sequence
    of per-item rows.  (How many inputs there must be is checked_inputs' job.)"""
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise SpintronError(f"missing {what}(s): {', '.join(missing)}")
        return [as_array(data[n]) for n in names]
    if isinstance(data, (list, tuple)):
        return [as_array(item) for item in data]
    return [as_array(data)]


def as_array(value) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_one_batch(sizes: dict[str, int], *, what: str = "input", path: str | Path | None = None) -> None:
    """The inputs named in ``sizes`` (name -> leading dimension) run together,
    item by item, so they must have the same number of items."""
    if len(set(sizes.values())) > 1:
        found = ", ".join(f"'{name}' {size}" for name, size in sizes.items())
        raise SpintronError(
            f"{what}s need one batch size (leading dimension) across the model's inputs; got {found}",
            path=str(path) if path is not None else None,
        )


def checked_inputs(
    module, arrays: list[np.ndarray], *, path: str | Path | None = None, what: str = "input"
) -> list[np.ndarray]:
    """``arrays`` checked against @main's arguments before any work, so bad
    data is a one-line error naming ``path`` instead of a crash deep in a pass
    or a silently meaningless result: float arguments take floating arrays
    (cast to float32; integers or bools are refused, they are usually labels
    or indices given by mistake), shapes must fit, the batch must not be
    empty, and values must be finite (NaN/inf would poison calibration ranges
    and every downstream integer); inputs with a dynamic batch take the same
    number of items."""
    from xdsl.dialects.builtin import TensorType

    from spintron_nn.ir import nn
    from spintron_nn.ir.dtypes import numpy_dtype
    from spintron_nn.ir.module_info import fixed_batch, input_names, main_function, runs_item_by_item

    where = str(path) if path is not None else None
    names = input_names(module)
    main = main_function(module)
    types = main.function_type.inputs.data
    singly, declared_batch = runs_item_by_item(main), fixed_batch(main)
    if len(arrays) != len(types):
        raise SpintronError(f"the model takes {len(types)} {what}(s), got {len(arrays)}", path=where)
    checked = []
    for name, array, typ in zip(names, arrays, types, strict=True):
        array = np.asarray(array)
        assert isinstance(typ, TensorType)
        wanted = numpy_dtype(typ.element_type)
        if wanted.kind == "f" and array.dtype.kind != "f":
            raise SpintronError(
                f"{what} '{name}' is {array.dtype}, the model takes {wanted} (convert it with .astype(np.float32))",
                path=where,
            )
        expected = typ.get_shape()
        if not fits_shape(array.shape, expected, singly):
            raise SpintronError(
                f"{what} '{name}' has shape {list(array.shape)}, the model expects {nn.shape_text(expected)}"
                + (f" (a static leading size of {declared_batch}, which need not be a batch: re-export the model "
                   "with a dynamic batch axis to run other counts; batch-1 exports run item by item)"
                   if declared_batch not in (None, 1) else ""),
                path=where,
            )
        if array.size == 0:
            raise SpintronError(f"{what} '{name}' is empty (shape {list(array.shape)})", path=where)
        if array.dtype.kind == "f":
            if wanted.kind == "f":
                array = np.asarray(array, dtype=wanted, order="C")  # keeps 0-d inputs 0-d
            if not np.all(np.isfinite(array)):
                raise SpintronError(f"{what} '{name}' contains NaN or infinite values", path=where)
        checked.append(array)
    leading = nn.DYNAMIC, *((1,) if singly else ())
    batched = [i for i, typ in enumerate(types) if typ.get_shape() and typ.get_shape()[0] in leading]
    check_one_batch({names[i]: len(checked[i]) for i in batched}, what=what, path=where)
    if singly and len(checked[batched[0]]) != 1:
        _check_outputs_join(main, len(checked[batched[0]]), what, where)
    return checked


def _check_outputs_join(main, items: int, what: str, where: str | None) -> None:
    """A batch-1 export's items run one at a time and its outputs are joined along their
    leading axis, which must then be the item's (size 1)."""
    for typ in main.function_type.outputs.data:
        shape = typ.get_shape()
        if not shape or shape[0] != 1:
            raise SpintronError(f"the model takes one item at a time (a batch-1 export) but has an output of shape "
                                f"{list(shape)}, whose items cannot be joined: give exactly 1 {what}, not {items}",
                                path=where)


def fits_shape(actual, declared, item_by_item: bool) -> bool:
    """An array of shape ``actual`` fits an argument declared ``declared``: a dynamic dimension
    takes any size, and with ``item_by_item`` (a batch-1 export, ``module_info.runs_item_by_item``)
    the leading 1 takes any number of items, which then run one at a time (:func:`one_item_at_a_time`)."""
    from xdsl.dialects.builtin import DYNAMIC_INDEX

    return len(actual) == len(declared) and all(
        d == DYNAMIC_INDEX or d == a or (i == 0 and item_by_item and d == 1 and a > 0)
        for i, (a, d) in enumerate(zip(actual, declared)))


def one_item_at_a_time(main, arrays: list[np.ndarray], run) -> list[np.ndarray]:
    """``run(arrays, first_item)`` once per item of a batch-1 ``@main`` given several (as
    :func:`fits_shape` allows), the outputs joined along their leading axis; else once."""
    from spintron_nn.ir.module_info import runs_item_by_item

    items = next((len(a) for a in arrays if np.ndim(a)), None)
    if not runs_item_by_item(main) or items is None or items == 1:
        return run(arrays, 0)
    parts = [run([a[item:item + 1] for a in arrays], item) for item in range(items)]
    return [np.concatenate(pieces, axis=0) for pieces in zip(*parts)]


def check_output_name(path: str | Path, names: list[str]) -> None:
    """``.npy`` for a single output, ``.npz`` for any number (docs/cli.md);
    checked before the run so a long simulation does not end in a refusal."""
    path = Path(path)
    if path.suffix not in (".npy", ".npz"):
        raise SpintronError("an output file name must end in .npy (one output) or .npz", path=str(path))
    if path.suffix == ".npy" and len(names) != 1:
        raise SpintronError(
            f"the model has {len(names)} outputs ({', '.join(names)}); write them to an .npz",
            path=str(path),
        )
    if not path.parent.is_dir():
        raise SpintronError("output folder does not exist", path=str(path.parent))


def save_outputs(path: str | Path, names: list[str], arrays: list[np.ndarray]) -> None:
    """One output -> .npy; several -> .npz keyed by output name (atomically)."""
    from spintron_nn.tools.atomic import atomic_output_file

    path = Path(path)
    check_output_name(path, names)
    with atomic_output_file(path) as tmp:
        with open(tmp, "wb") as handle:
            if path.suffix == ".npy":
                np.save(handle, arrays[0])
            else:
                np.savez(handle, **dict(zip(names, arrays)))
