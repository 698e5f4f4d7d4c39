"""``spintronc run OUT/|MODEL --input X --output Y --backend float|sim|rtl|spice``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spintron_nn.devices.corners import CORNER_NAMES
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
    add_device_arguments(parser)
    # The analog run's options (backends/spice/runner.run_design), one flag each.
    analog = parser.add_argument_group("analog run (--backend spice only, docs/spice.md)")
    analog.add_argument("--corner", choices=CORNER_NAMES, help="process corner of the devices (default tt)")
    analog.add_argument(
        "--wire-resistance", type=float, metavar="OHM",
        help="word/bit-line resistance per cell pitch, 0-1e4 ohm (default: the parameter table's wire geometry)",
    )
    analog.add_argument(
        "--ideal-devices", action="store_true",
        help="no wires, no access transistor, linear cells: equals --backend sim bit for bit",
    )
    analog.add_argument(
        "--device-variation", action="store_true",
        help="seeded device-to-device variation (stream of --seed, one per tile)",
    )


def add_device_arguments(parser: argparse.ArgumentParser,
                         title: str = "device non-idealities (--backend sim only, docs/semantics.md section 10; "
                                      "drawn from --seed)") -> None:
    """The simulator's seeded device model (backends/sim/noise.NoiseSpec), one flag per field
    (``run`` and ``evaluate``; :func:`sim_noise` reads them)."""
    devices = parser.add_argument_group(title)
    devices.add_argument("--conductance-variation", type=float, metavar="SIGMA",
                         help="static relative deviation of every programmed cell's current, e.g. 0.1")
    devices.add_argument("--read-noise", type=float, metavar="SIGMA",
                         help="additive Gaussian on every column read, in level units")
    devices.add_argument("--stuck-at-zero", type=float, metavar="P", help="probability a cell reads level 0")
    devices.add_argument("--stuck-at-one", type=float, metavar="P", help="probability a cell reads the top level")
    devices.add_argument("--verified-column-sums", action="store_true",
                         help="the zero-point term uses the drawn cells (program-and-verify read-back)")


def rtl_options(args: argparse.Namespace) -> dict:
    """``Design.run`` options of --backend rtl given on the command line."""
    options = {"simulator": args.simulator} if args.simulator else {}
    if args.vcd:
        vcd = Path(args.vcd)
        if not vcd.parent.is_dir():
            raise SpintronError("folder for the waveform does not exist", path=args.vcd)
        options["vcd"] = str(vcd)
    return options


def spice_options(args: argparse.Namespace) -> dict:
    """``Design.run`` options of --backend spice given on the command line."""
    options: dict = {}
    if args.corner is not None:
        options["corner"] = args.corner
    if args.wire_resistance is not None:
        from spintron_nn.backends.spice.params import check_segment_resistance

        options["wire_resistance"] = check_segment_resistance("--wire-resistance", args.wire_resistance)
    if args.ideal_devices:
        if options:
            raise SpintronError("--ideal-devices has no wires and the tt corner; "
                                "drop --corner / --wire-resistance or --ideal-devices")
        options["ideal"] = True
    if args.device_variation:
        options["variation"] = True
    if sys.stderr.isatty():  # the nodal solves take a while: say which tile is being solved
        options["progress"] = lambda message: print(f"spice: {message}", file=sys.stderr, flush=True)
    return options


def sim_noise(args: argparse.Namespace):
    """The ``NoiseSpec`` of the device flags (None when none is given); bad values are its errors."""
    fields = ("conductance_variation", "read_noise", "stuck_at_zero", "stuck_at_one")
    given = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    if not given and not args.verified_column_sums:
        return None
    from spintron_nn.backends.sim.noise import NoiseSpec

    try:
        return NoiseSpec(verified_column_sums=args.verified_column_sums, **given)
    except SpintronError as error:  # name the flag, not the field
        message = str(error).removeprefix("noise ")
        for name in fields:
            message = message.replace(name, "--" + name.replace("_", "-"))
        raise SpintronError(message) from None


# Options that belong to one backend, by argparse dest.
BACKEND_FLAGS = {
    "sim": ("conductance_variation", "read_noise", "stuck_at_zero", "stuck_at_one", "verified_column_sums"),
    "rtl": ("simulator", "vcd"),
    "spice": ("corner", "wire_resistance", "ideal_devices", "device_variation"),
}


def backend_options(args: argparse.Namespace) -> dict:
    """The options for the chosen backend; an option of another backend is
    an error rather than silently ignored."""
    for backend, dests in BACKEND_FLAGS.items():
        # "is not": 0.0 == False, and --wire-resistance 0 is a value given
        given = ["--" + dest.replace("_", "-") for dest in dests
                 if getattr(args, dest) is not None and getattr(args, dest) is not False]
        if given and args.backend != backend:
            verb = "applies" if len(given) == 1 else "apply"
            raise SpintronError(f"{' and '.join(given)} {verb} to --backend {backend} only")
    if args.backend == "rtl":
        return rtl_options(args)
    if args.backend == "spice":
        return spice_options(args)
    return {}


def run(args: argparse.Namespace) -> int:
    from spintron_nn.array_files import check_output_name, checked_inputs, load_arrays, save_outputs

    from spintron_nn.tools.atomic import refuse_clobbering

    target = Path(args.target)
    options = backend_options(args)
    noise = sim_noise(args)
    # the seed draws devices for sim noise and for spice --device-variation
    if (noise is not None or options.get("variation")) and not 0 <= args.seed < 2**64:
        raise SpintronError(f"--seed must be in 0..2**64-1 for the device model, got {args.seed}")
    refuse_clobbering(args.output, inputs=(args.input, args.target),
                      folder=args.target if target.is_dir() else None)
    if not target.exists():
        raise SpintronError("no such bundle or model file", path=args.target)
    if target.is_dir():
        from spintron_nn.design import Design

        if args.architecture:
            raise SpintronError("--architecture applies to model files, not to a bundle", path=args.target)
        design = Design.load(target)
        check_output_name(args.output, design.output_names)
        inputs = checked_inputs(design.float_module, load_arrays(args.input, design.input_names), path=args.input)
        outputs = design.run(inputs, backend=args.backend, noise=noise, seed=args.seed, **options)
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
