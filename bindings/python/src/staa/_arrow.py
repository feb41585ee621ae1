"""pyarrow record batches in the layout of docs/conventions.md, without copies.

One row per clip; each column a FixedSizeList<float32|float16> over the
caller's own buffer (pa.foreign_buffer keeps the owner alive), with the
``arrow.fixed_shape_tensor`` extension metadata on its field. The calls
themselves build their structs with _cbatch; this is the pyarrow way, used
for inputs that are pyarrow objects already and by the tests as an
independent producer.
"""

import ctypes
import json
import math

import numpy as np
import pyarrow as pa

from ._cdata import ArrowArray, ArrowSchema

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
