"""One call into the library: export the input, call, map the status, import the output."""

import ctypes
import json

from . import _cbatch, _library
from ._cdata import ArrowArray, ArrowSchema, release
from ._errors import from_status

_ERR_LEN = 4096


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
