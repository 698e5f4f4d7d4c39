"""``spintron-opt``: run passes over textual IR, the research entry point.

    spintron-opt model.mlir -p 'canonicalize,fold-batchnorm' -o out.mlir

Weights are read from the ``.npz`` beside the input and written beside the
output (with ``-o``); printing to stdout prints the IR only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spintron_nn.errors import SpintronError
from spintron_nn.tools.cli_errors import one_line_usage_parser, run_with_error_handling


def build_parser() -> argparse.ArgumentParser:
    parser = one_line_usage_parser("spintron-opt")(
        prog="spintron-opt",
        description="Run SpinTron-NN-Kit passes over .mlir files (weights in the .npz beside them).",
    )
    parser.add_argument("input", nargs="?", help="input .mlir file ('-' for stdin)")
    parser.add_argument("-p", "--passes", default="", help="pass pipeline, e.g. 'canonicalize,fold-batchnorm'")
    parser.add_argument("-o", "--output", help="output .mlir (weights go to the .npz beside it)")
    parser.add_argument("--weights", help="weights .npz (default: beside the input)")
    parser.add_argument("--list-passes", action="store_true", help="list passes and their options")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _main(args: argparse.Namespace) -> int:
    from spintron_nn.ir import io as ir_io
    from spintron_nn.ir.weights import collect_weights
    from spintron_nn.passes.pipeline import (
        describe_passes,
        parse_pass_pipeline,
        run_pipeline,
    )

    if args.list_passes:
        print(describe_passes())
        return 0
    if args.input is None:
        raise SpintronError("no input file (see --help)")
    # A typo in -p is reported before a large input is read and verified.
    passes = parse_pass_pipeline(args.passes) if args.passes else ()
    if args.input == "-":
        text, name, weights_path = sys.stdin.read(), "<stdin>", args.weights
    else:
        path = Path(args.input)
        try:
            text = path.read_text()
        except OSError as exc:
            raise SpintronError(f"cannot read: {exc.strerror or exc}", path=args.input) from None
        except UnicodeDecodeError:
            raise SpintronError("not a text .mlir file (it is binary)", path=args.input) from None
        if "\0" in text:
            raise SpintronError("not a text .mlir file (it is binary)", path=args.input)
        name = args.input
        weights_path = args.weights or ir_io.weights_path_for(path)
    if args.weights is not None and not Path(args.weights).is_file():
        # load_weights treats a missing file as "no weights" (IR without
        # constants); an explicit --weights that is not there is a mistake.
        raise SpintronError("no such file (--weights)", path=args.weights)
    weights = ir_io.load_weights(Path(weights_path)) if weights_path else {}
    module = ir_io.parse_module(text, weights, name=name)
    if passes:
        run_pipeline(module, passes)
    if args.output:
        from spintron_nn.tools.atomic import atomic_output_file

        out = Path(args.output)
        with atomic_output_file(out) as tmp_mlir, atomic_output_file(
            ir_io.weights_path_for(out)
        ) as tmp_npz:
            tmp_mlir.write_text(ir_io.print_module(module))
            with open(tmp_npz, "wb") as handle:
                ir_io.save_weights(collect_weights(module), handle)
    else:
        sys.stdout.write(ir_io.print_module(module))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_with_error_handling(
        "spintron-opt", lambda: _main(args), debug=args.debug, one_line=False
    )


if __name__ == "__main__":
    sys.exit(main())
