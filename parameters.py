"""The one loader for the physical parameter tables.

A module of its own, below both ``devices/`` and ``energy/``: the device
models and the energy model read the same tables, and neither package may
import the other's loader without making the two import each other.

Two tables ship with the package, in the same entry schema
(docs/architecture.md, "Parameter tables"):

* ``energy/parameters.toml``: periphery, digital, technology, CMOS baseline;
* ``devices/parameters.toml``: cells (MTJ, SOT, domain wall), access devices.

Every entry is ``[section.name] value, unit, range = [lo, hi], source``.  The
tables are merged into one :class:`ParameterTable` keyed by the dotted name;
a user TOML (``--mtj-config cfg.toml``) overrides entries by the same names.
Every value, shipped or overridden, is checked against its plausible range, and
a bad one is a :class:`SpintronError` naming the field, its unit and the range,
because a silently accepted ``cell_area=40e-9`` (m^2 meant as nm^2) would make
every downstream number wrong by nine orders of magnitude.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from spintron_nn.errors import SpintronError

_PACKAGE_ROOT = Path(__file__).resolve().parent
SHIPPED_TABLES = (
    _PACKAGE_ROOT / "energy" / "parameters.toml",
    _PACKAGE_ROOT / "devices" / "parameters.toml",
)
_ENTRY_KEYS = {"value", "unit", "range", "source"}


@dataclass(frozen=True)
class Parameter:
    """One physical quantity with its unit, plausible range and provenance."""

    name: str  # dotted, e.g. "adc.sample_rate"
    value: float | int
    unit: str
    low: float
    high: float
    source: str
    origin: str  # the file the entry (or its override) came from

    @property
    def is_integer(self) -> bool:
        return isinstance(self.value, int)

    @property
    def is_assumed(self) -> bool:
        return self.source.startswith("assumed")


def _format_number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _with_unit(text: str, unit: str) -> str:
    return text if unit == "1" else f"{text} {unit}"


def _range_text(parameter: Parameter) -> str:
    bounds = f"[{_format_number(parameter.low)}, {_format_number(parameter.high)}]"
    return _with_unit(bounds, parameter.unit)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_value(parameter: Parameter, value: Any, *, path: str | None = None) -> float | int:
    """``value`` if it is a finite number in ``parameter``'s range, else a SpintronError."""
    unit = "dimensionless" if parameter.unit == "1" else parameter.unit
    where = f"{parameter.name} ({unit})"
    if not _is_number(value):
        raise SpintronError(f"{where} must be a number, got {value!r}", path=path)
    if not math.isfinite(value):
        raise SpintronError(f"{where} must be finite, got {value!r}", path=path)
    if parameter.is_integer:
        if float(value) != int(value):
            raise SpintronError(f"{where} must be an integer, got {value!r}", path=path)
        value = int(value)
    else:
        value = float(value)
    if not parameter.low <= value <= parameter.high:
        raise SpintronError(
            f"{where} = {_with_unit(_format_number(value), parameter.unit)} is outside the plausible "
            f"range {_range_text(parameter)}",
            path=path,
        )
    return value


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, leaf) pairs; an entry table (has ``value``) is a leaf."""
    for key, item in tree.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and "value" not in item:
            yield from _flatten(item, f"{name}.")
        else:
            yield name, item


def read_parameter_file(path: str | Path) -> str:
    """The text of a parameter TOML file, read once: callers that must see
    the same values every time (``CompileConfig``) keep the text, since a
    pipe can be read only once and a file may change while it is used."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpintronError("no such parameter file", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise SpintronError(f"not a valid TOML file ({exc})", path=str(path)) from None
    except OSError as exc:
        raise SpintronError(f"cannot read parameter file ({exc.strerror})", path=str(path)) from None


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpintronError(f"not a valid TOML file ({exc})", path=origin) from None


def _read_toml(path: Path) -> dict[str, Any]:
    return _parse_toml(read_parameter_file(path), str(path))


def _parse_entry(name: str, entry: Any, origin: str) -> Parameter:
    """A shipped table entry; a malformed one is a bug in that table."""
    if not isinstance(entry, Mapping) or set(entry) != _ENTRY_KEYS:
        raise SpintronError(
            f"entry '{name}' must have exactly the keys {sorted(_ENTRY_KEYS)}", path=origin
        )
    low_high = entry["range"]
    if (
        not isinstance(low_high, list)
        or len(low_high) != 2
        or not all(_is_number(bound) for bound in low_high)
        or not low_high[0] <= low_high[1]
    ):
        raise SpintronError(f"entry '{name}': range must be [low, high]", path=origin)
    if not isinstance(entry["unit"], str) or not isinstance(entry["source"], str):
        raise SpintronError(f"entry '{name}': unit and source must be strings", path=origin)
    if not entry["source"].strip():
        raise SpintronError(f"entry '{name}' has no source", path=origin)
    value = entry["value"]
    parameter = Parameter(
        name=name,
        value=value if _is_number(value) else 0,
        unit=entry["unit"],
        low=low_high[0],
        high=low_high[1],
        source=entry["source"],
        origin=origin,
    )
    check_value(parameter, value, path=origin)
    return parameter


class ParameterTable(Mapping[str, Parameter]):
    """The merged, validated tables; ``table.value("adc.sample_rate")``."""

    def __init__(self, parameters: Mapping[str, Parameter]):
        self._parameters = dict(sorted(parameters.items()))

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._parameters[name]
        except KeyError:
            raise SpintronError(_unknown_name_message(name, self._parameters)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._parameters

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def value(self, name: str) -> float:
        return self[name].value

    def with_values(self, values: Mapping[str, Any], *, origin: str = "<override>") -> ParameterTable:
        """A copy with ``values`` (dotted name -> number) replaced, each checked."""
        updated = dict(self._parameters)
        for name, value in values.items():
            if name not in updated:
                raise SpintronError(_unknown_name_message(name, updated), path=origin)
            parameter = updated[name]
            checked = check_value(parameter, value, path=origin)
            updated[name] = replace(parameter, value=checked, origin=origin)
        return ParameterTable(updated)

    def with_override_file(self, path: str | Path) -> ParameterTable:
        """Apply a user TOML: ``[mtj] r_parallel = 5e3``, ``"mtj.r_parallel" = 5e3``
        or a full entry ``[mtj.r_parallel] value = 5e3`` (its other keys ignored)."""
        return self.with_override_text(read_parameter_file(path), origin=str(path))

    def with_override_text(self, text: str, *, origin: str) -> ParameterTable:
        """:meth:`with_override_file` on the file's text; ``origin`` names it in errors."""
        values = {}
        for name, leaf in _flatten(_parse_toml(text, origin)):
            values[name] = leaf["value"] if isinstance(leaf, Mapping) else leaf
        return self.with_values(values, origin=origin)


def _unknown_name_message(name: str, known: Mapping[str, Parameter]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown parameter '{name}'{hint}"


def load_table_file(path: Path) -> dict[str, Parameter]:
    """The entries of one shipped table file."""
    return {
        name: _parse_entry(name, entry, str(path))
        for name, entry in _flatten(_read_toml(path))
    }


def load_parameters(
    override: str | Path | Mapping[str, Any] | None = None,
    *,
    tables: tuple[Path, ...] = SHIPPED_TABLES,
) -> ParameterTable:
    """The shipped tables merged, then ``override`` (a TOML path or a dict of
    dotted name -> value) applied.  The same name in two tables is an
    error, because one of them would silently win."""
    merged: dict[str, Parameter] = {}
    for path in tables:
        for name, parameter in load_table_file(path).items():
            if name in merged:
                raise SpintronError(
                    f"parameter '{name}' is defined in both {merged[name].origin} and {path}"
                )
            merged[name] = parameter
    table = ParameterTable(merged)
    if override is None:
        return table
    if isinstance(override, Mapping):
        return table.with_values(override)
    return table.with_override_file(override)


def parse_value_overrides(text: str, *, origin: str = "parameters option") -> dict[str, float]:
    """``"mtj.r_parallel=5e3, crossbar.input_one_fraction=0.3"`` -> {name: value}: a pass
    option's overrides (the same names and checks as a --mtj-config file; '' = none)."""
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not name:
            raise SpintronError(f"{origin}: expected name=value, got {item!r}")
        try:
            values[name] = float(value)
        except ValueError:
            raise SpintronError(f"{origin}: {name} = {value!r} is not a number") from None
    return values


def pass_parameter_table(mtj_config: str = "", values: str = "") -> ParameterTable:
    """The table a pass run alone uses: shipped, then its ``mtj-config`` file, then its
    ``parameters`` values (as ``CompileConfig`` applies ``mtj_config`` then overrides)."""
    table = load_parameters(mtj_config or None)
    overrides = parse_value_overrides(values)
    return table.with_values(overrides, origin="parameters option") if overrides else table


__all__ = [
    "Parameter",
    "ParameterTable",
    "SHIPPED_TABLES",
    "check_value",
    "load_parameters",
    "load_table_file",
    "read_parameter_file",
]
