"""Command lines of the RTL tools (Icarus, Verilator, Yosys), shared by the
Python runner and the bundle's Makefile so both build the same way."""

from __future__ import annotations

import json
import shutil
import subprocess
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


def verilator_command(folder: Path, sizes: Sizes) -> list[str]:
    # Small unroll limits keep the crossbar loops as C++ loops: a few hundred kB
    # of C++ instead of megabytes, about 5x faster to build, same behaviour.
    return ["verilator", "--binary", "--timing", "--assert", "-j", "2", "--unroll-count", "4",
            "--unroll-stmts", "64", "-O3", "--x-assign", "fast", "--x-initial", "fast", "-CFLAGS", "-O2",
            "--top-module", TB,
            "--Mdir", VERILATOR_DIR, "-o", VERILATOR_BINARY,
            *[f"-G{k}={v}" for k, v in sizes.pairs()], f"{TB}.sv", SVA, *rtl_sources(folder)]


def icarus_command(folder: Path, sizes: Sizes) -> list[str]:
    # Icarus has no concurrent assertions: the SVA bind file is Verilator's.
    return ["iverilog", "-g2012", "-o", ICARUS_IMAGE, "-s", TB,
            *[f"-P{TB}.{k}={v}" for k, v in sizes.pairs()], f"{TB}.sv", *rtl_sources(folder)]


def yosys_script(folder: Path) -> str:
    digital = [f for f in rtl_sources(folder) if f != MACRO]
    return "; ".join([
        f"read_verilog -sv -lib {MACRO}",  # the analog macro is a blackbox
        f"read_verilog -sv -defer {' '.join(digital)}",
        "hierarchy -top spintron_top", "synth -top spintron_top -flatten",
        f"tee -q -o {STAT_JSON} stat -json",
        "select -assert-none t:$_DLATCH_* t:$dlatch t:$_SR_* t:$sr",  # no latches
    ])


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


def synthesize(folder: Path) -> dict:
    """Yosys synthesis of the digital part (fails on any latch).  STAT_JSON is
    Yosys's own ``stat -json`` (as ``make synth`` writes it); returns a summary."""
    run_tool(["yosys", "-q", "-p", yosys_script(folder)], folder, "yosys synthesis")
    stat = json.loads((folder / STAT_JSON).read_text())
    design = stat.get("design", {})
    cells = design.get("num_cells_by_type", {})
    flip_flops = sum(n for kind, n in cells.items() if "DFF" in kind.upper())
    return {"cells": design.get("num_cells", 0), "flip_flops": flip_flops, "latches": 0,
            "cells_by_type": cells, "blackboxes": ["spin_crossbar_macro"]}
