"""staa.Session: an ONNX model on ONNX Runtime, through the C ABI, no PyTorch.

The fixture is the Go runtime package's (runtime/testdata, see its README): a
tiny random-weights TimeSformer (4 frames of 32×32, grid [4, 4], 2 layers, 2
heads, 5 classes) exported with its attention, and PyTorch's outputs for two
fixed clips (expected.json and the raw arrays beside it).

ONNX Runtime comes from $STAA_ONNXRUNTIME_LIB or <repo>/build/onnxruntime/
libonnxruntime.so.1 (make onnxruntime). Without it these tests are skipped,
unless $CI is set: then they fail.
"""

import json
import threading
from pathlib import Path

import numpy as np
import pytest

import staa

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "runtime" / "testdata"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
TINY = FIXTURE / EXPECTED["model"]
TOL = 1e-4


@pytest.fixture(scope="module")
def session(ort):
    s = staa.Session(TINY, library=ort, intra_op_threads=1, inter_op_threads=1)
    yield s
    s.close()


def load(entry):
    """A fixture array from its expected.json entry ({"file", "dtype", "shape"})."""
    return np.fromfile(FIXTURE / entry["file"], entry["dtype"]).reshape(entry["shape"])


@pytest.fixture(scope="module")
def fx():
    out = EXPECTED["outputs"]
    return {
        "clips": load(EXPECTED["clips"]),
        "pixels": load(EXPECTED["pixel_values"]),
        "logits": load(out["logits"]),
        "spatial": load(out["spatial_attention"]),
        "temporal": load(out["temporal_attention"]),
    }


def softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------ model


def test_info(session):
    info = session.info
    assert (info.frames, info.grid, info.cls, info.tubelet, info.layout) == (4, (4, 4), True, 1, "divided")
    assert (info.layers, info.heads, info.frame_size) == (2, 2, (32, 32))
    assert list(info.classes) == EXPECTED["classes"] == session.classes
    assert info.mean == tuple(EXPECTED["mean"]) and info.std == tuple(EXPECTED["std"])
    assert info.scale == pytest.approx(EXPECTED["scale"])
    assert info.model_type == "timesformer" and info.input_layout == "BFCHW"
    assert info.onnxruntime["version"] and Path(info.onnxruntime["path"]).name.startswith("libonnxruntime")
    assert info.geometry == {"layout": "divided", "frames": 4, "grid": (4, 4), "cls": True, "tubelet": 1}
    assert "tiny.onnx" in repr(session)


def test_logits_match_pytorch(session, fx):
    e = session.explain(fx["clips"])
    assert e.logits.shape == (2, 5) and e.logits.dtype == np.float32
    np.testing.assert_allclose(e.logits, fx["logits"], rtol=0, atol=TOL)
    np.testing.assert_allclose(e.probabilities, softmax(fx["logits"]), rtol=0, atol=1e-5)
    # one clip at a time: the same
    for b in range(2):
        one = session.explain(fx["clips"][b])
        assert one.single and one.logits.shape == (1, 5)
        np.testing.assert_allclose(one.logits[0], fx["logits"][b], rtol=0, atol=TOL)


def test_pixel_values_match_pytorch(session, fx):
    e = session.explain_pixels(fx["pixels"])
    np.testing.assert_allclose(e.logits, fx["logits"], rtol=0, atol=TOL)
    one = session.explain_pixels(fx["pixels"][1])
    np.testing.assert_allclose(one.logits[0], fx["logits"][1], rtol=0, atol=TOL)


def test_resized_clip_matches_torch_resize(session):
    """Frames of another size are resized like torch's antialiased bilinear."""
    r = EXPECTED["resize"]["a"]
    u8 = np.fromfile(FIXTURE / r["u8"], np.uint8).reshape(r["shape"])
    f32 = np.fromfile(FIXTURE / r["f32"], np.float32).reshape(r["out_shape"])
    a = session.explain(u8, method="last")
    b = session.explain_pixels(f32, method="last")
    np.testing.assert_allclose(a.logits, b.logits, rtol=0, atol=TOL)
    assert a.spatial.shape == (1, 4, 4, 4)


# ------------------------------------------------------------ attribution


@pytest.mark.parametrize("method", ["rollout", "last"])
@pytest.mark.parametrize("post", ["raw", "optimized", {"blur": 0.6, "normalize": "clip"}])
def test_attribution_equals_attribute_on_pytorch_attention(session, fx, method, post):
    """A Session's attribution is staa.attribute's on PyTorch's attention for the
    same clips (the ONNX attention differs from it by < 1e-6)."""
    e = session.explain(fx["clips"], method=method, postprocess=post, volume=True)
    ref = staa.attribute(fx["spatial"], fx["temporal"], frames=4, grid=(4, 4), method=method,
                         postprocess=post, volume=True)
    assert isinstance(e, staa.Attribution)
    assert e.spatial.shape == ref.spatial.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(e.volume, ref.volume, rtol=0, atol=TOL)
    np.testing.assert_allclose(e.spatial, ref.spatial, rtol=0, atol=TOL)
    np.testing.assert_allclose(e.temporal, ref.temporal, rtol=0, atol=TOL)
    np.testing.assert_allclose(e.temporal.sum(axis=1), 1, atol=1e-5)
    assert e.method == method and e.temporal_attention == ref.temporal_attention


def test_options_reach_the_engine(session, fx):
    for kw in [dict(head_fusion="max"), dict(residual=0.2), dict(workers=1)]:
        e = session.explain(fx["clips"], postprocess="raw", **kw)
        ref = staa.attribute(fx["spatial"], fx["temporal"], frames=4, grid=(4, 4),
                             postprocess="raw", **kw)
        np.testing.assert_allclose(e.spatial, ref.spatial, rtol=0, atol=TOL, err_msg=str(kw))


def test_prediction_and_top_k(session, fx):
    e = session.explain(fx["clips"][0], top_k=3)
    probs = softmax(fx["logits"][0])
    order = np.argsort(-probs, kind="stable")
    names = EXPECTED["classes"]
    assert [n for n, _ in e.top_k] == [names[i] for i in order[:3]]
    assert [p for _, p in e.top_k] == pytest.approx(probs[order[:3]], abs=1e-5)
    assert e.prediction == e.top_k[0]
    assert e.top_k_indices.dtype == np.int32 and e.top_k_indices.shape == (1, 3)
    assert list(e.labels) == [order[0]]
    # a batch: one list per clip; top_k larger than the classes: all of them
    eb = session.explain(fx["clips"], top_k=50)
    assert len(eb.top_k) == 2 and all(len(t) == 5 for t in eb.top_k)
    assert eb.prediction == [t[0] for t in eb.top_k]
    assert list(eb.labels) == list(np.argmax(fx["logits"], axis=1))
    assert "prediction=" in repr(eb)


def test_pictures(session, fx, tmp_path):
    clip = fx["clips"][0]
    e = session.explain(clip)
    assert e.upsample((32, 32)).shape == (1, 4, 32, 32)
    over = e.overlay(clip)
    assert over.shape == clip.shape and over.dtype == np.uint8
    assert e.save_grid(tmp_path / "grid.png", frames=clip).stat().st_size > 0
    assert len(e.key_frames(2)[0]) <= 2


@pytest.mark.torch
def test_torch_clips(session, fx, torch):
    t = torch.from_numpy(fx["clips"])
    e = session.explain(t)
    assert isinstance(e.logits, torch.Tensor) and isinstance(e.spatial, torch.Tensor)
    n = session.explain(fx["clips"])
    np.testing.assert_array_equal(e.logits.numpy(), n.logits)
    np.testing.assert_array_equal(e.spatial.numpy(), n.spatial)
    # a non-contiguous view is made contiguous
    e2 = session.explain(t.flip(0)[1])
    np.testing.assert_allclose(e2.logits.numpy()[0], fx["logits"][0], atol=TOL)
    with pytest.raises(TypeError, match="uint8"):
        session.explain(t.float())


# ---------------------------------------------------------------- errors


def test_missing_model(ort, tmp_path):
    with pytest.raises(staa.StaaRuntimeError, match="not found") as e:
        staa.Session(tmp_path / "nope.onnx", library=ort)
    assert "nope.onnx" in str(e.value) and e.value.status == 3


def test_corrupt_model(ort, tmp_path):
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(staa.StaaRuntimeError, match="corrupt.onnx"):
        staa.Session(bad, library=ort)


def test_model_without_attention(ort):
    with pytest.raises(staa.StaaRuntimeError, match="no attention outputs"):
        staa.Session(FIXTURE / EXPECTED["model_noattn"], library=ort)
    with pytest.raises(staa.StaaRuntimeError, match="no staa metadata"):
        staa.Session(FIXTURE / EXPECTED["model_nometa"], library=ort)


def test_no_onnxruntime_library(tmp_path):
    with pytest.raises(staa.StaaRuntimeError, match="ONNX Runtime library unavailable") as e:
        staa.Session(TINY, library=tmp_path / "libonnxruntime.so.1")
    assert '"library" option' in str(e.value)


def test_bad_session_options(ort):
    with pytest.raises(staa.StaaValueError, match="intra_op_threads"):
        staa.Session(TINY, library=ort, intra_op_threads=-1)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(method="grad"), staa.StaaValueError, "gradients"),
    (dict(method="magic"), staa.StaaValueError, "magic"),
    (dict(top_k=0), staa.StaaValueError, "top_k"),
    (dict(postprocess="sharp"), staa.StaaValueError, "sharp"),
    (dict(postprocess=3), TypeError, "postprocess"),
])
def test_bad_explain_options(session, fx, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        session.explain(fx["clips"][0], **kwargs)


def test_bad_clips(session, fx):
    clip = fx["clips"][0]
    with pytest.raises(staa.StaaValueError, match="2 frames.*takes 4"):
        session.explain(clip[:2])
    with pytest.raises(TypeError, match="uint8"):
        session.explain(clip.astype(np.float32))
    with pytest.raises(staa.StaaValueError, match="channels last"):
        session.explain(np.ascontiguousarray(np.moveaxis(clip, -1, 1)))
    with pytest.raises(staa.StaaValueError, match="shape"):
        session.explain(clip[0])
    with pytest.raises(staa.StaaValueError, match="empty"):
        session.explain(clip[:, :0])
    with pytest.raises(staa.StaaValueError, match="pixel_values"):
        session.explain_pixels(fx["pixels"][:, :, :, :16])


def test_close(ort, fx):
    with staa.Session(TINY, library=ort) as s:
        assert not s.closed
        s.explain(fx["clips"][0], method="last")
    assert s.closed
    s.close()  # twice: harmless
    with pytest.raises(staa.StaaValueError, match="closed"):
        s.explain(fx["clips"][0])
    assert "closed" in repr(s)


def test_default_library(ort):
    """Without library=, the Session finds the same ONNX Runtime by itself
    ($STAA_ONNXRUNTIME_LIB or the source tree's build/onnxruntime)."""
    with staa.Session(TINY) as s:
        assert Path(s.info.onnxruntime["path"]).resolve() == ort.resolve()


# --------------------------------------------------------------- threads


def test_threads(session, fx):
    """One Session, 4 threads at once: every result equals the serial one."""
    want = session.explain(fx["clips"], workers=1)
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(session.explain(fx["clips"], workers=1))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 12
    for r in results:
        np.testing.assert_array_equal(r.logits, want.logits)
        np.testing.assert_array_equal(r.spatial, want.spatial)
        np.testing.assert_array_equal(r.temporal, want.temporal)


def test_close_while_explaining(ort, fx):
    """Closing a Session while other threads use it: their calls either finish
    or fail cleanly with StaaValueError, never crash."""
    s = staa.Session(TINY, library=ort, intra_op_threads=1)
    outcomes, start = [], threading.Event()

    def work():
        start.wait()
        for _ in range(10):
            try:
                s.explain(fx["clips"][0], method="last")
                outcomes.append("ok")
            except staa.StaaValueError as e:
                assert "closed" in str(e) or "not open" in str(e)
                outcomes.append("closed")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    start.set()
    s.close()
    for t in threads:
        t.join()
    assert len(outcomes) == 30


# --------------------------------------------------------------- predict


def test_predict_matches_pytorch(session, fx):
    """Session.predict: softmax of PyTorch's logits for the fixture clips."""
    want = softmax(fx["logits"])
    p = session.predict(fx["clips"])
    assert isinstance(p, np.ndarray) and p.dtype == np.float32 and p.shape == (2, 5)
    np.testing.assert_allclose(p, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=0, atol=1e-5)
    # one clip: a batch of one
    one = session.predict(fx["clips"][1])
    assert one.shape == (1, 5)
    np.testing.assert_allclose(one[0], want[1], rtol=0, atol=1e-5)


def test_predict_pixels_matches_pytorch(session, fx):
    want = softmax(fx["logits"])
    p = session.predict_pixels(fx["pixels"])
    assert p.dtype == np.float32 and p.shape == (2, 5)
    np.testing.assert_allclose(p, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(session.predict_pixels(fx["pixels"][0])[0], want[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 64])
def test_predict_in_chunks(session, fx, batch_size):
    """Rows go to the model batch_size at a time, in order: 7 clips (the two
    fixture clips in a fixed order, plus perturbed ones) give PyTorch's
    probabilities for the fixture rows and the same rows whatever the chunk."""
    order = [0, 1, 1, 0, 1, 0, 0]
    clips = fx["clips"][order].copy()
    rng = np.random.default_rng(3)
    perturbed = [2, 5]
    clips[perturbed] = rng.integers(0, 256, clips[perturbed].shape, dtype=np.uint8)
    p = session.predict(clips, batch_size=batch_size)
    assert p.shape == (7, 5)
    want = softmax(fx["logits"])[order]
    keep = [i for i in range(7) if i not in perturbed]
    np.testing.assert_allclose(p[keep], want[keep], rtol=0, atol=1e-5)
    # the perturbed rows: as explain() computes them, one clip at a time
    for i in perturbed:
        np.testing.assert_allclose(p[i], session.explain(clips[i], method="last").probabilities[0],
                                   rtol=0, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=0, atol=1e-5)
    pix = session.predict_pixels(fx["pixels"][order], batch_size=batch_size)
    np.testing.assert_allclose(pix, softmax(fx["logits"])[order], rtol=0, atol=1e-5)


@pytest.mark.torch
def test_predict_torch(session, fx, torch):
    p = session.predict(torch.from_numpy(fx["clips"]))
    assert isinstance(p, np.ndarray)
    np.testing.assert_allclose(p, softmax(fx["logits"]), rtol=0, atol=1e-5)


def test_predict_bad_input(session, fx):
    clip = fx["clips"][0]
    with pytest.raises(TypeError, match="uint8"):
        session.predict(clip.astype(np.float32))
    with pytest.raises(TypeError, match="float32"):
        session.predict_pixels(fx["pixels"].astype(np.float64))
    with pytest.raises(staa.StaaValueError, match="2 frames.*takes 4"):
        session.predict(clip[:2])
    with pytest.raises(staa.StaaValueError, match="channels last"):
        session.predict(np.ascontiguousarray(np.moveaxis(clip, -1, 1)))
    with pytest.raises(staa.StaaValueError, match="shape"):
        session.predict(clip[0])
    with pytest.raises(staa.StaaValueError, match="empty"):
        session.predict(fx["clips"][:0])
    with pytest.raises(staa.StaaValueError, match="pixel_values"):
        session.predict_pixels(fx["pixels"][:, :, :, :16])
    with pytest.raises(staa.StaaValueError, match="pixel_values"):
        session.predict_pixels(fx["pixels"][:0])
    with pytest.raises(staa.StaaValueError, match="batch_size"):
        session.predict(clip, batch_size=0)
    with pytest.raises(TypeError):
        session.predict(clip, batch_size=2.5)


def test_predict_closed(ort, fx):
    s = staa.Session(TINY, library=ort, intra_op_threads=1)
    s.close()
    with pytest.raises(staa.StaaValueError, match="closed"):
        s.predict(fx["clips"])
