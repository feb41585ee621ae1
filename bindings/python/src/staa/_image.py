"""Pictures without matplotlib: bilinear upsampling, colour maps, overlays, PNG.

Upsampling is bilinear with align_corners=False, as torch.nn.functional.interpolate
(docs/conventions.md, "Upsampling"). PNG files are written with zlib alone;
animated GIFs need Pillow (pip install 'staa[plot]').
"""

import struct
import zlib

import numpy as np


def _weights(n_in, n_out):
    """The (n_out, n_in) matrix of 1-D bilinear interpolation, align_corners=False."""
    w = np.zeros((n_out, n_in), np.float64)
    for d in range(n_out):
        src = max((d + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        w[d, i0] += 1 - lam
        w[d, i1] += lam
    return w


def upsample(maps, size):
    """maps (..., h, w) → (..., H, W) float32, bilinear, align_corners=False."""
    out_h, out_w = size
    wy = _weights(maps.shape[-2], out_h)
    wx = _weights(maps.shape[-1], out_w)
    return np.einsum("Hh,...hw,Ww->...HW", wy, maps.astype(np.float64), wx).astype(np.float32)


# Piecewise-linear colour maps as (x, value) knots per channel, as matplotlib's.
_MAPS = {
    "jet": (((0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)),
            ((0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)),
            ((0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0))),
    "hot": (((0, 0.0416), (0.365079, 1), (1, 1)),
            ((0, 0), (0.365079, 0), (0.746032, 1), (1, 1)),
            ((0, 0), (0.746032, 0), (1, 1))),
    "gray": (((0, 0), (1, 1)),) * 3,
}


def colorize(values, colormap="jet"):
    """values in [0, 1], any shape → RGB float in [0, 1], shape (..., 3).

    colormap is a name ("jet", "hot", "gray") or a callable such as a
    matplotlib colormap (values → RGB or RGBA).
    """
    v = np.clip(np.asarray(values, np.float64), 0, 1)
    if callable(colormap):
        return np.asarray(colormap(v), np.float64)[..., :3]
    if colormap not in _MAPS:
        raise ValueError(f"staa: unknown colormap {colormap!r} (want one of {sorted(_MAPS)} or a callable)")
    chans = [np.interp(v, [k[0] for k in knots], [k[1] for k in knots]) for knots in _MAPS[colormap]]
    return np.stack(chans, axis=-1)


def to_rgb(frames):
    """Video frames (..., H, W, 3) or (..., 3, H, W), uint8 or float → uint8 (..., H, W, 3).

    Floating frames (e.g. normalised pixel_values) are min-max scaled over the
    whole array; uint8 frames are used as they are.
    """
    if hasattr(frames, "detach"):  # a torch tensor
        frames = frames.detach().cpu()
        frames = frames.numpy() if str(frames.dtype) == "torch.uint8" else frames.float().numpy()
    f = np.asarray(frames)
    if f.shape[-1] not in (1, 3) and f.ndim >= 3 and f.shape[-3] in (1, 3):
        f = np.moveaxis(f, -3, -1)
    if f.ndim < 3 or f.shape[-1] not in (1, 3):
        raise ValueError(f"staa: frames of shape {f.shape} are not images (..., H, W, 3) or (..., 3, H, W)")
    if f.shape[-1] == 1:
        f = np.repeat(f, 3, axis=-1)
    if f.dtype == np.uint8:
        return f
    f = f.astype(np.float64)
    lo, hi = f.min(), f.max()
    f = (f - lo) / (hi - lo) if hi > lo else np.zeros_like(f)
    return np.round(f * 255).astype(np.uint8)


def scaled(maps):
    """maps / max(maps) (0 stays 0): one scale per clip, so frames compare."""
    m = float(np.max(maps)) if maps.size else 0.0
    return maps / m if m > 0 else np.zeros_like(maps)


def blend(rgb, heat, alpha):
    """(1 − α)·frame + α·heatmap, uint8."""
    out = (1 - alpha) * rgb.astype(np.float64) + alpha * 255 * heat
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def png_bytes(rgb):
    """An 8-bit RGB PNG of rgb (H, W, 3) uint8."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def grid(tiles, profile, columns):
    """Tiles (F, H, W, 3) uint8 in a grid, each with a bar below it whose
    length is profile[f] / max(profile)."""
    n, th, tw, _ = tiles.shape
    gap, bar = 2, max(3, th // 24)
    rows = -(-n // columns)
    cell_h, cell_w = th + bar + 2 * gap, tw + gap
    out = np.full((rows * cell_h + gap, columns * cell_w + gap, 3), 255, np.uint8)
    top = profile.max() if profile.size and profile.max() > 0 else 1.0
    for f in range(n):
        y, x = gap + (f // columns) * cell_h, gap + (f % columns) * cell_w
        out[y:y + th, x:x + tw] = tiles[f]
        length = int(round(tw * float(profile[f]) / top))
        out[y + th + gap:y + th + gap + bar, x:x + length] = (60, 60, 60)
    return out


def save_gif(path, frames, fps):
    """An animated GIF of frames (F, H, W, 3) uint8, looping."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("staa: save_gif needs Pillow: pip install 'staa[plot]'") from None
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps),
                   loop=0)
