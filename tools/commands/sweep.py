"""``spintronc sweep MODEL --crossbar .. --adc-bits .. --cell-bits .. [--weight-bits ..] --calibration X -o DIR``:
compile and simulate every grid point in worker processes; write a table
(CSV + JSON) and an accuracy-vs-energy Pareto plot (backends/report/sweep.py)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from spintron_nn.errors import SpintronError
from spintron_nn.tools.commands.compile import (
    add_hardware_mode_arguments, add_input_bits_argument, add_layer_width_arguments, add_parameters_argument,
    parameter_overrides)

DEFAULT_JOBS = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="ONNX file, or a .py defining build_model() and example_input()")
    parser.add_argument("-o", "--output", required=True, help="folder to write sweep.csv/json and pareto.png/svg into")
    parser.add_argument("--calibration", required=True,
                        help="calibration inputs (.npy, or .npz keyed by input name); accuracy is measured on them")
    parser.add_argument("--crossbar", default="128x128", help="tile sizes, e.g. 64x64,128x128,256x256")
    parser.add_argument("--adc-bits", default="6", help="ADC resolutions, e.g. 4,6,8")
    parser.add_argument("--cell-bits", default="2", help="bits per cell, e.g. 1,2")
    parser.add_argument("--weight-bits", default="8",
                        help="weight widths 2..8, e.g. 4,8 (default 8): one is the same at every point, "
                        "several are a grid axis")
    parser.add_argument("--layer-weight-bits", default="",
                        help="single matrix layers' weight widths, e.g. layer0=8 (as compile), same at every point")
    parser.add_argument("--activation-bits", default="8",
                        help="activation widths 2..8, e.g. 4,8 (default 8): one is the same at every point, "
                        "several are a grid axis")
    parser.add_argument("--output-bits", type=int, default=8,
                        help="2..8: code width of the network's outputs where a matrix layer makes them "
                        "(default 8), same at every point")
    add_layer_width_arguments(parser, ", same at every point")
    add_input_bits_argument(parser, ", same at every point")
    add_hardware_mode_arguments(parser, ", same at every point")
    parser.add_argument("--grouped-tiling", choices=("aligned", "grid"), default="aligned",
                        help="grouped/depthwise convs: whole-group tiles (default) or the array grid, same at every point")
    parser.add_argument("--mtj-config", help="TOML overriding device/energy parameters")
    add_parameters_argument(parser, ", same at every point")
    parser.add_argument("-j", "--jobs", type=int, default=DEFAULT_JOBS,
                        help=f"worker processes (default {DEFAULT_JOBS})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    parser.add_argument("--progress", action="store_true",
                        help="show the progress bar even when stderr is not a terminal")


class ProgressBar:
    """``[#####.....] 3/12 128x128 c2 a6`` redrawn in place on stderr."""

    WIDTH = 30

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.start = time.perf_counter()

    def update(self, done: int, total: int, point: dict) -> None:
        if not self.enabled:
            return
        filled = self.WIDTH * done // total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        elapsed = time.perf_counter() - self.start
        print(f"\r[{bar}] {done}/{total} {point['label']:<21} {elapsed:6.1f}s", end="", file=sys.stderr, flush=True)
        if done == total:
            print(file=sys.stderr, flush=True)


def _validated(args: argparse.Namespace):
    """Everything checked before a worker starts or a file is written."""
    from spintron_nn.backends.report.sweep import SweepGrid, parse_crossbar_list, parse_int_list
    from spintron_nn.config import CompileConfig, parse_layer_bits

    if not 1 <= args.jobs <= 64:
        raise SpintronError(f"--jobs must be in 1..64, got {args.jobs}")
    for option, path in (("model", args.model), ("--calibration", args.calibration)):
        if not Path(path).is_file():
            raise SpintronError(f"no such file ({option})", path=path)
    grid = SweepGrid(
        crossbars=tuple(parse_crossbar_list(args.crossbar)),
        adc_bits=tuple(parse_int_list(args.adc_bits, "--adc-bits")),
        cell_bits=tuple(parse_int_list(args.cell_bits, "--cell-bits")),
        weight_bits=tuple(parse_int_list(args.weight_bits, "--weight-bits")),
        activation_bits=tuple(parse_int_list(args.activation_bits, "--activation-bits")),
    )
    base = CompileConfig(weight_bits=grid.weight_bits[0], layer_weight_bits=parse_layer_bits(args.layer_weight_bits),
                         layer_activation_bits=parse_layer_bits(args.layer_activation_bits, "activation"),
                         layer_adc_bits=parse_layer_bits(args.layer_adc_bits, "ADC"),
                         activation_bits=grid.activation_bits[0],
                         output_bits=args.output_bits, input_bits=args.input_bits, grouped_tiling=args.grouped_tiling,
                         input_activity=args.input_activity, signed_inputs=args.signed_inputs,
                         mtj_config=args.mtj_config, parameter_overrides=parameter_overrides(args))
    return grid, grid.configs(base)


def run(args: argparse.Namespace) -> int:
    from spintron_nn.backends.report.sweep import SWEEP_JSON, run_sweep, write_sweep
    from spintron_nn.tools.atomic import atomic_output_dir, check_output_dir

    grid, configs = _validated(args)
    check_output_dir(Path(args.output), SWEEP_JSON)  # before the workers, not after
    progress = ProgressBar(not args.quiet and (args.progress or sys.stderr.isatty()))
    # The folder appears only when every point succeeded (one-line error otherwise).
    points = run_sweep(str(args.model), configs, str(args.calibration), jobs=args.jobs, on_done=progress.update)
    # several weight (activation) widths are a grid axis; one is a fixed choice, as before
    widths = {"weight_bits": grid.weight_bits, "activation_bits": grid.activation_bits}
    axes = {key: list(values) for key, values in widths.items() if len(values) > 1}
    fixed_widths = {key: values[0] for key, values in widths.items() if len(values) == 1}
    meta = {
        "model": str(args.model),
        "calibration": str(args.calibration),
        "grid": {"crossbar": [f"{r}x{c}" for r, c in grid.crossbars], "adc_bits": list(grid.adc_bits),
                 "cell_bits": list(grid.cell_bits), **axes},
        "fixed": {**fixed_widths, "layer_weight_bits": dict(configs[0].layer_weight_bits),
                  "layer_activation_bits": dict(configs[0].layer_activation_bits),
                  "layer_adc_bits": dict(configs[0].layer_adc_bits),
                  # None: the activation width of each point
                  "output_bits": args.output_bits, "input_bits": args.input_bits,
                  "grouped_tiling": args.grouped_tiling,
                  "input_activity": args.input_activity, "signed_inputs": args.signed_inputs,
                  "mtj_config": args.mtj_config, "parameters": dict(configs[0].parameter_overrides)},
        "accuracy": "top-1 agreement of the bit-exact simulation with the float graph on the calibration inputs",
    }
    with atomic_output_dir(Path(args.output), marker=SWEEP_JSON) as folder:
        write_sweep(folder, points, meta)
    if not args.quiet:
        from spintron_nn.backends.report.formatting import percent, si

        best = [p for p in points if p["pareto"]]
        print(f"sweep: {len(points)} points -> {args.output}; Pareto-optimal:")
        for point in sorted(best, key=lambda p: p["energy_j"]):
            print(f"  {point['label']:<21} accuracy {percent(point['accuracy'], 2):>9}  "
                  f"energy {si(point['energy_j'], 'J'):>9}  {point['pj_per_mac']:.3g} pJ/MAC")
    return 0
