"""Frontends: a model from any supported source as an ``nn`` module.

``load_model`` accepts
* an ``onnx.ModelProto`` or a path to an ``.onnx`` file (external data is read
  from the model's folder, after the safety checks of ``safety.py``);
* a ``torch.nn.Module`` with ``example_input``;
* a path to a ``.py`` file defining ``build_model()`` and ``example_input()``;
* a path to a ``.pt``/``.pth`` state_dict or checkpoint with ``architecture``
  (a ``.py`` file as above); it is read with ``weights_only=True`` only.

The result is ``builtin.module { func.func @main }`` with ``nn.input_names``
and ``nn.output_names`` (see docs/frontend.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from spintron_nn.errors import SpintronError


def load_model(
    source: Any,
    *,
    example_input: Any = None,
    architecture: str | Path | None = None,
    dynamo: bool = False,
) -> ModuleOp:
    """Import ``source`` into the ``nn`` dialect (see the module docstring).

    ``dynamo`` chooses torch's exporter for PyTorch sources."""
    import onnx

    if isinstance(source, onnx.ModelProto):
        from spintron_nn.frontend.onnx import import_onnx

        return import_onnx(source, where="<ModelProto>")
    if isinstance(source, (str, Path)):
        return _load_path(Path(source), example_input, architecture, dynamo)
    if _is_torch_module(source):
        from spintron_nn.frontend.torch import import_torch_module

        return import_torch_module(source, example_input, dynamo=dynamo)
    raise SpintronError(
        f"cannot load a model from a {type(source).__name__}; give an ONNX model, "
        "a torch.nn.Module or a path (.onnx, .py, .pt/.pth)"
    )


def _is_torch_module(source: Any) -> bool:
    # Checked by class name first so that ONNX-only users never import torch.
    if not any(c.__module__.startswith("torch") for c in type(source).__mro__):
        return False
    import torch

    return isinstance(source, torch.nn.Module)


def _load_path(path: Path, example_input: Any, architecture: Any, dynamo: bool) -> ModuleOp:
    where = str(path)
    if not path.exists():
        raise SpintronError("no such file", path=where)
    if path.is_dir():
        raise SpintronError("is a folder, not a model file", path=where)
    suffix = path.suffix.lower()
    if suffix == ".py":
        from spintron_nn.frontend.torch import import_torch_module, load_python_file

        module, example = load_python_file(path)
        return import_torch_module(
            module, example if example_input is None else example_input, dynamo=dynamo, where=where
        )
    if suffix in (".pt", ".pth"):
        from spintron_nn.frontend.torch import import_torch_module, load_checkpoint

        module, example = load_checkpoint(path, Path(architecture) if architecture else None)
        return import_torch_module(
            module, example if example_input is None else example_input, dynamo=dynamo, where=where
        )
    from spintron_nn.frontend.onnx import import_onnx
    from spintron_nn.frontend.safety import read_model_file

    model = read_model_file(path)
    return import_onnx(model, where=where, base_dir=path.resolve().parent)


__all__ = ["load_model"]
