"""Bad input raises a clear exception, and the interpreter survives."""

import textwrap

import numpy as np
import pytest

import staa
from data import CASES, make
from proc import run_python

DIVIDED = CASES[0]  # frames 4, grid (3, 4), CLS, temporal
JOINT = CASES[4]


def divided(**overrides):
    arrays = make(DIVIDED)
    kwargs = dict(spatial=arrays["spatial"], temporal=arrays["temporal"],
                  frames=DIVIDED.frames, grid=DIVIDED.grid)
    kwargs.update(overrides)
    return kwargs


def test_errors_are_value_errors_with_the_library_message():
    with pytest.raises(staa.StaaValueError) as info:
        staa.attribute(**divided(method="bogus"))
    assert isinstance(info.value, ValueError) and isinstance(info.value, staa.StaaError)
    assert info.value.status == 1
    assert "bogus" in str(info.value) and "method" in str(info.value)


def test_wrong_grid():
    with pytest.raises(staa.StaaValueError, match="shape"):
        staa.attribute(**divided(grid=(2, 2)))


def test_wrong_attention_shape():
    x = make(DIVIDED)["spatial"][..., :-1]  # one token short
    with pytest.raises(staa.StaaValueError, match="spatial"):
        staa.attribute(**divided(spatial=np.ascontiguousarray(x)))


def test_missing_batch_axis():
    with pytest.raises(staa.StaaValueError, match="batch first"):
        staa.attribute(**divided(spatial=make(DIVIDED)["spatial"][0]))


def test_batch_sizes_disagree():
    with pytest.raises(staa.StaaValueError, match="batch size"):
        staa.attribute(**divided(temporal=make(DIVIDED)["temporal"][:1]))


def test_tuple_not_divisible_by_frames():
    layers = tuple(np.zeros((5, 3, 13, 13), np.float32) for _ in range(2))
    with pytest.raises(staa.StaaValueError, match="multiple of 4"):
        staa.attribute(layers, frames=4, grid=(3, 4))


def test_empty_batch():
    with pytest.raises(staa.StaaValueError, match="empty"):
        staa.attribute(**divided(spatial=make(DIVIDED)["spatial"][:0], temporal=None))


def test_empty_tuple():
    with pytest.raises(staa.StaaValueError, match="empty tuple"):
        staa.attribute((), frames=4, grid=(3, 4))


@pytest.mark.parametrize("bad", [np.int32, np.bool_, np.complex64])
def test_wrong_dtype(bad):
    x = make(DIVIDED)["spatial"].astype(bad)
    with pytest.raises(TypeError, match="float32 or float16"):
        staa.attribute(**divided(spatial=x))


def test_wrong_dtype_in_arrow_batch():
    import pyarrow as pa

    x = make(JOINT)["joint"].astype(np.float64)
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(x)], names=["joint"])
    with pytest.raises(staa.StaaValueError):
        staa.attribute(batch, layout="joint", frames=JOINT.frames, grid=JOINT.grid)


def test_unknown_arrow_column():
    import pyarrow as pa

    x = make(JOINT)["joint"]
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(x)], names=["jointt"])
    with pytest.raises(staa.StaaValueError, match="jointt"):
        staa.attribute(batch, layout="joint", frames=JOINT.frames, grid=JOINT.grid)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite(value):
    x = make(DIVIDED)["spatial"].copy()
    x[1, 0, 2, 1, 3, 4] = value
    with pytest.raises(staa.StaaValueError, match="(?i)nan|inf|finite"):
        staa.attribute(**divided(spatial=x))


def test_unknown_keyword():
    with pytest.raises(TypeError, match="bogus"):
        staa.attribute(**divided(bogus=1))


@pytest.mark.parametrize("option, word", [
    (dict(layout="sideways"), "sideways"),
    (dict(head_fusion="median"), "median"),
    (dict(postprocess="fancy"), "fancy"),
    (dict(postprocess={"blurr": 1}), "blurr"),
    (dict(postprocess={"threshold": {"mode": "percentile"}}), "p"),
    (dict(postprocess={"threshold": "magic"}), "magic"),
    (dict(postprocess={"normalize": "video"}), "video"),
    (dict(residual=1.5), "residual"),
    (dict(frames=5, tubelet=2), "tubelet"),
])
def test_bad_option_values(option, word):
    with pytest.raises(staa.StaaValueError, match=word):
        staa.attribute(**divided(**option))


def test_postprocess_of_the_wrong_type():
    with pytest.raises(TypeError, match="postprocess"):
        staa.attribute(**divided(postprocess=3))


def test_grid_of_the_wrong_form():
    with pytest.raises(TypeError, match="grid"):
        staa.attribute(**divided(grid=14))


@pytest.mark.torch
def test_tensor_on_another_device(torch):
    x = torch.empty(2, 2, 4, 3, 13, 13, device="meta")  # stands in for a CUDA tensor
    with pytest.raises(staa.StaaValueError, match=r"\.cpu\(\)"):
        staa.attribute(x, frames=4, grid=(3, 4))


@pytest.mark.torch
def test_torch_integer_tensor(torch):
    with pytest.raises(TypeError, match="torch.int64"):
        staa.attribute(torch.zeros(2, 2, 4, 3, 13, 13, dtype=torch.int64), frames=4, grid=(3, 4))


@pytest.mark.parametrize("obj", ["attention", object(), 3.0, {"spatial": 1}, [1.0, 2.0]])
def test_not_a_tensor(obj):
    with pytest.raises(TypeError, match="spatial"):
        staa.attribute(obj, frames=4, grid=(3, 4))


def test_joint_with_divided_layout():
    with pytest.raises(staa.StaaValueError, match="layout"):
        staa.attribute(joint=make(JOINT)["joint"], layout="divided", frames=4, grid=(3, 4))


def test_both_grads_need_a_dict():
    arrays = make(DIVIDED, grads=True)
    with pytest.raises(staa.StaaValueError, match="dict"):
        staa.attribute(**divided(grads=arrays["spatial_grad"], method="grad"))


def test_grad_without_gradients():
    with pytest.raises(staa.StaaValueError, match="grad"):
        staa.attribute(**divided(method="grad"))


def test_still_works_after_errors():
    for bad in (dict(method="bogus"), dict(grid=(2, 2))):
        with pytest.raises(staa.StaaValueError):
            staa.attribute(**divided(**bad))
    a = staa.attribute(**divided())
    assert a.spatial.shape == (2, 4, 3, 4)


# The C entry points themselves, called with garbage, in a child interpreter:
# every call must return an error status; none may abort the process.
CRASH_SCRIPT = textwrap.dedent("""
    import ctypes
    import numpy as np
    from staa import _arrow, _library
    from staa._cdata import ArrowArray, ArrowSchema
    lib = _library.load()
    err = ctypes.create_string_buffer(1024)
    OPTS = b'{"frames": 4, "grid": [3, 4]}'

    def spatial():
        x = np.ones((1, 1, 4, 1, 13, 13), np.float32)
        return _arrow.export(_arrow.record_batch({"spatial": x}))

    def call(fn, a, s, opts, out, out_schema, buf=err, n=len(err)):
        ref = lambda x: None if x is None else ctypes.byref(x)
        print(fn(ref(a), ref(s), opts, ref(out), ref(out_schema), buf, n), flush=True)

    for fn in (lib.staa_attribute, lib.staa_postprocess):            # NULL everywhere
        call(fn, None, None, None, None, None)
    a, s = spatial()                                                  # invalid JSON
    call(lib.staa_attribute, a, s, b"{not json", ArrowArray(), ArrowSchema())
    a, s = spatial()                                                  # NULL output struct
    call(lib.staa_attribute, a, s, OPTS, ArrowArray(), None)
    a, s = spatial()                                                  # ... and no error buffer
    call(lib.staa_attribute, a, s, OPTS, None, None, None, 0)
    a, s = spatial()                                                  # a NULL data buffer
    a.children[0].contents.children[0].contents.buffers[1] = None
    call(lib.staa_attribute, a, s, OPTS, ArrowArray(), ArrowSchema())
    print("survived")
""")


def test_garbage_into_the_c_abi_does_not_abort():
    proc = run_python(CRASH_SCRIPT, timeout=120)
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-2000:]}"
    lines = proc.stdout.split()
    assert lines[-1] == "survived"
    statuses = [int(x) for x in lines[:-1]]
    assert len(statuses) == 6 and all(s != 0 for s in statuses), statuses
