"""``spintronc verify OUT/``: re-run a bundle's checks against its oracles.

Each check prints one line with what it measured and the bound it holds the
design to; any failed check makes the exit status 1.
"""

from __future__ import annotations

import argparse

from spintron_nn.errors import SpintronError, VerificationMismatch


def _fraction(text: str) -> float:
    """A share in 0..1 (argparse turns the ValueError into a usage error)."""
    value = float(text)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError(text)
    return value


_fraction.__name__ = "fraction in 0..1"  # argparse names the type in its message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="design bundle folder")
    parser.add_argument(
        "--min-agreement",
        type=_fraction,
        default=None,
        help="required top-1 agreement of sim with float for classifier outputs "
        "(default: from the bundle's bit widths, see docs/cli.md)",
    )


def run(args: argparse.Namespace) -> int:
    from spintron_nn.design import Design
    from spintron_nn.verification import run_checks

    design = Design.load(args.bundle)
    if design.spin_module is None:
        raise SpintronError(
            "the bundle has no crossbar design to verify (compiled with --targets ir)", path=args.bundle
        )
    if design.reference_inputs is None:
        raise SpintronError(
            "the bundle stores no reference inputs (compile it with --calibration)",
            path=args.bundle,
        )
    def print_lines(group) -> None:  # as soon as measured: the RTL and SPICE checks take a while
        for result in group:
            print(result.line(), flush=True)

    results = run_checks(design, min_agreement=args.min_agreement, on_results=print_lines)
    failed = [r for r in results if not r.passed]
    if failed:
        raise VerificationMismatch(", ".join(r.name for r in failed) + " outside the stated bound")
    return 0
