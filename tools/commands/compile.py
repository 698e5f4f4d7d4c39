"""``spintronc compile MODEL -o OUT``: model -> design bundle."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from spintron_nn.config import INPUT_ACTIVITIES, KNOWN_TARGETS, CompileConfig, parse_crossbar, parse_layer_bits
from spintron_nn.errors import SpintronError

# Target -> "module:function", function(design, folder) writing the target's
# files into the bundle being built.  ir and sim are produced by the compile
# itself; a target whose module this build lacks is an error naming it.
TARGET_WRITERS: dict[str, str] = {
    "verilog": "spintron_nn.backends.verilog.bundle:write_target",
    "spice": "spintron_nn.backends.spice.bundle:write_target",
    "report": "spintron_nn.backends.report.bundle:write_target",
}


def add_hardware_mode_arguments(parser: argparse.ArgumentParser, note: str = "") -> None:
    """--signed-inputs and --input-activity, as compile and sweep take them (``note``: appended to the help)."""
    parser.add_argument("--signed-inputs", action="store_true",
                        help="layers whose inputs have a non-zero zero point read x - zp as two's-complement "
                        f"codes (no zero-point term; docs/semantics.md section 4a){note}")
    parser.add_argument("--input-activity", choices=INPUT_ACTIVITIES, default="table",
                        help="input one-bit fraction the energy estimate prices reads at: the parameter table's "
                        f"(default) or measured per tile on the calibration data{note}")


def add_parameters_argument(parser: argparse.ArgumentParser, note: str = "") -> None:
    """--parameters, as compile and sweep take it (``note``: appended to the help)."""
    parser.add_argument("--parameters", default="",
                        help="parameter-table overrides after --mtj-config, e.g. cmos.operand_bits=0 "
                        f"(names as docs/parameters.md lists them){note}")


def parameter_overrides(args: argparse.Namespace) -> tuple[tuple[str, float], ...]:
    """--parameters as ``CompileConfig.parameter_overrides`` (names and ranges checked there)."""
    from spintron_nn.parameters import parse_value_overrides

    return tuple(parse_value_overrides(args.parameters, origin="--parameters").items())


def add_input_bits_argument(parser: argparse.ArgumentParser, note: str = "") -> None:
    """--input-bits, as compile and sweep take it (``note``: appended to the help)."""
    parser.add_argument("--input-bits", type=int,
                        help="2..8: code width of the network's inputs, read by the layers that take them "
                        f"directly (default: --activation-bits; e.g. 8 for a W4A4 network){note}")


def add_layer_width_arguments(parser: argparse.ArgumentParser, note: str = "") -> None:
    """--layer-activation-bits and --layer-adc-bits, as compile and sweep take them."""
    parser.add_argument("--layer-activation-bits", default="",
                        help="code widths of single matrix layers' results, e.g. layer0=8 (names as the report "
                        f"lists them; the layers reading them read that many bit planes){note}")
    parser.add_argument("--layer-adc-bits", default="",
                        help=f"ADC resolutions of single matrix layers' tiles, e.g. layer0=8 (1..12){note}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="ONNX file, or a .py defining build_model() and example_input()")
    parser.add_argument("-o", "--output", required=True, help="bundle folder to write")
    parser.add_argument(
        "--architecture",
        help="for a .pt/.pth state_dict: the .py whose build_model() makes the network "
        "(checkpoints load with weights_only=True)",
    )
    parser.add_argument("--weight-bits", type=int, default=8, help="2..8 (default 8)")
    parser.add_argument("--layer-weight-bits", default="",
                        help="weight widths of single matrix layers, e.g. layer0=8,layer3=8 (names as the "
                        "report lists them; the others keep --weight-bits)")
    parser.add_argument("--activation-bits", type=int, default=8, help="2..8 (default 8)")
    add_layer_width_arguments(parser)
    parser.add_argument("--output-bits", type=int, default=8,
                        help="2..8: code width of the network's outputs where a matrix layer makes them "
                        "(default 8; they feed no crossbar)")
    add_input_bits_argument(parser)
    add_hardware_mode_arguments(parser)
    parser.add_argument("--grouped-tiling", choices=("aligned", "grid"), default="aligned",
                        help="grouped/depthwise convs: tiles of whole groups (aligned, least energy; default) "
                        "or the array grid (fewest arrays)")
    parser.add_argument("--cell-bits", type=int, default=2, help="bits per MTJ cell, 1..4 (default 2)")
    parser.add_argument("--adc-bits", type=int, default=6, help="1..12 (default 6)")
    parser.add_argument("--crossbar", default="128x128", help="tile size RxC, 16..1024 (default 128x128)")
    parser.add_argument("--calibration", help="calibration inputs (.npy, or .npz keyed by input name)")
    parser.add_argument(
        "--targets",
        default="ir,sim,report",
        help=f"comma-separated subset of {','.join(KNOWN_TARGETS)} (default ir,sim,report)",
    )
    parser.add_argument("--pipeline", help="replace the float clean-up passes (default canonicalize,fold-constants,fold-batchnorm,"
                        "fuse-activations; spintron-opt -p syntax); quantization and mapping follow")
    parser.add_argument("--mtj-config", help="TOML overriding device/energy parameters")
    add_parameters_argument(parser)
    parser.add_argument("--spice-tiles", help="tiles with SPICE decks (spice target): all | first | ids, e.g. 0,3")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show progress on stderr even when it is not a terminal (shown on terminals by default)",
    )


def _config(args: argparse.Namespace) -> CompileConfig:
    rows, cols = parse_crossbar(args.crossbar)
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if not targets:
        raise SpintronError("--targets is empty")
    return CompileConfig(
        weight_bits=args.weight_bits,
        layer_weight_bits=parse_layer_bits(args.layer_weight_bits),
        layer_activation_bits=parse_layer_bits(args.layer_activation_bits, "activation"),
        layer_adc_bits=parse_layer_bits(args.layer_adc_bits, "ADC"),
        activation_bits=args.activation_bits,
        output_bits=args.output_bits,
        input_bits=args.input_bits,
        grouped_tiling=args.grouped_tiling,
        input_activity=args.input_activity,
        signed_inputs=args.signed_inputs,
        cell_bits=args.cell_bits,
        adc_bits=args.adc_bits,
        rows=rows,
        cols=cols,
        targets=targets,
        pipeline=args.pipeline,
        mtj_config=args.mtj_config,
        parameter_overrides=parameter_overrides(args),
        spice_tiles=args.spice_tiles,
    )


def _writers(targets: tuple[str, ...]) -> list[tuple[str, Any]]:
    """``(target, writer)`` pairs of the targets that write files."""
    from spintron_nn.entry_points import load_entry_point

    # TARGET_WRITERS order, not the user's: the report reads verilog/rtl.json.
    return [
        (target, load_entry_point(entry, f"target '{target}'"))
        for target, entry in TARGET_WRITERS.items()
        if target in targets
    ]


# what a target writer does, for the progress line (the verilog and spice ones take a while)
TARGET_WORK = {"verilog": "RTL, testbench and Yosys statistics", "spice": "SPICE decks and their analysis",
               "report": "energy report"}


def _announced(target: str, writer, progress):
    def write(design, folder):
        progress(f"target {target}: {TARGET_WORK.get(target, 'writing')}")
        writer(design, folder)
    return write


# Options that shape only the mapped design: with the target 'ir' alone (the float IR) they
# would do nothing, so giving one is refused like --spice-tiles without the spice target.
_MAPPING_OPTIONS = ("weight_bits", "layer_weight_bits", "activation_bits", "layer_activation_bits",
                    "layer_adc_bits", "output_bits", "input_bits", "signed_inputs", "input_activity",
                    "grouped_tiling", "cell_bits", "adc_bits", "crossbar", "mtj_config", "parameters")


def _check_options_apply(args: argparse.Namespace, targets: tuple[str, ...]) -> None:
    if any(target != "ir" for target in targets):
        return
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    for option in _MAPPING_OPTIONS:
        if getattr(args, option) != defaults.get_default(option):
            flag = "--" + option.replace("_", "-")
            raise SpintronError(f"{flag} shapes the crossbar design, and targets 'ir' alone map nothing "
                                "(add sim to --targets, or drop the option)")


def run(args: argparse.Namespace) -> int:
    from spintron_nn.api import compile_model
    from spintron_nn.design import MANIFEST
    from spintron_nn.tools.atomic import check_output_dir
    from spintron_nn.tools.commands.summary import print_summary

    config = _config(args)
    writers = _writers(config.targets)  # fail on unknown targets before any work
    _check_options_apply(args, config.targets)
    if config.spice_tiles is not None:
        if "spice" not in config.targets:
            # like run --simulator without --backend rtl: an option that would do nothing
            raise SpintronError("--spice-tiles applies to the spice target (add spice to --targets)")
        from spintron_nn.backends.spice.bundle import check_tile_selection

        check_tile_selection(config.spice_tiles)
    if args.calibration is not None and not Path(args.calibration).is_file():
        raise SpintronError("no such file", path=args.calibration)
    check_output_dir(Path(args.output), MANIFEST)  # refuse before the work, not after
    start = time.perf_counter()
    # Progress goes to a terminal; piped stderr keeps the one-line error contract.
    show_progress = not args.quiet and (args.progress or sys.stderr.isatty())

    def progress(message: str) -> None:
        if show_progress:
            print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    design = compile_model(
        args.model, config, args.calibration, architecture=args.architecture, progress=progress
    )
    progress("writing bundle")
    design.save(args.output, extra_writers=[_announced(target, writer, progress) for target, writer in writers])
    if not args.quiet:
        print_summary(design, args.output)
    return 0
