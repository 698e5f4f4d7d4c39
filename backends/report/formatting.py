"""Numbers for people: SI prefixes and percentages, shared by the HTML page,
the terminal table and the sweep table so they never disagree."""

from __future__ import annotations

import math

_PREFIXES = ((1e-18, "a"), (1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G"))


def si(value: float | None, unit: str, digits: int = 3) -> str:
    """``si(3.96e-9, "J") == "3.96 nJ"``; None or NaN -> "-"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value == 0:
        return f"0 {unit}"
    scale, prefix = _PREFIXES[0]
    for candidate, name in _PREFIXES:
        if abs(value) >= candidate * 0.9995:
            scale, prefix = candidate, name
    return f"{value / scale:.{digits}g} {prefix}{unit}"


def area(value_m2: float | None) -> str:
    """Areas in um^2 or mm^2 (an m^2 prefix would square the prefix)."""
    if value_m2 is None:
        return "-"
    if value_m2 >= 1e-9:
        return f"{value_m2 * 1e6:.3g} mm^2"
    return f"{value_m2 * 1e12:.4g} um^2"


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f} %"
