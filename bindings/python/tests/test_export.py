"""staa-export (staa.export): a HF checkpoint directory → ONNX with attention outputs and staa metadata.

For each model family — TimeSformer (divided and joint space-time), VideoMAE, ViViT — a tiny
random config is saved with save_pretrained (VideoMAE with a preprocessor_config.json written
by transformers' own image processor), exported by the console entry point
(``staa.export:main``, in-process; ``python -m staa.export`` runs in the error tests), and then:

- ONNX Runtime's logits and every attention output equal the PyTorch model's within 1e-4 on a
  batch of 2 random clips; the PyTorch attention is captured independently of the exporter
  (staa.hf.capture's hooks and HF's own ``output_attentions``);
- the metadata is complete and says what the checkpoint says (geometry, frame size, classes,
  normalisation: the expected pixel values are written out here from transformers' processor
  definitions, not read from the exporter);
- ``staa.Session(exported).explain(clip)`` equals ``staa.explain(torch_model, pixel_values)``
  within 1e-4 (methods rollout and last).

Needs torch, transformers, onnx, onnxscript and onnxruntime, else skipped — unless $CI is set:
then the tests fail. The Session part needs the ONNX Runtime library (as test_session.py).
"""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import staa
from conftest import IN_CI as CI
from staa import export as sx

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "bindings" / "python" / "src"
PACKAGE = REPO / "bindings" / "python"
TOL = 1e-4
EXTRA = ("torch", "transformers", "onnx", "onnxscript", "onnxruntime")


def _need(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (pip install 'staa[export]')"
        if CI:
            pytest.fail("CI is set and " + reason)
        pytest.skip(reason)
    return [importlib.import_module(m) for m in modules]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_module(*args, prelude=None, timeout=600):
    """``python -m staa.export ARGS`` (or, with ``prelude``, that code before it) in a subprocess."""
    if prelude is None:
        cmd = [sys.executable, "-m", "staa.export", *map(str, args)]
    else:
        code = (f"{prelude}\nimport runpy, sys\nsys.argv = ['staa-export'] + {list(map(str, args))!r}\n"
                "runpy.run_module('staa.export', run_name='__main__')")
        cmd = [sys.executable, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)


# ------------------------------------------------------------------ the families

CLASSES = ["alpha", "beta", "gamma"]
COMMON = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
              initializer_range=0.2,   # attention far from uniform: a sharper test
              num_labels=3, id2label=dict(enumerate(CLASSES)),
              label2id={c: i for i, c in enumerate(CLASSES)})

# VideoMAE's processor: what transformers' VideoMAEImageProcessor saves (distinct per channel).
VIDEOMAE_MEAN = (0.45, 0.4, 0.35)
VIDEOMAE_STD = (0.225, 0.25, 0.3)


def _pixels(model_type, clips):
    """The pixel values HF's processor would give for uint8 clips (B, F, H, W, 3) at the model's
    size, written out from transformers' processor definitions: TimesformerVideoProcessor's
    defaults (ImageNet mean/std, x/255), the VideoMAE processor saved in the checkpoint, and
    VivitVideoProcessor's defaults (x/127.5 − 1, then mean/std 0.5)."""
    x = clips.astype(np.float64)
    if model_type == "timesformer":
        x = (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    elif model_type == "videomae":
        x = (x / 255 - np.array(VIDEOMAE_MEAN)) / np.array(VIDEOMAE_STD)
    else:
        x = (x / 127.5 - 1 - 0.5) / 0.5
    return np.ascontiguousarray(np.moveaxis(x, -1, -3).astype(np.float32))   # (B, F, 3, H, W)


def _build(name, transformers, torch):
    """(model, processor or None, the geometry staa should see) of a family."""
    torch.manual_seed(1)
    if name in ("timesformer", "timesformer-joint"):
        kind = "divided_space_time" if name == "timesformer" else "joint_space_time"
        cfg = transformers.TimesformerConfig(image_size=32, patch_size=8, num_frames=4, attention_type=kind, **COMMON)
        model = transformers.TimesformerForVideoClassification(cfg)
        with torch.no_grad():   # HF starts them at zero: frame order would not matter
            model.timesformer.embeddings.time_embeddings.normal_(0, 0.5)
        geo = {"layout": "divided" if name == "timesformer" else "joint", "frames": 4, "grid": [4, 4],
               "cls": True, "tubelet": 1}
        return model, None, geo
    if name == "videomae":
        cfg = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2,
                                          use_mean_pooling=True, **COMMON)
        proc = transformers.VideoMAEImageProcessor(image_mean=list(VIDEOMAE_MEAN), image_std=list(VIDEOMAE_STD),
                                                   size={"shortest_edge": 32},
                                                   crop_size={"height": 32, "width": 32})
        geo = {"layout": "joint", "frames": 4, "grid": [4, 4], "cls": False, "tubelet": 2}
        return transformers.VideoMAEForVideoClassification(cfg), proc, geo
    cfg = transformers.VivitConfig(image_size=32, num_frames=4, tubelet_size=[2, 8, 8], **COMMON)
    geo = {"layout": "joint", "frames": 4, "grid": [4, 4], "cls": True, "tubelet": 2}
    return transformers.VivitForVideoClassification(cfg), None, geo


FAMILIES = ["timesformer", "timesformer-joint", "videomae", "vivit"]


@pytest.fixture(scope="module")
def libs():
    torch, transformers, _, _, _ = _need(*EXTRA)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch, transformers
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=FAMILIES)
def exported(request, libs, tmp_path_factory):
    torch, transformers = libs
    name = request.param
    model, proc, geo = _build(name, transformers, torch)
    model.eval()
    ckpt = tmp_path_factory.mktemp(name) / "checkpoint"
    model.save_pretrained(ckpt)
    if proc is not None:
        proc.save_pretrained(ckpt)
        assert (ckpt / "preprocessor_config.json").is_file()
    out = ckpt.parent / f"{name}.onnx"
    # The console entry point, in-process: a subprocess would pay torch's imports and the
    # exporter's warm-up again (~30 s); `python -m staa.export` runs in the error tests below.
    assert sx.main([str(ckpt), "-o", str(out), "--threads", "1", "-q"]) == 0
    assert out.is_file()
    rng = np.random.default_rng(5)
    clips = rng.integers(0, 256, size=(2, 4, 32, 32, 3), dtype=np.uint8)
    return {"name": name, "model": model, "geo": geo, "path": out, "clips": clips,
            "pixels": _pixels(model.config.model_type, clips), "checkpoint": ckpt}


def _ort_run(path, x):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"pixel_values": x}))), sess


def test_outputs_equal_pytorch(exported, libs):
    torch, _ = libs
    model, x = exported["model"], exported["pixels"]
    got, sess = _ort_run(exported["path"], x)
    outs = json.loads(sess.get_modelmeta().custom_metadata_map["staa.outputs"])
    with torch.no_grad(), staa.capture(model) as cap:   # hooks, not the exporter's taps
        ref = model(torch.from_numpy(x), output_attentions=True)
    want = {outs["logits"]: ref.logits.numpy()}
    want.update({outs[k]: v.numpy() for k, v in cap.attentions().items()})
    assert set(got) == set(want), (sorted(got), sorted(want))
    for name, w in want.items():
        assert got[name].shape == w.shape, name
        assert np.max(np.abs(got[name] - w)) <= TOL, name
    assert np.abs(got[outs["logits"]][0] - got[outs["logits"]][1]).max() > 1e-3   # the clips differ
    # Where HF's own outputs.attentions is in staa's layout, against it too.
    b = x.shape[0]
    if exported["name"] in ("videomae", "vivit"):
        hf = torch.stack(ref.attentions, dim=1).numpy()                             # (B, L, H, S, S)
        assert np.max(np.abs(got["joint_attention"] - hf)) <= TOL
    if exported["name"] == "timesformer":
        hf = torch.stack([a.reshape(b, -1, *a.shape[1:]) for a in ref.attentions], dim=1).numpy()
        assert np.max(np.abs(got["spatial_attention"] - hf)) <= TOL
    for name, a in got.items():
        if name != outs["logits"]:
            np.testing.assert_allclose(a.sum(-1), 1, atol=1e-5)
            assert a.std() > 1e-3   # not uniform: the comparison means something


def test_dynamic_batch(exported):
    x = exported["pixels"]
    three = np.concatenate([x, x[:1]])
    got3, _ = _ort_run(exported["path"], three)
    got1, _ = _ort_run(exported["path"], x[1:])
    for name in got3:
        assert got3[name].shape[0] == 3 and got1[name].shape[0] == 1
        np.testing.assert_allclose(got3[name][2], got3[name][0], atol=1e-6)
        np.testing.assert_allclose(got1[name][0], got3[name][1], atol=1e-5)


def test_metadata_complete(exported):
    import onnx

    proto = onnx.load(str(exported["path"]))
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    meta = {p.key: p.value for p in proto.metadata_props}
    for k in sx.METADATA_KEYS:
        assert k in meta, k
    geo = exported["geo"]
    assert json.loads(meta["staa.geometry"]) == geo
    assert (meta["staa.layout"], int(meta["staa.frames"]), json.loads(meta["staa.grid"]),
            meta["staa.cls"], int(meta["staa.tubelet"])) == (
        geo["layout"], geo["frames"], geo["grid"], "true" if geo["cls"] else "false", geo["tubelet"])
    assert (meta["staa.layers"], meta["staa.heads"]) == ("2", "2")
    assert json.loads(meta["staa.frame_size"]) == [32, 32]
    assert json.loads(meta["staa.class_names"]) == CLASSES
    assert meta["staa.model_type"] == exported["model"].config.model_type
    assert (meta["staa.input"], meta["staa.input_layout"]) == ("pixel_values", "BFCHW")
    # The normalisation gives the processor's pixel values for every uint8 value.
    v = np.arange(256, dtype=np.float64).reshape(1, 1, 16, 16, 1).repeat(3, axis=-1)
    scale = float(meta["staa.scale"])
    mean, std = np.array(json.loads(meta["staa.mean"])), np.array(json.loads(meta["staa.std"]))
    got = np.moveaxis((v * scale - mean) / std, -1, -3)
    np.testing.assert_allclose(got, _pixels(meta["staa.model_type"], v.astype(np.uint8)), atol=1e-6)
    # Outputs and their shapes.
    outs = json.loads(meta["staa.outputs"])
    shapes = json.loads(meta["staa.output_shapes"])
    names = [o.name for o in proto.graph.output]
    t, n, c = geo["frames"] // geo["tubelet"], 16, int(geo["cls"])
    if geo["layout"] == "divided":
        assert outs == {"logits": "logits", "spatial": "spatial_attention", "temporal": "temporal_attention"}
        assert shapes["spatial_attention"] == ["batch", 2, t, 2, c + n, c + n]
        assert shapes["temporal_attention"] == ["batch", 2, n, 2, t, t]
    else:
        assert outs == {"logits": "logits", "joint": "joint_attention"}
        assert shapes["joint_attention"] == ["batch", 2, 2, c + t * n, c + t * n]
    assert names == list(outs.values()) and shapes["logits"] == ["batch", 3]
    assert [i.name for i in proto.graph.input] == ["pixel_values"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param   # dynamic batch


@pytest.mark.parametrize("method", ["rollout", "last"])
def test_session_equals_explain_on_pytorch(exported, libs, method, ort):
    torch, _ = libs
    model, clips, x = exported["model"], exported["clips"], exported["pixels"]
    with staa.Session(exported["path"], library=ort, intra_op_threads=1, inter_op_threads=1) as s:
        geo = exported["geo"]
        assert s.info.geometry == {**geo, "grid": tuple(geo["grid"])}
        assert s.classes == CLASSES and s.info.frame_size == (32, 32)
        for post in ("optimized", "raw"):
            e = s.explain(clips, method=method, postprocess=post)           # uint8 in, preprocessed in Go
            a = staa.explain(model, torch.from_numpy(x), method=method, postprocess=post)
            assert e.spatial.shape == tuple(a.spatial.shape) == (2, 4, 4, 4)
            np.testing.assert_allclose(e.logits, a.logits.numpy(), rtol=0, atol=TOL)
            np.testing.assert_allclose(e.spatial, a.spatial.numpy(), rtol=0, atol=TOL)
            np.testing.assert_allclose(e.temporal, a.temporal.numpy(), rtol=0, atol=TOL)
            assert [p[0] for p in e.prediction] == [CLASSES[i] for i in a.predictions.tolist()]
            assert e.spatial.max() > 0


# ------------------------------------------------------------------ errors


def test_not_a_checkpoint(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"\0")
    for path, msg in ((tmp_path / "missing", "does not exist"), (f, "is not a directory"),
                      (tmp_path, "has no config.json")):
        p = run_module(path, "-o", tmp_path / "out.onnx")
        assert p.returncode == 1, p.stderr
        assert msg in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "out.onnx").exists()
    # the hub cache's models--org--name folder: pointed to its snapshot
    snap = tmp_path / "models--org--name" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    with pytest.raises(sx.ExportError, match="hub cache folder.*snapshots/abc123"):
        sx.read_config(tmp_path / "models--org--name")


@pytest.mark.parametrize("config, msg", [
    ({"model_type": "vit", "architectures": ["ViTForImageClassification"]},
     ["type 'vit'", "ViTForImageClassification", "supported: timesformer, videomae, vivit"]),
    ({"architectures": ["Foo"]}, ["type None", "supported: timesformer, videomae, vivit"]),
    ({"model_type": "timesformer", "attention_type": "space_only"}, ["space_only", "not supported"]),
])
def test_unsupported_model(tmp_path, config, msg):
    (tmp_path / "config.json").write_text(json.dumps(config))
    p = run_module(tmp_path, "-o", tmp_path / "out.onnx")
    assert p.returncode == 1, p.stderr
    for m in msg:
        assert m in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_corrupt_config(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    p = run_module(tmp_path)
    assert p.returncode == 1 and "cannot read the model config" in p.stderr, p.stderr


def test_missing_extra_is_named(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "videomae"}))
    p = run_module(tmp_path, "-o", tmp_path / "out.onnx", prelude="import sys; sys.modules['torch'] = None")
    assert p.returncode == 2, p.stderr
    assert "needs torch" in p.stderr and "staa[export]" in p.stderr and "Traceback" not in p.stderr


def test_checkpoint_without_classifier(libs, tmp_path):
    """A bare encoder (or a pre-training checkpoint) has no trained head: refused, not exported
    with a random one."""
    torch, transformers = libs
    cfg = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, **COMMON)
    transformers.VideoMAEModel(cfg).save_pretrained(tmp_path / "bare")
    assert sx.main([str(tmp_path / "bare"), "-o", str(tmp_path / "out.onnx"), "-q"]) == 1
    with pytest.raises(sx.ExportError, match="lacks the weights classifier.*not a trained video classifier"):
        sx.export(tmp_path / "bare", tmp_path / "out.onnx")
    # and config.json alone, no weights
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text((tmp_path / "bare" / "config.json").read_text())
    with pytest.raises(sx.ExportError, match="cannot load"):
        sx.export(tmp_path / "noweights", tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


def test_wrong_frames_for_videomae(libs, tmp_path):
    torch, transformers = libs
    cfg = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, **COMMON)
    transformers.VideoMAEForVideoClassification(cfg).save_pretrained(tmp_path / "m")
    with pytest.raises(sx.ExportError, match="not a multiple of the tubelet size 2"):
        sx.export(tmp_path / "m", tmp_path / "out.onnx", frames=3)
    with pytest.raises(sx.ExportError, match=r"does not accept pixel_values of shape \(2, 4, 3, 48, 48\)"):
        sx.export(tmp_path / "m", tmp_path / "out.onnx", size=48)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".staa-export-*"))


# ------------------------------------------------------------------ settings


def test_console_script_declared():
    tomllib = pytest.importorskip("tomllib")
    doc = tomllib.loads((PACKAGE / "pyproject.toml").read_text())
    target = doc["project"]["scripts"]["staa-export"]
    mod, fn = target.split(":")
    assert getattr(importlib.import_module(mod), fn) is sx.main
    extra = " ".join(doc["project"]["optional-dependencies"]["export"])
    for name in EXTRA:
        assert name in extra


def test_preprocessing_from_processor_config():
    # transformers' defaults when there is no processor config
    assert sx.preprocessing("timesformer", {}) == {
        "scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert sx.preprocessing("videomae", {}) == {"scale": 1 / 255, "mean": [0.5] * 3, "std": [0.5] * 3}
    vivit = sx.preprocessing("vivit", {})          # x/127.5 − 1, then (· − 0.5)/0.5
    assert vivit == {"scale": 1 / 127.5, "mean": [1.5] * 3, "std": [0.5] * 3}
    # what a processor config says wins; scalars are per channel
    p = {"rescale_factor": 0.5, "image_mean": 0.25, "image_std": [1, 2, 4]}
    assert sx.preprocessing("videomae", p) == {"scale": 0.5, "mean": [0.25] * 3, "std": [1.0, 2.0, 4.0]}
    assert sx.preprocessing("vivit", {"offset": False}) == {"scale": 1 / 127.5, "mean": [0.5] * 3, "std": [0.5] * 3}
    assert sx.preprocessing("timesformer", {"do_rescale": False, "do_normalize": False}) == {
        "scale": 1.0, "mean": [0.0] * 3, "std": [1.0] * 3}
    with pytest.raises(sx.ExportError, match="image_std"):
        sx.preprocessing("timesformer", {"image_std": [1, 0, 1]})
    with pytest.raises(sx.ExportError, match="image_mean"):
        sx.preprocessing("timesformer", {"image_mean": [1, 2]})


def test_frame_size_sources():
    cfg = {"image_size": 224}
    assert sx.frame_size(cfg, {}) == (224, 224)
    proc = {"crop_size": {"height": 160, "width": 192}, "size": {"shortest_edge": 256}}
    assert sx.frame_size(cfg, proc) == (160, 192)
    assert sx.frame_size(cfg, {"crop_size": 112}) == (112, 112)
    assert sx.frame_size(cfg, {"do_center_crop": False, "crop_size": {"height": 1, "width": 1},
                               "size": {"height": 96, "width": 128}}) == (96, 128)
    assert sx.frame_size(cfg, {"do_center_crop": False, "size": {"shortest_edge": 256}}) == (224, 224)


def test_processor_defaults_are_transformers():
    """PROCESSOR_DEFAULTS are the class defaults of transformers' video processors."""
    _need("transformers")
    for mt, mod, cls in (("timesformer", "timesformer", "TimesformerVideoProcessor"),
                         ("videomae", "videomae", "VideoMAEVideoProcessor"),
                         ("vivit", "vivit", "VivitVideoProcessor")):
        try:
            c = getattr(importlib.import_module(f"transformers.models.{mod}.video_processing_{mod}"), cls)
        except ImportError as e:  # older transformers: no video processors
            pytest.skip(f"transformers has no {cls}: {e}")
        d = sx.PROCESSOR_DEFAULTS[mt]
        assert c.rescale_factor == pytest.approx(d["rescale_factor"])
        assert list(c.image_mean) == pytest.approx(list(d["image_mean"]))
        assert list(c.image_std) == pytest.approx(list(d["image_std"]))
