"""Builds the optional C crossbar kernel; all other metadata lives in pyproject.toml.

The extension is optional by design: without a working C compiler the package installs
without it and ``backends/sim/dispatch.py`` falls back to the numpy reference.  The
ISA-specific micro-kernels carry their own target attributes (chosen at run time), so
the module itself is built for the baseline CPU.  Threads are POSIX threads
(runtime/crossbar_pool.c explains why not OpenMP).
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that never fails the install: without the kernel the reference runs."""

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:  # no compiler, bad headers, ...: numpy fallback
            print(f"warning: C crossbar kernel not built ({error}); "
                  "the simulator will use the numpy reference", file=sys.stderr)


POSIX = sys.platform != "win32"
CROSSBAR = Extension(
    "spintron_nn.runtime._crossbar",
    sources=["runtime/_crossbar.c", "runtime/crossbar_driver.c", "runtime/crossbar_kernels.c",
             "runtime/crossbar_wide.c", "runtime/crossbar_pool.c",
             "runtime/crossbar_input.c"],
    depends=["runtime/crossbar.h"],
    extra_compile_args=["-O3", "-std=c11", "-pthread"] if POSIX else [],
    extra_link_args=["-pthread"] if POSIX else [],
)

setup(ext_modules=[CROSSBAR], cmdclass={"build_ext": OptionalBuildExt})
