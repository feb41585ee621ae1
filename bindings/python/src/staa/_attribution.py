"""The result of staa.attribute: maps, profiles and pictures of them."""

import sys
from pathlib import Path

import numpy as np

from . import _image, _keyframes


def _as_kind(arr, kind):
    if arr is None or kind != "torch":
        return arr
    return sys.modules["torch"].from_numpy(arr)  # imported: the input was torch


class _Converted:
    """An Attribution array held as the library's output until first read,
    then kept in the instance's __dict__ (which takes precedence over this
    non-data descriptor: later reads are plain attribute reads). Unlike
    functools.cached_property (3.11) it takes no lock; two threads reading at
    once may each convert, to arrays over the same memory."""

    def __init__(self, name):
        self.name, self.raw = name, "_raw_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        d = obj.__dict__
        x = d.get(self.raw)
        if x is not None:
            x = _as_kind(np.asarray(x), d["_kind"])
        d[self.name] = x
        return x


def _numpy(x):
    if x is None or isinstance(x, np.ndarray):
        return x
    return x.detach().cpu().numpy()


class Attribution:
    """Attribution of a batch of B clips of F frames on an h×w patch grid.

    Attributes (torch tensors if the input was torch, numpy arrays otherwise):

    - ``spatial`` (B, F, h, w): post-processed spatial maps S[f];
    - ``temporal`` (B, F): temporal profiles P[f], each summing to 1;
    - ``volume`` (B, F, h, w) or None: the volume before post-processing
      (``attribute(..., volume=True)``);
    - ``temporal_attention``: whether temporal attention took part (False for
      the divided layout without it), None if unknown;
    - ``method``, ``library_version``: from the library's output.
    """

    spatial = _Converted("spatial")
    temporal = _Converted("temporal")
    volume = _Converted("volume")

    def __init__(self, spatial, temporal, volume=None, temporal_attention=None, method=None,
                 library_version=None):
        self.spatial = spatial
        self.temporal = temporal
        self.volume = volume
        self.temporal_attention = temporal_attention
        self.method = method
        self.library_version = library_version

    @classmethod
    def _of_outputs(cls, kind, spatial, temporal, volume=None, temporal_attention=None, method=None,
                    library_version=None):
        """An Attribution over the library's outputs (buffers or numpy arrays),
        each made a numpy array, and a torch tensor when kind is "torch", on
        first read: a caller that reads only ``spatial`` does not pay for
        converting ``temporal`` (a few µs of a call of tens)."""
        a = cls.__new__(cls)
        d = a.__dict__
        d["_kind"], d["_raw_spatial"], d["_raw_temporal"], d["_raw_volume"] = kind, spatial, temporal, volume
        d["temporal_attention"], d["method"], d["library_version"] = temporal_attention, method, library_version
        return a

    @classmethod
    def from_batch(cls, batch, kind, volume=None):
        """Wrap a batch returned by the library (a _cbatch.Batch; no copies)."""
        meta = batch.metadata
        ta = meta.get("staa.temporal_attention")
        a = cls._of_outputs(kind, batch.column("spatial"), batch.column("temporal"),
                            batch.column("volume") if "volume" in batch.columns else None,
                            None if ta is None else ta == "true", meta.get("staa.method"),
                            meta.get("staa.version"))
        if "volume" not in batch.columns:
            a.volume = volume  # the caller's own, as given
        return a

    def __getstate__(self):
        """The converted arrays (the library's output buffers do not pickle)."""
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_raw_")}
        for name in ("spatial", "temporal", "volume"):
            state[name] = getattr(self, name)
        return state

    @property
    def shape(self):
        """(B, F, h, w)."""
        return tuple(self.spatial.shape)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        b, f, h, w = self.shape
        kind = "torch" if not isinstance(self.spatial, np.ndarray) else "numpy"
        return (f"Attribution(clips={b}, frames={f}, grid=({h}, {w}), method={self.method!r}, "
                f"temporal_attention={self.temporal_attention}, {kind})")

    def upsample(self, size, volume=False):
        """Spatial maps (or the volume) upsampled to size=(H, W): (B, F, H, W),
        bilinear with align_corners=False; same kind as ``spatial``."""
        src = self.volume if volume else self.spatial
        if src is None:
            raise ValueError("staa: no volume: call attribute(..., volume=True)")
        up = _image.upsample(_numpy(src), tuple(size))
        return up if isinstance(src, np.ndarray) else _as_kind(up, "torch")

    def _clip_frames(self, rgb, clip):
        """(uint8 frames (B', F, H, W, 3), clip indices) for one clip or all."""
        b, f = self.shape[:2]
        if rgb.ndim == 4:
            if clip is None:
                if b != 1:
                    raise ValueError(f"staa: frames of one clip given for a batch of {b}: pass clip=i")
                clip = 0
            rgb, clips = rgb[None], [clip]
        elif rgb.ndim == 5:
            clips = list(range(b)) if clip is None else [clip]
            if clip is not None:
                rgb = rgb[clip:clip + 1]
            if rgb.shape[0] != len(clips):
                raise ValueError(f"staa: frames hold {rgb.shape[0]} clips, the attribution {b}")
        else:
            raise ValueError(f"staa: frames of shape {rgb.shape}: want (F, H, W, 3) or (B, F, H, W, 3)")
        if rgb.shape[1] != f:
            raise ValueError(f"staa: frames hold {rgb.shape[1]} frames, the attribution {f}")
        return rgb, clips

    def overlay(self, frames, alpha=0.5, colormap="jet", clip=None):
        """Heat maps blended over video frames, uint8 RGB.

        frames: (F, H, W, 3) for one clip (clip=i picks the attribution; B=1
        needs none) or (B, F, H, W, 3); channels-first (…, 3, H, W) and float
        frames (min-max scaled) are accepted. Maps are scaled by their clip's
        maximum, upsampled to (H, W) and coloured with ``colormap``. Returns
        numpy uint8 of the same rank as frames.
        """
        rgb = _image.to_rgb(frames)
        single = rgb.ndim == 4
        rgb, clips = self._clip_frames(rgb, clip)
        spatial = _numpy(self.spatial)
        out = np.empty_like(rgb)
        for n, c in enumerate(clips):
            maps = _image.upsample(_image.scaled(spatial[c]), rgb.shape[2:4])
            out[n] = _image.blend(rgb[n], _image.colorize(maps, colormap), alpha)
        return out[0] if single else out

    def _tiles(self, frames, clip, colormap, alpha):
        if frames is not None:
            out = self.overlay(frames, alpha, colormap, clip=clip)
            return out if out.ndim == 4 else out[0]
        maps = _image.scaled(_numpy(self.spatial)[clip])
        h, w = maps.shape[1:]
        scale = max(1, 224 // max(h, w))
        heat = _image.colorize(_image.upsample(maps, (h * scale, w * scale)), colormap)
        return np.round(heat * 255).astype(np.uint8)

    def save_grid(self, path, frames=None, clip=0, columns=None, colormap="jet", alpha=0.5):
        """Write a PNG grid of clip ``clip``: one tile per frame (the heat map, or
        the overlay on ``frames``), with the temporal weight as a bar under each."""
        tiles = self._tiles(frames, clip, colormap, alpha)
        columns = columns or min(len(tiles), 8)
        profile = np.asarray(_numpy(self.temporal)[clip], np.float64)
        Path(path).write_bytes(_image.png_bytes(_image.grid(tiles, profile, columns)))
        return Path(path)

    def save_gif(self, path, frames=None, clip=0, fps=4, colormap="jet", alpha=0.5):
        """Write an animated GIF of clip ``clip`` (needs Pillow: staa[plot])."""
        _image.save_gif(path, self._tiles(frames, clip, colormap, alpha), fps)
        return Path(path)

    def key_frames(self, k, min_distance=1):
        """For each clip, at most k frames where the temporal profile peaks
        (local maxima, highest first, ≥ min_distance apart), in frame order."""
        temporal = _numpy(self.temporal)
        return [_keyframes.key_frames(p, k, min_distance) for p in temporal]
