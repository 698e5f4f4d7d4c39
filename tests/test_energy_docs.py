"""docs/parameters.md is generated from the shipped tables and must match them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_parameters_doc_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_parameters_doc.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_parameters_doc_lists_every_entry():
    from spintron_nn.energy.params import load_parameters

    text = (ROOT / "docs" / "parameters.md").read_text()
    missing = [name for name in load_parameters() if f"| `{name}` |" not in text]
    assert not missing
