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


def load_arrays(path: str | Path, input_names: list[str]) -> list[np.ndarray]:
    """The arrays in ``path`` in the order of ``input_names``."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SpintronError("no such file", path=str(path)) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise SpintronError(f"not a readable .npy/.npz array file ({exc})", path=str(path)) from None
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
    return [np.ascontiguousarray(a, dtype=np.float32) if a.dtype.kind == "f" else a for a in arrays]


def save_outputs(path: str | Path, names: list[str], arrays: list[np.ndarray]) -> None:
    """One output -> .npy; several -> .npz keyed by output name (atomically)."""
    from spintron_nn.tools.atomic import atomic_output_file

    path = Path(path)
    if not path.parent.exists():
        raise SpintronError("output folder does not exist", path=str(path.parent))
    with atomic_output_file(path) as tmp:
        with open(tmp, "wb") as handle:
            if len(arrays) == 1 and path.suffix != ".npz":
                np.save(handle, arrays[0])
            else:
                np.savez(handle, **dict(zip(names, arrays)))
