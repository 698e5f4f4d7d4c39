"""``spintronc report OUT/``: the energy / latency / area table of a bundle.

Reads OUT/report.json when the bundle has one (compiled with the report
target), otherwise computes the report from the bundle's design."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spintron_nn.errors import SpintronError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="design bundle folder (from spintronc compile), or a report.json")
    parser.add_argument("--json", action="store_true", help="print the report.json content instead of the table")


def _read_report(file: Path) -> dict:
    try:
        return json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SpintronError(f"unreadable report ({exc})", path=str(file)) from None


def load_report(path: Path) -> dict:
    """A report.json given directly, a bundle's report.json (the bundle's
    hashes checked, like every other command does), or one computed from the
    bundle's design."""
    from spintron_nn.backends.report.schema import REPORT_JSON, check_report
    from spintron_nn.design import read_manifest

    if path.is_file():
        if path.suffix != ".json":
            raise SpintronError(f"not a design bundle folder or a {REPORT_JSON}", path=str(path))
        return check_report(_read_report(path))
    if not path.is_dir():
        raise SpintronError("no such bundle", path=str(path))
    file = path / REPORT_JSON
    # A report that does not parse or fit the schema is named as such before
    # the hash check would call it merely "changed".
    report = check_report(_read_report(file)) if file.is_file() else None
    read_manifest(path)
    if report is not None:
        return report
    from spintron_nn.backends.report.build import build_report
    from spintron_nn.design import Design

    return build_report(Design.load(path), folder=path)


def run(args: argparse.Namespace) -> int:
    report = load_report(Path(args.bundle))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        from spintron_nn.backends.report.terminal import format_report

        print(format_report(report))
    return 0
