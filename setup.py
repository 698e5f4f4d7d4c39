"""Builds the optional C crossbar kernel; all other metadata lives in pyproject.toml.

The extension is optional by design: without a working C compiler the package installs
without it and ``backends/sim/dispatch.py`` falls back to the numpy reference.  OpenMP is
used when the compiler accepts ``-fopenmp``.  The ISA-specific kernels carry their own
target attributes, so the module itself is built for the baseline CPU.
"""

import os
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_PROBE = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"


def _compiler_accepts_openmp(compiler) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "probe.c")
        with open(source, "w") as handle:
            handle.write(OPENMP_PROBE)
        try:
            objects = compiler.compile([source], output_dir=folder, extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, "probe", output_dir=folder, extra_postargs=["-fopenmp"])
        except Exception:  # any compiler or linker failure means: no OpenMP
            return False
    return True


class OptionalBuildExt(build_ext):
    """build_ext that adds OpenMP if available and never fails the install."""

    def build_extension(self, ext):
        try:
            if sys.platform != "win32" and _compiler_accepts_openmp(self.compiler):
                ext.extra_compile_args = [*ext.extra_compile_args, "-fopenmp"]
                ext.extra_link_args = [*ext.extra_link_args, "-fopenmp"]
            super().build_extension(ext)
        except Exception as error:  # no compiler, bad headers, ...: numpy fallback
            print(f"warning: C crossbar kernel not built ({error}); "
                  "the simulator will use the numpy reference", file=sys.stderr)


CROSSBAR = Extension(
    "spintron_nn.runtime._crossbar",
    sources=["runtime/_crossbar.c", "runtime/crossbar_driver.c", "runtime/crossbar_kernels.c",
             "runtime/crossbar_wide.c"],
    depends=["runtime/crossbar.h"],
    extra_compile_args=[] if sys.platform == "win32" else ["-O3", "-std=c11"],
)

setup(ext_modules=[CROSSBAR], cmdclass={"build_ext": OptionalBuildExt})
