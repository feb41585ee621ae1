"""Export a HuggingFace video transformer to ONNX with its attention, for ``staa.Session``.

    staa-export CHECKPOINT_DIR -o model.onnx [--frames F] [--size S | HxW] [--opset 18]
    python -m staa.export CHECKPOINT_DIR -o model.onnx
    staa explain --model model.onnx --video clip.mp4

CHECKPOINT_DIR is a local ``save_pretrained`` directory of a TimeSformer, VideoMAE or ViViT
video classifier (``config.json`` with ``model_type`` "timesformer", "videomae" or "vivit",
the weights, and optionally ``preprocessor_config.json``), e.g. a downloaded
``facebook/timesformer-base-finetuned-k400``. Needs the ``export`` extra
(``pip install 'staa[export]'``: torch, transformers, onnx, onnxscript, onnxruntime).

The ONNX model has one input and, besides ``logits`` (B, C), the attention probabilities of
every layer as outputs, B dynamic (DESIGN.md 1.1, docs/conventions.md):

=============================  =========  ==================================================
model                          layout     attention outputs (per clip: drop the B)
=============================  =========  ==================================================
TimeSformer divided space-time divided    ``spatial_attention`` (B, L, T, H, 1+N, 1+N),
                                          ``temporal_attention`` (B, L, N, H, T, T)
TimeSformer joint space-time   joint      ``joint_attention`` (B, L, H, S, S), S = 1 + T·N
VideoMAE                       joint      ``joint_attention`` (B, L, H, S, S), S = T·N (no CLS)
ViViT                          joint      ``joint_attention`` (B, L, H, S, S), S = 1 + T·N
=============================  =========  ==================================================

T = frames / tubelet, N = h·w patches; joint tokens are CLS first, then t-major (TimeSformer's
own patch-major joint order is permuted inside the graph). The input is ``pixel_values``
float32 (B, F, 3, H, W), RGB, pixel = (uint8 · scale − mean) / std. The ``staa.*``
metadata_props (:data:`METADATA_KEYS`) carry the geometry, the frame size, the normalisation,
the class names and the output names, so that ``staa.Session`` and ``staa explain`` need no
other configuration.

How the attention gets out: the dynamo exporter (``torch.onnx.export(dynamo=True)``) traces
the model; the attention probabilities are recorded by pass-through modules put in the model
in place of TimeSformer's ``attn_drop`` dropouts and around VideoMAE's and ViViT's attention
modules (which return ``(context, probabilities)`` with eager attention). Each keeps the last
tensor on itself and the wrapper reads it back within the same forward pass. (Forward hooks
or a list shared with the wrapper do not survive the export.) VideoMAE and ViViT are loaded
with ``attn_implementation="eager"``: SDPA returns no probabilities.

Where the settings come from (command-line overrides first):

- frames: ``--frames``, else ``config.num_frames``;
- frame size: ``--size``, else the processor's ``crop_size`` (when it center-crops, as all
  three processors do by default), else its ``size`` if that is ``{height, width}``, else
  ``config.image_size``. A size other than ``config.image_size`` needs a model that
  interpolates its position embeddings (TimeSformer does; ViViT is run with
  ``interpolate_pos_encoding=True``; VideoMAE cannot);
- normalisation: ``preprocessor_config.json`` (else ``video_preprocessor_config.json``):
  ``do_rescale``/``rescale_factor`` → ``staa.scale`` (1 without rescaling),
  ``do_normalize``/``image_mean``/``image_std`` → ``staa.mean``/``staa.std`` (0 and 1 without
  normalising), ViViT's ``offset`` (x·scale − 1, on by default) folded into the mean. Missing
  keys, or no processor file at all, fall back to the defaults of transformers' processor
  for the model type (:data:`PROCESSOR_DEFAULTS`);
- class names: ``config.id2label`` in logit order.

The file is written only after it passed its check: ONNX Runtime's outputs on a batch of 2
random clips equal PyTorch's within ``--tolerance`` (1e-4), every output; ``--no-check``
skips that. Node metadata (source locations, a large share of a small model's bytes) is
dropped; the weights are inside the one file (no external data, so models up to 2 GB).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import StaaValueError

__all__ = ["export", "ExportResult", "ExportError", "MissingExtraError", "AttentionModel",
           "load_checkpoint", "preprocessing", "metadata", "export_module", "main",
           "SUPPORTED_MODEL_TYPES", "METADATA_KEYS", "PROCESSOR_DEFAULTS"]

SUPPORTED_MODEL_TYPES = ("timesformer", "videomae", "vivit")
INPUT = "pixel_values"
DIVIDED_OUTPUTS = ("logits", "spatial_attention", "temporal_attention")
JOINT_OUTPUTS = ("logits", "joint_attention")
METADATA_VERSION = "1"
OPSET = 18
TOLERANCE = 1e-4

# Every key staa-export writes (runtime/metadata.go reads them; staa.geometry is the
# authoritative one, the split-out keys are for people reading the file).
METADATA_KEYS = ("staa.metadata_version", "staa.model_type", "staa.attention_type", "staa.geometry",
                 "staa.layout", "staa.frames", "staa.grid", "staa.cls", "staa.tubelet", "staa.layers",
                 "staa.heads", "staa.frame_size", "staa.input", "staa.input_layout", "staa.scale",
                 "staa.mean", "staa.std", "staa.class_names", "staa.outputs", "staa.output_shapes")

_IMAGENET_DEFAULT = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_IMAGENET_STANDARD = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

# The defaults of transformers' processors (TimesformerVideoProcessor, VideoMAEVideoProcessor /
# VideoMAEImageProcessor, VivitVideoProcessor / VivitImageProcessor), used for what a
# checkpoint's processor config leaves out. offset: x·scale − offset before normalising.
PROCESSOR_DEFAULTS = {
    "timesformer": {"rescale_factor": 1 / 255, "image_mean": _IMAGENET_DEFAULT[0],
                    "image_std": _IMAGENET_DEFAULT[1], "offset": False},
    "videomae": {"rescale_factor": 1 / 255, "image_mean": _IMAGENET_STANDARD[0],
                 "image_std": _IMAGENET_STANDARD[1], "offset": False},
    "vivit": {"rescale_factor": 1 / 127.5, "image_mean": _IMAGENET_STANDARD[0],
              "image_std": _IMAGENET_STANDARD[1], "offset": True},
}
PROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json")

EXTRA_HINT = "pip install 'staa[export]' (torch, transformers, onnx, onnxscript, onnxruntime)"


class ExportError(StaaValueError):
    """The checkpoint cannot be exported (not a checkpoint, unsupported model, failed check)."""


class MissingExtraError(ExportError, ImportError):
    """A package of the ``export`` extra is not installed."""


def _need(module):
    """Import one package of the export extra, or say which one is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        name = module.split(".")[0]
        raise MissingExtraError(f"staa-export needs {name}, which is not installed ({e}): {EXTRA_HINT}") from e


# --------------------------------------------------------------------------- checkpoint


def _read_json(path: Path, what: str) -> dict:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ExportError(f"staa-export: cannot read the {what} {path}: {e}") from e
    if not isinstance(doc, dict):
        raise ExportError(f"staa-export: the {what} {path} is not a JSON object")
    return doc


def read_config(checkpoint) -> dict:
    """config.json of a checkpoint directory, checked to be a supported model type."""
    path = Path(checkpoint)
    if not path.exists():
        raise ExportError(f"staa-export: {path} does not exist")
    if not path.is_dir():
        raise ExportError(f"staa-export: {path} is not a directory; pass a HuggingFace checkpoint "
                          "directory (the one save_pretrained writes, with config.json and the weights)")
    if not (path / "config.json").is_file():
        snaps = sorted(p for p in (path / "snapshots").glob("*/config.json")) if (path / "snapshots").is_dir() else []
        if snaps:   # the hub cache's models--org--name folder
            raise ExportError(f"staa-export: {path} is a HuggingFace hub cache folder, not a checkpoint: "
                              f"pass one of its snapshots, e.g. {snaps[-1].parent}")
        raise ExportError(f"staa-export: {path} is not a HuggingFace checkpoint: it has no config.json "
                          "(pass the directory save_pretrained wrote, or a downloaded model's snapshot)")
    config = _read_json(path / "config.json", "model config")
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        arch = ", ".join(config.get("architectures") or [])
        raise ExportError(
            f"staa-export: {path} holds a model of type {model_type!r} ({arch}); "
            f"supported: {', '.join(SUPPORTED_MODEL_TYPES)} (TimeSformer, VideoMAE and ViViT video classifiers)")
    if model_type == "timesformer" and config.get("attention_type", "divided_space_time") not in (
            "divided_space_time", "joint_space_time"):
        raise ExportError(
            f"staa-export: TimeSformer with attention_type={config['attention_type']!r} is not supported: "
            "with 'space_only' every frame is classified on its own, without attention across time")
    return config


def read_processor(checkpoint):
    """(the processor config as a dict, its file) or ({}, None) without one."""
    for name in PROCESSOR_FILES:
        p = Path(checkpoint) / name
        if p.is_file():
            return _read_json(p, "processor config"), p
    return {}, None


def _triple(v, key):
    if isinstance(v, (int, float)):
        return (float(v),) * 3
    if isinstance(v, (list, tuple)) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v):
        return tuple(float(x) for x in v)
    raise ExportError(f"staa-export: processor {key} = {v!r}: want a number or [r, g, b]")


def preprocessing(model_type: str, processor: dict) -> dict:
    """``{"scale", "mean", "std"}`` so that pixel = (uint8 · scale − mean) / std, from a
    processor config (a dict, maybe empty) with :data:`PROCESSOR_DEFAULTS` for what it lacks."""
    d = PROCESSOR_DEFAULTS[model_type]
    scale, offset = 1.0, 0.0
    if processor.get("do_rescale", True):
        scale = float(processor.get("rescale_factor", d["rescale_factor"]))
        if not scale > 0:
            raise ExportError(f"staa-export: processor rescale_factor = {scale}: want a positive number")
        # ViViT rescales to [-1, 1]: x·scale − 1 (its processors' "offset").
        if processor.get("offset", d["offset"]):
            offset = 1.0
    mean, std = (0.0,) * 3, (1.0,) * 3
    if processor.get("do_normalize", True):
        mean = _triple(processor.get("image_mean", d["image_mean"]), "image_mean")
        std = _triple(processor.get("image_std", d["image_std"]), "image_std")
        if not all(s > 0 for s in std):
            raise ExportError(f"staa-export: processor image_std = {list(std)}: every std must be positive")
    # (x·scale − offset − mean) / std = (x·scale − (mean + offset)) / std
    return {"scale": scale, "mean": [m + offset for m in mean], "std": list(std)}


def _pair(x, what):
    if isinstance(x, (list, tuple)):
        if len(x) != 2:
            raise ExportError(f"staa-export: {what} = {x!r}: want an int or [height, width]")
        return int(x[0]), int(x[1])
    return int(x), int(x)


def frame_size(config: dict, processor: dict):
    """The model's input (height, width) in pixels, from the processor or the config (see the
    module doc)."""
    c = processor.get("crop_size")
    if processor.get("do_center_crop", True) and c is not None:
        if isinstance(c, dict) and "height" in c and "width" in c:
            return int(c["height"]), int(c["width"])
        if isinstance(c, int):   # older processor configs
            return c, c
    s = processor.get("size")
    if isinstance(s, dict) and "height" in s and "width" in s:
        return int(s["height"]), int(s["width"])
    return _pair(config.get("image_size", 224), "config image_size")


def _patch_and_tubelet(config):
    mt = config.model_type
    if mt == "vivit":
        t, ph, pw = (int(v) for v in config.tubelet_size)
        return ph, pw, t
    ph, pw = _pair(config.patch_size, "config patch_size")
    return ph, pw, int(config.tubelet_size) if mt == "videomae" else 1


def geometry(config, frames=None, size=None) -> dict:
    """The staa geometry of a supported HF config at ``frames`` frames of ``size`` (h, w)
    pixels (default: the config's)."""
    ph, pw, tubelet = _patch_and_tubelet(config)
    frames = int(config.num_frames) if frames is None else int(frames)
    h, w = _pair(config.image_size if size is None else size, "frame size")
    if frames % tubelet:
        raise ExportError(f"staa-export: {frames} frames is not a multiple of the tubelet size {tubelet}")
    if h % ph or w % pw:
        raise ExportError(f"staa-export: a frame of {h}x{w} pixels is not a whole number of {ph}x{pw} patches")
    divided = (config.model_type == "timesformer"
               and getattr(config, "attention_type", "divided_space_time") == "divided_space_time")
    layout = "divided" if divided else "joint"
    return {"layout": layout, "frames": frames, "grid": [h // ph, w // pw],
            "cls": config.model_type != "videomae", "tubelet": tubelet}


# --------------------------------------------------------------------------- the wrapper

_CLASSES = {}


def _tap_classes():
    """The pass-through modules, made once (so that isinstance works across calls)."""
    if _CLASSES:
        return _CLASSES["drop"], _CLASSES["attention"]
    from torch import nn

    class DropTap(nn.Module):
        """In place of TimeSformer's attn_drop: returns its dropout's output and keeps it."""

        staa_tap = True

        def __init__(self, drop):
            super().__init__()
            self.drop = drop
            self.last = None

        def forward(self, x):
            y = self.drop(x)
            self.last = y
            return y

    class AttentionTap(nn.Module):
        """Around an attention module returning (context, probabilities): keeps the latter."""

        staa_tap = True

        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.last = None

        def forward(self, *args, **kwargs):
            out = self.inner(*args, **kwargs)
            self.last = out[1]
            return out

    _CLASSES.update(drop=DropTap, attention=AttentionTap)
    return DropTap, AttentionTap


def _base(model):
    base = getattr(model, "base_model", model)
    return base if base is not None else model


def _install_taps(model):
    """Put the taps in the model (once) and return them in layer order: [(spatial, temporal)]
    for divided TimeSformer, [joint] otherwise."""
    DropTap, AttentionTap = _tap_classes()
    base = _base(model)
    mt = model.config.model_type

    def drop(att):
        if not isinstance(att.attn_drop, DropTap):
            att.attn_drop = DropTap(att.attn_drop)
        return att.attn_drop

    def wrap(owner, name):
        inner = getattr(owner, name)
        if not isinstance(inner, AttentionTap):
            setattr(owner, name, AttentionTap(inner))
        return getattr(owner, name)

    if mt == "timesformer":
        if getattr(model.config, "attention_type", "divided_space_time") == "divided_space_time":
            return [(drop(layer.attention.attention), drop(layer.temporal_attention.attention))
                    for layer in base.encoder.layer]
        return [drop(layer.attention.attention) for layer in base.encoder.layer]
    if mt == "videomae":
        return [wrap(layer.attention, "attention") for layer in base.encoder.layer]
    return [wrap(layer, "attention") for layer in base.layers]   # vivit


class AttentionModel:
    """Factory of an ``nn.Module`` that runs a HF TimeSformer, VideoMAE or ViViT video
    classifier on ``pixel_values`` (B, F, 3, H, W) and returns ``(logits, spatial_attention,
    temporal_attention)`` (divided TimeSformer) or ``(logits, joint_attention)`` (joint
    attention), stacked over layers as in the module doc.

    TimeSformer's spatial attention is the per-frame one HF returns in ``outputs.attentions``
    as (B·T, H, 1+N, 1+N) (index 0 the CLS copy); the temporal one, the attention across
    frames of each patch, (B·N, H, T, T) inside the model, HF never returns. ``frames`` and
    ``size`` (h, w) fix the input's shape (default: the config's). The model is modified in
    place (taps, eager attention) and should be in eval mode.
    """

    @staticmethod
    def build(model, frames=None, size=None):
        import torch
        from torch import nn

        cfg = model.config
        if cfg.model_type not in SUPPORTED_MODEL_TYPES:
            raise ExportError(f"staa-export: model_type {cfg.model_type!r} is not supported; "
                              f"supported: {', '.join(SUPPORTED_MODEL_TYPES)}")
        if cfg.model_type == "timesformer" and getattr(cfg, "attention_type", "divided_space_time") not in (
                "divided_space_time", "joint_space_time"):
            raise ExportError(f"staa-export: TimeSformer with attention_type={cfg.attention_type!r} is not supported")
        if cfg.model_type != "timesformer" and getattr(cfg, "_attn_implementation", "eager") != "eager":
            # SDPA, flash and flex attention return no probabilities.
            model.set_attn_implementation("eager")
        geo = geometry(cfg, frames, size)
        size = _pair(cfg.image_size if size is None else size, "frame size")
        kwargs = {}
        if cfg.model_type == "vivit" and tuple(size) != _pair(cfg.image_size, "image_size"):
            kwargs["interpolate_pos_encoding"] = True

        class Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model
                self.taps = _install_taps(model)
                self.geometry = geo
                self.frame_size = size
                self.model_kwargs = kwargs
                self.divided = geo["layout"] == "divided"
                t = geo["frames"] // geo["tubelet"]
                n = geo["grid"][0] * geo["grid"][1]
                self.t, self.n = t, n
                perm = None
                if not self.divided and cfg.model_type == "timesformer":
                    # TimeSformer's joint tokens are patch-major (1 + n·T + t): to t-major (1 + t·N + n).
                    idx = torch.arange(t * n).view(n, t).t().reshape(-1)
                    perm = torch.cat([torch.zeros(1, dtype=torch.long), idx + 1])
                self.register_buffer("perm", perm, persistent=False)

            @property
            def output_names(self):
                return DIVIDED_OUTPUTS if self.divided else JOINT_OUTPUTS

            def forward(self, pixel_values):
                logits = self.model(pixel_values=pixel_values, **self.model_kwargs).logits
                b = pixel_values.shape[0]
                if self.divided:
                    spatial, temporal = [], []
                    for sp, tp in self.taps:
                        a = sp.last                                       # (B·T, H, 1+N, 1+N)
                        spatial.append(a.reshape(b, self.t, a.shape[1], a.shape[2], a.shape[3]))
                        a = tp.last                                       # (B·N, H, T, T)
                        temporal.append(a.reshape(b, self.n, a.shape[1], a.shape[2], a.shape[3]))
                        sp.last = tp.last = None
                    return logits, torch.stack(spatial, dim=1), torch.stack(temporal, dim=1)
                joint = []
                for tap in self.taps:
                    if tap.last is None:
                        raise ExportError("staa-export: an attention layer returned no probabilities "
                                          "(load the model with attn_implementation=\"eager\")")
                    joint.append(tap.last)                                # (B, H, S, S)
                    tap.last = None
                a = torch.stack(joint, dim=1)
                if self.perm is not None:
                    a = a.index_select(-2, self.perm).index_select(-1, self.perm)
                return logits, a

        return Wrapped()


# --------------------------------------------------------------------------- metadata


def _js(v):
    return json.dumps(v, separators=(",", ":"))


def metadata(geo: dict, layers: int, heads: int, frame_size, classes, model_type: str,
             attention_type: str, scale: float, mean, std) -> dict:
    """The ``staa.*`` metadata_props of an export (keys :data:`METADATA_KEYS`)."""
    h, w = geo["grid"]
    n, t = h * w, geo["frames"] // geo["tubelet"]
    c = int(geo["cls"])
    L, H = int(layers), int(heads)
    if geo["layout"] == "divided":
        names = DIVIDED_OUTPUTS
        outputs = {"logits": names[0], "spatial": names[1], "temporal": names[2]}
        shapes = {names[0]: ["batch", len(classes)],
                  names[1]: ["batch", L, t, H, c + n, c + n],
                  names[2]: ["batch", L, n, H, t, t]}
    else:
        names = JOINT_OUTPUTS
        s = c + t * n
        outputs = {"logits": names[0], "joint": names[1]}
        shapes = {names[0]: ["batch", len(classes)], names[1]: ["batch", L, H, s, s]}
    return {
        "staa.metadata_version": METADATA_VERSION,
        "staa.model_type": model_type,
        "staa.attention_type": attention_type,
        "staa.geometry": _js(geo),
        "staa.layout": geo["layout"],
        "staa.frames": str(geo["frames"]),
        "staa.grid": _js([h, w]),
        "staa.cls": "true" if geo["cls"] else "false",
        "staa.tubelet": str(geo["tubelet"]),
        "staa.layers": str(L),
        "staa.heads": str(H),
        "staa.frame_size": _js(list(frame_size)),
        "staa.input": INPUT,
        "staa.input_layout": "BFCHW",
        "staa.scale": repr(float(scale)),
        "staa.mean": _js([float(v) for v in mean]),
        "staa.std": _js([float(v) for v in std]),
        "staa.class_names": _js(list(classes)),
        "staa.outputs": _js(outputs),
        "staa.output_shapes": _js(shapes),
    }


def class_names(config):
    """The class names in logit order (config.id2label; "LABEL_i" is what HF calls unnamed ones)."""
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(int(config.num_labels))]


def attention_type(config):
    if config.model_type == "timesformer":
        return getattr(config, "attention_type", "divided_space_time")
    return "joint_space_time"


def model_metadata(config, geo, size, classes, norm) -> dict:
    """:func:`metadata` for a HF config."""
    return metadata(geo, config.num_hidden_layers, config.num_attention_heads, size, classes,
                    config.model_type, attention_type(config), norm["scale"], norm["mean"], norm["std"])


def set_metadata(proto, meta: dict):
    del proto.metadata_props[:]
    for k, v in meta.items():
        p = proto.metadata_props.add()
        p.key, p.value = k, v


# --------------------------------------------------------------------------- export


def export_module(wrapped, example, output_names, opset=OPSET):
    """torch.onnx.export (dynamo) of an :class:`AttentionModel` with a dynamic batch axis;
    returns the ModelProto. ``example``: a (B ≥ 2, F, 3, H, W) float tensor (a batch of 1
    would be specialised)."""
    torch = _need("torch")
    _need("onnxscript")   # torch.onnx's dynamo exporter needs it; say so before torch does
    batch = torch.export.Dim("batch", min=1, max=1024)
    # Without torchvision, the exporter warns that it skips torchvision's operators: noise here.
    quiet = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        prog = torch.onnx.export(
            wrapped, (example,), None, dynamo=True, opset_version=opset, external_data=False,
            input_names=[INPUT], output_names=list(output_names),
            dynamic_shapes={INPUT: {0: batch}}, optimize=True, verbose=False)
    finally:
        quiet.setLevel(level)
    return prog.model_proto


def strip_node_metadata(proto):
    """Drop the per-node metadata of the dynamo exporter (module paths, stack traces)."""
    for n in proto.graph.node:
        del n.metadata_props[:]
        n.doc_string = ""
    return proto


def load_checkpoint(checkpoint):
    """Load a checkpoint directory as a video classifier in float32, eval mode, eager attention.
    Raises ExportError for what is not a supported video classifier checkpoint."""
    read_config(checkpoint)
    _need("torch")
    transformers = _need("transformers")
    path = str(Path(checkpoint))
    try:
        model, info = transformers.AutoModelForVideoClassification.from_pretrained(
            path, attn_implementation="eager", output_loading_info=True)
    except Exception as e:  # missing or corrupt weights, a config transformers rejects, ...
        raise ExportError(f"staa-export: cannot load {checkpoint} as a video classifier: {e}") from e
    missing = [k for k in info.get("missing_keys", []) if k]
    if missing:
        arch = ", ".join(getattr(model.config, "architectures", None) or ["?"])
        raise ExportError(
            f"staa-export: {checkpoint} ({arch}) lacks the weights {', '.join(sorted(missing)[:6])}"
            f"{' ...' if len(missing) > 6 else ''}: it is not a trained video classifier (a pre-training "
            "or bare-encoder checkpoint has no classification head); fine-tune it first")
    model.float().eval()
    return model


@dataclass
class ExportResult:
    """What :func:`export` did: the file, its metadata, and its check against PyTorch."""

    path: Path
    metadata: dict
    outputs: tuple
    max_abs_error: dict = field(default_factory=dict)   # per output; empty without the check
    bytes: int = 0
    seconds: float = 0.0
    processor_file: Path | None = None


def _ort_session(path, threads):
    ort = _need("onnxruntime")
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def check(path, wrapped, x, meta, tolerance=TOLERANCE, threads=None) -> dict:
    """Run the ONNX file at ``path`` on ``x`` (numpy float32) in ONNX Runtime and compare every
    output with ``wrapped``'s (PyTorch); returns the max abs errors, raises ExportError beyond
    ``tolerance`` or if the metadata read back differs from ``meta``."""
    import numpy as np

    torch = _need("torch")
    sess = _ort_session(path, threads)
    names = [o.name for o in sess.get_outputs()]
    if names != list(wrapped.output_names):
        raise ExportError(f"staa-export: the ONNX outputs are {names}, want {list(wrapped.output_names)}")
    got_meta = sess.get_modelmeta().custom_metadata_map
    if got_meta != meta:
        raise ExportError(f"staa-export: the metadata read back differs: {got_meta}")
    got = sess.run(names, {INPUT: x})
    with torch.no_grad():
        want = [t.numpy() for t in wrapped(torch.from_numpy(x))]
    errs = {}
    for name, g, w in zip(names, got, want):
        if g.shape != w.shape:
            raise ExportError(f"staa-export: output {name}: ONNX shape {g.shape}, PyTorch {w.shape}")
        errs[name] = float(np.max(np.abs(g.astype(np.float64) - w)))
        if not errs[name] <= tolerance:
            raise ExportError(f"staa-export: output {name}: max |ONNX − PyTorch| = {errs[name]:.3g} > {tolerance}")
    return errs


def export(checkpoint, out, frames=None, size=None, opset=OPSET, check_outputs=True,
           tolerance=TOLERANCE, threads=None, seed=0, log=None) -> ExportResult:
    """Export the checkpoint directory ``checkpoint`` to the ONNX file ``out`` (see the module
    doc). ``frames``, ``size`` (int or (h, w)): override the input shape. ``threads``: torch's
    and ONNX Runtime's intra-op threads (None: their defaults). Returns an ExportResult; raises
    ExportError (a ValueError) for what cannot be exported, MissingExtraError without the
    packages of the ``export`` extra."""
    t0 = time.time()
    log = log or (lambda *a: None)
    out = Path(out)
    config_doc = read_config(checkpoint)
    processor, processor_file = read_processor(checkpoint)
    np = _need("numpy")
    torch = _need("torch")
    onnx = _need("onnx")
    if check_outputs:
        _need("onnxruntime")
    if threads:
        torch.set_num_threads(int(threads))

    model = load_checkpoint(checkpoint)
    cfg = model.config
    size = _pair(size, "--size") if size is not None else frame_size(config_doc, processor)
    frames = int(frames) if frames is not None else int(cfg.num_frames)
    if frames < 1 or min(size) < 1:
        raise ExportError(f"staa-export: frames {frames} and frame size {size} must be positive")
    wrapped = AttentionModel.build(model, frames=frames, size=size).eval()
    geo = wrapped.geometry
    norm = preprocessing(cfg.model_type, processor)
    classes = class_names(cfg)
    meta = model_metadata(cfg, geo, size, classes, norm)

    # A batch of 2 random clips (a batch of 1 would make the exporter specialise the batch axis).
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, frames, 3, *size, generator=g)
    try:
        with torch.no_grad():
            wrapped(x)
    except ExportError:
        raise
    except Exception as e:  # the model's own message, e.g. VideoMAE at another size
        raise ExportError(f"staa-export: {cfg.model_type} model does not accept pixel_values of shape "
                          f"{tuple(x.shape)} (frames {frames}, size {size[0]}x{size[1]}): {e}") from e

    log(f"exporting {checkpoint} ({cfg.model_type}, layout {geo['layout']}, {frames} frames of "
        f"{size[0]}x{size[1]}, opset {opset}, dynamic batch)")
    proto = strip_node_metadata(export_module(wrapped, x, wrapped.output_names, opset))
    set_metadata(proto, meta)
    proto.doc_string = (f"staa-export of {Path(checkpoint).name}: {type(model).__name__} with the attention "
                        "of every layer as outputs; see the staa.* metadata_props")
    proto.producer_name = "staa-export"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed once checked, so a failed export leaves no file.
    fd, tmp = tempfile.mkstemp(prefix=".staa-export-", suffix=".onnx", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        onnx.checker.check_model(proto, full_check=True)
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
        errs = {}
        if check_outputs:
            # A fresh wrapper over the same taps: the exported instance may not record any more.
            fresh = AttentionModel.build(model, frames=frames, size=size).eval()
            xc = torch.randn(2, frames, 3, *size, generator=g).numpy()
            errs = check(tmp, fresh, np.ascontiguousarray(xc, dtype=np.float32), meta, tolerance, threads)
            log("max |ONNX − PyTorch| on 2 random clips: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    size_bytes = out.stat().st_size
    log(f"wrote {out}: {size_bytes / 1e6:.2f} MB")
    return ExportResult(path=out, metadata=meta, outputs=tuple(wrapped.output_names), max_abs_error=errs,
                        bytes=size_bytes, seconds=time.time() - t0, processor_file=processor_file)


# --------------------------------------------------------------------------- command line


def _size_arg(s):
    try:
        if "x" in s.lower():
            h, w = s.lower().split("x")
            return int(h), int(w)
        return int(s), int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r}: want S or HxW in pixels") from None


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="staa-export",
        description="Export a local HuggingFace TimeSformer, VideoMAE or ViViT checkpoint to ONNX with "
                    "its attention outputs and the staa.* metadata, for staa.Session and `staa explain`.",
        epilog="Example: staa-export ./timesformer-base-finetuned-k400 -o timesformer.onnx && "
               "staa explain --model timesformer.onnx --video clip.mp4")
    p.add_argument("checkpoint", type=Path, help="checkpoint directory (config.json, weights, "
                   "optionally preprocessor_config.json)")
    p.add_argument("-o", "--out", type=Path, default=None,
                   help="ONNX file to write (default: <checkpoint name>.onnx in the current directory)")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default: config.num_frames)")
    p.add_argument("--size", type=_size_arg, default=None,
                   help="frame size S or HxW in pixels (default: the processor's crop_size, else config.image_size)")
    p.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    p.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime threads")
    p.add_argument("--tolerance", type=float, default=TOLERANCE,
                   help=f"max |ONNX − PyTorch| allowed by the check (default {TOLERANCE})")
    p.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime vs PyTorch check")
    p.add_argument("-q", "--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    """The ``staa-export`` command; returns the exit status."""
    args = parse_args(argv)
    out = args.out or Path(args.checkpoint.resolve().name + ".onnx")

    def log(msg):
        if not args.quiet:
            print(f"staa-export: {msg}", file=sys.stderr, flush=True)

    try:
        res = export(args.checkpoint, out, frames=args.frames, size=args.size, opset=args.opset,
                     check_outputs=not args.no_check, tolerance=args.tolerance, threads=args.threads, log=log)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, MissingExtraError) else 1
    m = res.metadata
    log(f"{m['staa.model_type']} ({m['staa.layout']}), geometry {m['staa.geometry']}, frame size "
        f"{m['staa.frame_size']}, {len(json.loads(m['staa.class_names']))} classes, outputs "
        f"{', '.join(res.outputs)}; normalisation scale {m['staa.scale']} mean {m['staa.mean']} std {m['staa.std']} "
        f"({'from ' + res.processor_file.name if res.processor_file else 'defaults: no processor config'}); "
        f"{res.seconds:.1f}s")
    print(res.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
