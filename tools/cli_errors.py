"""One place that turns exceptions into the CLI contract.

Bad input: one line ``<prog>: error: ...`` on stderr, exit 2, no traceback
(unless ``--debug``).  Verification mismatch: exit 1.  Anything else is a bug
and keeps its traceback, because hiding it would hide the bug.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable

from spintron_nn.errors import SpintronError, VerificationMismatch


def one_line_usage_parser(prog: str) -> type[argparse.ArgumentParser]:
    """An ArgumentParser class whose usage errors are one line ``<prog>:
    error: ...`` (exit 2), without argparse's usage block before it."""

    class OneLineParser(argparse.ArgumentParser):
        def error(self, message: str):  # type: ignore[override]
            self.exit(2, f"{prog}: error: {message}\n")

    return OneLineParser


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def run_with_error_handling(
    prog: str, body: Callable[[], int], *, debug: bool, one_line: bool = True
) -> int:
    """``one_line=False`` keeps multi-line diagnostics (spintron-opt prints
    parser carets the way mlir-opt does)."""
    tidy = _one_line if one_line else str
    original_format = warnings.formatwarning
    if not debug:
        # Python's format (file:line, then the source line) reads like a
        # crash; a user gets one line saying what to look at.  Only the
        # format changes, so recorders (pytest.warns) still see warnings.
        warnings.formatwarning = lambda message, *_args, **_kw: f"{prog}: warning: {tidy(str(message))}\n"
    try:
        return _run(prog, body, debug, tidy)
    finally:
        warnings.formatwarning = original_format


def _run(prog: str, body: Callable[[], int], debug: bool, tidy: Callable[[str], str]) -> int:
    try:
        return body()
    except SpintronError as exc:
        if debug:
            raise
        print(f"{prog}: error: {tidy(str(exc))}", file=sys.stderr)
        return exc.exit_status
    except VerificationMismatch as exc:
        if debug:
            raise
        print(f"{prog}: verification failed: {tidy(str(exc))}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `spintronc report OUT | head`: the reader left; no traceback, and
        # stdout goes to devnull so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell tool killed by the pipe reports
