"""A compiled design and its on-disk bundle.

A bundle is a folder (docs/cli.md lists its files):

    manifest.json          versions, options, file hashes
    float.mlir/.npz        the float `nn` graph after the float passes
    design.mlir/.npz       the crossbar `spin` design (when quantized)
    reference_inputs.npz   inputs that `spintronc verify` re-runs
    verilog/ spice/ report.json report.html   (per target)

Bundles are written to a temporary sibling folder and renamed into place, so a
failed save leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from spintron_nn import __version__
from spintron_nn.config import CompileConfig
from spintron_nn.entry_points import load_entry_point
from spintron_nn.errors import SpintronError
from spintron_nn.ir import io as ir_io
from spintron_nn.ir.module_info import input_names, output_names

MANIFEST = "manifest.json"
FLOAT_IR = "float.mlir"
DESIGN_IR = "design.mlir"
REFERENCE_INPUTS = "reference_inputs.npz"
BUNDLE_FORMAT = 1

# Backends beyond float: name -> "module:function", function(design, inputs,
# *, noise, seed) -> list of outputs.  Imported on use; a backend whose module
# this build lacks is an error that says so, never a silent fallback.
RUN_BACKENDS = {
    "sim": "spintron_nn.backends.sim.design_runner:run_design",
    "rtl": "spintron_nn.backends.verilog.runner:run_design",
    "spice": "spintron_nn.backends.spice.runner:run_design",
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    import onnx
    import xdsl

    return {
        "spintron_nn": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "xdsl": str(getattr(xdsl, "__version__", "unknown")),
    }


@dataclass
class Design:
    """A float graph, optionally its crossbar design, and how it was made."""

    float_module: ModuleOp  # the graph as imported: the float oracle
    config: CompileConfig = field(default_factory=CompileConfig)
    design_module: ModuleOp | None = None  # after the passes: nn (target ir) or spin
    reference_inputs: list[np.ndarray] | None = None
    source: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def spin_module(self) -> ModuleOp | None:
        """The crossbar design, if this design was lowered to the spin dialect."""
        if self.design_module is not None and is_spin_design(self.design_module):
            return self.design_module
        return None

    @property
    def input_names(self) -> list[str]:
        return input_names(self.float_module)

    @property
    def output_names(self) -> list[str]:
        return output_names(self.float_module)

    # ------------------------------------------------------------------ run

    def run(
        self,
        inputs: np.ndarray | Sequence[np.ndarray] | dict[str, np.ndarray],
        backend: str = "sim",
        *,
        noise: Any = None,
        seed: int = 0,
        **backend_options: Any,
    ) -> list[np.ndarray]:
        """Run the design on a batch; returns one array per model output.
        ``backend_options`` go to the backend (e.g. ``simulator="icarus"`` for rtl)."""
        from spintron_nn.array_files import as_input_list, checked_inputs

        arrays = checked_inputs(self.float_module, as_input_list(inputs, self.input_names))
        if backend == "float":
            from spintron_nn.backends.float_exec import run_float

            return run_float(self.float_module, arrays)
        if backend not in RUN_BACKENDS:
            raise SpintronError(
                f"unknown backend '{backend}' (known: float, {', '.join(RUN_BACKENDS)})"
            )
        if self.spin_module is None:
            raise SpintronError(
                f"backend '{backend}' needs a crossbar mapping, and this design has none "
                "(compiled with --targets ir); recompile with --targets sim"
            )
        runner = load_entry_point(RUN_BACKENDS[backend], f"backend '{backend}'")
        # a batch-1 export's items: run_float and run_spin take them one at a time (numbering
        # read-noise draws on), the RTL testbench as one vector each
        return runner(self, arrays, noise=noise, seed=seed, **backend_options)

    # ----------------------------------------------------------------- save

    def save(self, path: str | Path, *, extra_writers: Sequence[Any] = ()) -> Path:
        """Write the bundle atomically; ``extra_writers`` are callables
        ``writer(design, folder)`` that add target outputs (verilog, spice, ...)."""
        from spintron_nn.tools.atomic import atomic_output_dir

        path = Path(path)
        with atomic_output_dir(path, marker=MANIFEST) as tmp:
            ir_io.save_ir(self.float_module, tmp / FLOAT_IR)
            if self.design_module is not None:
                ir_io.save_ir(self.design_module, tmp / DESIGN_IR)
            if self.reference_inputs is not None:
                np.savez(
                    tmp / REFERENCE_INPUTS,
                    **dict(zip(self.input_names, self.reference_inputs)),
                )
            for writer in extra_writers:
                writer(self, tmp)
            self._write_manifest(tmp)
        return path

    def _write_manifest(self, folder: Path) -> None:
        files = {
            str(p.relative_to(folder)): _sha256(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        manifest = {
            "format": BUNDLE_FORMAT,
            "versions": _versions(),
            "source": self.source,
            "config": self.config.to_json(),
            "inputs": self.input_names,
            "outputs": self.output_names,
            "summary": self.summary,
            "files": files,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    # ----------------------------------------------------------------- load

    @classmethod
    def load(cls, path: str | Path, *, check_hashes: bool = True) -> Design:
        path = Path(path)
        manifest = read_manifest(path, check_hashes=check_hashes)
        float_module = ir_io.load_ir(path / FLOAT_IR)
        design_module = ir_io.load_ir(path / DESIGN_IR) if (path / DESIGN_IR).exists() else None
        reference_inputs = None
        if (path / REFERENCE_INPUTS).exists():
            with np.load(path / REFERENCE_INPUTS, allow_pickle=False) as data:
                reference_inputs = [data[n] for n in input_names(float_module)]
        return cls(
            float_module=float_module,
            config=CompileConfig.from_json(manifest.get("config", {})),
            design_module=design_module,
            reference_inputs=reference_inputs,
            source=manifest.get("source"),
            summary=manifest.get("summary", {}),
        )


def read_manifest(path: Path, *, check_hashes: bool = True) -> dict:
    """A bundle's manifest, refusing a folder that is not a bundle of this
    format or whose files changed since compile."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise SpintronError("not a design bundle (no manifest.json)", path=str(path))
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SpintronError(f"unreadable manifest.json ({exc})", path=str(path)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise SpintronError(f"bundle format {found!r} is not {BUNDLE_FORMAT}", path=str(path))
    if check_hashes:
        for name, digest in manifest.get("files", {}).items():
            file = path / name
            if not file.is_file() or _sha256(file) != digest:
                raise SpintronError(f"{name} is missing or changed since compile", path=str(path))
    return manifest


def is_spin_design(module: ModuleOp) -> bool:
    return any(op.name.startswith("spin.") for op in module.walk())


def load(path: str | Path) -> Design:
    """``sn.load(dir)``: a saved bundle."""
    return Design.load(path)
