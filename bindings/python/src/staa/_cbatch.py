"""Record batches of tensor columns as C Data Interface structs, with ctypes alone.

Every call into the library passes a batch of ``arrow.fixed_shape_tensor``
columns (docs/conventions.md) and gets one back. Building them with pyarrow
and importing the result with it cost ten times the library's own work on
small inputs, so the hot path writes and reads the structs directly:

- ``export(columns)``: {name: C-contiguous array (B, ...)} → (ArrowArray,
  ArrowSchema, Block) over the arrays' own memory (no copy). The structs are
  moved into the library, which releases them with C callbacks of its own
  (``staa_release_borrowed_*``: they only mark the structs released); the
  Block keeps the arrays alive until ``finish(block)`` after the call finds
  every struct released.
- ``import_batch(array, schema)``: a batch returned by the library →
  ``Batch`` whose columns are numpy arrays over the library's memory (no
  copy); the schema is released at once, the array when the last column
  array is garbage collected.

pyarrow remains the way in for objects with ``__arrow_c_array__``.
"""

import ctypes
import json
import math
import struct
import sys
import threading

import numpy as np

from ._cdata import ArrowArray, ArrowSchema, release
from ._errors import StaaValueError

TENSOR = "arrow.fixed_shape_tensor"
_EXT_NAME = "ARROW:extension:name"
_EXT_META = "ARROW:extension:metadata"
_FLAG_NULLABLE = 2

FORMAT = {np.dtype(np.float32): b"f", np.dtype(np.float16): b"e", np.dtype(np.uint8): b"C",
           np.dtype(np.int32): b"i", np.dtype(np.float64): b"g", np.dtype(np.int64): b"l"}
_DTYPE = {f: d for d, f in FORMAT.items()}

# ------------------------------------------------------------------ export

_U64 = struct.Struct("=Q")
_I64 = struct.Struct("=q")
_INT32 = struct.Struct("=i")
_SCHEMA_WORDS = struct.Struct("=9Q")  # format, name, metadata, flags, n_children, children, dictionary, ...
_ARRAY_WORDS = struct.Struct("=10Q")  # length, null_count, offset, n_buffers, n_children, buffers, children, ...

# The process's memory as one read-only buffer, for struct.unpack_from at an
# address: reading C structs is a few dozen small reads a call, and
# ctypes.string_at or from_address cost several times as much each. Only
# addresses of live structs and buffers are read.
_MEMORY = memoryview((ctypes.c_char * (sys.maxsize // 2)).from_address(0)).cast("B").toreadonly()


_POINTERS = [struct.Struct(f"={n}Q") for n in range(17)]


def _pointers(address, n):
    if not n:
        return ()
    fmt = _POINTERS[n] if n < len(_POINTERS) else struct.Struct(f"={n}Q")
    return fmt.unpack_from(_MEMORY, address)


_releases = None  # (schema, array) release callbacks: the library's, as addresses


def release_addresses():
    """The library's release callbacks for borrowed structs (borrowed.c).

    A release callback written in Python would be called back into from
    inside the library, twice a call, at several microseconds each."""
    global _releases
    if _releases is None:
        from . import _library

        lib = _library.load()
        _releases = tuple(ctypes.cast(f, ctypes.c_void_p).value
                          for f in (lib.staa_release_borrowed_schema, lib.staa_release_borrowed_array))
    return _releases


def _metadata(pairs):
    """The C Data Interface's binary metadata: int32 count, then int32-length-prefixed keys and values."""
    out = [struct.pack("=i", len(pairs))]
    for k, v in pairs:
        k, v = k.encode(), v.encode()
        out.append(struct.pack("=i", len(k)) + k + struct.pack("=i", len(v)) + v)
    return b"".join(out)


def tensor_metadata(shape):
    """The field metadata of a fixed_shape_tensor column of per-row shape ``shape``."""
    meta = json.dumps({"shape": [int(d) for d in shape]}, separators=(",", ":"))
    return _metadata([(_EXT_NAME, TENSOR), (_EXT_META, meta)])


# Offsets, in 8-byte words, of the fields of the two structs.
_S_FORMAT, _S_NAME, _S_METADATA, _S_FLAGS, _S_NCHILD, _S_CHILDREN, _S_RELEASE = 0, 1, 2, 3, 4, 5, 7
_A_LENGTH, _A_NBUF, _A_NCHILD, _A_BUFFERS, _A_CHILDREN, _A_RELEASE = 0, 3, 4, 5, 6, 8
_SW, _AW = ctypes.sizeof(ArrowSchema) // 8, ctypes.sizeof(ArrowArray) // 8


class _Layout:
    """Where everything of a batch with given columns sits in one block of words.

    The block holds, in order: the top schema and the 2k column schemas (list,
    values); the top array and the 2k column arrays; the child pointers of the
    schemas and of the arrays (the top's k, then each list's one); the buffer
    pointers ([top validity, then per column list validity = values validity,
    values data]). ``template`` has every word that does not change between
    calls: constants, the addresses of the strings (kept by the layout, which
    is cached), and the block-relative addresses as offsets in bytes where
    ``relative`` is set. A call adds the block's address to those, then writes
    the lengths, the data pointers and the private data.
    """

    def __init__(self, names, shapes, dtypes):
        self.sig = (names, shapes, dtypes)
        k = len(names)
        schemas, arrays = 0, (2 * k + 1) * _SW
        schema_ptrs = arrays + (2 * k + 1) * _AW
        array_ptrs = schema_ptrs + 2 * k
        buffers = array_ptrs + 2 * k
        self.words = buffers + 2 * k + 1
        t = np.zeros(self.words, np.uint64)
        rel = np.zeros(self.words, bool)
        self.strings = []
        release_schema, release_array = release_addresses()

        def cstr(b):
            buf = ctypes.create_string_buffer(b, len(b) + 1)
            self.strings.append(buf)
            return ctypes.addressof(buf)

        def pointer(at, word):  # the word at ``at`` points to word ``word`` of the block
            t[at], rel[at] = 8 * word, True

        def schema(i, fmt, name, nchild, children, flags=0, meta=None):
            w = schemas + i * _SW
            t[w + _S_FORMAT], t[w + _S_NAME], t[w + _S_FLAGS] = cstr(fmt), cstr(name), flags
            t[w + _S_NCHILD], t[w + _S_RELEASE] = nchild, release_schema
            if meta is not None:
                t[w + _S_METADATA] = cstr(meta)
            if nchild:
                pointer(w + _S_CHILDREN, children)

        def array(i, nbuf, bufs, nchild, children):
            w = arrays + i * _AW
            t[w + _A_NBUF], t[w + _A_NCHILD], t[w + _A_RELEASE] = nbuf, nchild, release_array
            pointer(w + _A_BUFFERS, bufs)
            if nchild:
                pointer(w + _A_CHILDREN, children)

        schema(0, b"+s", b"", k, schema_ptrs)
        array(0, 1, buffers, k, array_ptrs)
        self.sizes = [1]  # length of each array per row, in block order
        for c, (name, shape, dtype) in enumerate(zip(names, shapes, dtypes)):
            if dtype not in FORMAT:
                raise StaaValueError(f"staa: column {name!r} has dtype {dtype}, which cannot cross the ABI")
            size = math.prod(shape)
            lst, val = 1 + 2 * c, 2 + 2 * c
            schema(lst, f"+w:{size}".encode(), name.encode(), 1, schema_ptrs + k + c,
                   meta=tensor_metadata(shape))
            schema(val, FORMAT[dtype], b"item", 0, None, flags=_FLAG_NULLABLE)
            pointer(schema_ptrs + c, schemas + lst * _SW)
            pointer(schema_ptrs + k + c, schemas + val * _SW)
            array(lst, 1, buffers + 1 + 2 * c, 1, array_ptrs + k + c)
            array(val, 2, buffers + 1 + 2 * c, 0, None)
            pointer(array_ptrs + c, arrays + lst * _AW)
            pointer(array_ptrs + k + c, arrays + val * _AW)
            self.sizes += [1, size]
        self.template = [int(x) for x in t]
        self.relative = [int(i) for i in np.nonzero(rel)[0]]
        self.length_at = [arrays + _AW * i + _A_LENGTH for i in range(2 * k + 1)]
        self.data_at = [buffers + 2 + 2 * c for c in range(k)]
        self.release_at = ([schemas + _SW * i + _S_RELEASE for i in range(2 * k + 1)]
                           + [arrays + _AW * i + _A_RELEASE for i in range(2 * k + 1)])
        self.releases = [release_schema] * (2 * k + 1) + [release_array] * (2 * k + 1)
        self.array_offset = 8 * arrays
        self.block_type = ctypes.c_uint64 * self.words


_layouts = {}  # (names, shapes, dtypes) → _Layout


def _address(a):
    """The address of a's first element (c_char.from_buffer is the quick way,
    for writable arrays)."""
    if a.flags.writeable:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    return a.ctypes.data


class Block:
    """One batch's structs (a ctypes array of words laid out by a _Layout) and
    the arrays they point into.

    The library releases the structs during the call; ``finish`` then drops
    the arrays, and the block goes back to its thread's cache: the next call
    with the same columns only restores the release callbacks and writes the
    data pointers (and the lengths when the row count changed), which is
    most of the cost of a small call saved. A block whose structs a consumer
    still holds after the call keeps its arrays in ``_held`` until it lets
    them go.
    """

    __slots__ = ("layout", "words", "rows", "array", "schema", "arrays")

    def __init__(self, layout, rows):
        self.layout, self.rows, self.arrays = layout, rows, None
        self.words = layout.block_type()
        base = ctypes.addressof(self.words)
        words = layout.template.copy()
        for i in layout.relative:
            words[i] += base
        for i, n in zip(layout.length_at, layout.sizes):
            words[i] = n * rows
        self.words[:] = words
        # from_buffer, not from_address: the structs keep the words alive.
        self.array = ArrowArray.from_buffer(self.words, layout.array_offset)
        self.schema = ArrowSchema.from_buffer(self.words)

    def released(self):
        """Whether every struct of the block is released."""
        w = self.words
        return not any(w[i] for i in self.layout.release_at)

    def reset(self, rows):
        """Make a released block new again."""
        w, lay = self.words, self.layout
        for i, r in zip(lay.release_at, lay.releases):
            w[i] = r
        if rows != self.rows:
            for i, n in zip(lay.length_at, lay.sizes):
                w[i] = n * rows
            self.rows = rows


_local = threading.local()  # .blocks: {signature: Block}, this thread's
_held = []  # blocks a consumer had not released when their call returned
_held_lock = threading.Lock()


def export(columns):
    """(ArrowArray, ArrowSchema, Block) of a record batch {name: C-contiguous
    array (B, ...)}, no copy. Pass the block to ``finish`` once the structs
    have been given to the library and the call has returned."""
    names = tuple(columns)
    arrs = [columns[n] if isinstance(columns[n], np.ndarray) else columns[n].detach().numpy() for n in names]
    rows = len(arrs[0])
    sig = (names, tuple(a.shape[1:] for a in arrs), tuple(a.dtype for a in arrs))
    for name, a in zip(names, arrs):
        if not a.flags.c_contiguous or len(a) != rows:
            raise StaaValueError(f"staa: column {name!r} is not C-contiguous with {rows} rows")
    if _held:
        _prune_held()
    blocks = getattr(_local, "blocks", None)
    if blocks is None:
        blocks = _local.blocks = {}
    b = blocks.get(sig)
    if b is not None and b.arrays is None:
        b.reset(rows)
    else:  # none yet, or the last one is still in use (a call from its own release)
        lay = _layouts.get(sig)
        if lay is None:
            lay = _Layout(*sig)
            if len(_layouts) < 256:
                _layouts[sig] = lay
        b = Block(lay, rows)
        if len(blocks) < 64:
            blocks[sig] = b
    for i, a in zip(b.layout.data_at, arrs):
        b.words[i] = _address(a)
    b.arrays = arrs
    return b.array, b.schema, b


def finish(block):
    """After the call: drop the block's arrays if the consumer released every
    struct, else keep them (and the block) until it has."""
    if block.released():
        block.arrays = None
        return
    blocks = getattr(_local, "blocks", {})
    if blocks.get(block.layout.sig) is block:
        del blocks[block.layout.sig]
    with _held_lock:
        _held.append(block)


def _prune_held():
    with _held_lock:
        for b in [b for b in _held if b.released()]:
            b.arrays = None
            _held.remove(b)


# ------------------------------------------------------------------ import


class Batch:
    """A record batch the library returned: its schema metadata and its columns
    as numpy arrays (B, *shape) over the library's memory."""

    __slots__ = ("metadata", "columns")

    def __init__(self, metadata, columns):
        self.metadata = metadata
        self.columns = columns

    def column(self, name, dtype=np.float32):
        """Column ``name``, which must hold ``dtype`` values. The array is
        writable: the memory was allocated for this result alone."""
        arr = self.columns.get(name)
        if arr is None:
            raise StaaValueError(f"staa: the library returned no {name!r} column")
        if arr.dtype != np.dtype(dtype):
            raise StaaValueError(f"staa: output column {name!r} holds {arr.dtype}, expected {np.dtype(dtype)}")
        return arr


class _Owner:
    """Owns an imported ArrowArray and releases it when garbage collected (the
    column arrays reference it)."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __del__(self):
        release(self.array)


class _Memory:
    """Exposes owned memory to numpy; the array's base keeps the owner alive."""

    __slots__ = ("owner", "__array_interface__")

    def __init__(self, owner, address, shape, typestr):
        self.owner = owner
        self.__array_interface__ = {"data": (address, False), "shape": shape,
                                    "typestr": typestr, "version": 3}


_metadata_cache = {}  # raw metadata bytes → {key: value}


def read_metadata(address):
    """{key: value} of C Data Interface metadata at ``address`` (0: none)."""
    if not address:
        return {}
    (n,) = _INT32.unpack_from(_MEMORY, address)
    end = address + 4
    for _ in range(2 * n):  # walk the lengths, then read the bytes at once
        end += 4 + _INT32.unpack_from(_MEMORY, end)[0]
    return parse_metadata(_MEMORY[address:end].tobytes())


def parse_metadata(raw):
    """{key: value} of C Data Interface metadata given as bytes (b"": none)."""
    if not raw:
        return {}
    out = _metadata_cache.get(raw)
    if out is None:
        (n,) = _INT32.unpack_from(raw, 0)
        out, pos = {}, 4
        for _ in range(n):
            k, pos = _chunk(raw, pos)
            v, pos = _chunk(raw, pos)
            out[k.decode()] = v.decode()
        if len(_metadata_cache) < 1024:
            _metadata_cache[raw] = out
    return dict(out)


def _chunk(raw, pos):
    (n,) = _INT32.unpack_from(raw, pos)
    return raw[pos + 4:pos + 4 + n], pos + 4 + n


_shapes = {}  # extension metadata text → shape


def _row_shape(name, field_meta, size):
    if field_meta.get(_EXT_NAME) != TENSOR:
        return (size,)
    raw = field_meta.get(_EXT_META, "")
    shape = _shapes.get(raw)
    if shape is None:
        doc = json.loads(raw)
        if doc.get("permutation") not in (None, list(range(len(doc["shape"])))):
            raise StaaValueError(f"staa: output column {name!r} has a permutation")
        shape = tuple(int(d) for d in doc["shape"])
        if len(_shapes) < 1024:
            _shapes[raw] = shape
    if math.prod(shape) != size:
        raise StaaValueError(f"staa: output column {name!r}: shape {shape} does not hold {size} values")
    return shape


def from_outputs(meta_raw, outputs):
    """The Batch of what staa._fastcall returned: the schema's raw metadata and,
    per column, (name, format, row size, raw field metadata, rows, buffer)."""
    columns = {}
    for name, fmt, size, field_raw, rows, buf in outputs:
        key = (name, fmt, size, field_raw)
        kind = _output_kinds.get(key)
        if kind is None:
            dtype = _DTYPE.get(fmt.encode())
            if dtype is None:
                raise StaaValueError(f"staa: output column {name!r} has values of format {fmt!r}")
            kind = (dtype, _row_shape(name, parse_metadata(field_raw), size))
            if len(_output_kinds) < 1024:
                _output_kinds[key] = kind
        columns[name] = np.frombuffer(buf, kind[0]).reshape((rows,) + kind[1])
    return Batch(parse_metadata(meta_raw), columns)


_output_kinds = {}  # (name, format, row size, raw field metadata) -> (dtype, row shape)


def _words(address, layout):
    return layout.unpack_from(_MEMORY, address)


def _fields(c_schema):
    """(metadata, [(name, row size, dtype, row shape)]) of a returned record batch.

    Structs are read whole (one unpack_from each through _MEMORY) rather than
    field by field through ctypes.
    """
    top = _words(ctypes.addressof(c_schema), _SCHEMA_WORDS)
    if not top[0] or ctypes.string_at(top[0]) != b"+s":
        raise StaaValueError("staa: the library returned an array that is not a record batch")
    fields = []
    for child in _pointers(top[5], top[4]):
        fmt_p, name_p, meta_p, _, nchild, children = _words(child, _SCHEMA_WORDS)[:6]
        name = ctypes.string_at(name_p).decode() if name_p else ""
        fmt = ctypes.string_at(fmt_p)
        if not fmt.startswith(b"+w:") or nchild != 1:
            raise StaaValueError(f"staa: output column {name!r} has format {fmt!r}, expected a fixed-size list")
        size = int(fmt[3:])
        vfmt = ctypes.string_at(_words(_pointers(children, 1)[0], _SCHEMA_WORDS)[0])
        if vfmt not in _DTYPE:
            raise StaaValueError(f"staa: output column {name!r} has values of format {vfmt!r}")
        fields.append((name, size, _DTYPE[vfmt], _row_shape(name, read_metadata(meta_p), size)))
    return read_metadata(top[2]), tuple(fields)


_layouts_out = {}  # call signature → (metadata, fields) of the library's output


def import_batch(c_array, c_schema, signature=None):
    """Take a record batch the library returned in (c_array, c_schema), without copies.

    signature, when given, names the call (function, options, input columns):
    the library's output schema depends on nothing else, so the schema read
    for one call is reused for the next with the same signature (the arrays
    are still checked against it).
    """
    try:
        layout = _layouts_out.get(signature) if signature is not None else None
        if layout is None:
            layout = _fields(c_schema)
            if signature is not None and len(_layouts_out) < 256:
                _layouts_out[signature] = layout
        metadata, fields = layout
    except BaseException:
        release(c_array)
        raise
    finally:
        release(c_schema)

    owner = _Owner(c_array)
    rows, _, offset, _, nchild, _, children = _words(ctypes.addressof(c_array), _ARRAY_WORDS)[:7]
    if nchild != len(fields):
        raise StaaValueError(f"staa: the library returned {nchild} arrays for {len(fields)} fields")
    columns = {}
    for (name, size, dtype, shape), child in zip(fields, _pointers(children, nchild)):
        length, nulls, col_offset, _, _, _, grand = _words(child, _ARRAY_WORDS)[:7]
        if nulls or length < rows:
            raise StaaValueError(f"staa: output column {name!r} has nulls or {length} rows for {rows}")
        vals = _words(_pointers(grand, 1)[0], _ARRAY_WORDS)
        first = vals[2] + (offset + col_offset) * size
        if first + rows * size > vals[2] + vals[0]:
            raise StaaValueError(f"staa: output column {name!r} holds {vals[0]} values, "
                                 f"fewer than {rows} rows of {size}")
        if rows * size == 0:
            columns[name] = np.zeros((rows,) + shape, dtype)
        else:
            address = _pointers(vals[5], 2)[1] + first * dtype.itemsize
            columns[name] = np.asarray(_Memory(owner, address, (rows,) + shape, dtype.str))
    return Batch(metadata, columns)

