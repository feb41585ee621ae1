#!/usr/bin/env python3
"""Write the test fixture of the Go runtime package (runtime/testdata/): a tiny random-weights
TimeSformer exported to ONNX exactly as scripts/model/export_onnx.py exports the shipped model
(same input and output names, same ``staa.*`` metadata_props), the PyTorch outputs for a fixed
input, and two broken variants for the error tests.

    python3 scripts/model/make_runtime_fixture.py            # rewrites runtime/testdata/
    python3 scripts/model/make_runtime_fixture.py --out DIR

The model: image 32, patch 8 (a 4×4 grid, N = 16), 4 frames, 2 layers, 2 heads, hidden 32,
5 classes, divided space-time attention, weights drawn with a larger initializer range than
HF's default so that the attention is far from uniform (a better test of the attribution).
The metadata's mean/std are per-channel and distinct, unlike the shipped model's 0.5, so the
Go preprocessing is checked channel by channel.

Files (little-endian, row-major; shapes in expected.json):

    tiny.onnx              the model: pixel_values → logits, spatial_attention, temporal_attention
    tiny_noattn.onnx       the same weights and metadata, logits only (error test)
    tiny_nometa.onnx       tiny.onnx without metadata_props (error test)
    clips.u8               uint8 (B, F, 32, 32, 3) RGB: the test input, at the model's size
    pixel_values.f32       float32 (B, F, 3, 32, 32): clips normalised as the metadata says
    logits.f32, spatial_attention.f32, temporal_attention.f32: PyTorch's outputs for them
    resize_a.u8, resize_b.u8   uint8 (F, h, w, 3) clips of other sizes (downscale, upscale)
    resize_a.f32, resize_b.f32 float32 (F, 3, 32, 32): their pixel values, resized by
                               torch.nn.functional.interpolate(bilinear, antialias=True,
                               align_corners=False) on the float pixels, then normalised
    expected.json          shapes, class names, normalisation, versions

The Go runtime resizes with the same filter (PIL's / torch's antialiased bilinear).

For benchmarks, --bench PATH exports a random-weights model of another size instead (nothing is
written to runtime/testdata/), with the same outputs and metadata:

    python3 scripts/model/make_runtime_fixture.py --bench /tmp/synth.onnx --size synth
    python3 scripts/model/make_runtime_fixture.py --bench /tmp/base.onnx --size base
    STAA_BENCH_MODEL=/tmp/base.onnx go test ./runtime -run '^$' -bench Session -benchtime 3x

``synth`` is the shipped model's configuration (common.MODEL_CONFIG: 8×64×64, hidden 64, 3
layers, 4 heads), ``base`` TimeSformer-base's (8×224×224, patch 16, hidden 768, 12 layers,
12 heads; about 0.5 GB).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402
import export_onnx  # noqa: E402

OUT = common.REPO / "runtime" / "testdata"
CLASSES = ["up", "down", "left", "right", "still"]
CONFIG = dict(image_size=32, patch_size=8, num_frames=4, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=2, intermediate_size=64, initializer_range=0.2)
# Per-channel and distinct, so a channel mix-up in the Go preprocessing shows.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SCALE = 1 / 255
BATCH = 2
SEED = 7
RESIZE_SIZES = {"a": (45, 70), "b": (20, 24)}   # (h, w): one downscale, one upscale
MAX_TOTAL = 1 << 20


def normalise(clips: np.ndarray) -> np.ndarray:
    """uint8 (..., H, W, 3) → float32 (..., 3, H, W) as the Go session computes it."""
    x = clips.astype(np.float64) * SCALE
    x = (x - np.asarray(MEAN)) / np.asarray(STD)
    x = np.moveaxis(x, -1, -3)
    return np.ascontiguousarray(x.astype(np.float32))


def resized(clip: np.ndarray, size: int) -> np.ndarray:
    """uint8 (F, h, w, 3) → float32 (F, 3, size, size): antialiased bilinear, then normalised."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(clip.astype(np.float32)).permute(0, 3, 1, 2)   # (F, 3, h, w), 0..255
    y = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    y = y.double() * SCALE
    y = (y - torch.tensor(MEAN, dtype=torch.float64)[:, None, None]) / torch.tensor(STD, dtype=torch.float64)[:, None, None]
    return np.ascontiguousarray(y.float().numpy())


def strip(proto):
    """Drops the per-node metadata of the dynamo exporter (module paths, stack traces, rewrite
    rules): three quarters of a tiny model's bytes, and of no use to a runtime."""
    for n in proto.graph.node:
        del n.metadata_props[:]
        n.doc_string = ""
    return proto


def set_metadata(proto, meta: dict):
    del proto.metadata_props[:]
    for k, v in meta.items():
        p = proto.metadata_props.add()
        p.key, p.value = k, v


class LogitsOnly:
    """Factory of a module returning the logits alone (the model without attention outputs)."""

    @staticmethod
    def build(model):
        from torch import nn

        class _M(nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, pixel_values):
                return self.model(pixel_values=pixel_values).logits

        return _M(model)


def export_logits_only(model, example):
    import torch

    batch = torch.export.Dim("batch", min=1, max=1024)
    prog = torch.onnx.export(
        LogitsOnly.build(model).eval(), (example,), None, dynamo=True, opset_version=export_onnx.OPSET,
        external_data=False, input_names=[export_onnx.INPUT], output_names=["logits"],
        dynamic_shapes={"pixel_values": {0: batch}}, optimize=True, verbose=False)
    return prog.model_proto


BENCH_SIZES = {
    "synth": dict(common.MODEL_CONFIG),
    "base": dict(image_size=224, patch_size=16, num_frames=8, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072),
}


def export_bench(path: Path, size: str):
    """A random-weights model of a benchmark size, exported like the shipped one."""
    import onnx
    import torch

    torch.manual_seed(SEED)
    classes = [f"class{i}" for i in range(400 if size == "base" else 4)]
    model = common.make_model(classes, **BENCH_SIZES[size]).eval()
    cfg = model.config
    wrapped = common.AttentionModel.build(model).eval()
    x = torch.randn(2, cfg.num_frames, 3, cfg.image_size, cfg.image_size)   # batch 1 would be specialised
    common.log(f"exporting a random {size} TimeSformer to {path}")
    proto = strip(export_onnx.export(wrapped, x, None))
    set_metadata(proto, export_onnx.metadata(cfg, classes))
    proto.producer_name = "staa scripts/model/make_runtime_fixture.py --bench"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(proto, str(path))
    common.log(f"wrote {path}: {path.stat().st_size / 1e6:.1f} MB")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--bench", type=Path, default=None, help="export a benchmark model there instead")
    p.add_argument("--size", choices=sorted(BENCH_SIZES), default="synth", help="size of the --bench model")
    p.add_argument("--threads", type=int, default=2, help="torch threads for --bench")
    args = p.parse_args(argv)
    if args.bench is not None:
        import torch

        torch.set_num_threads(args.threads)
        return export_bench(args.bench, args.size)

    import onnx
    import onnxruntime as ort
    import torch
    import transformers

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = common.make_model(CLASSES, **CONFIG).eval()
    wrapped = common.AttentionModel.build(model).eval()
    cfg = model.config
    size, frames = cfg.image_size, cfg.num_frames

    # A structured input (a bright square moving over noise) rather than pure noise.
    clips = rng.integers(0, 256, size=(BATCH, frames, size, size, 3), dtype=np.uint8)
    for b in range(BATCH):
        for f in range(frames):
            y, x = 4 + 3 * f, 20 - 4 * f if b else 4 + 4 * f
            clips[b, f, y:y + 8, x:x + 8] = (250, 40 + 60 * b, 30)
    x = normalise(clips)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    common.log(f"exporting the tiny TimeSformer ({CONFIG})")
    proto = strip(export_onnx.export(wrapped, torch.from_numpy(x), None))
    meta = export_onnx.metadata(cfg, CLASSES)
    meta["staa.mean"] = json.dumps(list(MEAN), separators=(",", ":"))
    meta["staa.std"] = json.dumps(list(STD), separators=(",", ":"))
    meta["staa.scale"] = repr(SCALE)
    set_metadata(proto, meta)
    proto.producer_name = "staa scripts/model/make_runtime_fixture.py"
    proto.doc_string = "staa runtime test fixture: a tiny random-weights TimeSformer"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save_model(proto, str(out / "tiny.onnx"))

    nometa = onnx.ModelProto()
    nometa.CopyFrom(proto)
    del nometa.metadata_props[:]
    onnx.save_model(nometa, str(out / "tiny_nometa.onnx"))

    # torch.onnx.export (dynamo) swaps the store lists of the exported instance's taps, so
    # that it records nothing afterwards: a fresh wrapper re-points the taps.
    wrapped = common.AttentionModel.build(model).eval()
    want = export_onnx.run_torch(wrapped, x)
    names = list(export_onnx.OUTPUTS)

    # The exported model agrees with PyTorch (the Go test checks the same with its own session).
    sess = ort.InferenceSession(str(out / "tiny.onnx"), providers=["CPUExecutionProvider"])
    errs = export_onnx.verify(sess, wrapped, model, x)
    common.log("max |ONNX - PyTorch| " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))

    # Last: it goes through the same taps.
    noattn = strip(export_logits_only(model, torch.from_numpy(x)))
    set_metadata(noattn, meta)
    onnx.checker.check_model(noattn, full_check=True)
    onnx.save_model(noattn, str(out / "tiny_noattn.onnx"))

    clips.tofile(out / "clips.u8")
    x.tofile(out / "pixel_values.f32")
    for name, a in zip(names, want):
        np.ascontiguousarray(a, dtype="<f4").tofile(out / f"{name}.f32")

    resize = {}
    for key, (h, w) in RESIZE_SIZES.items():
        clip = rng.integers(0, 256, size=(frames, h, w, 3), dtype=np.uint8)
        clip[:, h // 4:h // 2, w // 3:w // 2] = (255, 0, 128)   # hard edges: a real test of the filter
        clip.tofile(out / f"resize_{key}.u8")
        resized(clip, size).tofile(out / f"resize_{key}.f32")
        resize[key] = {"u8": f"resize_{key}.u8", "shape": [frames, h, w, 3],
                       "f32": f"resize_{key}.f32", "out_shape": [frames, 3, size, size]}

    expected = {
        "model": "tiny.onnx",
        "model_noattn": "tiny_noattn.onnx",
        "model_nometa": "tiny_nometa.onnx",
        "config": CONFIG,
        "classes": CLASSES,
        "mean": list(MEAN), "std": list(STD), "scale": SCALE,
        "clips": {"file": "clips.u8", "dtype": "uint8", "shape": list(clips.shape)},
        "pixel_values": {"file": "pixel_values.f32", "dtype": "float32", "shape": list(x.shape)},
        "outputs": {name: {"file": f"{name}.f32", "dtype": "float32", "shape": list(a.shape)}
                    for name, a in zip(names, want)},
        "resize": resize,
        "max_abs_error_onnx_vs_torch": errs,
        "metadata_props": meta,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "generator": "scripts/model/make_runtime_fixture.py",
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    common.log(f"wrote {out}: {total / 1e3:.0f} kB")
    if total > MAX_TOTAL:
        raise SystemExit(f"{out} holds {total} bytes, more than {MAX_TOTAL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
