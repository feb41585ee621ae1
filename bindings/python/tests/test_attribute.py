"""staa.attribute against the numpy reference (tests/reference.py)."""

import numpy as np
import pytest

import reference
import staa
from data import CASES, hf_tuples, make

METHODS = ["last", "rollout", "grad"]
FUSIONS = ["mean", "max", "min"]
DTYPES = [np.float32, np.float16]

# Post-processing: the two presets, then objects that switch one step on at a
# time, every threshold mode, both normalisations, and all together.
POSTS = {
    "raw": "raw",
    "optimized": "optimized",
    "blur": {"blur": 0.8},
    "blur-wide": {"blur": 1.5},
    "gamma": {"gamma": 3},
    "meanstd": {"threshold": {"mode": "meanstd", "k": 0.5}},
    "meanstd-name": {"threshold": "meanstd"},
    "percentile": {"threshold": {"mode": "percentile", "p": 70}},
    "otsu": {"threshold": "otsu"},
    "otsu-object": {"threshold": {"mode": "otsu"}},
    "normalize-frame": {"normalize": "frame"},
    "normalize-clip": {"normalize": "clip"},
    "everything": {"blur": 0.5, "gamma": 1.5, "threshold": {"mode": "percentile", "p": 40},
                   "normalize": "frame"},
}


def close(actual, expected):
    actual = np.asarray(actual, np.float64)
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-6 * scale)


def call_both(case, method, fusion="mean", post="raw", dtype=np.float32, as_torch=None):
    """(staa's Attribution, the reference's (spatial, temporal, volume))."""
    arrays = make(case, dtype, grads=method == "grad")
    opts = dict(case.geometry(), method=method, head_fusion=fusion, postprocess=post)
    expected = reference.attribute(**opts, **arrays)
    inputs = {k: as_torch(v) for k, v in arrays.items()} if as_torch else arrays
    grads = {k.removesuffix("_grad"): v for k, v in inputs.items() if k.endswith("_grad")}
    attn = {k: v for k, v in inputs.items() if not k.endswith("_grad")}
    got = staa.attribute(**attn, grads=grads or None, volume=True, **opts)
    return got, expected


def check(got, expected):
    spatial, temporal, volume = expected
    close(got.volume, volume)
    close(got.spatial, spatial)
    close(got.temporal, temporal)
    assert got.spatial.shape == spatial.shape and got.temporal.shape == temporal.shape


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f16"])
@pytest.mark.parametrize("post", ["raw", "optimized"])
@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engine_numpy(case, method, fusion, post, dtype):
    got, expected = call_both(case, method, fusion, post, dtype)
    assert isinstance(got.spatial, np.ndarray) and got.spatial.dtype == np.float32
    check(got, expected)
    assert got.method == method
    if case.layout == "divided":  # "last" reads the last spatial layer only
        assert got.temporal_attention is (case.temporal and method != "last")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f16"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engine_torch(torch, case, method, dtype):
    got, expected = call_both(case, method, "max", "optimized", dtype, as_torch=torch.from_numpy)
    for x in (got.spatial, got.temporal, got.volume):
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    check(got, expected)


@pytest.mark.parametrize("post", list(POSTS.values()), ids=list(POSTS))
@pytest.mark.parametrize("method", ["rollout", "last"])
@pytest.mark.parametrize("case", [CASES[0], CASES[5]], ids=[CASES[0].id, CASES[5].id])
def test_postprocess_options(case, method, post):
    check(*call_both(case, method, "mean", post))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f16"])
@pytest.mark.parametrize("post", list(POSTS.values()), ids=list(POSTS))
def test_postprocess_function(post, dtype):
    rng = np.random.default_rng(1)
    volume = (rng.random((3, 5, 3, 4)) ** 3).astype(dtype)
    got = staa.postprocess(volume, postprocess=post)
    expected = [reference.postprocess_clip(v.astype(np.float32), post) for v in volume]
    close(got.spatial, np.stack([e[0] for e in expected]))
    close(got.temporal, np.stack([e[1] for e in expected]))
    assert got.volume is volume


def test_postprocess_one_volume_and_zero():
    got = staa.postprocess(np.zeros((4, 2, 3), np.float32), postprocess="optimized")
    assert got.spatial.shape == (1, 4, 2, 3)
    np.testing.assert_array_equal(got.spatial, 0)
    close(got.temporal, np.full((1, 4), 0.25))


def test_temporal_profile_sums_to_one():
    got, _ = call_both(CASES[0], "rollout", post="optimized")
    close(got.temporal.sum(axis=1), np.ones(CASES[0].batch))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hf_tuples_equal_stacked(case):
    arrays = make(case)
    opts = dict(case.geometry(), method="rollout", postprocess="raw")
    stacked = staa.attribute(**arrays, **opts)
    per_layer = staa.attribute(**hf_tuples(case, arrays), **opts)
    np.testing.assert_array_equal(per_layer.spatial, stacked.spatial)
    np.testing.assert_array_equal(per_layer.temporal, stacked.temporal)


@pytest.mark.torch
def test_hf_tuples_torch_with_grads(torch):
    case = CASES[0]
    arrays = make(case, grads=True)
    tuples = {k: tuple(torch.from_numpy(np.ascontiguousarray(x)).requires_grad_() for x in v)
              for k, v in hf_tuples(case, arrays).items()}
    got = staa.attribute(tuples["spatial"], tuples["temporal"],
                         grads={"spatial": tuples["spatial_grad"], "temporal": tuples["temporal_grad"]},
                         method="grad", postprocess="raw", **{k: v for k, v in case.geometry().items()})
    assert isinstance(got.spatial, torch.Tensor)
    expected = reference.attribute(**case.geometry(), method="grad", postprocess="raw", **arrays)
    close(got.spatial.numpy(), expected[0])


def test_grads_same_form_as_single_input():
    case = CASES[4]  # joint
    arrays = make(case, grads=True)
    got = staa.attribute(arrays["joint"], grads=arrays["joint_grad"], layout="joint",
                         method="grad", postprocess="raw", frames=case.frames, grid=case.grid,
                         tubelet=case.tubelet)
    expected = reference.attribute(**case.geometry(), method="grad", postprocess="raw", **arrays)
    close(got.spatial, expected[0])


def test_layout_inferred_from_joint():
    case = CASES[5]
    arrays = make(case)
    opts = dict(frames=case.frames, grid=case.grid, cls=case.cls, tubelet=case.tubelet,
                postprocess="raw")
    a = staa.attribute(joint=arrays["joint"], **opts)
    b = staa.attribute(arrays["joint"], layout="joint", **opts)
    np.testing.assert_array_equal(a.spatial, b.spatial)


def test_arrow_record_batch_input():
    import pyarrow as pa

    case = CASES[0]
    arrays = make(case)
    opts = dict(frames=case.frames, grid=case.grid, postprocess="raw")
    direct = staa.attribute(**arrays, **opts)
    # An independent producer: pyarrow's own fixed_shape_tensor extension type.
    cols = [pa.FixedShapeTensorArray.from_numpy_ndarray(a) for a in arrays.values()]
    batch = pa.record_batch(cols, names=list(arrays))
    got = staa.attribute(batch, **opts)
    np.testing.assert_array_equal(got.spatial, direct.spatial)
    np.testing.assert_array_equal(got.temporal, direct.temporal)


def test_non_contiguous_input_is_copied_once_and_right():
    case = CASES[4]
    arrays = make(case)
    twisted = np.ascontiguousarray(np.swapaxes(arrays["joint"], -1, -2))
    view = np.swapaxes(twisted, -1, -2)  # same values, not C-contiguous
    assert not view.flags.c_contiguous
    opts = dict(case.geometry(), postprocess="raw")
    np.testing.assert_array_equal(staa.attribute(joint=view, **opts).spatial,
                                  staa.attribute(joint=arrays["joint"], **opts).spatial)


def test_float64_is_converted_with_a_warning():
    case = CASES[4]
    arrays = make(case)
    opts = dict(case.geometry(), postprocess="raw")
    with pytest.warns(staa.StaaWarning, match="float64"):
        got = staa.attribute(joint=arrays["joint"].astype(np.float64), **opts)
    np.testing.assert_array_equal(got.spatial, staa.attribute(joint=arrays["joint"], **opts).spatial)


def test_outputs_are_writable_and_independent():
    case = CASES[0]
    a = staa.attribute(**make(case), frames=case.frames, grid=case.grid)
    b = staa.attribute(**make(case), frames=case.frames, grid=case.grid)
    a.spatial *= 2  # in place: the memory is this result's own
    close(a.spatial, 2 * np.asarray(b.spatial, np.float64))


def test_threads_give_the_same_results():
    from concurrent.futures import ThreadPoolExecutor

    case = CASES[0]
    arrays = make(case)
    opts = dict(frames=case.frames, grid=case.grid)
    expected = staa.attribute(**arrays, **opts).spatial
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: staa.attribute(**arrays, **opts).spatial, range(16)))
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_float16_subnormals_are_read_exactly():
    """float16 values below 2**-14 (subnormals: common in softmax attention)
    must widen to their float32 value, as numpy does: in volumes and in attention."""
    tiny = np.array([6e-8, 1e-5, 3e-5, 6.09e-5], np.float16)
    volume = np.concatenate([tiny, [1e-4, 0.25, 0.5, 1.0]]).astype(np.float16).reshape(1, 1, 2, 4)
    got = staa.postprocess(volume, postprocess="raw")
    np.testing.assert_array_equal(got.spatial, volume.astype(np.float32))
    # joint, one layer, one head, CLS: "last" returns row 0 of the attention as it is
    joint = np.zeros((1, 1, 1, 5, 5), np.float16)
    joint[0, 0, 0, 0, 1:] = tiny
    got = staa.attribute(joint=joint, frames=1, grid=(2, 2), method="last", postprocess="raw",
                         volume=True)
    np.testing.assert_array_equal(got.volume.ravel(), tiny.astype(np.float32))


def test_plan_cache_rechecks_what_the_signature_does_not_cover():
    """attribute() remembers the checks of a signature (types, shapes, dtypes,
    options); a later call with the same signature but a non-contiguous array
    (the transpose of square matrices has the same shape) still gets the
    contiguous copy's result, not the raw memory read as if contiguous."""
    from data import CASES, make
    from staa import _attribute

    case = CASES[4]
    x = make(case)["joint"]
    geometry = case.geometry()
    first = staa.attribute(joint=x, **geometry)
    assert any(tuple(c[1] for c in p.columns) == (b"joint",) for ps in _attribute._plans.values() for p in ps)
    again = staa.attribute(joint=x, **geometry)
    np.testing.assert_array_equal(again.spatial, first.spatial)
    t = np.swapaxes(x, -1, -2)  # same shape and dtype, not contiguous
    assert t.shape == x.shape and not t.flags.c_contiguous
    got = staa.attribute(joint=t, **geometry)
    want = staa.attribute(joint=np.ascontiguousarray(t), **geometry)
    np.testing.assert_array_equal(got.spatial, want.spatial)
    assert not np.array_equal(got.spatial, first.spatial)


def _general_reads(monkeypatch):
    """Count the outputs read the general way (_cbatch.from_outputs): every
    call but those that come back through a learnt staa._fastcall.Plan."""
    from staa import _cbatch

    counts = {"general": 0}
    read = _cbatch.from_outputs

    def counting(*args):
        counts["general"] += 1
        return read(*args)

    monkeypatch.setattr(_cbatch, "from_outputs", counting)
    return counts


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("case_index", [0, 1, 2, 4])
def test_planned_calls_equal_the_general_path(monkeypatch, kind, case_index):
    """Repeated calls of one signature go through the C extension's Plan
    (after the first, which plans, and the second, which learns the output)
    and return what the general path returns, bit for bit, for new arrays of
    the same signature; with volume=True too. Batch 2, shapes not all equal."""
    from data import CASES, make
    from staa import _call

    if _call._fastcall is None:
        pytest.skip("staa._fastcall is not built")
    if kind == "torch":
        torch = pytest.importorskip("torch")
    case = CASES[case_index]
    calls = []
    for volume in (False, True):
        for seed in range(4):  # new values, same signature
            arrays = {k: np.ascontiguousarray(np.roll(v, seed, axis=-1)) for k, v in make(case).items()}
            calls.append((arrays, volume))
    with monkeypatch.context() as m:
        m.setattr(_call, "_fastcall", None)  # the general path (ctypes), no plan
        wants = [staa.attribute(**arrays, **case.geometry(), volume=volume) for arrays, volume in calls]
    counts = _general_reads(monkeypatch)
    for (arrays, volume), want in zip(calls, wants):
        given = {k: torch.from_numpy(v) if kind == "torch" else v for k, v in arrays.items()}
        got = staa.attribute(**given, **case.geometry(), volume=volume)
        for name in ("spatial", "temporal", "volume"):
            g, w = getattr(got, name), getattr(want, name)
            assert (g is None) == (w is None)
            if g is not None:
                assert type(g).__module__.split(".")[0] == kind
                np.testing.assert_array_equal(np.asarray(g), w)
        assert (got.method, got.temporal_attention, got.library_version) == \
            (want.method, want.temporal_attention, want.library_version)
    # of 4 calls a signature, the first plans, the second learns the output,
    # the others come back through the learnt plan
    assert counts["general"] <= 4


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_planned_results_convert_when_read_and_pickle(monkeypatch, kind):
    """A planned call's arrays are converted on first read (the library's
    buffers until then): any order of reads, a pickle or deep copy of an
    unread result, and assignment all give the general path's arrays."""
    import copy
    import pickle

    from data import CASES, make
    from staa import _call

    if _call._fastcall is None:
        pytest.skip("staa._fastcall is not built")
    case = CASES[0]
    arrays = make(case)
    if kind == "torch":
        torch = pytest.importorskip("torch")
        arrays = {k: torch.from_numpy(v) for k, v in arrays.items()}
    with monkeypatch.context() as m:
        m.setattr(_call, "_fastcall", None)
        want = staa.attribute(**arrays, **case.geometry(), volume=True)
    counts = _general_reads(monkeypatch)
    results = [staa.attribute(**arrays, **case.geometry(), volume=True) for _ in range(6)]
    assert counts["general"] <= 2  # the rest came back through the learnt plan
    late = results[-3:]
    unread = [pickle.loads(pickle.dumps(late[0])), copy.deepcopy(late[1])]
    np.testing.assert_array_equal(np.asarray(late[2].temporal), want.temporal)  # temporal first
    for got in unread + late:
        for name in ("spatial", "temporal", "volume"):
            g = getattr(got, name)
            assert type(g).__module__.split(".")[0] == kind
            np.testing.assert_array_equal(np.asarray(g), getattr(want, name))
        assert (got.method, got.temporal_attention) == (want.method, want.temporal_attention)
    late[0].spatial = None
    assert late[0].spatial is None and late[0].temporal is not None


def test_planned_signature_keeps_scalar_types_apart():
    """A planned call and one whose scalars are equal but of other types
    (frames=4.0, tubelet=1.0, cls=1, a numpy integer) do not share a plan:
    floats are refused naming the option, the others give the same result."""
    from data import CASES, make

    case = CASES[0]
    arrays, geometry = make(case), case.geometry()
    want = [staa.attribute(**arrays, **geometry).spatial for _ in range(3)][-1]  # planned by now
    for name, value in (("frames", float(geometry["frames"])), ("tubelet", 1.0)):
        with pytest.raises(TypeError, match=f"staa: {name} must be an integer, got 1?[0-9].0 \\(float\\)"):
            staa.attribute(**arrays, **{**geometry, name: value})
    for name, value in (("cls", 1), ("frames", np.int64(geometry["frames"])), ("grid", list(geometry["grid"]))):
        for _ in range(3):
            got = staa.attribute(**arrays, **{**geometry, name: value})
            np.testing.assert_array_equal(got.spatial, want)
    with pytest.raises(TypeError, match=r"staa: grid\[1\] must be an integer, got 4.5"):
        staa.attribute(**arrays, **{**geometry, "grid": (3, 4.5)})


def test_plans_of_one_signature_keep_their_shapes_apart():
    """Arrays of another shape or dtype under a planned signature (the
    signature holds the arrays' types, not their shapes) get their own plan
    and their own result, alternating; a shape that fits no geometry still
    gets the message that names it."""
    from data import CASES, make

    case = CASES[4]
    x = make(case)["joint"]
    y = np.ascontiguousarray(np.concatenate([x, x[:1]]))  # batch 3
    h = x.astype(np.float16)
    want = {id(a): staa.attribute(joint=a.copy(), **case.geometry()).spatial for a in (x, y, h)}
    for _ in range(4):
        for a in (x, y, h):
            np.testing.assert_array_equal(staa.attribute(joint=a, **case.geometry()).spatial, want[id(a)])
    with pytest.raises(staa.StaaValueError, match=r"\"joint\": shape \[2 3 49 48\]"):
        staa.attribute(joint=x[..., :-1].copy(), **case.geometry())


def test_planned_call_reports_the_librarys_error(monkeypatch):
    """An error status on the planned path (NaN in attention of a planned
    signature) raises the same exception and message as the general path."""
    from data import CASES, make
    from staa import _call

    if _call._fastcall is None:
        pytest.skip("staa._fastcall is not built")
    case = CASES[0]
    arrays = make(case)
    for _ in range(3):
        staa.attribute(**arrays, **case.geometry())
    bad = {k: v.copy() for k, v in arrays.items()}
    bad["spatial"][1, 0, 2, 1, 3, 4] = np.nan
    with pytest.raises(staa.StaaValueError) as planned:
        staa.attribute(**bad, **case.geometry())
    monkeypatch.setattr(_call, "_fastcall", None)
    with pytest.raises(staa.StaaValueError) as general:
        staa.attribute(**bad, **case.geometry())
    assert str(planned.value) == str(general.value) and "NaN" in str(planned.value)


@pytest.mark.torch
def test_plan_cache_rechecks_tensors(torch):
    """Tensors with a planned signature that cannot be read in place — not
    contiguous, with the negative bit, requiring grad is fine — still give the
    result of their contiguous, resolved copy."""
    from data import CASES, make

    case = CASES[4]
    x = torch.from_numpy(make(case)["joint"])
    first = staa.attribute(joint=x, **case.geometry())
    for _ in range(2):
        staa.attribute(joint=x, **case.geometry())
    t = x.transpose(-1, -2)  # same shape and dtype, not contiguous
    assert t.shape == x.shape and not t.is_contiguous()
    got = staa.attribute(joint=t, **case.geometry())
    np.testing.assert_array_equal(got.spatial, staa.attribute(joint=t.contiguous(), **case.geometry()).spatial)
    assert not np.array_equal(got.spatial, first.spatial)
    neg = torch._neg_view(-x)  # the values of x, stored negated
    assert neg.is_neg()
    np.testing.assert_array_equal(staa.attribute(joint=neg, **case.geometry()).spatial, first.spatial)
    grad = x.clone().requires_grad_()
    np.testing.assert_array_equal(staa.attribute(joint=grad, **case.geometry()).spatial, first.spatial)


@pytest.mark.torch
def test_plan_cache_still_refuses_another_device(torch):
    """A tensor on another device with the signature of a planned CPU call is
    refused with the device message (the signature does not hold the device)."""
    from data import CASES, make

    case = CASES[4]
    x = torch.from_numpy(make(case)["joint"])
    staa.attribute(joint=x, **case.geometry())
    staa.attribute(joint=x, **case.geometry())
    meta = torch.empty(x.shape, dtype=x.dtype, device="meta")
    with pytest.raises(ValueError, match="device 'meta'"):
        staa.attribute(joint=meta, **case.geometry())
