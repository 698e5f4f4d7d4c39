"""Run the lit + FileCheck IR tests in tests/filecheck/ (one folder per pass).

A failing or unresolved lit case fails this test and its output is shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FILECHECK_DIR = Path(__file__).resolve().parent / "filecheck"


def test_weight_files_are_up_to_date():
    # The .npz beside each case is generated; a stale one would test other data.
    result = subprocess.run(
        [sys.executable, str(FILECHECK_DIR / "make_weights.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lit_suite_passes():
    result = subprocess.run(
        [sys.executable, "-c", "import lit.main; lit.main.main()", "-v", "-j", "2", str(FILECHECK_DIR)],
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed:" in output and "Failed" not in output, output
