"""PyTorch -> ONNX (in memory) -> the ONNX frontend.

A module is exported with ``torch.onnx.export``, either the TorchScript-based
exporter (``dynamo=False``, the default here: it is faster and needs no
onnxscript) or the ``torch.export`` one (``dynamo=True``), with the batch
dimension dynamic in both.  The bytes never touch the disk.

Checkpoints are data, not code: ``.pt``/``.pth`` files are read with
``torch.load(weights_only=True)`` only, which refuses arbitrary pickles, and
need an architecture (a ``.py`` file defining ``build_model()`` and
``example_input()``) to be loaded into.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import re
import sys
import traceback
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnx
from xdsl.dialects.builtin import ModuleOp

from spintron_nn.errors import SpintronError
from spintron_nn.frontend.onnx import import_onnx

CHECKPOINT_SUFFIXES = (".pt", ".pth")


def _torch():
    try:
        import torch
    except ImportError:
        raise SpintronError(
            "PyTorch is not installed (pip install 'spintron-nn-kit[torch]')"
        ) from None
    return torch


def _as_tuple(example_input: Any) -> tuple:
    return tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)


@contextlib.contextmanager
def _silenced_file_descriptors() -> Iterator[None]:
    """Point fds 1 and 2 at /dev/null: torch's C++ code writes there directly."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporters log progress, warnings and graph dumps; a compiler's
    stderr is for its own one-line errors."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with (
            _silenced_file_descriptors(),  # C++ prints, e.g. "Torch IR graph at exception"
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export_to_onnx(
    module: Any,
    example_input: Any,
    *,
    dynamo: bool = False,
    opset: int | None = None,
    where: str | None = None,
) -> onnx.ModelProto:
    """``module`` as an ONNX model with a dynamic batch dimension."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise SpintronError(f"expected a torch.nn.Module, got {type(module).__name__}", path=where)
    if example_input is None:
        raise SpintronError("a torch.nn.Module needs an example input to be exported (example_input=, or "
                            "calibration data as an array, whose first item is taken)", path=where)
    args = _as_tuple(example_input)
    input_names = ["input"] if len(args) == 1 else forward_names(module, len(args))
    module.eval()
    try:
        return _export(torch, module, args, input_names, dynamo, opset)
    except SpintronError:
        raise
    except Exception as exc:  # the exporters raise many types; all mean "cannot export"
        raise SpintronError(f"torch could not export the model to ONNX: {_summary(exc)}", path=where) from exc


def forward_names(module: Any, count: int) -> list[str]:
    """The names of ``forward``'s first ``count`` positional parameters (what a user keys an
    .npz of several inputs by); ``input_0``, ... when the signature does not give them."""
    import inspect

    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters
                  if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= count and len(set(positional[:count])) == count:
        return positional[:count]
    return [f"input_{i}" for i in range(count)]


def _export(
    torch, module, args: tuple, input_names: list[str], dynamo: bool, opset: int | None
) -> onnx.ModelProto:
    with _quiet_exporter(), torch.no_grad():
        if dynamo:
            # torch.export specialises a dimension of size 1; a batch of two
            # copies keeps it symbolic.
            args = tuple(torch.cat([a, a]) if a.shape[0] == 1 else a for a in args)
            program = torch.onnx.export(
                module,
                args,
                dynamo=True,
                input_names=input_names,
                dynamic_shapes=tuple({0: torch.export.Dim.DYNAMIC} for _ in args),
                opset_version=opset,
                verbose=False,
            )
            return program.model_proto
        buffer = io.BytesIO()
        outputs = module(*args)
        n_outputs = len(outputs) if isinstance(outputs, (tuple, list)) else 1
        stem = "output" if "output" not in input_names else "result"  # forward(self, output, ...)
        output_names = [stem] if n_outputs == 1 else [f"{stem}_{i}" for i in range(n_outputs)]
        torch.onnx.export(
            module,
            args,
            buffer,
            dynamo=False,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes={name: {0: "batch"} for name in input_names + output_names},
            opset_version=opset,
        )
        return onnx.load_from_string(buffer.getvalue())


def import_torch_module(
    module: Any, example_input: Any, *, dynamo: bool = False, where: str = "<torch module>"
) -> ModuleOp:
    return import_onnx(export_to_onnx(module, example_input, dynamo=dynamo, where=where), where=where)


def load_python_file(path: Path) -> tuple[Any, Any]:
    """``(build_model(), example_input())`` from a user's model file.

    The file is the user's own code, run as they would run it."""
    path = Path(path)
    name = f"spintron_user_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpintronError("cannot import this Python file", path=str(path))
    user_module = importlib.util.module_from_spec(spec)
    sys.modules[name] = user_module
    try:
        with _user_code("importing the file", path):
            spec.loader.exec_module(user_module)
    finally:
        sys.modules.pop(name, None)
    missing = [f for f in ("build_model", "example_input") if not callable(getattr(user_module, f, None))]
    if missing:
        raise SpintronError(
            f"a model file must define build_model() and example_input(); missing {', '.join(missing)}",
            path=str(path),
        )
    with _user_code("build_model()", path):
        module = user_module.build_model()
    with _user_code("example_input()", path):
        example = user_module.example_input()
    return module, example


def _summary(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


@contextlib.contextmanager
def _user_code(what: str, path: Path) -> Iterator[None]:
    """An exception in the user's file is reported as one line that points
    at the line of their file (``--debug`` shows the whole traceback)."""
    try:
        yield
    except SyntaxError as exc:
        raise SpintronError(f"syntax error line {exc.lineno}: {exc.msg}", path=str(path)) from exc
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        where = f" (line {frames[-1].lineno})" if frames else ""
        raise SpintronError(f"{what} raised {_summary(exc)}{where}", path=str(path)) from exc


def _unpickling_reason(exc: Exception) -> str:
    # torch's message goes on to suggest weights_only=False, which is exactly
    # what must not be done with an untrusted file; keep only the cause.
    text = " ".join(str(exc).split())
    match = re.search(r"WeightsUnpickler error: (.*?)(?: was not an allowed| Check the| Please use|$)", text)
    if match:
        return match.group(1).rstrip(". ")
    return f"{type(exc).__name__}: {text[:120]}"


def load_state_dict(path: Path) -> dict:
    """A checkpoint's state_dict, read with ``weights_only=True`` only."""
    torch = _torch()
    where = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pickle-protocol notes are not the user's concern
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, ... all mean "not a safe checkpoint"
        raise SpintronError(
            f"not a weights-only PyTorch checkpoint, refused without running it ({_unpickling_reason(exc)})",
            path=where,
        ) from None
    for key in ("state_dict", "model_state_dict", "model"):  # common checkpoint layouts
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise SpintronError("the checkpoint holds no state_dict", path=where)
    return loaded


def load_checkpoint(path: Path, architecture: Path | None) -> tuple[Any, Any]:
    """The architecture's module with the checkpoint's weights, and its example."""
    state = load_state_dict(path)  # refuse unsafe files before anything else
    if architecture is None:
        raise SpintronError(
            "a checkpoint holds only weights; give the architecture as a .py file "
            "defining build_model() and example_input()",
            path=str(path),
        )
    module, example = load_python_file(architecture)
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise SpintronError(f"the weights do not fit the architecture: {reason}", path=str(path)) from None
    return module, example
