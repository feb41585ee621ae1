"""One call into the library: export the input, call, map the status, import the output.

Two ways, with the same results: the compiled module staa._fastcall, which
builds and reads the C Data structs in C, when the package was built with it
(a C compiler and Python >= 3.11 at build time); else ctypes (_cbatch).
STAA_NO_FASTCALL=1 forces the ctypes path (tests run both).
"""

import ctypes
import json
import os

import numpy as np

from . import _cbatch, _library
from ._cdata import ArrowArray, ArrowSchema, release
from ._errors import StaaValueError, from_status

_ERR_LEN = 4096

try:
    from . import _fastcall
except ImportError:  # not built: the ctypes path
    _fastcall = None
if os.environ.get("STAA_NO_FASTCALL"):
    _fastcall = None

_FORMAT = _cbatch.FORMAT
_TORCH_FORMAT = {}  # torch dtype -> format, filled on use (torch is not imported here)


def _torch_format(dtype):
    fmt = _FORMAT.get(np.dtype(str(dtype).removeprefix("torch.")))
    if fmt is not None:
        _TORCH_FORMAT[dtype] = fmt
    return fmt


_addresses = {}  # id of a ctypes function (they are not hashable) -> (function, its address)


def call(function, batch, options):
    """Run staa_<function>(batch, options) and return the output as a _cbatch.Batch.

    batch is {name: C-contiguous array (B, ...)} (exported by _cbatch, no
    copy) or a pyarrow RecordBatch. It is moved into the library (C Data
    Interface); if the library did not take it (an early error), it is
    released here. The GIL is released during the call (ctypes does that).
    options is a dict (encoded here) or JSON bytes.
    """
    lib = _library.load()
    return call_fn(getattr(lib, "staa_" + function), (), batch, options)


def call_fn(fn, leading, batch, options):
    """Run fn(*leading, batch, options, out, err): call with leading arguments
    (a session handle) before the batch."""
    opts = options if isinstance(options, bytes) else json.dumps(options, separators=(",", ":")).encode()
    if _fastcall is not None and isinstance(batch, dict):
        return _fast(fn, leading, batch, opts)
    signature = block = None
    if isinstance(batch, dict):
        c_in, c_in_schema, block = _cbatch.export(batch)
        signature = (fn.__name__, tuple(getattr(x, "value", x) for x in leading), opts, block.layout.sig)
    else:
        from . import _arrow  # imports pyarrow, needed for pyarrow input only

        c_in, c_in_schema = _arrow.export(batch)
    c_out, c_out_schema = ArrowArray(), ArrowSchema()
    err = ctypes.create_string_buffer(_ERR_LEN)
    try:
        status = fn(*leading, ctypes.byref(c_in), ctypes.byref(c_in_schema), opts,
                    ctypes.byref(c_out), ctypes.byref(c_out_schema), err, _ERR_LEN)
    finally:
        release(c_in)
        release(c_in_schema)
        if block is not None:
            _cbatch.finish(block)
    if status != 0:
        release(c_out)
        release(c_out_schema)
        raise from_status(status, err.value.decode("utf-8", "replace"))
    return _cbatch.import_batch(c_out, c_out_schema, signature)


def column_format(name, arr):
    """The C Data value format of a numpy array's or torch tensor's dtype."""
    if isinstance(arr, np.ndarray):
        fmt = _FORMAT.get(arr.dtype)
    else:
        fmt = _TORCH_FORMAT.get(arr.dtype) or _torch_format(arr.dtype)
    if fmt is None:
        raise StaaValueError(f"staa: column {name!r} has dtype {arr.dtype}, which cannot cross the ABI")
    return fmt


def _column(name, arr):
    """(name, data, shape, format) of one input column for _fastcall."""
    if isinstance(arr, np.ndarray):
        if not arr.flags.c_contiguous:
            raise StaaValueError(f"staa: column {name!r} is not C-contiguous")
        data = arr
    else:  # a torch tensor that attention() let through: CPU, contiguous
        data = arr.data_ptr()
    return name.encode(), data, tuple(arr.shape), column_format(name, arr)


def _address(fn):
    """The address of the library function fn (a ctypes function), for _fastcall."""
    hit = _addresses.get(id(fn))
    if hit is None or hit[0] is not fn:
        _fastcall.init(*_cbatch.release_addresses())  # the library's, once it is loaded
        hit = _addresses[id(fn)] = (fn, ctypes.cast(fn, ctypes.c_void_p).value)
    return hit[1]


def _fast(fn, leading, batch, opts):
    handle = getattr(leading[0], "value", leading[0]) if leading else None
    cols = tuple(_column(name, arr) for name, arr in batch.items())
    status, message, meta, outputs = _fastcall.call(_address(fn), handle, cols, opts)
    if status != 0:
        raise from_status(status, message.decode("utf-8", "replace"))
    return _cbatch.from_outputs(meta, outputs)


def address_of(function):
    """The address of staa_<function> in the loaded library, with _fastcall
    initialised (for a _fastcall.Plan)."""
    return _address(getattr(_library.load(), "staa_" + function))
