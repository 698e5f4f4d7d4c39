"""The device parameter table: loading ``parameters.toml`` and range checks.

Every physical number a device model uses is an entry of
``devices/parameters.toml`` (schema: docs/architecture.md "Parameter tables").
Models take plain floats; :func:`check_parameter` validates one value against
its entry so that a bad number names the field, its unit and the plausible
range, whether it came from the table, a ``--mtj-config`` override or Python.

The energy engineer's ``energy/params.py`` will merge this file with
``energy/parameters.toml`` and apply user overrides; until then
:func:`load_device_table` reads this file alone.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from spintron_nn.errors import SpintronError

TABLE_PATH = Path(__file__).with_name("parameters.toml")


@dataclass(frozen=True)
class Entry:
    """One parameter: value in SI ``unit``, plausible ``range``, ``source``."""

    value: float
    unit: str
    range: tuple[float, float]
    source: str


def _flatten(table: dict, prefix: str = "") -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for key, item in table.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and "value" in item:
            low, high = item["range"]
            entries[name] = Entry(item["value"], item["unit"], (low, high), item["source"])
        elif isinstance(item, dict):
            entries.update(_flatten(item, name + "."))
    return entries


@lru_cache(maxsize=1)
def load_device_table() -> dict[str, Entry]:
    """All entries of ``devices/parameters.toml`` keyed by dotted name."""
    with open(TABLE_PATH, "rb") as file:
        return _flatten(tomllib.load(file))


def check_parameter(name: str, value: float) -> float:
    """``value`` if it lies in the plausible range of entry ``name``, else a
    :class:`SpintronError` naming the field, its unit and that range."""
    entry = load_device_table()[name]
    low, high = entry.range
    unit = "" if entry.unit == "1" else f" {entry.unit}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpintronError(f"{name}: expected a number{unit and ' in' + unit}, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise SpintronError(
            f"{name} = {value!r}{unit} is outside the plausible range [{low:g}, {high:g}]{unit}"
        )
    return value


def table_value(name: str) -> float:
    """The table's value of entry ``name``."""
    return load_device_table()[name].value


def entry_name(table: str, field: str) -> str:
    """Dotted name of ``field`` in ``table``, falling back to the STT ``mtj``
    table for the stack properties the SOT and domain-wall tables share."""
    name = f"{table}.{field}"
    return name if name in load_device_table() else f"mtj.{field}"


def check_fields(params, table: str, fields: tuple[str, ...]) -> None:
    """Range-check the named fields of a parameter dataclass."""
    for field in fields:
        check_parameter(entry_name(table, field), getattr(params, field))


def from_table(cls, table: str, fields: tuple[str, ...], overrides: dict):
    """An instance of ``cls`` with ``fields`` read from ``table``, then ``overrides``."""
    values = {field: table_value(entry_name(table, field)) for field in fields}
    values.update(overrides)
    return cls(**values)
