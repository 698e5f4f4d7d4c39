"""``Design.run(x, backend="rtl")``: build the RTL with Verilator (Icarus as
the fallback, or on request) and stream the inputs through it."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spintron_nn.backends.verilog import bundle, host_io, tools, vectors
from spintron_nn.errors import SpintronError

SIMULATORS = ("verilator", "icarus")
OUTPUTS = "outputs.hex"


def choose_simulator(requested: str | None) -> str:
    if requested is not None:
        if requested not in SIMULATORS:
            raise SpintronError(f"unknown simulator '{requested}' (known: {', '.join(SIMULATORS)})")
        tools.require("verilator" if requested == "verilator" else "iverilog")
        return requested
    if shutil.which("verilator"):
        return "verilator"
    tools.require("iverilog")
    return "icarus"


def build(folder: Path, sizes: tools.Sizes, simulator: str, trace: bool = False) -> None:
    """``trace``: the waveform will be dumped (Verilator needs it at build time; Icarus always can)."""
    if simulator == "icarus":
        tools.run_tool(tools.icarus_command(folder, sizes), folder, "iverilog")
    else:
        tools.run_tool(tools.verilator_command(folder, sizes, trace), folder, "verilator build")


def simulate(folder: Path, simulator: str, plusargs: list[str]) -> str:
    """Run the built testbench; returns its log."""
    return tools.run_tool(tools.simulator_run_command(simulator, plusargs), folder, f"{simulator} simulation")


def cycles_per_vector(log: str) -> list[int]:
    return [int(c) for c in re.findall(r"^vector \d+: \w+ cycles=(\d+)", log, re.MULTILINE)]


def run_rtl(module, inputs: list[np.ndarray], *, simulator: str | None = None,
            folder: Path | None = None, vcd: str | Path | None = None) -> tuple[list[np.ndarray], str]:
    """Outputs of the RTL on ``inputs`` and the simulator's log; ``vcd``: a
    waveform file to write."""
    simulator = choose_simulator(simulator)
    with tempfile.TemporaryDirectory(prefix="spintron_rtl_") as scratch:
        work = Path(folder) if folder is not None else Path(scratch)
        plan = bundle.write_rtl(module, work)
        codes = host_io.encode_inputs(plan, module, inputs)
        if codes.shape[0] == 0:
            return host_io.decode_outputs(plan, np.zeros((0, bundle.sizes_of(plan, 0).n_out), np.int64)), ""
        vectors.write_hex(work / bundle.INPUTS, codes, 8)
        sizes = bundle.sizes_of(plan, codes.shape[0])
        build(work, sizes, simulator, trace=vcd is not None)
        plusargs = [f"+inputs={bundle.INPUTS}", f"+outputs={OUTPUTS}"]
        if vcd is not None:
            Path(vcd).unlink(missing_ok=True)  # an earlier run's waveform must not pass for this one's
            plusargs.append(f"+vcd={Path(vcd).resolve()}")
        log = simulate(work, simulator, plusargs)
        if vcd is not None and not Path(vcd).is_file():
            raise SpintronError(f"the {simulator} simulation wrote no waveform", path=str(vcd))
        words = vectors.read_hex(work / OUTPUTS, plan.word_bits)
        if words.size != codes.shape[0] * sizes.n_out:
            raise SpintronError(f"the RTL produced {words.size} words, expected {codes.shape[0] * sizes.n_out}")
        return host_io.decode_outputs(plan, words.reshape(codes.shape[0], sizes.n_out)), log


def run_design(design: Any, inputs: list[np.ndarray], *, noise: Any = None, seed: int = 0,
               simulator: str | None = None, vcd: str | Path | None = None, **options: Any) -> list[np.ndarray]:
    if options:
        raise SpintronError(f"the rtl backend takes no option(s) {', '.join(options)}")
    if noise is not None and not getattr(noise, "is_off", False):
        raise SpintronError("the rtl backend implements the exact integer crossbar; non-idealities are sim-only")
    outputs, _ = run_rtl(design.spin_module, inputs, simulator=simulator, vcd=vcd)
    return outputs
