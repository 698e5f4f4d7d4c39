"""The pass registry finds pass modules through entry_points.py: a pass whose
module this build lacks is left out of the list, and listing imports nothing."""

from __future__ import annotations

import sys

import pytest

from spintron_nn.errors import SpintronError
from spintron_nn.passes import pipeline


def test_a_pass_without_its_module_is_not_offered(monkeypatch):
    monkeypatch.setitem(pipeline._REGISTRY, "missing-module", "spintron_nn.passes.no_such_pass:NoSuchPass")
    monkeypatch.setitem(pipeline._REGISTRY, "missing-package", "no_such_package.sub:NoSuchPass")
    passes = pipeline.available_passes()
    assert "missing-module" not in passes and "missing-package" not in passes
    assert "schedule" in passes
    with pytest.raises(SpintronError, match="unknown pass 'missing-package'"):
        pipeline.parse_pass_pipeline("missing-package")


def test_listing_passes_imports_no_pass_module(monkeypatch):
    import spintron_nn.passes

    module_name = "spintron_nn.passes.tile_crossbars"
    # Both are restored afterwards, so later tests see the original module.
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    monkeypatch.delattr(spintron_nn.passes, "tile_crossbars", raising=False)
    loader = pipeline.available_passes()["tile-crossbars"]
    assert module_name not in sys.modules
    assert loader().__name__ == "TileCrossbarsPass"
    assert module_name in sys.modules
