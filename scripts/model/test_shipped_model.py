"""Tests of the shipped model (models/timesformer-synth.onnx and its checkpoint):

    python3 -m pytest scripts/model/test_shipped_model.py

- the metadata_props are complete and consistent with the outputs;
- on generated clips, the attention outputs have the documented shapes and are row-stochastic;
- logits and every attention output equal the PyTorch checkpoint's within 1e-4 (skipped
  without torch/transformers);
- ``staa.Session(models/timesformer-synth.onnx).explain(clips)`` (uint8 clips, preprocessed by
  the Go runtime from the metadata) equals ``staa.explain(checkpoint, pixel_values)`` (PyTorch,
  the training normalisation) within 1e-4, methods rollout and last. Needs build/libstaa.so
  and the ONNX Runtime library (``make lib onnxruntime``; ``make check-model`` builds them):
  skipped without them, unless $CI is set.

Needs onnxruntime, numpy, pyarrow and the Go toolchain (clips come from staa/synth).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ort = pytest.importorskip("onnxruntime")

KEYS = ("staa.metadata_version", "staa.model_type", "staa.attention_type", "staa.geometry", "staa.layout",
        "staa.frames", "staa.grid", "staa.cls", "staa.tubelet", "staa.layers", "staa.heads",
        "staa.frame_size", "staa.input", "staa.input_layout", "staa.scale", "staa.mean", "staa.std",
        "staa.class_names", "staa.outputs", "staa.output_shapes")


@pytest.fixture(scope="module")
def session():
    if not common.ONNX_PATH.exists():
        pytest.skip(f"{common.ONNX_PATH} is missing (make model)")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(str(common.ONNX_PATH), so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def meta(session):
    return session.get_modelmeta().custom_metadata_map


@pytest.fixture(scope="module")
def clips(meta):
    """uint8 (3, F, H, W, 3) generated clips at the model's size."""
    h, w = json.loads(meta["staa.frame_size"])
    return common.generate_and_load(3, common.CHECK_SEED + 2, frames=int(meta["staa.frames"]), size=h)["clips"]


@pytest.fixture(scope="module")
def pixels(meta, clips):
    scale = float(meta["staa.scale"])
    mean = np.asarray(json.loads(meta["staa.mean"]), np.float32)
    std = np.asarray(json.loads(meta["staa.std"]), np.float32)
    x = (clips.astype(np.float32) * scale - mean) / std
    return np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3))


def test_metadata(session, meta):
    for k in KEYS:
        assert k in meta, k
    geo = json.loads(meta["staa.geometry"])
    assert geo == {"layout": meta["staa.layout"], "frames": int(meta["staa.frames"]),
                   "grid": json.loads(meta["staa.grid"]), "cls": meta["staa.cls"] == "true",
                   "tubelet": int(meta["staa.tubelet"])}
    outs = json.loads(meta["staa.outputs"])
    assert [o.name for o in session.get_outputs()] == [outs["logits"], outs["spatial"], outs["temporal"]]
    assert [i.name for i in session.get_inputs()] == [meta["staa.input"]]
    assert len(json.loads(meta["staa.class_names"])) == json.loads(meta["staa.output_shapes"])["logits"][1]
    assert common.ONNX_PATH.stat().st_size < 8 << 20


def test_outputs(session, meta, pixels):
    outs = json.loads(meta["staa.outputs"])
    shapes = json.loads(meta["staa.output_shapes"])
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {meta["staa.input"]: pixels})))
    b = pixels.shape[0]
    for name in outs.values():
        assert list(got[name].shape) == [b] + shapes[name][1:], name
    for name in (outs["spatial"], outs["temporal"]):
        a = got[name]
        assert a.dtype == np.float32 and (a >= 0).all()
        np.testing.assert_allclose(a.sum(-1), 1, atol=1e-5)


def test_matches_pytorch(session, meta, pixels):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if not (common.CHECKPOINT / "model.safetensors").exists():
        pytest.skip("no PyTorch checkpoint")
    torch.set_num_threads(2)
    wrapped = common.AttentionModel.build(common.load_model()).eval()
    with torch.no_grad():
        want = [t.numpy() for t in wrapped(torch.from_numpy(pixels[:2]))]
    got = session.run(None, {meta["staa.input"]: pixels[:2]})
    for g, w, o in zip(got, want, session.get_outputs()):
        assert g.shape == w.shape, o.name
        assert np.max(np.abs(g - w)) <= 1e-4, o.name


def _skip_or_fail(reason):
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail("CI is set and " + reason)
    pytest.skip(reason)


@pytest.mark.parametrize("method", ["rollout", "last"])
def test_session_equals_explain_on_pytorch(clips, method):
    """The whole path without PyTorch (Go preprocessing, ONNX Runtime, the engine) against
    staa.explain on the PyTorch checkpoint (hooks, the engine) for the same clips."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if not (common.CHECKPOINT / "model.safetensors").exists():
        pytest.skip("no PyTorch checkpoint")
    import staa   # this checkout's (common puts bindings/python/src first)
    from staa import _library

    if not any(p.is_file() for _, p in _library.candidates()):
        _skip_or_fail("the staa library is not built (make lib)")
    ort_lib = Path(os.environ.get("STAA_ONNXRUNTIME_LIB")
                   or common.REPO / "build" / "onnxruntime" / "libonnxruntime.so.1")
    if not ort_lib.is_file():
        _skip_or_fail(f"the ONNX Runtime library {ort_lib} is missing (make onnxruntime)")
    torch.set_num_threads(1)
    model = transformers.TimesformerForVideoClassification.from_pretrained(str(common.CHECKPOINT)).eval()
    x = torch.from_numpy(common.normalise(clips))        # the training normalisation, not the metadata's
    assert clips.shape[0] >= 2
    with staa.Session(common.ONNX_PATH, library=ort_lib, intra_op_threads=1, inter_op_threads=1) as s:
        for post in ("optimized", "raw"):
            e = s.explain(clips, method=method, postprocess=post)
            a = staa.explain(model, x, method=method, postprocess=post)
            assert e.spatial.shape == tuple(a.spatial.shape) == (clips.shape[0], 8, 4, 4)
            np.testing.assert_allclose(e.logits, a.logits.numpy(), rtol=0, atol=1e-4)
            np.testing.assert_allclose(e.spatial, a.spatial.numpy(), rtol=0, atol=1e-4)
            np.testing.assert_allclose(e.temporal, a.temporal.numpy(), rtol=0, atol=1e-4)
            assert e.labels.tolist() == a.predictions.tolist()
            assert e.spatial.max() > 0
