"""Exceptions: one class per status code of the C ABI, all under StaaError."""


class StaaError(Exception):
    """An error reported by staa; ``status`` is the C status code (0 if raised in Python)."""

    status = 0

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class StaaValueError(StaaError, ValueError):
    """STAA_EINVAL: a bad argument, shape, dtype or option."""

    status = 1


class StaaMemoryError(StaaError, MemoryError):
    """STAA_ENOMEM."""

    status = 2


class StaaRuntimeError(StaaError, RuntimeError):
    """STAA_ERUNTIME: the model or the runtime failed (also: used after fork())."""

    status = 3


class StaaInternalError(StaaError, RuntimeError):
    """STAA_EINTERNAL: a bug inside the library (a recovered panic); please report it."""

    status = 4


class StaaUnsupportedError(StaaError, NotImplementedError):
    """STAA_EUNSUPPORTED: not available in this build."""

    status = 5


class LibraryNotFoundError(StaaError, ImportError):
    """The staa shared library (libstaa.so) could not be found or loaded."""


_BY_STATUS = {c.status: c for c in (StaaValueError, StaaMemoryError, StaaRuntimeError,
                                     StaaInternalError, StaaUnsupportedError)}


def from_status(status, message):
    """The exception for a non-zero C status code and its message."""
    cls = _BY_STATUS.get(status, StaaError)
    if not message:
        message = f"staa: call failed with status {status} and no message"
    return cls(message, status)


class StaaWarning(UserWarning):
    """A warning from staa (for example: an input was converted, which copies it)."""
