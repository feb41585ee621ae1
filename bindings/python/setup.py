"""Builds the Go engine (libstaa.so) and bundles it in the wheel as staa/_lib/.

pip builds a local directory in place, so the repository root is ../../ from
here. The library is built by the repository's own `make lib` (go build
-buildmode=c-shared of ./capi with the version script capi/staa.map and a
SONAME) and copied into the package. The wheel is tagged py3-none-<platform>:
it holds a native library but no CPython extension, so any Python 3 on the
same platform can use it, with no Go toolchain.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LIB = "libstaa.dylib" if sys.platform == "darwin" else "libstaa.so"


def build_library():
    """Run `make lib` in the repository and return the built library's path."""
    if not (REPO / "go.mod").is_file():
        sys.exit(f"staa: cannot build the library: {REPO} is not the staa repository (no go.mod). "
                 "Build the Python package from inside the repository (pip install "
                 "./bindings/python), or install a prebuilt wheel.")
    if not (REPO / "Makefile").is_file():
        sys.exit(f"staa: cannot build the library: no Makefile (with its `lib` target) in {REPO}")
    for tool in ("go", "make"):
        if shutil.which(tool) is None:
            sys.exit(f"staa: cannot build the library: `{tool}` is not on PATH. The package "
                     "bundles a Go shared library; install Go (https://go.dev/dl) and make, "
                     "or install a prebuilt wheel.")
    subprocess.run(["make", "-C", str(REPO), "lib"], check=True)
    built = REPO / "build" / LIB
    if not built.is_file():
        sys.exit(f"staa: `make lib` succeeded but {built} does not exist")
    return built


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "staa" / "_lib"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build_library(), target / LIB)


class NativeDistribution(Distribution):
    """Holds a native library: installs to platlib, and the wheel is not pure."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        return ("py3", "none") + super().get_tag()[2:]


setup(distclass=NativeDistribution,
      cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel})
