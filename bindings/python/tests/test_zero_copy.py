"""Inputs cross into the library without copies; outputs come back without copies."""

import ctypes
import json
import textwrap

import numpy as np
import pytest

import staa
from proc import run_python
from staa import _arrays, _arrow, _cbatch
from staa._cdata import release


def exported_data_pointer(columns):
    """The address of the values buffer of the first column, as the library will see it
    (staa.attribute exports its columns with _cbatch)."""
    c_array, c_schema, block = _cbatch.export(columns)
    try:
        fsl = c_array.children[0].contents      # the column: FixedSizeList
        values = fsl.children[0].contents        # its float32/float16 values
        assert values.offset == 0 and fsl.offset == 0
        return values.buffers[1]
    finally:
        release(c_array)
        release(c_schema)
        _cbatch.finish(block)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_numpy_buffer_is_exported_in_place(dtype):
    x = np.random.default_rng(0).random((2, 2, 4, 3, 13, 13)).astype(dtype)
    arr = _arrays.attention(x, "spatial", 4)
    assert arr is x or arr.base is x
    assert exported_data_pointer({"spatial": arr}) == x.ctypes.data


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_torch_buffer_is_exported_in_place(torch, dtype):
    big = torch.rand(3, 2, 4, 3, 13, 13).to(getattr(torch, dtype))
    x = big[1:]  # contiguous, with a storage offset
    arr = _arrays.attention(x, "spatial", 4)
    assert exported_data_pointer({"spatial": arr}) == x.data_ptr()


@pytest.mark.torch
def test_torch_non_contiguous_is_copied(torch):
    x = torch.rand(2, 2, 3, 13, 13).transpose(-1, -2)
    arr = _arrays.attention(x, "joint", None)
    assert arr.flags.c_contiguous and arr.ctypes.data != x.data_ptr()
    np.testing.assert_array_equal(arr, x.numpy())


def test_exported_batch_keeps_the_owner_alive():
    import gc

    x = np.ones((2, 1, 2, 5, 5), np.float32)
    batch = _arrow.record_batch({"joint": x})
    address = x.ctypes.data
    del x
    gc.collect()
    c_array, c_schema = _arrow.export(batch)
    del batch
    gc.collect()
    values = c_array.children[0].contents.children[0].contents
    assert values.buffers[1] == address
    assert sum((ctypes.c_float * 50).from_address(address)) == 50  # still the caller's ones
    release(c_array)
    release(c_schema)


@pytest.mark.torch
def test_torch_output_shares_the_numpy_memory(torch):
    from data import CASES, make

    case = CASES[4]
    arrays = {k: torch.from_numpy(v) for k, v in make(case).items()}
    a = staa.attribute(**arrays, **case.geometry())
    assert isinstance(a.spatial, torch.Tensor) and a.spatial.is_contiguous()
    before = a.spatial.clone()
    a.spatial.mul_(3)
    np.testing.assert_allclose(a.spatial.numpy(), 3 * before.numpy())


# Peak RSS is a high-water mark, so it is measured in a fresh interpreter: the
# input is allocated (and touched) first, then the growth of the peak during
# the calls must stay far below the input's size.
RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import staa
    kind = sys.argv[1]
    B, L, H, T, N = 2, 5, 4, 8, 196
    S = 1 + T * N
    shape = (B, L, H, S, S)
    if kind == "torch":
        import torch
        x = torch.full(shape, 1.0 / S, dtype=torch.float32)
    else:
        x = np.full(shape, 1.0 / S, dtype=np.float32)
    nbytes = x.numel() * 4 if kind == "torch" else x.nbytes
    staa.version()  # load the library before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for _ in range(3):  # the general path, then the planned one (staa._fastcall.Plan)
        a = staa.attribute(joint=x, frames=T, grid=(14, 14), method="rollout")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"nbytes": nbytes, "growth": after - before,
                      "shape": list(a.spatial.shape)}))
""")


@pytest.mark.parametrize("kind", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
def test_peak_memory_does_not_grow_by_the_input(kind):
    proc = run_python(RSS_SCRIPT, kind, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["shape"] == [2, 8, 14, 14]
    assert result["nbytes"] > 390e6
    # Allow the engine its working memory, but nothing near a copy of the input.
    assert result["growth"] < result["nbytes"] / 4, result


def test_the_library_keeps_no_reference_to_the_input():
    """The input is moved into the library and released by the end of the call."""
    import sys

    from data import CASES, make

    case = CASES[4]
    x = make(case)["joint"]
    before = sys.getrefcount(x)
    for _ in range(3):
        staa.attribute(joint=x, **case.geometry())
    assert sys.getrefcount(x) == before
