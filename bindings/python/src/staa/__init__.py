"""staa: spatio-temporal attention attribution for video transformers.

    import staa
    a = staa.attribute(spatial, temporal, frames=8, grid=(14, 14))
    a.spatial, a.temporal          # (B, F, h, w), (B, F): numpy or torch, as given
    a.upsample((224, 224)); a.overlay(frames); a.save_grid("grid.png")

    with staa.Session("model.onnx") as s:   # ONNX Runtime, no PyTorch needed
        e = s.explain(clip)                  # uint8 (F, H, W, 3)
        e.prediction, e.top_k, e.spatial, e.temporal

The engine is a Go library (libstaa.so) reached through its C ABI; it is loaded
on the first call, not at import. It does not survive fork(): start worker
processes with the 'spawn' method (see the README).
"""

from ._attribute import attribute, postprocess
from ._attribution import Attribution
from ._session import Explanation, Session, SessionInfo
from ._errors import (LibraryNotFoundError, StaaError, StaaInternalError, StaaMemoryError,
                      StaaRuntimeError, StaaUnsupportedError, StaaValueError, StaaWarning)

__version__ = "0.1.0"

__all__ = [
    "attribute", "postprocess", "Attribution", "Session", "SessionInfo", "Explanation",
    "capture", "explain", "version",
    "library_path", "StaaError", "StaaValueError", "StaaMemoryError", "StaaRuntimeError",
    "StaaInternalError", "StaaUnsupportedError", "LibraryNotFoundError", "StaaWarning",
]


def version():
    """The version of the loaded staa library (loads it)."""
    from . import _library

    return _library.load().staa_version().decode()


def library_path():
    """The path of the staa library, loading it if needed."""
    from . import _library

    _library.load()
    return str(_library.loaded())


def __getattr__(name):
    # staa.capture / staa.explain live in staa.hf, which imports torch and
    # transformers: import it only when asked for.
    if name in ("capture", "explain"):
        from . import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'staa' has no attribute {name!r}")
