"""Builds the Go engine (libstaa.so) and bundles it in the wheel as staa/_lib/,
with the small CPython extension staa._fastcall.

pip builds a local directory in place, so the repository root is ../../ from
here. The library is built by the repository's own `make lib` (go build
-buildmode=c-shared of ./capi with the version script capi/staa.map and a
SONAME) and copied into the package.

staa._fastcall (src/staa/_fastcall.c) builds the C Data structs of a call in
C, which makes a small call several times faster than the package's ctypes
path. It uses the limited API of Python 3.11, so the wheel is tagged
cp311-abi3-<platform> and serves every later CPython. It is optional: on an
older Python, or if it fails to compile, the wheel is py3-none-<platform>
without it and the ctypes path runs. Either way no Go toolchain is needed
where the wheel is installed.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, Extension, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext
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


LIMITED = sys.version_info >= (3, 11)
FASTCALL = Extension("staa._fastcall", ["src/staa/_fastcall.c"], py_limited_api=True,
                     include_dirs=[str(REPO / "include")],  # staa.h
                     define_macros=[("Py_LIMITED_API", "0x030B0000")])


class OptionalBuildExt(build_ext):
    """Builds staa._fastcall if it can; the package works without it."""

    built = False

    def run(self):
        try:
            super().run()
            OptionalBuildExt.built = bool(self.extensions)
        except Exception as e:  # no compiler, no headers: the ctypes path
            print(f"staa: not building staa._fastcall ({e}); calls go through ctypes", file=sys.stderr)


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        if LIMITED:
            self.py_limited_api = "cp311"
        super().finalize_options()

    def get_tag(self):
        tag = super().get_tag()
        if OptionalBuildExt.built:
            return tag  # cp311-abi3-<platform>
        return ("py3", "none") + tag[2:]


setup(distclass=NativeDistribution,
      ext_modules=[FASTCALL] if LIMITED else [],
      cmdclass={"build_py": BuildPyWithLibrary, "build_ext": OptionalBuildExt, "bdist_wheel": PlatformWheel})
