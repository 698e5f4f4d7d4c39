"""Run ngspice in batch mode and read its binary raw file.

Any line of ngspice output mentioning "warning" or "error" fails the run:
a deck that ngspice had to second-guess is not an oracle.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from spintron_nn.errors import SpintronError


class NgspiceFailure(SpintronError):
    """ngspice is missing, failed, or warned about a deck."""


def ngspice_available() -> bool:
    return shutil.which("ngspice") is not None


def run_ngspice(deck: str, *, timeout: float = 3600.0) -> dict[str, np.ndarray]:
    """Simulate ``deck`` and return its saved vectors by lower-case name
    (``i(vsense_c_0_3)``, ``time``, ...), each an array over the points."""
    if not ngspice_available():
        raise NgspiceFailure("ngspice is not installed (apt-get install ngspice)")
    with tempfile.TemporaryDirectory(prefix="spintron_ngspice_") as folder:
        deck_path, raw_path = Path(folder, "tile.cir"), Path(folder, "tile.raw")
        deck_path.write_text(deck)
        done = subprocess.run(["ngspice", "-b", "-r", str(raw_path), str(deck_path)],
                              capture_output=True, text=True, timeout=timeout, cwd=folder)
        output = done.stdout + done.stderr
        complaints = [line for line in output.splitlines() if re.search(r"warning|error", line, re.I)]
        if done.returncode != 0 or complaints or not raw_path.exists():
            detail = "; ".join(complaints[:5] or output.strip().splitlines()[-1:])
            raise NgspiceFailure(f"ngspice failed (exit {done.returncode}): {detail}")
        return read_raw(raw_path.read_bytes())


def read_raw(data: bytes) -> dict[str, np.ndarray]:
    """Vectors of a real-valued binary ngspice raw file (one plot)."""
    marker = data.index(b"Binary:\n")
    header = data[:marker].decode("ascii").splitlines()
    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in header if ":" in line}
    if "complex" in fields.get("Flags", ""):
        raise NgspiceFailure("complex raw files are not supported")
    n_vars, n_points = int(fields["No. Variables"]), int(fields["No. Points"])
    start = header.index("Variables:") + 1
    names = [line.split()[1].lower() for line in header[start:start + n_vars]]
    values = np.frombuffer(data, dtype="<f8", count=n_vars * n_points, offset=marker + len(b"Binary:\n"))
    table = values.reshape(n_points, n_vars)
    return {name: table[:, k].copy() for k, name in enumerate(names)}
