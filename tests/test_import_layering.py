"""``devices/`` and ``energy/`` share one parameter loader
(``spintron_nn.parameters``) and do not import each other's loader: the
device models import no ``energy`` module, and either package imports first
in a fresh interpreter (docs/architecture.md, package layout)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVICE_MODULES = sorted(f"spintron_nn.devices.{p.stem}" for p in (ROOT / "devices").glob("*.py")
                        if p.stem != "__init__")
ENERGY_MODULES = sorted(f"spintron_nn.energy.{p.stem}" for p in (ROOT / "energy").glob("*.py")
                        if p.stem != "__init__")


def fresh_import(modules: list[str]) -> list[str]:
    """Import ``modules`` in order in a new interpreter; the spintron_nn
    modules loaded afterwards."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('spintron_nn'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_module_lists_are_not_empty():
    assert "spintron_nn.devices.table" in DEVICE_MODULES and "spintron_nn.energy.cost_model" in ENERGY_MODULES


@pytest.mark.parametrize("order", ["devices first", "energy first"])
def test_both_import_orders_work(order):
    modules = DEVICE_MODULES + ENERGY_MODULES
    if order == "energy first":
        modules = ENERGY_MODULES + DEVICE_MODULES
    loaded = fresh_import(modules)
    assert set(modules) <= set(loaded)


def test_device_models_load_no_energy_module():
    loaded = fresh_import(DEVICE_MODULES)
    assert "spintron_nn.parameters" in loaded
    assert [m for m in loaded if m.startswith("spintron_nn.energy")] == []


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` / ``from ... import`` in ``path`` names,
    wherever it stands (function-local imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_import_of_energy_in_devices_and_the_loader_depends_on_neither():
    for path in sorted((ROOT / "devices").glob("*.py")):
        energy = [m for m in imported_modules(path) if m.startswith("spintron_nn.energy")]
        assert energy == [], f"{path.name} imports {energy}"
    loader = imported_modules(ROOT / "parameters.py")
    assert not [m for m in loader if m.startswith(("spintron_nn.devices", "spintron_nn.energy"))]


def test_the_old_loader_name_is_the_same_loader():
    from spintron_nn import parameters
    from spintron_nn.energy import params

    for name in params.__all__:
        assert getattr(params, name) is getattr(parameters, name), name
    assert all(path.is_file() for path in parameters.SHIPPED_TABLES)
