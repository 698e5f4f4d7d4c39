"""The device parameter table and range checks for the device models.

Every physical number a device model uses is an entry of
``devices/parameters.toml`` (schema: docs/architecture.md "Parameter tables").
Loading, merging with ``energy/parameters.toml``, user overrides
(``--mtj-config``) and the range check itself are ``spintron_nn/parameters.py``'s job;
this module applies them to the device dataclasses: :func:`check_fields`
validates a model's fields against their entries (so a bad number names the
field, its unit and the plausible range, whether it came from a table, an
override or Python), :func:`from_table` builds a model from a table.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from spintron_nn.parameters import Parameter, ParameterTable, check_value, load_table_file

TABLE_PATH = Path(__file__).with_name("parameters.toml")


@lru_cache(maxsize=1)
def load_device_table() -> dict[str, Parameter]:
    """The shipped entries of ``devices/parameters.toml`` by dotted name."""
    return load_table_file(TABLE_PATH)


def check_parameter(name: str, value):
    """``value`` if it is a number in the plausible range of entry ``name``,
    else a :class:`SpintronError` naming the field, its unit and that range."""
    return check_value(load_device_table()[name], value)


def table_value(name: str, parameters: ParameterTable | None = None):
    """Entry ``name`` of ``parameters`` (a merged, possibly overridden table),
    or of the shipped device table."""
    return parameters.value(name) if parameters is not None else load_device_table()[name].value


def entry_name(table: str, field: str) -> str:
    """Dotted name of ``field`` in ``table``, falling back to the STT ``mtj``
    table for the stack properties the SOT and domain-wall tables share."""
    name = f"{table}.{field}"
    return name if name in load_device_table() else f"mtj.{field}"


def check_fields(params, table: str, fields: tuple[str, ...]) -> None:
    """Range-check the named fields of a parameter dataclass."""
    for field in fields:
        check_parameter(entry_name(table, field), getattr(params, field))


def from_table(cls, table: str, fields: tuple[str, ...], overrides: dict,
               parameters: ParameterTable | None = None):
    """An instance of ``cls`` with ``fields`` read from ``table`` (in
    ``parameters`` or the shipped table), then ``overrides``."""
    values = {field: table_value(entry_name(table, field), parameters) for field in fields}
    values.update(overrides)
    return cls(**values)
