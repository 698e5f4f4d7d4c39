"""``"module:function"`` entry points that optional layers provide (backends,
target writers, verify checks), imported only when used."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from spintron_nn.errors import SpintronError


def has_entry_point(target: str) -> bool:
    """Whether this build has the module ``target`` names, without importing
    it (so that listing what is available stays cheap)."""
    try:
        return importlib.util.find_spec(target.split(":")[0]) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def find_entry_point(target: str) -> Callable[..., Any] | None:
    """The function ``target`` names, or None if this build lacks its module."""
    if not has_entry_point(target):
        return None
    module_name, func = target.split(":")
    return getattr(importlib.import_module(module_name), func)


def load_entry_point(target: str, what: str) -> Callable[..., Any]:
    """Like :func:`find_entry_point`, but a missing module is an error that
    says ``what`` is not available, never a silent fallback."""
    entry = find_entry_point(target)
    if entry is None:
        raise SpintronError(f"{what} is not available in this version")
    return entry
