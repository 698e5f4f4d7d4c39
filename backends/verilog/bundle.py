"""``OUT/verilog/``: the RTL, its ROMs, the testbench, vectors and a Makefile.

    spintron_top.v            generated top (netlist model)
    spin_*.v, spin_engine.vh  engine library (the .vh: their shared ports) and the crossbar macro
    s<i>_*.hex, outputs_rom.hex   ROM images ($readmemh)
    spintron_tb.sv, spintron_handshake_sva.sv   testbench, SVA bind file
    inputs.hex, expected.hex  the bundle's reference inputs and the simulator's words
    Makefile                  make icarus | verilator | lint | synth
    yosys_quick_stat.json     Yosys ``stat -json -width`` of compile's word-level flow
    yosys_stat.json           the same after a full `make synth` (not written by compile)
    rtl.json                  sizes and the synthesis summary the runner and the report read
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.verilog import host_io, tools, vectors
from spintron_nn.backends.verilog.lower import TOP, lower_plan, plan_output_addresses
from spintron_nn.backends.verilog.netlist import print_module
from spintron_nn.backends.verilog.plan import Plan, plan_design
from spintron_nn.errors import SpintronError

LIBRARY = Path(__file__).parent / "rtl"
FOLDER = "verilog"
SIZES_JSON = "rtl.json"
INPUTS = "inputs.hex"
EXPECTED = "expected.hex"


def write_rtl(module: ModuleOp, folder: Path) -> Plan:
    """The design's RTL and ROMs (no vectors) into ``folder``."""
    plan = plan_design(module)
    rtl = lower_plan(plan)
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(LIBRARY.iterdir()):
        if source.suffix in (".v", ".sv", ".vh"):  # .vh: included by the engines
            shutil.copyfile(source, folder / source.name)
    (folder / f"{TOP}.v").write_text(print_module(rtl.top))
    for name, text in rtl.files.items():
        (folder / name).write_text(text)
    return plan


def sizes_of(plan: Plan, n_vec: int) -> tools.Sizes:
    return tools.Sizes(plan.input_words, int(plan_output_addresses(plan).size), plan.word_bits, n_vec)


def write_vectors(module: ModuleOp, plan: Plan, folder: Path, inputs: list[np.ndarray]) -> tools.Sizes:
    """inputs.hex from ``inputs``, expected.hex from the simulator."""
    codes = host_io.encode_inputs(plan, module, inputs)
    vectors.write_hex(folder / INPUTS, codes, 8)
    raw = run_spin(host_io.raw_output_module(module, plan), inputs)
    words = np.concatenate([np.asarray(r, dtype=np.int64).reshape(codes.shape[0], -1) for r in raw], axis=1)
    vectors.write_hex(folder / EXPECTED, words, plan.word_bits)
    return sizes_of(plan, codes.shape[0])


def write_makefile(folder: Path, sizes: tools.Sizes) -> None:
    def line(command: list[str]) -> str:
        return " ".join(command)

    lines = [
        "# Build and run the self-checking testbench; `make synth` for the Yosys statistics.",
        "# VCD: make icarus PLUSARGS=+vcd=trace.vcd",
        f"CHECK = +inputs={INPUTS} +expected={EXPECTED} $(PLUSARGS)",
        "",
        ".PHONY: all icarus verilator lint synth clean",
        "all: lint icarus verilator synth",
        "",
        "icarus:",
        f"\t{line(tools.icarus_command(folder, sizes))}",
        f"\t{line(tools.simulator_run_command('icarus', ['$(CHECK)']))}",
        "",
        "verilator:",
        f"\t{line(tools.verilator_command(folder, sizes))}",
        f"\t{line(tools.simulator_run_command('verilator', ['$(CHECK)']))}",
        "",
        "lint:",
        f"\t{line(tools.lint_command(folder, sizes))}",
        "",
        "synth:",
        f"\tyosys -q -p '{tools.yosys_script(folder).replace('$', '$$')}'",
        "",
        "clean:",
        f"\trm -rf {tools.VERILATOR_DIR} {tools.ICARUS_IMAGE} outputs.hex",
    ]
    (folder / "Makefile").write_text("\n".join(lines) + "\n")


def write_target(design: Any, folder: Path) -> None:
    """The ``verilog`` target of ``spintronc compile``."""
    module = design.spin_module
    if module is None:
        raise SpintronError("the verilog target needs a crossbar design (add sim to --targets)")
    out = Path(folder) / FOLDER
    plan = write_rtl(module, out)
    if design.reference_inputs is not None:
        sizes = write_vectors(module, plan, out, design.reference_inputs)
    else:
        sizes = sizes_of(plan, 0)
    write_makefile(out, sizes)
    info: dict[str, Any] = {"n_in": sizes.n_in, "n_out": sizes.n_out, "word_bits": sizes.word_bits,
                            "vectors": sizes.n_vec, "stages": len(plan.stages), "buffer_words": plan.depth}
    # Full synthesis (ABC) takes minutes even for small networks: compile runs
    # the bounded word-level flow (latch gate, cell and flip-flop counts);
    # `make synth` (or tools.synthesize) writes the real thing to yosys_stat.json.
    info["synthesis"] = tools.quick_synthesis(out, tools.synth_timeout())
    (out / SIZES_JSON).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
