"""Benchmark of the Verilog backend (issue 5); prints what one run measured.

    python benchmarks/bench_verilog.py [--vectors 200] [--skip-simulation] [--skip-generation]

1. Simulation speed: the digits MLP bundle's self-checking testbench, built
   once with Verilator and once with Icarus, run on the same input vectors;
   simulated clock cycles per wall-clock second of each and their ratio.
   Build times are printed separately (they are not part of the ratio).  The
   rate is per CPU second of the simulator process (wall time printed too).
2. Generation time of the RTL (plan, netlist, ROM files) for a ~1.2 M-weight
   MLP (1024-768-512-10, W8A8, 2-bit cells, 128x128 tiles); target <= 30 s.

Other processes share the machine, so wall-clock numbers carry their noise.
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from spintron_nn.api import compile_model
from spintron_nn.backends.verilog import bundle, runner
from spintron_nn.config import CompileConfig

ROOT = Path(__file__).resolve().parents[1]


def simulation_speed(vectors: int) -> None:
    calibration = np.load(ROOT / "examples" / "digits_calibration.npy")
    design = compile_model(ROOT / "examples" / "digits_mlp.onnx", CompileConfig(targets=("ir", "sim")), calibration)
    inputs = np.random.default_rng(0).uniform(0, 1, size=(vectors, 64)).astype(np.float32)
    rates = {}
    for simulator in ("verilator", "icarus"):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            plan = bundle.write_rtl(design.spin_module, folder)
            sizes = bundle.write_vectors(design.spin_module, plan, folder, [inputs])
            start = time.perf_counter()
            runner.build(folder, sizes, simulator)
            built = time.perf_counter() - start
            start = time.perf_counter()
            cpu_start = _child_cpu_seconds()
            log = runner.simulate(folder, simulator, [f"+inputs={bundle.INPUTS}", f"+expected={bundle.EXPECTED}"])
            seconds = time.perf_counter() - start
            cpu = _child_cpu_seconds() - cpu_start
        assert f"ALL PASS: {vectors} vectors" in log, log[-500:]
        cycles = int(re.search(r"total cycles=(\d+)", log).group(1))
        rates[simulator] = cycles / cpu
        print(f"{simulator:9s}: build {built:6.1f} s wall, {cycles} cycles in {cpu:6.2f} s CPU "
              f"({seconds:6.2f} s wall) = {rates[simulator]:,.0f} cycles per CPU second (all {vectors} vectors PASS)")
    print(f"verilator / icarus cycles per CPU second: {rates['verilator'] / rates['icarus']:.1f}x")


def _child_cpu_seconds() -> float:
    """CPU time of finished child processes: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def generation_time() -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1024, 768), nn.ReLU(), nn.Linear(768, 512), nn.ReLU(), nn.Linear(512, 10)).eval()
    weights = sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))
    calibration = np.random.default_rng(0).uniform(0, 1, size=(8, 1024)).astype(np.float32)
    design = compile_model(model, CompileConfig(targets=("ir", "sim")), calibration,
                           example_input=torch.from_numpy(calibration[:1]))
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        plan = bundle.write_rtl(design.spin_module, Path(scratch))
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(scratch).iterdir())
    print(f"generation: {weights:,} weights, {len(plan.stages)} stages, {size / 1e6:.1f} MB of RTL+ROMs "
          f"in {seconds:.1f} s (target <= 30 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=200)
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--skip-simulation", action="store_true")
    args = parser.parse_args()
    if not args.skip_simulation:
        simulation_speed(args.vectors)
    if not args.skip_generation:
        generation_time()


if __name__ == "__main__":
    main()
