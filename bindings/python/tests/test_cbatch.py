"""The C Data Interface structs that staa builds and reads with ctypes (staa._cbatch),
checked against an independent implementation: pyarrow (Arrow C++) imports what
_cbatch exports, and _cbatch imports what pyarrow exports."""

import ctypes
import gc
import json

import numpy as np
import pyarrow as pa
import pytest

from staa import _cbatch
from staa._cdata import ArrowArray, ArrowSchema, release


def columns():
    rng = np.random.default_rng(3)
    return {"spatial": rng.random((3, 2, 4, 5), dtype=np.float32),
            "temporal": rng.random((3, 7)).astype(np.float16),
            "top_k": np.arange(6, dtype=np.int32).reshape(3, 2)}


def to_pyarrow(c_array, c_schema):
    return pa.RecordBatch._import_from_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))


def test_export_reads_back_in_pyarrow():
    cols = columns()
    c_array, c_schema, block = _cbatch.export(cols)
    batch = to_pyarrow(c_array, c_schema)
    assert batch.num_rows == 3 and batch.schema.names == list(cols)
    for name, arr in cols.items():
        field = batch.schema.field(name)
        typ = field.type.storage_type if isinstance(field.type, pa.BaseExtensionType) else field.type
        assert typ.list_size == arr[0].size and not field.nullable
        if isinstance(field.type, pa.BaseExtensionType):
            assert field.type.extension_name == "arrow.fixed_shape_tensor"
            assert tuple(field.type.shape) == arr.shape[1:]
        col = batch.column(name)
        col = col.storage if isinstance(col, pa.ExtensionArray) else col
        values = col.flatten().to_numpy(zero_copy_only=True)
        assert values.ctypes.data == arr.ctypes.data  # pyarrow reads the caller's buffer
        np.testing.assert_array_equal(values.reshape(arr.shape), arr)
    assert not block.released()  # pyarrow holds the structs (moved)
    del batch, col, values
    gc.collect()
    assert block.released()  # every struct released by pyarrow, with the library's callbacks
    _cbatch.finish(block)
    assert block.arrays is None  # the arrays let go


def test_unreleased_export_keeps_the_arrays_alive():
    x = np.full((2, 3), 7, np.float32)
    address = x.ctypes.data
    c_array, c_schema, block = _cbatch.export({"volume": x})
    del x
    gc.collect()
    assert list((ctypes.c_float * 6).from_address(address)) == [7.0] * 6
    for s in (c_array, c_schema):
        release(s)
        assert not s.release
    assert block.released()
    _cbatch.finish(block)
    assert block.arrays is None


def test_a_consumer_holding_the_structs_after_the_call_keeps_the_arrays():
    """finish() finds the structs still held (pyarrow moved them): the block and
    its arrays wait in _held, out of the thread's cache, until they are released."""
    x = np.full((2, 3), 5, np.float32)
    address = x.ctypes.data
    c_array, c_schema, block = _cbatch.export({"volume": x})
    batch = to_pyarrow(c_array, c_schema)
    _cbatch.finish(block)
    assert block in _cbatch._held and block.arrays is not None
    c2, s2, other = _cbatch.export({"volume": np.zeros((2, 3), np.float32)})
    assert other is not block  # a held block is not reused
    release(c2), release(s2), _cbatch.finish(other)
    del x
    gc.collect()
    assert list((ctypes.c_float * 6).from_address(address)) == [5.0] * 6
    np.testing.assert_array_equal(batch.column(0).storage.flatten().to_numpy(), np.full(6, 5, np.float32))
    del batch
    gc.collect()
    c3, s3, third = _cbatch.export({"volume": np.zeros((2, 3), np.float32)})  # prunes _held
    release(c3), release(s3), _cbatch.finish(third)
    assert block not in _cbatch._held and block.arrays is None


def test_import_of_a_pyarrow_batch():
    cols = columns()
    shape = json.dumps({"shape": [2, 4, 5]})
    fields = [pa.field("spatial", pa.list_(pa.float32(), 40), nullable=False,
                       metadata={"ARROW:extension:name": "arrow.fixed_shape_tensor",
                                 "ARROW:extension:metadata": shape}),
              pa.field("top_k", pa.list_(pa.int32(), 2), nullable=False)]
    arrays = [pa.FixedSizeListArray.from_arrays(pa.array(cols["spatial"].ravel()), 40),
              pa.FixedSizeListArray.from_arrays(pa.array(cols["top_k"].ravel()), 2)]
    batch = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, metadata={"staa.method": "last"}))
    batch = batch.slice(1)  # offsets that are not 0
    c_array, c_schema = ArrowArray(), ArrowSchema()
    batch._export_to_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))
    out = _cbatch.import_batch(c_array, c_schema)
    assert out.metadata == {"staa.method": "last"}
    np.testing.assert_array_equal(out.column("spatial"), cols["spatial"][1:])
    np.testing.assert_array_equal(out.column("top_k", np.int32), cols["top_k"][1:])
    assert out.column("top_k", np.int32).shape == (2, 2)
    with pytest.raises(ValueError, match="holds int32, expected float32"):
        out.column("top_k")
    with pytest.raises(ValueError, match="no 'logits' column"):
        out.column("logits")
    assert not c_schema.release  # released at once; the array when its columns die
    spatial = out.column("spatial")
    del out
    gc.collect()
    assert c_array.release
    del spatial
    gc.collect()
    assert not c_array.release


def test_import_refuses_what_is_not_a_record_batch():
    c_array, c_schema = ArrowArray(), ArrowSchema()
    pa.array([1.0, 2.0], pa.float32())._export_to_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))
    with pytest.raises(ValueError, match="not a record batch"):
        _cbatch.import_batch(c_array, c_schema)
    assert not c_array.release and not c_schema.release


def test_calls_from_many_threads_release_everything():
    """Structs built, consumed and released on 6 threads at once: every result
    is the serial one, and no block is left holding arrays (nothing kept alive)."""
    import threading

    import staa
    from data import CASES, make

    case = CASES[4]
    arrays = make(case)
    want = staa.attribute(**arrays, **case.geometry())
    results, errors = [], []

    def work():
        try:
            for _ in range(40):
                results.append(staa.attribute(**arrays, **case.geometry()))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 240
    for r in results:
        np.testing.assert_array_equal(r.spatial, want.spatial)
        np.testing.assert_array_equal(r.temporal, want.temporal)
    assert not _cbatch._held


# ------------------------------------------------------------------ staa._fastcall


def test_fastcall_is_built_in_ci():
    """CI builds the extension (make pyext): a silent fall back to ctypes there
    would leave it untested."""
    import os

    from conftest import IN_CI
    from staa import _call

    if not IN_CI or os.environ.get("STAA_NO_FASTCALL"):
        pytest.skip("only checked in CI, on the fast path")
    assert _call._fastcall is not None


@pytest.mark.parametrize("case_index", range(6))
def test_fastcall_and_ctypes_give_the_same_result(monkeypatch, case_index):
    """The C extension and the ctypes path return the same arrays, bit for bit,
    and the same metadata."""
    import staa
    from data import CASES, make
    from staa import _call

    if _call._fastcall is None:
        pytest.skip("staa._fastcall is not built")
    case = CASES[case_index]
    arrays = make(case)
    fast = staa.attribute(**arrays, **case.geometry(), volume=True)
    monkeypatch.setattr(_call, "_fastcall", None)
    slow = staa.attribute(**arrays, **case.geometry(), volume=True)
    for name in ("spatial", "temporal", "volume"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    assert (fast.method, fast.temporal_attention, fast.library_version) == \
        (slow.method, slow.temporal_attention, slow.library_version)


def test_fastcall_columns_point_at_the_callers_memory():
    """What the extension hands the library is the caller's buffer: a numpy
    array itself (read through the buffer protocol), a tensor's data_ptr()."""
    from staa import _arrays, _call

    x = np.random.default_rng(1).random((2, 1, 3, 5, 5), dtype=np.float32)
    name, data, shape, fmt = _call._column("joint", _arrays.attention(x, "joint", None))
    assert (name, shape, fmt) == (b"joint", x.shape, b"f")
    assert data is x
    torch = pytest.importorskip("torch")
    t = torch.rand(3, 1, 3, 5, 5, dtype=torch.float16)[1:]  # with a storage offset
    name, data, shape, fmt = _call._column("joint", _arrays.attention(t, "joint", None))
    assert data == t.data_ptr() and shape == (2, 1, 3, 5, 5) and fmt == b"e"


def test_fastcall_outputs_outlive_the_call_and_free_with_their_arrays():
    """Output arrays are views of the library's memory, kept alive by their
    buffers: they stay valid after other calls, and writable."""
    import staa
    from data import CASES, make

    case = CASES[4]
    arrays = make(case)
    first = staa.attribute(**arrays, **case.geometry())
    want = first.spatial.copy()
    for _ in range(20):
        staa.attribute(**arrays, **case.geometry())
    gc.collect()
    np.testing.assert_array_equal(first.spatial, want)
    first.spatial[...] = 0  # writable, owned by this result alone
    assert not first.spatial.any()


def test_fastcall_refuses_a_buffer_shorter_than_its_shape():
    """The extension checks what it hands the library: a numpy column must hold
    the values its shape claims, in a known format."""
    import staa
    from staa import _call, _library

    if _call._fastcall is None:
        pytest.skip("staa._fastcall is not built")
    fn = ctypes.cast(_library.load().staa_attribute, ctypes.c_void_p).value
    _call._fastcall.init(*_cbatch.release_addresses())
    x = np.zeros((1, 1, 2, 5, 5), np.float32)
    opts = b'{"layout":"joint","frames":2,"grid":[2,2]}'
    with pytest.raises(ValueError, match="shorter than its shape"):
        _call._fastcall.call(fn, None, ((b"joint", x, (2, 1, 2, 5, 5), b"f"),), opts)
    with pytest.raises(ValueError, match="unknown value format"):
        _call._fastcall.call(fn, None, ((b"joint", x, x.shape, b"z"),), opts)
    status, message, _, _ = _call._fastcall.call(fn, None, ((b"joint", x, x.shape, b"f"),), b'{"bogus":1}')
    assert status == 1 and b"bogus" in message
    assert staa.version()  # the interpreter and the library are fine
