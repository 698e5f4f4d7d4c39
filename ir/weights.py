"""Weights as numpy buffers referenced from the IR.

xDSL's text parser handles a few thousand ops per second, so a tensor of a
million elements must never pass through it.  A weight is therefore an
attribute that *carries* its numpy array in memory and prints only a key,
``#nn.weight<"conv1.weight">``.  On disk the arrays live in an ``.npz`` next to
the ``.mlir``; while parsing, the keys are resolved against that table (see
:func:`weights_for_parsing`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping

import numpy as np
from xdsl.ir import Data, Operation
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer

from spintron_nn.errors import SpintronError


class WeightBlob:
    """An immutable named numpy array.

    Equality is by key and content so that attribute comparison in xDSL (used
    by CSE-like rewrites and tests) is meaningful; the hash uses only the key.
    """

    __slots__ = ("key", "array")

    def __init__(self, key: str, array: np.ndarray):
        if not key or any(c in key for c in '"\\\n'):
            raise ValueError(f"invalid weight key {key!r}")
        array = np.array(array, copy=True)  # own the buffer: callers may mutate theirs
        array.flags.writeable = False
        self.key = key
        self.array = array

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WeightBlob):
            return NotImplemented
        return (
            self.key == other.key
            and self.array.dtype == other.array.dtype
            and self.array.shape == other.array.shape
            and np.array_equal(self.array, other.array)
        )

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"WeightBlob({self.key!r}, {self.array.dtype}{list(self.array.shape)})"


_parse_table: contextvars.ContextVar[Mapping[str, np.ndarray] | None] = (
    contextvars.ContextVar("spintron_weight_table", default=None)
)


@contextlib.contextmanager
def weights_for_parsing(table: Mapping[str, np.ndarray]) -> Iterator[None]:
    """Make ``table`` the source of ``#nn.weight<"key">`` while parsing."""
    token = _parse_table.set(table)
    try:
        yield
    finally:
        _parse_table.reset(token)


@irdl_attr_definition
class WeightAttr(Data[WeightBlob]):
    """``#nn.weight<"key">``: a reference to a numpy array held in memory."""

    name = "nn.weight"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> WeightBlob:
        with parser.in_angle_brackets():
            pos = parser.pos
            key = parser.parse_str_literal()
        table = _parse_table.get()
        if table is None or key not in table:
            parser.raise_error(
                f'weight "{key}" is not in the weights file loaded with this IR',
                pos,
                parser.pos,
            )
        return WeightBlob(key, table[key])

    def print_parameter(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string_literal(self.data.key)

    @property
    def array(self) -> np.ndarray:
        return self.data.array

    @property
    def key(self) -> str:
        return self.data.key


def collect_weights(root: Operation) -> dict[str, np.ndarray]:
    """All weights referenced under ``root``, keyed by name.

    Two different arrays under one key would silently corrupt a saved design,
    so that is an error here rather than a surprise after reloading.
    """
    table: dict[str, WeightBlob] = {}
    for op in root.walk():
        for attr in list(op.attributes.values()) + list(op.properties.values()):
            if isinstance(attr, WeightAttr):
                blob = attr.data
                seen = table.get(blob.key)
                if seen is not None and seen != blob:
                    raise SpintronError(
                        f'two different weights share the key "{blob.key}"'
                    )
                table[blob.key] = blob
    return {key: blob.array for key, blob in table.items()}


def fresh_weight_key(root: Operation, base: str) -> str:
    """A key not yet used under ``root``, derived from ``base``."""
    used = set(collect_weights(root))
    if base not in used:
        return base
    n = 1
    while f"{base}.{n}" in used:
        n += 1
    return f"{base}.{n}"
