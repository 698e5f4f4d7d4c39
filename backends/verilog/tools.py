"""Command lines of the RTL tools (Icarus, Verilator, Yosys), shared by the
Python runner and the bundle's Makefile so both build the same way."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from spintron_nn.errors import SpintronError

TB = "spintron_tb"
SVA = "spintron_handshake_sva.sv"
MACRO = "spin_crossbar_macro.v"
ICARUS_IMAGE = "spintron_tb.vvp"
VERILATOR_DIR = "obj_dir"
VERILATOR_BINARY = "spintron_tb_sim"
STAT_JSON = "yosys_stat.json"


@dataclass(frozen=True)
class Sizes:
    """The testbench parameters of one bundle."""

    n_in: int
    n_out: int
    word_bits: int
    n_vec: int

    def pairs(self) -> list[tuple[str, int]]:
        return [("N_IN", self.n_in), ("N_OUT", self.n_out), ("W", self.word_bits), ("N_VEC", self.n_vec)]


def rtl_sources(folder: Path) -> list[str]:
    """The synthesizable files: library engines and the generated top."""
    return sorted(p.name for p in folder.glob("*.v"))


def lint_command(folder: Path, sizes: Sizes) -> list[str]:
    return ["verilator", "--lint-only", "-Wall", "--timing", "--top-module", TB,
            *[f"-G{k}={v}" for k, v in sizes.pairs()], f"{TB}.sv", SVA, *rtl_sources(folder)]


def verilator_command(folder: Path, sizes: Sizes, trace: bool = False) -> list[str]:
    """``trace``: build with VCD support (the testbench's +vcd=FILE; without it Verilator
    ignores $dumpfile and writes nothing)."""
    # Small unroll limits keep the crossbar loops as C++ loops: a few hundred kB
    # of C++ instead of megabytes, about 5x faster to build, same behaviour.
    return ["verilator", "--binary", "--timing", "--assert", *(["--trace"] if trace else []),
            "-j", "2", "--unroll-count", "4",
            "--unroll-stmts", "64", "-O3", "--x-assign", "fast", "--x-initial", "fast", "-CFLAGS", "-O2",
            "--top-module", TB,
            "--Mdir", VERILATOR_DIR, "-o", VERILATOR_BINARY,
            *[f"-G{k}={v}" for k, v in sizes.pairs()], f"{TB}.sv", SVA, *rtl_sources(folder)]


def icarus_command(folder: Path, sizes: Sizes) -> list[str]:
    # Icarus has no concurrent assertions: the SVA bind file is Verilator's.
    return ["iverilog", "-g2012", "-o", ICARUS_IMAGE, "-s", TB,
            *[f"-P{TB}.{k}={v}" for k, v in sizes.pairs()], f"{TB}.sv", *rtl_sources(folder)]


# Every latch cell Yosys can infer, word-level and gate-level: the gate selects
# them and fails if any exists.
LATCH_CELLS = "t:$_DLATCH* t:$dlatch t:$adlatch t:$_SR_* t:$sr t:$dlatchsr"
# Compile's bounded flow: elaborate, flatten, map the buffer memory to
# flip-flops and stop at word-level cells ($add, $mux, $dffe, ...).  On the
# digits MLP it takes about 10 s; `techmap` to generic gates takes another
# 40-70 s and 6 GB, and a full `synth` (ABC) 13 minutes (docs/verilog.md).
QUICK_FLOW = ("proc", "flatten", "opt", "memory", "opt")
QUICK_STAT_JSON = "yosys_quick_stat.json"
SYNTH_TIMEOUT_S = 120.0
SYNTH_TIMEOUT_ENV = "SPINTRON_SYNTH_TIMEOUT"  # seconds; 0 skips the compile-time flow


def _read_design(folder: Path) -> list[str]:
    digital = [f for f in rtl_sources(folder) if f != MACRO]
    return [
        f"read_verilog -sv -lib {MACRO}",  # the analog macro is a blackbox
        f"read_verilog -sv -defer {' '.join(digital)}",
        "hierarchy -top spintron_top",
    ]


def _stat_and_latch_gate(stat_json: str, stat: str = "stat -json") -> list[str]:
    return [f"tee -q -o {stat_json} {stat}", f"select -assert-none {LATCH_CELLS}"]


def yosys_script(folder: Path) -> str:
    """Full synthesis with ABC (``make synth``): minutes even for small networks."""
    return "; ".join([*_read_design(folder), "synth -top spintron_top -flatten", *_stat_and_latch_gate(STAT_JSON)])


def quick_yosys_script(folder: Path) -> str:
    """The bounded flow compile runs: word-level cells, their widths in the stat."""
    return "; ".join([*_read_design(folder), *QUICK_FLOW, *_stat_and_latch_gate(QUICK_STAT_JSON, "stat -json -width")])


def simulator_run_command(simulator: str, plusargs: list[str]) -> list[str]:
    if simulator == "icarus":
        return ["vvp", "-n", ICARUS_IMAGE, *plusargs]
    return [f"./{VERILATOR_DIR}/{VERILATOR_BINARY}", *plusargs]


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        raise SpintronError(f"'{tool}' is not installed (needed for the RTL backend)")


def run_tool(command: list[str], folder: Path, what: str, timeout: float = 3600) -> str:
    """Run one tool in the bundle folder; a failure is an error with its log tail."""
    require(command[0] if not command[0].startswith("./") else "verilator")
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        tail = " | ".join(output.strip().splitlines()[-5:])
        raise SpintronError(f"{what} failed: {tail}")
    return output


def _kind_and_bits(cell_type: str) -> tuple[str, int]:
    """``$dffe_21`` (``stat -width``) -> ("$dffe", 21); gate cells ``$_DFF_P_``
    and blackboxes are one bit / one instance."""
    match = re.fullmatch(r"(\$[a-z_]+?)_(\d+)", cell_type)
    return (match[1], int(match[2])) if match and not cell_type.startswith("$_") else (cell_type, 1)


def summarize_stat(stat: dict) -> dict:
    """Cells, flip-flop bits, latches and blackbox instances of Yosys's ``stat -json``."""
    design = stat.get("design", {})
    cells = design.get("num_cells_by_type", {})
    flip_flops = latches = 0
    blackboxes = {}
    for cell_type, count in cells.items():
        kind, bits = _kind_and_bits(cell_type)
        if "DFF" in kind.upper():
            flip_flops += count * bits
        elif "LATCH" in kind.upper() or kind in ("$sr", "$_SR_"):
            latches += count * bits
        elif not kind.startswith("$"):
            blackboxes[kind] = blackboxes.get(kind, 0) + count
    return {"cells": design.get("num_cells", 0), "flip_flops": flip_flops, "latches": latches,
            "cells_by_type": cells, "blackboxes": blackboxes}


def synthesize(folder: Path) -> dict:
    """Yosys synthesis of the digital part (fails on any latch).  STAT_JSON is
    Yosys's own ``stat -json`` (as ``make synth`` writes it); returns a summary."""
    run_tool(["yosys", "-q", "-p", yosys_script(folder)], folder, "yosys synthesis")
    return summarize_stat(json.loads((folder / STAT_JSON).read_text()))


def yosys_version() -> str:
    return subprocess.run(["yosys", "-V"], capture_output=True, text=True, timeout=30).stdout.strip()


def synth_timeout() -> float:
    """SYNTH_TIMEOUT_S unless the environment sets SYNTH_TIMEOUT_ENV."""
    text = os.environ.get(SYNTH_TIMEOUT_ENV)
    if text is None:
        return SYNTH_TIMEOUT_S
    try:
        return float(text)
    except ValueError:
        raise SpintronError(f"{SYNTH_TIMEOUT_ENV}={text!r} is not a number of seconds") from None


def quick_synthesis(folder: Path, timeout: float) -> dict:
    """The compile-time flow: ``status`` "done" with the stat summary, "timed
    out" after ``timeout`` seconds, or "not run" (no Yosys, or timeout 0).
    A latch is a SpintronError like in :func:`synthesize`."""
    how = {"flow": "word-level cells (" + "; ".join(QUICK_FLOW) + "), no techmap or ABC",
           "full_synthesis": "make -C verilog synth"}
    if timeout <= 0:
        return {"status": "not run", "reason": f"{SYNTH_TIMEOUT_ENV}=0", **how}
    if shutil.which("yosys") is None:
        return {"status": "not run", "reason": "yosys is not installed", **how}
    start = time.perf_counter()
    try:
        run_tool(["yosys", "-q", "-p", quick_yosys_script(folder)], folder, "yosys synthesis (word level)",
                 timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timed out", "timeout_s": timeout, "yosys": yosys_version(), **how}
    seconds = time.perf_counter() - start
    summary = summarize_stat(json.loads((folder / QUICK_STAT_JSON).read_text()))
    return {"status": "done", "seconds": round(seconds, 1), "yosys": yosys_version(), **how, **summary}
