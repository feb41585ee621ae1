"""One call into the library: export the input, call, map the status, import the output."""

import ctypes
import json

from . import _arrow, _library
from ._cdata import ArrowArray, ArrowSchema, release
from ._errors import from_status

_ERR_LEN = 4096


def call(function, batch, options):
    """Run staa_<function>(batch, options) and return the output record batch.

    The input is moved into the library (C Data Interface); if the library did
    not take it (an early error), it is released here. The GIL is released
    during the call (ctypes does that).
    """
    lib = _library.load()
    return call_fn(getattr(lib, "staa_" + function), (), batch, options)


def call_fn(fn, leading, batch, options):
    """Run fn(*leading, batch, options, out, err): call with leading arguments
    (a session handle) before the batch."""
    c_in, c_in_schema = _arrow.export(batch)
    c_out, c_out_schema = ArrowArray(), ArrowSchema()
    err = ctypes.create_string_buffer(_ERR_LEN)
    opts = json.dumps(options, separators=(",", ":")).encode()
    try:
        status = fn(*leading, ctypes.byref(c_in), ctypes.byref(c_in_schema), opts,
                    ctypes.byref(c_out), ctypes.byref(c_out_schema), err, _ERR_LEN)
    finally:
        release(c_in)
        release(c_in_schema)
    if status != 0:
        release(c_out)
        release(c_out_schema)
        raise from_status(status, err.value.decode("utf-8", "replace"))
    return _arrow.import_batch(c_out, c_out_schema)
