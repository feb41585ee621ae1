"""Random, softmax-normalised attention in the stacked, batch-first layout."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    """A geometry and the attention inputs that go with it."""

    layout: str
    frames: int
    grid: tuple
    cls: bool = True
    tubelet: int = 1
    temporal: bool = True  # divided only
    batch: int = 2
    layers: int = 2
    heads: int = 3
    seed: int = 0
    id: str = field(default="", compare=False)

    @property
    def groups(self):
        return self.frames // self.tubelet

    @property
    def patches(self):
        return self.grid[0] * self.grid[1]

    def geometry(self):
        return dict(layout=self.layout, frames=self.frames, grid=self.grid, cls=self.cls,
                    tubelet=self.tubelet)

    def shapes(self):
        """{column: stacked shape (B, ...)}."""
        B, L, H, T, N, c = self.batch, self.layers, self.heads, self.groups, self.patches, int(self.cls)
        if self.layout == "joint":
            S = c + T * N
            return {"joint": (B, L, H, S, S)}
        out = {"spatial": (B, L, T, H, c + N, c + N)}
        if self.temporal:
            out["temporal"] = (B, L, N, H, T, T)
        return out


def softmax_attention(rng, shape, sharpness=3.0):
    logits = rng.normal(size=shape) * sharpness
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def make(case, dtype=np.float32, grads=False):
    """{column: array} for case: attention (and *_grad columns if grads)."""
    rng = np.random.default_rng(case.seed)
    out = {}
    for name, shape in case.shapes().items():
        out[name] = softmax_attention(rng, shape).astype(dtype)
        if grads:
            out[name + "_grad"] = rng.normal(size=shape).astype(dtype)
    return out


def hf_tuples(case, arrays):
    """The same attention as HuggingFace returns it: one tensor per layer,
    batch folded with frames (spatial) or patches (temporal)."""
    B, T, N = case.batch, case.groups, case.patches
    out = {}
    for name, a in arrays.items():
        base = name.removesuffix("_grad")
        L = a.shape[1]
        if base == "spatial":
            out[name] = tuple(a[:, l].reshape((B * T,) + a.shape[3:]) for l in range(L))
        elif base == "temporal":
            out[name] = tuple(a[:, l].reshape((B * N,) + a.shape[3:]) for l in range(L))
        else:
            out[name] = tuple(a[:, l] for l in range(L))
    return out


# Geometries covering both layouts, with and without CLS and temporal
# attention, tubelet 1 and 2, non-square grids and T ≠ N.
CASES = [
    Case("divided", frames=4, grid=(3, 4), id="divided-temporal"),
    Case("divided", frames=4, grid=(3, 4), temporal=False, id="divided-spatial-only"),
    Case("divided", frames=6, grid=(2, 3), cls=False, id="divided-nocls"),
    Case("divided", frames=6, grid=(3, 2), tubelet=2, id="divided-tubelet2"),
    Case("joint", frames=4, grid=(3, 4), id="joint-cls"),
    Case("joint", frames=6, grid=(3, 4), cls=False, tubelet=2, id="joint-nocls-tubelet2"),
    Case("joint", frames=4, grid=(4, 3), tubelet=2, batch=3, id="joint-cls-tubelet2"),
]
