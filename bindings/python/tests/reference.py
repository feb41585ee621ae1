"""A plain numpy reference of the staa engine and post-processing.

Written from docs/conventions.md alone, independently of the Go code, to check
it. It favours being obviously right over being fast: every layer's operator
is built as a full matrix over the state vector (c + T·N entries) and the
state is multiplied through it; all arithmetic is float64.
"""

import math

import numpy as np

# ---------------------------------------------------------------- engine


def fuse_heads(A, fusion="mean", G=None):
    """One layer's heads A [H, n, n] fused into Ā [n, n].

    With gradients G (method "grad"): Ā = Σ_h relu(G_h ⊙ A_h) / H.
    """
    A = np.asarray(A, np.float64)
    if G is not None:
        return np.maximum(np.asarray(G, np.float64) * A, 0).sum(axis=0) / A.shape[0]
    if fusion == "mean":
        return A.sum(axis=0) / A.shape[0]
    if fusion == "max":
        return A.max(axis=0)
    if fusion == "min":
        return A.min(axis=0)
    raise ValueError(fusion)


def layer_operator(Abar, method, alpha):
    """M for one fused matrix: rollout rownorm((1−α)Ā + αI), grad I + Ā."""
    eye = np.eye(Abar.shape[0])
    if method == "rollout":
        M = (1 - alpha) * Abar + alpha * eye
        for r in range(M.shape[0]):
            s = M[r].sum()
            M[r] = M[r] / s if s != 0 else 0
        return M
    if method == "grad":
        return eye + Abar
    raise ValueError(method)


def start_vector(size, c):
    """e_0 with a CLS token, else uniform over the size entries."""
    if c:
        v = np.zeros(size)
        v[0] = 1.0
        return v
    return np.full(size, 1.0 / size)


def divided_spatial_matrix(Ms, c, N):
    """The spatial step of the divided layout as one matrix over the state.

    State: [CLS (if c)] + frame 0's N patches + frame 1's + …. Frame t's local
    token a (0 is its CLS copy when c = 1) is state entry idx[a]. The CLS enters
    each frame divided by T, and the frames' CLS outputs add up.
    """
    T = len(Ms)
    size = c + T * N
    P = np.zeros((size, size))
    for t in range(T):
        idx = ([0] if c else []) + [c + t * N + n for n in range(N)]
        for a in range(c + N):
            scale = 1.0 / T if (c and a == 0) else 1.0
            for b in range(c + N):
                P[idx[a], idx[b]] += scale * Ms[t][a, b]
    return P


def divided_temporal_matrix(Ms, c, T, N):
    """The temporal step: patch n of every frame mixes through Ms[n] [T, T]; the CLS passes."""
    size = c + T * N
    P = np.zeros((size, size))
    if c:
        P[0, 0] = 1.0
    for n in range(N):
        for t in range(T):
            for t2 in range(T):
                P[c + t * N + n, c + t2 * N + n] = Ms[n][t, t2]
    return P


def attribute_clip(*, layout, frames, grid, cls, tubelet, method, head_fusion="mean",
                   residual=0.5, spatial=None, temporal=None, joint=None,
                   spatial_grad=None, temporal_grad=None, joint_grad=None):
    """The attribution volume V [F, h, w] of one clip (before post-processing)."""
    h, w = grid
    c = 1 if cls else 0
    T, N = frames // tubelet, h * w
    grad = method == "grad"

    def fused(A, G):
        return fuse_heads(A, head_fusion, G if grad else None)

    if layout == "joint":
        L = joint.shape[0]
        S = c + T * N
        if method == "last":
            v = start_vector(S, c) @ fused(joint[L - 1], None)
        else:
            v = start_vector(S, c)
            for l in reversed(range(L)):
                G = joint_grad[l] if grad else None
                v = v @ layer_operator(fused(joint[l], G), method, residual)
        patches = v[c:]
    else:
        L = spatial.shape[0]
        if method == "last":
            rows = []
            for t in range(T):
                Abar = fused(spatial[L - 1, t], None)
                rows.append(Abar[0, 1:] if c else Abar.mean(axis=0))
            patches = np.concatenate(rows)
        else:
            v = start_vector(c + T * N, c)
            for l in reversed(range(L)):
                Ms = [layer_operator(fused(spatial[l, t], spatial_grad[l, t] if grad else None),
                                     method, residual) for t in range(T)]
                v = v @ divided_spatial_matrix(Ms, c, N)
                if temporal is not None:
                    Ms = [layer_operator(fused(temporal[l, n], temporal_grad[l, n] if grad else None),
                                         method, residual) for n in range(N)]
                    v = v @ divided_temporal_matrix(Ms, c, T, N)
            patches = v[c:]
    V = patches.reshape(T, h, w)
    return np.repeat(V, tubelet, axis=0)


# ---------------------------------------------------------------- post-processing

PRESETS = {
    "raw": {},
    # chosen by `staa tune` (docs/evaluation.md); keep in step with staa/post.go Optimized()
    "optimized": {"blur": 0, "gamma": 8, "threshold": {"mode": "none"}, "normalize": "clip"},
}


def gaussian_blur(frame, sigma):
    """Separable Gaussian, radius ceil(3σ), border 'nearest': along w, then along h."""
    r = math.ceil(3 * sigma)
    ks = range(-r, r + 1)
    wts = np.array([math.exp(-k * k / (2 * sigma * sigma)) for k in ks])
    wts /= wts.sum()
    h, w = frame.shape
    rows = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            rows[i, j] = sum(wk * frame[i, min(max(j + k, 0), w - 1)] for wk, k in zip(wts, ks))
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = sum(wk * rows[min(max(i + k, 0), h - 1), j] for wk, k in zip(wts, ks))
    return out


def otsu(values):
    """Otsu's threshold as skimage.filters.threshold_otsu(values, nbins=256)."""
    values = np.ravel(values)
    if values.min() == values.max():
        return values.min()
    hist, edges = np.histogram(values, bins=256, range=(values.min(), values.max()))
    centres = (edges[:-1] + edges[1:]) / 2
    hist = hist.astype(np.float64)
    weight1 = np.cumsum(hist)
    weight2 = np.cumsum(hist[::-1])[::-1]
    mean1 = np.cumsum(hist * centres) / weight1  # the first and last bins are never empty
    mean2 = (np.cumsum((hist * centres)[::-1]) / weight2[::-1])[::-1]
    var = weight1[:-1] * weight2[1:] * (mean1[:-1] - mean2[1:]) ** 2
    return centres[np.argmax(var)]


def threshold_value(frame, threshold):
    if isinstance(threshold, str):
        threshold = {"mode": threshold}
    mode = threshold["mode"]
    if mode == "none":
        return -np.inf
    if mode == "meanstd":
        return frame.mean() + threshold.get("k", 0) * frame.std()
    if mode == "percentile":
        return np.percentile(frame, threshold["p"])
    if mode == "otsu":
        return otsu(frame)
    raise ValueError(mode)


def postprocess_clip(V, post="optimized"):
    """(spatial [F, h, w], temporal [F]) from a volume V [F, h, w]."""
    if isinstance(post, str):
        post = PRESETS[post]
    V = np.asarray(V, np.float64).copy()
    F = V.shape[0]
    sigma = post.get("blur", 0)
    if sigma > 0:
        V = np.stack([gaussian_blur(V[f], sigma) for f in range(F)])
    gamma = post.get("gamma", 0)
    if gamma > 0 and gamma != 1:
        V = V ** gamma
        if V.sum() > 0:
            V = V / V.sum()
    if "threshold" in post:
        for f in range(F):
            theta = threshold_value(V[f], post["threshold"])
            V[f][V[f] < theta] = 0
    total = V.sum()
    P = V.sum(axis=(1, 2)) / total if total > 0 else np.full(F, 1.0 / F)
    norm = post.get("normalize", "none")
    if norm == "frame":
        for f in range(F):
            if V[f].max() > 0:
                V[f] = V[f] / V[f].max()
    elif norm == "clip" and V.max() > 0:
        V = V / V.max()
    return V, P


# ---------------------------------------------------------------- batches


def attribute(*, postprocess="optimized", **kwargs):
    """Batched reference: arrays with a leading batch axis in, (spatial, temporal, volume) out."""
    names = ("spatial", "temporal", "joint", "spatial_grad", "temporal_grad", "joint_grad")
    arrays = {k: np.asarray(kwargs.pop(k), np.float32) for k in names if kwargs.get(k) is not None}
    for k in names:
        kwargs.pop(k, None)
    batch = len(next(iter(arrays.values())))
    out = [postprocess_clip(V, postprocess) + (V,) for V in
           (attribute_clip(**kwargs, **{k: a[b] for k, a in arrays.items()}) for b in range(batch))]
    return tuple(np.stack(x) for x in zip(*out))


def key_frames(p, k, min_distance=1):
    """Local maxima of p (ends: larger than their neighbour), greedily from the
    highest at least min_distance apart, at most k, in frame order."""
    F = len(p)
    peaks = [i for i in range(F)
             if (F == 1)
             or (i == 0 and p[0] > p[1])
             or (i == F - 1 and i > 0 and p[i] > p[i - 1])
             or (0 < i < F - 1 and p[i] > p[i - 1] and p[i] >= p[i + 1])]
    kept = []
    for i in sorted(peaks, key=lambda i: -p[i]):
        if len(kept) < k and all(abs(i - j) >= min_distance for j in kept):
            kept.append(i)
    return sorted(kept)


def upsample(maps, size):
    """Bilinear, align_corners=False, one output pixel at a time."""
    h, w = maps.shape[-2:]
    H, W = size

    def source(d, n_in, n_out):
        src = max((d + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = int(math.floor(src))
        return i0, min(i0 + 1, n_in - 1), src - i0

    out = np.zeros(maps.shape[:-2] + (H, W))
    for y in range(H):
        y0, y1, ly = source(y, h, H)
        for x in range(W):
            x0, x1, lx = source(x, w, W)
            out[..., y, x] = ((1 - ly) * ((1 - lx) * maps[..., y0, x0] + lx * maps[..., y0, x1])
                              + ly * ((1 - lx) * maps[..., y1, x0] + lx * maps[..., y1, x1]))
    return out
