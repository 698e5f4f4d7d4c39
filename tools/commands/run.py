"""``spintronc run OUT/|MODEL --input X --output Y --backend float|sim``."""

from __future__ import annotations

import argparse
from pathlib import Path

from spintron_nn.errors import SpintronError

BACKENDS = ("float", "sim", "rtl", "spice")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="design bundle folder, or a model file (float backend)")
    parser.add_argument("--input", required=True, help=".npy (single input) or .npz keyed by input name")
    parser.add_argument("--output", required=True, help=".npy (single output) or .npz")
    parser.add_argument("--backend", default="sim", choices=BACKENDS, help="default sim")
    parser.add_argument("--architecture", help="for a .pt/.pth state_dict: the .py that builds the network")
    parser.add_argument("--seed", type=int, default=0, help="seed for non-idealities")
    parser.add_argument(
        "--simulator",
        choices=("verilator", "icarus"),
        help="RTL simulator for --backend rtl (default: verilator, icarus as fallback)",
    )
    parser.add_argument("--vcd", help="with --backend rtl: write the simulation's waveform to this .vcd file")


def run(args: argparse.Namespace) -> int:
    from spintron_nn.array_files import check_output_name, checked_inputs, load_arrays, save_outputs

    target = Path(args.target)
    if not target.exists():
        raise SpintronError("no such bundle or model file", path=args.target)
    if target.is_dir():
        from spintron_nn.design import Design

        if args.architecture:
            raise SpintronError("--architecture applies to model files, not to a bundle", path=args.target)
        design = Design.load(target)
        check_output_name(args.output, design.output_names)
        inputs = checked_inputs(design.float_module, load_arrays(args.input, design.input_names), path=args.input)
        options = {"simulator": args.simulator} if args.simulator else {}
        if args.vcd:
            vcd = Path(args.vcd)
            if not vcd.parent.is_dir():
                raise SpintronError("folder for the waveform does not exist", path=args.vcd)
            options["vcd"] = str(vcd)
        if options and args.backend != "rtl":
            raise SpintronError("--simulator and --vcd apply to --backend rtl only")
        outputs = design.run(inputs, backend=args.backend, seed=args.seed, **options)
        names = design.output_names
    else:
        if args.backend != "float":
            raise SpintronError(
                f"backend '{args.backend}' needs a compiled bundle (spintronc compile {args.target} -o OUT)",
                path=args.target,
            )
        from spintron_nn.api import check_architecture_option
        from spintron_nn.backends.float_exec import run_float
        from spintron_nn.frontend import load_model
        from spintron_nn.ir.module_info import input_names, output_names

        check_architecture_option(args.target, args.architecture)
        module = load_model(args.target, architecture=args.architecture)
        check_output_name(args.output, output_names(module))
        inputs = checked_inputs(module, load_arrays(args.input, input_names(module)), path=args.input)
        outputs = run_float(module, inputs)
        names = output_names(module)
    save_outputs(args.output, names, outputs)
    return 0
