"""A trained model through ``spintronc``, as a user would run it (examples, slow tests).

    bundle = compile_with_spintronc(model, folder, calibration, config)   # export + spintronc compile
    outputs = run_with_spintronc(bundle, x, folder)                       # spintronc run --backend sim

Both call the real command line (``python -m spintron_nn.tools.spintronc``), so
"exports to ONNX and compiles with spintronc without any manual step" is what
is exercised.  ``compiled_energy`` reads the bundle's ``report.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training.export import export_onnx


def spintronc(*args: str) -> str:
    """Run ``spintronc ARGS``; its stdout, or a SpintronError with its error line."""
    done = subprocess.run([sys.executable, "-m", "spintron_nn.tools.spintronc", *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SpintronError(f"spintronc {args[0]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def compile_with_spintronc(model: torch.nn.Module, folder: str | Path, calibration: np.ndarray,
                           config: CompileConfig, *, targets: str = "ir,sim,report") -> Path:
    """Export ``model`` to ``folder/model.onnx`` and compile it into ``folder/bundle``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(model, folder / "model.onnx", calibration)
    calibration_path = folder / "calibration.npy"
    np.save(calibration_path, np.asarray(calibration, dtype=np.float32))
    bundle = folder / "bundle"
    output_bits = config.output_bits if config.output_bits is not None else config.activation_bits
    options = ("--output-bits", str(output_bits), "--input-bits", str(config.graph_input_bits),
               "--grouped-tiling", config.grouped_tiling,
               "--layer-weight-bits", ",".join(f"{name}={bits}" for name, bits in config.layer_weight_bits),
               "--layer-activation-bits",
               ",".join(f"{name}={bits}" for name, bits in config.layer_activation_bits),
               "--layer-adc-bits", ",".join(f"{name}={bits}" for name, bits in config.layer_adc_bits),
               "--input-activity", config.input_activity, *(("--signed-inputs",) if config.signed_inputs else ()))
    spintronc("compile", str(onnx_path), "-o", str(bundle), "-q",
              "--weight-bits", str(config.weight_bits), "--activation-bits", str(config.activation_bits),
              *options, "--cell-bits", str(config.cell_bits), "--adc-bits", str(config.adc_bits),
              "--crossbar", config.crossbar, "--calibration", str(calibration_path), "--targets", targets)
    return bundle


def run_with_spintronc(bundle: str | Path, x: np.ndarray, folder: str | Path, *, backend: str = "sim",
                       simulator: str | None = None) -> np.ndarray:
    """``spintronc run BUNDLE --backend BACKEND [--simulator SIMULATOR]`` on ``x``; the (single) output.

    ``simulator`` (``icarus`` / ``verilator``) only with ``backend="rtl"``."""
    folder = Path(folder)
    inputs, outputs = folder / f"inputs_{backend}.npy", folder / f"outputs_{backend}.npy"
    np.save(inputs, np.asarray(x, dtype=np.float32))
    extra = ("--simulator", simulator) if simulator else ()
    spintronc("run", str(bundle), "--input", str(inputs), "--output", str(outputs), "--backend", backend, *extra)
    return np.load(outputs)


def compiled_energy(bundle: str | Path) -> dict:
    """Energy per inference (J) of the compiled design and of its CMOS baseline, from report.json."""
    report = json.loads((Path(bundle) / "report.json").read_text())
    total = report["comparison"]["total"]
    return {"spintronic_energy_j": total["spintronic_energy_j"], "cmos_energy_j": total["cmos_energy_j"],
            "spintronic_latency_s": total["spintronic_latency_s"]}
