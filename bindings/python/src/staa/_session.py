"""staa.Session: an ONNX video transformer on ONNX Runtime, through the C ABI.

    with staa.Session("models/timesformer-synth.onnx") as s:
        e = s.explain(clip)                # uint8 (F, H, W, 3), any frame size
        e.prediction, e.top_k              # ("up", 0.93), [("up", 0.93), ...]
        e.spatial, e.temporal              # (1, F, h, w), (1, F)
        e.overlay(clip); e.save_grid("grid.png", frames=clip)

No PyTorch is needed: the model runs in ONNX Runtime inside libstaa (Go, over
onnxruntime_go), and the attribution is computed from its attention outputs.
"""

import ctypes
import importlib.util
import json
import operator
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _call, _library
from ._arrays import is_torch
from ._attribution import Attribution, _as_kind
from ._errors import StaaValueError, from_status
from ._options import postprocess_value

_ERR_LEN = 4096
_ORT_NAME = "libonnxruntime.dylib" if sys.platform == "darwin" else "libonnxruntime.so.1"


def ort_candidates():
    """Where an ONNX Runtime library is looked for when ``library`` is not given
    and STAA_ONNXRUNTIME_LIB is unset, as (where-from, path) pairs, in order."""
    out = []
    lib = _library.loaded()
    if lib is not None:
        out.append(("beside libstaa", Path(lib).resolve().parent / "onnxruntime" / _ORT_NAME))
    here = Path(__file__).resolve().parent
    out.append(("bundled", here / "_lib" / "onnxruntime" / _ORT_NAME))
    repo = here.parents[3]  # <repo>/bindings/python/src/staa
    if (repo / "go.mod").is_file():
        out.append(("source tree", repo / "build" / "onnxruntime" / _ORT_NAME))
    spec = importlib.util.find_spec("onnxruntime")  # the PyPI wheel, not imported
    if spec is not None and spec.submodule_search_locations:
        for d in spec.submodule_search_locations:
            for p in sorted((Path(d) / "capi").glob("libonnxruntime.so*")):
                out.append(("onnxruntime wheel", p))
    return out


def _find_ort():
    """The ONNX Runtime library to pass to the session, or None to let the
    library search ($STAA_ONNXRUNTIME_LIB, then its own places, then the
    system's)."""
    if os.environ.get("STAA_ONNXRUNTIME_LIB"):
        return None
    for _, p in ort_candidates():
        if p.is_file():
            return p
    return None


@dataclass(frozen=True)
class SessionInfo:
    """What a Session's model says about itself (its staa.* metadata)."""

    path: str
    model_type: str
    layout: str
    frames: int
    grid: tuple
    cls: bool
    tubelet: int
    layers: int
    heads: int
    frame_size: tuple  # (H, W) of the model's input, in pixels
    classes: tuple
    input_layout: str
    mean: tuple
    std: tuple
    scale: float
    onnxruntime: dict = field(compare=False)
    raw: dict = field(compare=False, repr=False)

    @classmethod
    def from_json(cls, doc):
        g = doc["geometry"]
        return cls(path=doc["model"], model_type=doc.get("model_type", ""), layout=g["layout"],
                   frames=g["frames"], grid=tuple(g["grid"]), cls=g["cls"], tubelet=g["tubelet"],
                   layers=doc["layers"], heads=doc["heads"], frame_size=tuple(doc["frame_size"]),
                   classes=tuple(doc["classes"]), input_layout=doc["input_layout"],
                   mean=tuple(doc["mean"]), std=tuple(doc["std"]), scale=doc["scale"],
                   onnxruntime=dict(doc.get("onnxruntime", {})), raw=doc)

    @property
    def geometry(self):
        """The geometry as staa.attribute takes it (keyword arguments)."""
        return {"layout": self.layout, "frames": self.frames, "grid": self.grid,
                "cls": self.cls, "tubelet": self.tubelet}


class Explanation(Attribution):
    """A Session's result for a batch of B clips: the prediction and the attribution.

    Arrays are batch first (B = 1 for a single clip), numpy, or torch when the
    clips were torch tensors:

    - ``logits``, ``probabilities`` (B, C);
    - ``top_k_indices`` (B, k) int32, most probable first;
    - ``spatial`` (B, F, h, w), ``temporal`` (B, F) and the rest of
      :class:`Attribution` (upsample, overlay, save_grid, save_gif, key_frames).

    ``top_k`` and ``prediction`` are (class name, probability) pairs: for a
    single clip (an (F, H, W, 3) input) a list of k pairs and one pair; for a
    batch, one such list / pair per clip.
    """

    def __init__(self, *, logits, probabilities, top_k_indices, classes, single, geometry=None,
                 frame_size=None, **attribution):
        super().__init__(**attribution)
        self.logits = logits
        self.probabilities = probabilities
        self.top_k_indices = top_k_indices
        self.classes = list(classes)
        self.single = single
        self.geometry = geometry
        self.frame_size = frame_size

    @classmethod
    def from_session_batch(cls, batch, kind, single):
        a = Attribution.from_batch(batch, kind)
        meta = batch.metadata
        return cls(
            logits=_as_kind(batch.column("logits"), kind),
            probabilities=_as_kind(batch.column("probabilities"), kind),
            top_k_indices=_as_kind(batch.column("top_k", np.int32), kind),
            classes=json.loads(meta.get("staa.class_names", "[]")),
            single=single,
            geometry=json.loads(meta["staa.geometry"]) if "staa.geometry" in meta else None,
            frame_size=tuple(json.loads(meta["staa.frame_size"])) if "staa.frame_size" in meta else None,
            spatial=a.spatial, temporal=a.temporal, volume=a.volume,
            temporal_attention=a.temporal_attention, method=a.method,
            library_version=a.library_version,
        )

    def _pairs(self):
        idx = np.asarray(self.top_k_indices)
        probs = np.asarray(self.probabilities)
        return [[(self.classes[i] if i < len(self.classes) else str(i), float(probs[b, i]))
                 for i in idx[b]] for b in range(idx.shape[0])]

    @property
    def top_k(self):
        """The k most probable classes as (name, probability), most probable first."""
        pairs = self._pairs()
        return pairs[0] if self.single else pairs

    @property
    def prediction(self):
        """The most probable class as (name, probability)."""
        pairs = [p[0] for p in self._pairs()]
        return pairs[0] if self.single else pairs

    @property
    def labels(self):
        """The predicted class index of each clip, (B,) int."""
        return np.asarray(self.top_k_indices)[:, 0].astype(np.int64)

    def __repr__(self):
        b, f, h, w = self.shape
        pred = self.prediction
        pred = pred if self.single else pred[:3] + (["..."] if b > 3 else [])
        return (f"Explanation(clips={b}, frames={f}, grid=({h}, {w}), method={self.method!r}, "
                f"prediction={pred})")


def _contiguous_numpy(x, name, want_dtype, hint):
    """x (numpy, torch or array-like) as a C-contiguous numpy array of want_dtype."""
    kind = "numpy"
    if is_torch(x):
        kind = "torch"
        if x.device.type != "cpu":
            raise StaaValueError(f"staa: {name} is a tensor on device '{x.device}'; pass {name}.cpu()")
        arr = x.detach().contiguous().numpy()
    else:
        arr = np.asarray(x)
    if arr.dtype != want_dtype:
        raise TypeError(f"staa: {name} has dtype {arr.dtype}; {hint}")
    return np.ascontiguousarray(arr), kind


class Session:
    """An ONNX video transformer exported with its attention outputs and staa
    metadata (scripts/model/export_onnx.py, staa-export), run on ONNX Runtime.

    path: the .onnx file. library: the ONNX Runtime shared library
    (libonnxruntime.so, 1.24 or later); default: $STAA_ONNXRUNTIME_LIB, else
    onnxruntime/libonnxruntime.so.1 beside libstaa, else the source tree's
    build/onnxruntime/libonnxruntime.so.1 (``make onnxruntime``), else the
    library of an installed ``onnxruntime`` wheel, else the system's. A process
    loads one ONNX Runtime, the first one asked for. intra_op_threads,
    inter_op_threads: ONNX Runtime's thread pools (None: its default, one
    intra-op thread per physical core).

    A Session may be used from many threads at once (explain releases the
    GIL). Close it with close() or a with block; it is closed when collected.
    Raises StaaRuntimeError for a missing or corrupt model, a model without
    attention outputs or metadata, or no usable ONNX Runtime library.
    """

    def __init__(self, path, library=None, intra_op_threads=None, inter_op_threads=None):
        self._handle = None
        self._lock = threading.Lock()
        lib = _library.session_api()
        self._lib = lib
        opts = {}
        if library is None:
            library = _find_ort()
        if library is not None:
            opts["library"] = os.fspath(library)
        if intra_op_threads is not None:
            opts["intra_op_threads"] = operator.index(intra_op_threads)
        if inter_op_threads is not None:
            opts["inter_op_threads"] = operator.index(inter_op_threads)
        self.path = Path(path)
        handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(_ERR_LEN)
        status = lib.staa_session_open(os.fsencode(os.fspath(path)),
                                       json.dumps(opts).encode(), ctypes.byref(handle),
                                       err, _ERR_LEN)
        if status != 0:
            raise from_status(status, err.value.decode("utf-8", "replace"))
        self._handle = handle.value
        n = lib.staa_session_info(self._handle, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        lib.staa_session_info(self._handle, buf, n + 1)
        self.info = SessionInfo.from_json(json.loads(buf.value.decode()))

    @property
    def classes(self):
        return list(self.info.classes)

    @property
    def closed(self):
        return self._handle is None

    def _live_handle(self):
        h = self._handle
        if h is None:
            raise StaaValueError(f"staa: the session of {self.path} is closed")
        return h

    def _options(self, method, head_fusion, residual, postprocess, top_k, volume, workers):
        opts = {"method": method, "head_fusion": head_fusion, "residual": float(residual),
                "postprocess": postprocess_value(postprocess), "top_k": operator.index(top_k)}
        if volume:
            opts["volume"] = True
        if workers is not None:
            opts["workers"] = operator.index(workers)
        return opts

    def _run(self, column, arr, kind, single, opts):
        out = _call.call_fn(self._lib.staa_session_explain, (ctypes.c_void_p(self._live_handle()),),
                            {column: arr}, opts)
        return Explanation.from_session_batch(out, kind, single)

    def explain(self, clip, method="rollout", head_fusion="mean", residual=0.5,
                postprocess="optimized", top_k=5, volume=False, workers=None):
        """Classify and explain uint8 RGB clips: (F, H, W, 3) for one clip or
        (B, F, H, W, 3) for a batch, numpy or torch, F the model's frames and
        any frame size (frames are resized to the model's with an antialiased
        bilinear filter, then normalised as the model's metadata says).

        method: "rollout" or "last" ("grad" needs gradients, which ONNX
        Runtime does not compute: use staa.explain on the PyTorch model);
        head_fusion, residual, postprocess, volume, workers: as staa.attribute;
        top_k: how many classes ``top_k`` lists. Returns an Explanation.
        """
        arr, kind = _contiguous_numpy(
            clip, "clip", np.dtype(np.uint8),
            "clips must be uint8 RGB frames (F, H, W, 3) or (B, F, H, W, 3); for float "
            "input already preprocessed use Session.explain_pixels")
        single = arr.ndim == 4
        if single:
            arr = arr[None]
        if arr.ndim != 5 or arr.shape[-1] != 3:
            raise StaaValueError(
                f"staa: clip has shape {tuple(np.shape(clip))}; expected (F, H, W, 3) or "
                "(B, F, H, W, 3) RGB frames, channels last (for (…, 3, H, W) frames use "
                "x.permute(0, 2, 3, 1) / np.moveaxis(x, -3, -1))")
        if arr.size == 0:
            raise StaaValueError(f"staa: clip is empty, shape {tuple(arr.shape)}")
        return self._run("clip", arr, kind, single,
                         self._options(method, head_fusion, residual, postprocess, top_k, volume, workers))

    def explain_pixels(self, pixel_values, method="rollout", head_fusion="mean", residual=0.5,
                       postprocess="optimized", top_k=5, volume=False, workers=None):
        """explain() for input already preprocessed: float32 pixel values in the
        model's layout, (F, 3, H, W) or (B, F, 3, H, W) for BFCHW models
        (TimeSformer, VideoMAE: what a HuggingFace image processor returns), at
        the model's frame size. They reach the model as they are."""
        arr, kind = _contiguous_numpy(pixel_values, "pixel_values", np.dtype(np.float32),
                                      "pixel values must be float32")
        single = arr.ndim == 4
        if single:
            arr = arr[None]
        if arr.ndim != 5 or arr.size == 0:
            raise StaaValueError(f"staa: pixel_values has shape {tuple(np.shape(pixel_values))}; "
                                 "expected (F, 3, H, W) or (B, F, 3, H, W)")
        return self._run("pixel_values", arr, kind, single,
                         self._options(method, head_fusion, residual, postprocess, top_k, volume, workers))

    # The C ABI has no logits-only call: staa_session_explain always runs the
    # model with its attention outputs and computes an attribution. predict
    # asks for the cheapest one ("last": one attention row per frame, no
    # post-processing) and reads only the probabilities back. The Go runtime's
    # logits-only session (runtime.Session.Predict) is not exported.
    _PREDICT_OPTIONS = {"method": "last", "postprocess": "raw", "top_k": 1, "workers": 1}

    def _predict(self, column, arr, batch_size):
        batch_size = operator.index(batch_size)
        if batch_size < 1:
            raise StaaValueError(f"staa: batch_size must be at least 1, got {batch_size}")
        handle = ctypes.c_void_p(self._live_handle())
        out = None
        for start in range(0, arr.shape[0], batch_size):
            chunk = arr[start:start + batch_size]  # a view: rows of a C-contiguous array
            res = _call.call_fn(self._lib.staa_session_explain, (handle,), {column: chunk},
                                self._PREDICT_OPTIONS)
            probs = res.column("probabilities")
            if out is None:
                out = np.empty((arr.shape[0], probs.shape[1]), np.float32)
            out[start:start + len(probs)] = probs
        return out

    def predict(self, clips, batch_size=64):
        """Class probabilities of uint8 RGB clips, a plain function of the
        clips, as the ``shap`` and ``lime`` packages (and any other
        perturbation explainer) want to call a classifier.

        clips: (B, F, H, W, 3) or one clip (F, H, W, 3), uint8, numpy or
        torch, preprocessed as explain() does (any frame size). Returns numpy
        float32 (B, C) (B = 1 for a single clip): softmax of the logits, in
        the order of ``classes``. The clips go to the model batch_size at a
        time, so thousands of perturbed clips can be passed at once; the
        result does not depend on batch_size (beyond float rounding).

        Cost: the C ABI has no logits-only call, so every model call still
        computes and returns the attention outputs, and the cheapest
        attribution ("last", postprocess "raw") is computed and discarded.
        """
        arr, _ = _contiguous_numpy(
            clips, "clips", np.dtype(np.uint8),
            "clips must be uint8 RGB frames (F, H, W, 3) or (B, F, H, W, 3); for float "
            "input already preprocessed use Session.predict_pixels")
        if arr.ndim == 4:
            arr = arr[None]
        if arr.ndim != 5 or arr.shape[-1] != 3:
            raise StaaValueError(
                f"staa: clips has shape {tuple(np.shape(clips))}; expected (F, H, W, 3) or "
                "(B, F, H, W, 3) RGB frames, channels last")
        if arr.size == 0:
            raise StaaValueError(f"staa: clips is empty, shape {tuple(arr.shape)}")
        return self._predict("clip", arr, batch_size)

    def predict_pixels(self, pixel_values, batch_size=64):
        """predict() for input already preprocessed: float32 pixel values in
        the model's layout and frame size, (F, 3, H, W) or (B, F, 3, H, W) for
        BFCHW models, as explain_pixels takes them. This is the function to
        perturb in the model's own pixel space (where 0 is the dataset's mean
        colour, the "zeros" baseline of staa eval). Returns numpy float32
        (B, C) probabilities; the same cost caveat as predict."""
        arr, _ = _contiguous_numpy(pixel_values, "pixel_values", np.dtype(np.float32),
                                   "pixel values must be float32")
        if arr.ndim == 4:
            arr = arr[None]
        if arr.ndim != 5 or arr.size == 0:
            raise StaaValueError(f"staa: pixel_values has shape {tuple(np.shape(pixel_values))}; "
                                 "expected (F, 3, H, W) or (B, F, 3, H, W)")
        return self._predict("pixel_values", arr, batch_size)

    def close(self):
        """Release the model (waits for calls in flight in other threads).
        Closing twice is harmless."""
        with self._lock:
            h, self._handle = self._handle, None
        if h is not None:
            self._lib.staa_session_close(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self.closed else f"{len(self.info.classes)} classes"
        return f"Session({str(self.path)!r}, {state})"
