"""The two structs of the Arrow C Data Interface, as ctypes structures.

https://arrow.apache.org/docs/format/CDataInterface.html — the layout is fixed
by the Arrow specification. pyarrow fills them with ``_export_to_c`` and reads
them with ``_import_from_c``; the staa library takes and returns them.
"""

import ctypes


class ArrowSchema(ctypes.Structure):
    pass


ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
    ("dictionary", ctypes.POINTER(ArrowSchema)),
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]


class ArrowArray(ctypes.Structure):
    pass


ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)),
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]

_RELEASE_SCHEMA = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))
_RELEASE_ARRAY = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))


def release(struct):
    """Call ``struct.release`` if the struct still owns its data.

    A consumer that took the data ("moved" it, per the C Data Interface) has
    set ``release`` to NULL, and then this does nothing.
    """
    if not struct.release:
        return
    kind = _RELEASE_SCHEMA if isinstance(struct, ArrowSchema) else _RELEASE_ARRAY
    kind(struct.release)(ctypes.byref(struct))
