"""Arrow record batches in the layout of docs/conventions.md, without copies.

Input: one row per clip; each column a FixedSizeList<float32|float16> over
the caller's own buffer (pa.foreign_buffer keeps the owner alive), with the
``arrow.fixed_shape_tensor`` extension metadata on its field. Output columns
come back as numpy arrays over the memory the library allocated.
"""

import ctypes
import json
import math

import numpy as np
import pyarrow as pa

from ._cdata import ArrowArray, ArrowSchema
from ._errors import StaaValueError

EXT_NAME = b"ARROW:extension:name"
EXT_META = b"ARROW:extension:metadata"
TENSOR = b"arrow.fixed_shape_tensor"

_PA = {np.dtype(np.float32): pa.float32(), np.dtype(np.float16): pa.float16(),
       np.dtype(np.uint8): pa.uint8(), np.dtype(np.int32): pa.int32()}


def tensor_field(name, shape, dtype):
    """A field of fixed_shape_tensor<dtype, shape>, written as storage type plus metadata."""
    meta = json.dumps({"shape": [int(d) for d in shape]}, separators=(",", ":")).encode()
    return pa.field(name, pa.list_(_PA[np.dtype(dtype)], math.prod(shape)), nullable=False,
                    metadata={EXT_NAME: TENSOR, EXT_META: meta})


def tensor_column(arr):
    """A FixedSizeListArray with one row per arr[b], over arr's memory (no copy).

    arr must be C-contiguous; the buffer holds a reference to arr.
    """
    assert arr.flags.c_contiguous
    size = math.prod(arr.shape[1:])
    buf = pa.foreign_buffer(arr.ctypes.data, arr.nbytes, base=arr)
    values = pa.Array.from_buffers(_PA[arr.dtype], arr.size, [None, buf])
    return pa.FixedSizeListArray.from_arrays(values, size)


def record_batch(columns):
    """A record batch from {name: C-contiguous array (B, ...)}."""
    names = list(columns)
    fields = [tensor_field(n, columns[n].shape[1:], columns[n].dtype) for n in names]
    arrays = [tensor_column(columns[n]) for n in names]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def export(batch):
    """Export batch through the C Data Interface into fresh ctypes structs."""
    c_array, c_schema = ArrowArray(), ArrowSchema()
    batch._export_to_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))
    return c_array, c_schema


def import_batch(c_array, c_schema):
    """Take ownership of an exported record batch (the structs are moved)."""
    return pa.RecordBatch._import_from_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))


class _Memory:
    """Exposes Arrow-owned memory to numpy; keeps the Arrow array alive."""

    def __init__(self, owner, address, shape, dtype):
        self.owner = owner
        self.__array_interface__ = {"data": (address, False), "shape": shape,
                                    "typestr": np.dtype(dtype).str, "version": 3}


def storage(field, column):
    """(storage type, storage array, per-row shape) of a tensor column.

    pyarrow turns ``arrow.fixed_shape_tensor`` metadata into its extension
    type on import; a plain FixedSizeList with the metadata is read as well.
    """
    typ = field.type
    if isinstance(typ, pa.BaseExtensionType):
        if typ.extension_name != TENSOR.decode():
            raise StaaValueError(f"staa: column {field.name!r} has extension type {typ.extension_name}")
        perm = getattr(typ, "permutation", None)
        if perm is not None and list(perm) != list(range(len(typ.shape))):
            raise StaaValueError(f"staa: column {field.name!r} has permutation {perm}")
        return typ.storage_type, column.storage, tuple(typ.shape)
    meta = field.metadata or {}
    if meta.get(EXT_NAME) == TENSOR and EXT_META in meta:
        return typ, column, tuple(json.loads(meta[EXT_META])["shape"])
    return typ, column, (getattr(typ, "list_size", len(column)),)


def column_numpy(batch, name, dtype=np.float32):
    """Column `name` of an output batch as a writable numpy array (B, *shape), no copy.

    The memory was allocated for this result alone, so handing it out writable
    is safe; the array keeps the Arrow data alive. dtype is the element type
    the column must have (float32, or int32 for a session's top_k).
    """
    dtype = np.dtype(dtype)
    i = batch.schema.get_field_index(name)
    if i < 0:
        raise StaaValueError(f"staa: the library returned no {name!r} column")
    typ, col, row_shape = storage(batch.schema.field(i), batch.column(i))
    if not pa.types.is_fixed_size_list(typ) or typ.value_type != _PA[dtype]:
        raise StaaValueError(f"staa: output column {name!r} has type {typ}, "
                             f"expected fixed_size_list<{_PA[dtype]}>")
    if col.null_count:
        raise StaaValueError(f"staa: output column {name!r} holds nulls")
    shape = (len(col),) + row_shape
    values = col.flatten()
    if len(values) == 0:
        return np.zeros(shape, dtype)
    address = values.buffers()[1].address + values.offset * dtype.itemsize
    return np.asarray(_Memory(values, address, shape, dtype))
