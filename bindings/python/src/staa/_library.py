"""Finding and loading the staa shared library, lazily, once.

Search order:

1. the ``STAA_LIBRARY`` environment variable (a path to libstaa.so);
2. the copy bundled in the wheel, ``staa/_lib/libstaa.so``;
3. ``<repo>/build/libstaa.so`` when running from a source checkout.

``import staa`` loads nothing: the library (and with it the Go runtime) is
loaded by the first call that needs it.

The Go runtime does not survive ``fork()``: a child forked after the library
was loaded must not call into it. Such a call raises StaaRuntimeError instead
of hanging; use the "spawn" start method for worker processes.
"""

import ctypes
import os
import sys
import threading
from pathlib import Path

from ._cdata import ArrowArray, ArrowSchema
from ._errors import LibraryNotFoundError, StaaRuntimeError, StaaUnsupportedError

ABI_VERSION = 1
_NAME = "libstaa.dylib" if sys.platform == "darwin" else "libstaa.so"
_lock = threading.Lock()
_lib = None
_path = None
_forked = False


def candidates():
    """The paths tried, in order, as (where-from, path) pairs."""
    out = []
    env = os.environ.get("STAA_LIBRARY")
    if env:
        out.append(("STAA_LIBRARY", Path(env)))
    here = Path(__file__).resolve().parent
    out.append(("bundled", here / "_lib" / _NAME))
    repo = here.parents[3]  # <repo>/bindings/python/src/staa
    if (repo / "go.mod").is_file():
        out.append(("source tree", repo / "build" / _NAME))
    return out


def _declare(lib):
    arrow_call = [ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema), ctypes.c_char_p,
                  ctypes.POINTER(ArrowArray), ctypes.POINTER(ArrowSchema),
                  ctypes.c_char_p, ctypes.c_size_t]
    lib.staa_abi_version.argtypes = []
    lib.staa_abi_version.restype = ctypes.c_int
    lib.staa_version.argtypes = []
    lib.staa_version.restype = ctypes.c_char_p
    for name in ("staa_attribute", "staa_postprocess"):
        fn = getattr(lib, name)
        fn.argtypes = arrow_call
        fn.restype = ctypes.c_int
    # The session API (a library built before it lacks these: see session_api).
    if hasattr(lib, "staa_session_open"):
        lib.staa_session_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.POINTER(ctypes.c_void_p),
                                          ctypes.c_char_p, ctypes.c_size_t]
        lib.staa_session_open.restype = ctypes.c_int
        lib.staa_session_explain.argtypes = [ctypes.c_void_p] + arrow_call
        lib.staa_session_explain.restype = ctypes.c_int
        lib.staa_session_info.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.staa_session_info.restype = ctypes.c_size_t
        lib.staa_session_close.argtypes = [ctypes.c_void_p]
        lib.staa_session_close.restype = None


def _open(where, path):
    if not path.is_file():
        if where == "STAA_LIBRARY":
            raise LibraryNotFoundError(f"staa: STAA_LIBRARY={str(path)!r} is not a file")
        return None
    try:
        lib = ctypes.CDLL(str(path))
        _declare(lib)
    except (OSError, AttributeError) as e:
        raise LibraryNotFoundError(f"staa: cannot load {path} ({where}): {e}") from e
    abi = lib.staa_abi_version()
    if abi != ABI_VERSION:
        raise LibraryNotFoundError(
            f"staa: {path} has ABI version {abi}, this Python package needs {ABI_VERSION}; "
            "rebuild the library (make lib) or reinstall the package")
    return lib


def check_not_forked():
    """Raise if this process was forked after the library was loaded."""
    if _forked:
        raise StaaRuntimeError(
            "staa: this process was forked after the staa library (and its Go runtime) "
            "was loaded, and the Go runtime does not survive fork(). Start worker "
            "processes with the 'spawn' method (multiprocessing.get_context('spawn'), "
            "DataLoader(..., multiprocessing_context='spawn')), or load staa only in the "
            "workers.")


def load():
    """The loaded library (a ctypes.CDLL); loads it on first use."""
    global _lib, _path
    check_not_forked()
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            tried = []
            for where, path in candidates():
                lib = _open(where, path)
                if lib is not None:
                    _lib, _path = lib, path
                    break
                tried.append(f"{path} ({where})")
            else:
                raise LibraryNotFoundError(
                    "staa: cannot find the staa shared library; tried:\n  "
                    + "\n  ".join(tried)
                    + "\nInstall the package with pip (it builds and bundles the library), "
                    "run `make lib` in the repository, or set STAA_LIBRARY to its path.")
    return _lib


def session_api():
    """The loaded library, checked to have the session functions (staa_session_*)."""
    lib = load()
    if not hasattr(lib, "staa_session_open"):
        raise StaaUnsupportedError(
            f"staa: the staa library {_path} has no session API (staa_session_open): it "
            "predates it; rebuild it (make lib) or reinstall the package")
    return lib


def loaded():
    """The path of the loaded library, or None if it is not loaded yet."""
    return _path


def _after_fork_in_child():
    global _forked
    if _lib is not None:
        _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
