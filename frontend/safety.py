"""Reading an ONNX file without trusting it.

A model file is untrusted input.  Everything here happens *before* the bulk
of it is used: the protobuf is parsed without its external data, every
external-data location is checked to stay inside the model's folder (no
``../``, no absolute path, no symlink or hardlink that leads elsewhere), and
every tensor's declared size is compared with the bytes that back it before
anything of that size is allocated.  onnx's own ``load_external_data_for_model``
is not used because it reads first and checks less.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper

from spintron_nn.errors import SpintronError

# No tensor a crossbar compiler can place is anywhere near this; a larger
# declaration is a corrupt or hostile file, refused before allocation.
MAX_TENSOR_BYTES = 1 << 30
MAX_TOTAL_BYTES = 4 << 30
MAX_MODEL_FILE_BYTES = 2 << 30  # protobuf cannot parse more; reading it would be waste
MAX_OPSET_VERSION = 1000  # onnx is at 2x today; beyond this it is corruption


def parse_model_bytes(data: bytes, where: str) -> onnx.ModelProto:
    """Parse a serialized model; any decoding failure is the user's file."""
    if not data:
        raise SpintronError("empty file, not an ONNX model", path=where)
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SpintronError(
            f"not a valid ONNX model (protobuf does not parse: {exc})", path=where
        ) from None
    if not model.HasField("graph") or not model.opset_import:
        # Random bytes occasionally decode as an (almost empty) protobuf.
        raise SpintronError(
            "not a valid ONNX model (no graph or no opset_import)", path=where
        )
    return model


def check_structure(model: onnx.ModelProto, where: str) -> None:
    """What the rest of the import takes for granted: text names, sane opsets."""
    _check_names_are_text(model, where)
    for entry in model.opset_import:
        if not 1 <= entry.version <= MAX_OPSET_VERSION:
            raise SpintronError(
                f"not a valid ONNX model (opset {entry.version} for domain "
                f"'{entry.domain or 'ai.onnx'}')",
                path=where,
            )


def _check_names_are_text(model: onnx.ModelProto, where: str) -> None:
    """The protobuf library hands out ``bytes`` for a string field that is
    not UTF-8 (a corrupt file); every name must be ``str`` from here on."""
    graph = model.graph
    names = [e.domain for e in model.opset_import]
    names += [v.name for v in (*graph.input, *graph.output, *graph.initializer)]
    for node in graph.node:
        names += [node.op_type, node.domain, node.name, *node.input, *node.output]
        names += [a.name for a in node.attribute]
    if any(not isinstance(name, str) for name in names):
        raise SpintronError(
            "not a valid ONNX model (names that are not UTF-8 text)", path=where
        )


def read_model_file(path: Path) -> onnx.ModelProto:
    """Parse ``path`` without its external data (see :func:`load_external_data`)."""
    where = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_MODEL_FILE_BYTES:
            raise SpintronError(
                f"{size} bytes is more than protobuf's 2 GiB limit for an ONNX file; "
                "keep the weights as external data beside it",
                path=where,
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SpintronError(f"cannot read: {exc.strerror}", path=where) from None
    return parse_model_bytes(data, where)


# --------------------------------------------------------------------------
# declared sizes
# --------------------------------------------------------------------------


def _element_size(data_type: int, where: str, name: str) -> int:
    try:
        np_type = helper.tensor_dtype_to_np_dtype(data_type)
    except (KeyError, ValueError):
        raise SpintronError(
            f"tensor '{name}' has unknown data type {data_type}", path=where
        ) from None
    if data_type == TensorProto.STRING:
        raise SpintronError(f"tensor '{name}' holds strings", path=where)
    return np.dtype(np_type).itemsize


def declared_nbytes(tensor: TensorProto, where: str) -> int:
    """Bytes the tensor's dims and type call for; refuses absurd declarations.

    Python ints do not overflow, so a product of huge dims is computed
    exactly and compared, never allocated."""
    count = 1
    for dim in tensor.dims:
        if dim < 0:
            raise SpintronError(
                f"tensor '{tensor.name}' has a negative dimension {dim}", path=where
            )
        count *= dim
    nbytes = count * _element_size(tensor.data_type, where, tensor.name)
    if nbytes > MAX_TENSOR_BYTES:
        raise SpintronError(
            f"tensor '{tensor.name}' declares {list(tensor.dims)} "
            f"({nbytes} bytes), more than the {MAX_TENSOR_BYTES} allowed",
            path=where,
        )
    return nbytes


_TYPED_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data")


def _stored_nbytes(tensor: TensorProto, element_size: int) -> int | None:
    """Bytes actually present inline, or None for external data."""
    if tensor.data_location == TensorProto.EXTERNAL:
        return None
    if tensor.HasField("raw_data"):
        return len(tensor.raw_data)
    for field in _TYPED_FIELDS:
        values = getattr(tensor, field)
        if len(values):
            # int32_data also packs 8/16-bit types one per entry
            return len(values) * element_size
    return 0


def _all_tensors(graph: onnx.GraphProto):
    """Every TensorProto in the graph: initializers and node attributes,
    including those of nested subgraphs."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _all_tensors(attr.g)
            for sub in attr.graphs:
                yield from _all_tensors(sub)


def check_declared_sizes(model: onnx.ModelProto, where: str) -> None:
    total = 0
    for tensor in _all_tensors(model.graph):
        nbytes = declared_nbytes(tensor, where)
        total += nbytes
        if total > MAX_TOTAL_BYTES:
            raise SpintronError(
                f"tensors declare more than {MAX_TOTAL_BYTES} bytes in total",
                path=where,
            )
        element_size = _element_size(tensor.data_type, where, tensor.name)
        stored = _stored_nbytes(tensor, element_size)
        if stored is not None and stored and stored != nbytes:
            raise SpintronError(
                f"tensor '{tensor.name}' declares {list(tensor.dims)} "
                f"({nbytes} bytes) but holds {stored} bytes",
                path=where,
            )


# --------------------------------------------------------------------------
# external data
# --------------------------------------------------------------------------


def _external_fields(tensor: TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def safe_external_path(base_dir: Path, location: str, where: str, name: str) -> Path:
    """Resolve ``location`` inside ``base_dir`` or refuse, before any read."""

    def refuse(reason: str) -> SpintronError:
        return SpintronError(
            f"external data of tensor '{name}' at '{location}' {reason}; "
            "external data must be a plain file inside the model's folder",
            path=where,
        )

    if not location or "\0" in location:
        raise refuse("is not a valid file name")
    if os.path.isabs(location) or location.startswith(("/", "\\")) or ":" in location:
        raise refuse("is an absolute path")
    parts = Path(location.replace("\\", "/")).parts
    if ".." in parts:
        raise refuse("leaves the model's folder (..)")
    base = base_dir.resolve()
    candidate = base.joinpath(*parts)
    # Any symlink on the way is refused, even one that stays inside: its
    # target can change between this check and the read.
    probe = base
    for part in parts:
        probe = probe / part
        if probe.is_symlink():
            raise refuse("goes through a symbolic link")
    if not candidate.resolve().is_relative_to(base):
        raise refuse("leaves the model's folder")
    try:
        info = candidate.lstat()
    except OSError:
        raise refuse("does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise refuse("is not a regular file")
    if info.st_nlink > 1:
        # A hardlink makes a file outside the folder appear inside it.
        raise refuse("has more than one hard link")
    return candidate


def _read_exactly(path: Path, offset: int, length: int, where: str, name: str) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        size = os.fstat(fd).st_size
        if offset + length > size:
            raise SpintronError(
                f"external data of tensor '{name}' needs bytes {offset}..{offset + length} "
                f"of '{path.name}', which has only {size}",
                path=where,
            )
        os.lseek(fd, offset, os.SEEK_SET)
        chunks, remaining = [], length
        while remaining:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_external_data(model: onnx.ModelProto, base_dir: Path | None, where: str) -> None:
    """Replace every external reference by its bytes, after all checks."""
    external = [
        t for t in _all_tensors(model.graph) if t.data_location == TensorProto.EXTERNAL
    ]
    if not external:
        return
    if base_dir is None:
        raise SpintronError(
            "the model refers to external data but was not loaded from a file; "
            "load it from its path so the data can be found beside it",
            path=where,
        )
    # Check every reference before reading any of them.
    plans = []
    for tensor in external:
        fields = _external_fields(tensor)
        nbytes = declared_nbytes(tensor, where)
        path = safe_external_path(base_dir, fields.get("location", ""), where, tensor.name)
        try:
            offset = int(fields.get("offset", "0"))
            length = int(fields.get("length", str(nbytes)))
        except ValueError:
            raise SpintronError(
                f"external data of tensor '{tensor.name}' has a non-integer offset/length",
                path=where,
            ) from None
        if offset < 0 or length != nbytes:
            raise SpintronError(
                f"external data of tensor '{tensor.name}' declares {length} bytes at "
                f"offset {offset}, but its shape {list(tensor.dims)} needs {nbytes}",
                path=where,
            )
        if offset + length > path.stat().st_size:
            raise SpintronError(
                f"external data of tensor '{tensor.name}' needs bytes "
                f"{offset}..{offset + length} of '{path.name}', which has only "
                f"{path.stat().st_size}",
                path=where,
            )
        plans.append((tensor, path, offset, length))
    for tensor, path, offset, length in plans:
        tensor.raw_data = _read_exactly(path, offset, length, where, tensor.name)
        del tensor.external_data[:]
        tensor.data_location = TensorProto.DEFAULT
