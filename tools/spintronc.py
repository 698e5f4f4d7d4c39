"""``spintronc``: the compiler driver (see docs/cli.md).

Each subcommand lives in ``spintron_nn.tools.commands.<name>`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; they are imported only when
chosen, so ``spintronc --help`` stays fast and torch is loaded only if needed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from spintron_nn import __version__
from spintron_nn.tools.cli_errors import one_line_usage_parser, run_with_error_handling

# name -> one-line help; the module of the same name implements it.
SUBCOMMANDS = {
    "compile": "compile a model (ONNX, PyTorch .py) into a design bundle",
    "run": "run a design bundle or a model on inputs with a chosen backend",
    "verify": "re-run a bundle's checks against its oracles (exit 1 on mismatch)",
    "evaluate": "top-1 accuracy of a bundle on labelled inputs: float, sim, and drawn chips",
    "report": "print a bundle's energy / latency / area summary",
    "sweep": "compile and simulate a grid of hardware configurations",
}


# argparse, but usage errors follow the one-line contract (exit 2).
_Parser = one_line_usage_parser("spintronc")


def _version_text() -> str:
    try:
        from spintron_nn.runtime import kernel_info
    except ImportError:
        return f"spintronc {__version__}"
    return f"spintronc {__version__} ({kernel_info()})"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spintronc",
        description="SpinTron-NN-Kit compiler: neural networks onto spintronic crossbars.",
    )
    parser.add_argument("--version", action="store_true", help="print version and kernel info")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in SUBCOMMANDS.items():
        module_name = f"spintron_nn.tools.commands.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS,
            help="show tracebacks on errors",
        )
        importlib.import_module(module_name).add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(_version_text())
        return 0
    if args.command is None:
        # The one-line usage contract (docs/cli.md); --help shows the rest.
        print(f"spintronc: error: a command is required ({', '.join(SUBCOMMANDS)}); see spintronc --help",
              file=sys.stderr)
        return 2
    command = importlib.import_module(f"spintron_nn.tools.commands.{args.command}")
    return run_with_error_handling("spintronc", lambda: command.run(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
