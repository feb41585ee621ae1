#!/usr/bin/env python3
"""Export the trained TimeSformer (models/timesformer-synth/) to ONNX with its attention, check
it against PyTorch with onnxruntime, and write the model card.

    python3 scripts/model/export_onnx.py                       # models/timesformer-synth.onnx
    python3 scripts/model/export_onnx.py --quick               # the --quick checkpoint, temp output

The ONNX model has one input and three outputs (B is dynamic):

    pixel_values        float32 (B, F, 3, H, W)   RGB, pixel = (uint8/255 - mean) / std
    logits              float32 (B, C)
    spatial_attention   float32 (B, L, T, heads, 1+N, 1+N)  per-frame attention, index 0 = CLS copy
    temporal_attention  float32 (B, L, N, heads, T, T)      attention across frames, per patch

with T = F (tubelet 1), N = h·w patches (patch n = i·w + j). Per clip, the attention outputs are
the stacked layouts [L, T, H, c+N, c+N] and [L, N, H, T, T] of the staa engine (DESIGN.md 1.1).
The attention (the temporal one HF never returns) is recorded by pass-through modules in
place of the attention dropouts (staa.export.AttentionModel, shared with staa-export). The
``metadata_props`` (keys ``staa.*``, see METADATA below) carry the geometry, frame size,
normalisation, class names and output names, so that a session needs no other configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import log, staa_export  # noqa: E402

# The general part (wrapper, metadata, torch.onnx call) is the package's staa.export, which
# staa-export runs for any HF TimeSformer, VideoMAE or ViViT checkpoint.
INPUT = staa_export.INPUT
OUTPUTS = staa_export.DIVIDED_OUTPUTS
METADATA_VERSION = staa_export.METADATA_VERSION
OPSET = staa_export.OPSET
TOLERANCE = 1e-4
MAX_BYTES = 8 << 20

METADATA = """\
staa.metadata_version  "1"
staa.model_type        "timesformer" (HF model_type)
staa.attention_type    "divided_space_time"
staa.geometry          JSON, the staa options_json geometry: {"layout","frames","grid","cls","tubelet"}
staa.layout            "divided"
staa.frames            F, decimal
staa.grid              JSON [h, w] (patch rows, patch columns)
staa.cls               "true"
staa.tubelet           "1"
staa.layers, staa.heads  L and H, decimal
staa.frame_size        JSON [height, width] in pixels of the model input
staa.input             "pixel_values"
staa.input_layout      "BFCHW" (float32, RGB)
staa.scale             "0.00392156862745098" (1/255)
staa.mean, staa.std    JSON [r, g, b]: pixel = (uint8 * scale - mean) / std
staa.class_names       JSON list, in logit order
staa.outputs           JSON {"logits": ..., "spatial": ..., "temporal": ...} output names
staa.output_shapes     JSON {name: [dims]}, "batch" for the dynamic axis
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: train a --quick checkpoint first when --checkpoint is not given; temp output")
    p.add_argument("--checkpoint", type=Path, default=None, help=f"HF checkpoint (default {common.CHECKPOINT})")
    p.add_argument("--out", type=Path, default=None, help=f"ONNX file (default {common.ONNX_PATH})")
    p.add_argument("--card", type=Path, default=None, help=f"model card (default {common.CARD_PATH}; none with --quick)")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    if a.quick:
        tmp = Path(tempfile.mkdtemp(prefix="staa-export-quick-"))
        if a.checkpoint is None:
            import train_timesformer
            a.checkpoint = tmp / "timesformer-synth"
            if train_timesformer.main(["--quick", "--out", str(a.checkpoint)]) != 0:
                raise SystemExit("quick training failed")
        a.out = a.out or tmp / "timesformer-synth.onnx"
    a.checkpoint = a.checkpoint or common.CHECKPOINT
    a.out = a.out or common.ONNX_PATH
    if a.card is None and not a.quick:
        a.card = common.CARD_PATH
    return a


def metadata(config, classes) -> dict:
    """The staa.* metadata_props of the shipped model (staa.export.metadata, with the fixed
    normalisation of common.MEAN/STD)."""
    size = int(config.image_size)
    return staa_export.metadata(common.geometry(config), config.num_hidden_layers, config.num_attention_heads,
                                [size, size], classes, "timesformer", "divided_space_time",
                                1 / 255, common.MEAN, common.STD)


def export(wrapped, example, path: Path):
    """The ModelProto of wrapped (common.AttentionModel) with a dynamic batch axis
    (staa.export.export_module; path is unused, the caller saves the proto)."""
    return staa_export.export_module(wrapped, example, OUTPUTS, OPSET)


def run_torch(wrapped, x):
    import torch

    with torch.no_grad():
        return [t.numpy() for t in wrapped(torch.from_numpy(x))]


def verify(session, wrapped, model, x) -> dict:
    """Compare every output of the ONNX session with PyTorch on x; returns the max abs errors."""
    import torch

    want = run_torch(wrapped, x)
    got = session.run(list(OUTPUTS), {INPUT: x})
    errs = {}
    for name, g, w in zip(OUTPUTS, got, want):
        if g.shape != w.shape:
            raise AssertionError(f"{name}: ONNX shape {g.shape}, PyTorch {w.shape}")
        errs[name] = float(np.max(np.abs(g - w)))
        if errs[name] > TOLERANCE:
            raise AssertionError(f"{name}: max |ONNX - PyTorch| = {errs[name]:.3g} > {TOLERANCE}")
    # The taps see what HF itself returns as attentions (spatial), and rows are distributions.
    with torch.no_grad():
        out = model(pixel_values=torch.from_numpy(x), output_attentions=True)
    b = x.shape[0]
    for layer, a in enumerate(out.attentions):
        ref = a.numpy().reshape(b, -1, *a.shape[1:])
        if not np.allclose(ref, want[1][:, layer], atol=1e-6):
            raise AssertionError(f"layer {layer}: hooked spatial attention differs from outputs.attentions")
    if not np.allclose(out.logits.numpy(), want[0], atol=1e-6):
        raise AssertionError("wrapped logits differ from the model's")
    for name, g in zip(OUTPUTS[1:], got[1:]):
        if not np.allclose(g.sum(-1), 1, atol=1e-4):
            raise AssertionError(f"{name}: rows do not sum to 1")
    return errs


def write_card(path: Path, checkpoint: Path, onnx_path: Path, meta: dict, errs: dict, size: int):
    info = json.loads((checkpoint / "training.json").read_text())
    seeds = info["train"]["seeds"]
    seed_range = f"{seeds[0]}..{seeds[-1]} (one split per epoch)"
    info["train"] = {**info["train"], "seeds": seed_range}
    rel = lambda p: str(Path(p).resolve().relative_to(common.REPO)) if Path(p).resolve().is_relative_to(common.REPO) else str(p)  # noqa: E731
    card = {
        "name": "timesformer-synth",
        "file": rel(onnx_path),
        "checkpoint": rel(checkpoint),
        "bytes": size,
        "task": "direction of motion of the red disc in staa/synth clips (8×64×64 RGB)",
        "architecture": "HuggingFace TimesformerForVideoClassification, divided space-time attention",
        "config": info["config"],
        "parameters": info["parameters"],
        "classes": info["classes"],
        "training": info["train"],
        "training_data": {"generator": "staa/synth, through the command staa/synth/cmd/synthgen",
                          "seeds": seed_range,
                          "clips": info["train"]["clips_per_epoch"] * info["train"]["epochs"],
                          "options": info["synth"]["options"]},
        "held_out": info["held_out"],
        "wall_seconds": info["wall_seconds"],
        "cpu_threads": info["train"]["threads"],
        "torch": info["torch"],
        "onnx": {"opset": OPSET,
                 "input": {INPUT: ["batch", int(meta["staa.frames"]), 3, *json.loads(meta["staa.frame_size"])]},
                 "outputs": json.loads(meta["staa.output_shapes"]),
                 "max_abs_error_vs_pytorch": errs,
                 "metadata_props": meta},
        "reproduce": ["make model",
                      "python3 scripts/model/train_timesformer.py",
                      "python3 scripts/model/export_onnx.py",
                      "python3 scripts/model/check_accuracy.py"],
    }
    text = (
        "# Models\n\n"
        "`timesformer-synth.onnx`: a small TimeSformer (divided space-time attention) trained here on\n"
        "the synthetic benchmark of `staa/synth`; it classifies the direction in which the red disc\n"
        "moves. Outputs: `logits`, `spatial_attention` (B, L, T, H, 1+N, 1+N) and\n"
        "`temporal_attention` (B, L, N, H, T, T); the `staa.*` metadata_props say how to feed it.\n"
        "`timesformer-synth/` is the PyTorch (HuggingFace) checkpoint it was exported from.\n"
        "Generated by `scripts/model/export_onnx.py`; do not edit by hand.\n\n"
        "```json\n" + json.dumps(card, indent=2, ensure_ascii=False) + "\n```\n")
    path.write_text(text)


def main(argv=None):
    args = parse_args(argv)
    import onnx
    import onnxruntime as ort
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    model = common.load_model(args.checkpoint)
    classes = [model.config.id2label[i] for i in range(model.config.num_labels)]
    wrapped = common.AttentionModel.build(model).eval()

    data = common.generate_and_load(5, common.CHECK_SEED + 1)
    x2 = common.normalise(data["clips"][:2])
    log(f"exporting {args.checkpoint} (opset {OPSET}, dynamic batch)")
    proto = export(wrapped, torch.from_numpy(x2), args.out)
    meta = metadata(model.config, classes)
    del proto.metadata_props[:]
    for k, v in meta.items():
        p = proto.metadata_props.add()
        p.key, p.value = k, v
    proto.doc_string = ("staa: TimesformerForVideoClassification (divided space-time) with its spatial and "
                        "temporal attention as outputs; see the staa.* metadata_props")
    proto.producer_name = "staa scripts/model/export_onnx.py"
    onnx.checker.check_model(proto, full_check=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(proto, str(args.out), save_as_external_data=False)
    size = args.out.stat().st_size
    log(f"wrote {args.out}: {size / 1e6:.2f} MB")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size} bytes, more than {MAX_BYTES}")

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(args.out), so, providers=["CPUExecutionProvider"])
    got_meta = sess.get_modelmeta().custom_metadata_map
    if got_meta != meta:
        raise AssertionError(f"metadata read back differs: {got_meta}")
    names = [o.name for o in sess.get_outputs()]
    if names != list(OUTPUTS):
        raise AssertionError(f"outputs {names}, want {list(OUTPUTS)}")
    errs = verify(sess, wrapped, model, x2)
    log("batch of 2: max |ONNX - PyTorch| " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    for b in (1, 3):   # the batch axis is dynamic
        e = verify(sess, wrapped, model, common.normalise(data["clips"][:b]))
        log(f"batch of {b}: max error {max(e.values()):.2e}")
    for o in sess.get_outputs():
        log(f"output {o.name}: {o.shape}")
    if args.card is not None:
        write_card(args.card, args.checkpoint, args.out, meta, errs, size)
        log(f"wrote {args.card}")
    log(f"done in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
