#!/usr/bin/env python3
"""How fast is staa.attribute on TimeSformer-base-sized attention, next to plain PyTorch and numpy?

Attention the size of TimeSformer-base (L 12, T 8, H 12, N 196 = 14x14, one CLS): spatial
(1, 12, 8, 12, 197, 197) and temporal (1, 12, 196, 12, 8, 8), float32 rows of random softmax,
about 186 MB. Timed side by side in one run, for ``rollout`` and ``last``:

- ``staa``: ``staa.attribute`` on the torch tensors (they cross without a copy); postprocess
  ``raw`` so that the numbers compare, plus one row with the default ``optimized`` and one
  with the same arrays as numpy input (the difference is what torch tensors cost per call:
  their checks, the torch outputs and the caller's torch indexing of them);
- ``torch full-matrix``: the form people write today. Per layer, build the full token-by-token
  matrices (S = 1 + T*N = 1569) of the spatial and of the temporal operator from their blocks,
  and chain matrix-matrix products, as in the usual attention-rollout code; ``last``: the head
  mean of the whole last layer, then its CLS rows;
- ``torch vectorised``: the fastest PyTorch form found here. The head means first (one batched
  GEMV with weights 1/H over all layers: the one full read), then vector-matrix products
  (``bmm``) on the small fused blocks, the rollout's row renormalisation applied to the vector
  instead of the matrix; ``last``: the head mean of the CLS rows only;
- ``numpy vectorised``: the same algorithm in numpy;
- ``read``: one plain full read of the same bytes (the fastest of ``torch.sum`` and
  ``numpy.sum``): the floor for anything that reads every attention value once;
- ``tiny``: the latency of one small call (one clip, 8 frames, 4x4 grid, 2 layers, 2 heads).

``--joint`` adds the joint layout at VideoMAE-base size (L 12, H 12, 16 frames, tubelet 2,
T 8, N 196, no CLS: (1, 12, 12, 1568, 1568), 1.4 GB).

All forms are checked against each other before timing. Times are the median (and the minimum)
of ``--repeat`` rounds after a warm-up, a round timing every form of a method once, one after
the other (so the VM's slow and fast spells fall on all of them); GB/s = attention bytes /
median time.
``torch.set_num_threads(2)`` and 2 BLAS threads for numpy (this machine has 2 cores); the
library's Go engine uses its default worker count (one per core, so 2 here). Run it on a quiet
machine: other processes change the figures a lot (the header says how idle the CPUs were).

Usage: ``python3 bench_attribute.py [--quick] [--joint] [--repeat N] [--json FILE]``
(``--quick``: tiny sizes, for CI to smoke-test the script; exits non-zero if forms disagree).
"""

from __future__ import annotations

import os

THREADS = 2
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))  # numpy's BLAS, before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
try:
    import staa
except ImportError:  # a source checkout without the package installed
    sys.path.insert(0, str(HERE.parent / "src"))
    import staa

ALPHA = 0.5  # the rollout residual


# --------------------------------------------------------------------------- data


def softmax_rows(shape, g):
    return torch.randn(shape, generator=g).mul_(2).softmax(-1)


def make_divided(L, T, H, N, seed=0):
    """Random softmax rows: spatial (1, L, T, H, 1+N, 1+N), temporal (1, L, N, H, T, T)."""
    g = torch.Generator().manual_seed(seed)
    spatial = torch.empty((1, L, T, H, 1 + N, 1 + N))
    temporal = torch.empty((1, L, N, H, T, T))
    for l in range(L):
        spatial[0, l] = softmax_rows((T, H, 1 + N, 1 + N), g)
        temporal[0, l] = softmax_rows((N, H, T, T), g)
    return spatial, temporal


def make_joint(L, H, S, seed=0):
    g = torch.Generator().manual_seed(seed)
    joint = torch.empty((1, L, H, S, S))
    for l in range(L):
        joint[0, l] = softmax_rows((H, S, S), g)
    return joint


# --------------------------------------------------------------------------- shared pieces


def head_mean_torch(a):
    """(..., H, n, n) -> (..., n, n): the mean over heads as one batched GEMV (weights 1/H);
    as fast as a full read here, faster than ``a.mean(-3)``."""
    *lead, H, n, _ = a.shape
    w = torch.full((1, H), 1.0 / H, dtype=a.dtype)
    return torch.matmul(w, a.reshape(-1, H, n * n)).reshape(*lead, n, n)


def head_mean_np(a):
    *lead, H, n, _ = a.shape
    w = np.full((1, H), 1.0 / H, dtype=a.dtype)
    return np.matmul(w, a.reshape(-1, H, n * n)).reshape(*lead, n, n)


def rollout_matrix_torch(abar):
    """(..., n, n) fused -> rows-renormalised (1-a)A + aI (a zero row stays zero)."""
    m = abar * (1 - ALPHA)
    m.diagonal(dim1=-2, dim2=-1).add_(ALPHA)
    rs = m.sum(-1, keepdim=True)
    return torch.where(rs > 0, m / torch.where(rs > 0, rs, torch.ones_like(rs)), m)


def rollout_matrix_np(abar):
    n = abar.shape[-1]
    m = abar * np.float32(1 - ALPHA)
    m[..., np.arange(n), np.arange(n)] += np.float32(ALPHA)
    rs = m.sum(-1, keepdims=True)
    return np.divide(m, rs, out=np.zeros_like(m), where=rs > 0)


def rollout_rowsums_torch(abar):
    """Row sums of (1-a)A + aI, for every fused matrix at once."""
    return abar.sum(-1).mul_(1 - ALPHA).add_(ALPHA)


def rollout_vec_torch(u, abar, d):
    """u . M for a batch of vectors (k, n) and fused matrices (k, n, n), M = the rows-renormalised
    (1-a)A + aI, without building M: with w = u / d, u . M = (1-a) w . A + a w."""
    w = torch.where(d > 0, u / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(u))
    return torch.bmm(w.unsqueeze(1), abar).squeeze(1).mul_(1 - ALPHA).add_(w, alpha=ALPHA)


# --------------------------------------------------------------------------- divided forms
# Each returns V (T, h, w) for the one clip.


def div_full_rollout(c):
    """The naive form: full (S, S) matrices per layer, chained matrix-matrix products."""
    spatial, temporal = c["torch"]
    _, L, T, H, s, _ = spatial.shape
    N = s - 1
    S = 1 + T * N
    t_ = torch.arange(T)
    n_ = torch.arange(N)
    rows = (1 + t_[:, None, None] * N + n_[None, None, :]).expand(T, T, N)  # token (t, n)
    cols = (1 + t_[None, :, None] * N + n_[None, None, :]).expand(T, T, N)  # token (s, n)
    joint = None
    for l in range(L):
        ms_small = rollout_matrix_torch(spatial[0, l].mean(1))            # (T, 1+N, 1+N)
        mt_small = rollout_matrix_torch(temporal[0, l].mean(1))           # (N, T, T)
        ms = torch.zeros((S, S))
        ms[0, 0] = ms_small[:, 0, 0].mean()       # the output CLS is the mean of the T copies
        for t in range(T):
            blk = slice(1 + t * N, 1 + (t + 1) * N)
            ms[0, blk] = ms_small[t, 0, 1:] / T
            ms[blk, 0] = ms_small[t, 1:, 0]
            ms[blk, blk] = ms_small[t, 1:, 1:]
        mt = torch.zeros((S, S))
        mt[0, 0] = 1
        mt[rows, cols] = mt_small.permute(1, 2, 0)
        layer = ms @ mt                        # this layer: spatial after temporal
        joint = layer if joint is None else layer @ joint
    return joint[0, 1:].reshape(T, *c["grid"])


def div_vec_rollout(c):
    spatial, temporal = c["torch"]
    _, L, T, H, s, _ = spatial.shape
    abar_s = head_mean_torch(spatial[0])                                  # (L, T, 1+N, 1+N)
    abar_t = head_mean_torch(temporal[0])                                 # (L, N, T, T)
    d_s, d_t = rollout_rowsums_torch(abar_s), rollout_rowsums_torch(abar_t)
    v_cls = torch.tensor(1.0)
    v = torch.zeros((T, s - 1))
    for l in reversed(range(L)):
        u = torch.cat([(v_cls / T).expand(T, 1), v], dim=1)               # (T, 1+N)
        u = rollout_vec_torch(u, abar_s[l], d_s[l])
        v_cls, v = u[:, 0].sum(), u[:, 1:]
        v = rollout_vec_torch(v.t().contiguous(), abar_t[l], d_t[l]).t()  # per patch (N, T)
    return v.reshape(T, *c["grid"]).contiguous()


def div_np_rollout(c):
    spatial, temporal = c["numpy"]
    _, L, T, H, s, _ = spatial.shape
    abar_s, abar_t = head_mean_np(spatial[0]), head_mean_np(temporal[0])
    v_cls = np.float32(1.0)
    v = np.zeros((T, s - 1), np.float32)
    for l in reversed(range(L)):
        u = np.concatenate([np.full((T, 1), v_cls / T, np.float32), v], axis=1)
        u = np.matmul(u[:, None, :], rollout_matrix_np(abar_s[l]))[:, 0]
        v_cls, v = u[:, 0].sum(), u[:, 1:]
        v = np.matmul(v.T[:, None, :], rollout_matrix_np(abar_t[l]))[:, 0].T
    return np.ascontiguousarray(v.reshape(T, *c["grid"]))


def div_full_last(c):
    """As written today: the head mean of the whole last layer, then its CLS rows."""
    spatial = c["torch"][0]
    return spatial[0, -1].mean(1)[:, 0, 1:].reshape(spatial.shape[2], *c["grid"])


def div_vec_last(c):
    spatial = c["torch"][0]
    return spatial[0, -1, :, :, 0, 1:].mean(1).reshape(spatial.shape[2], *c["grid"])


def div_np_last(c):
    spatial = c["numpy"][0]
    return spatial[0, -1, :, :, 0, 1:].mean(1, dtype=np.float32).reshape(spatial.shape[2], *c["grid"])


# --------------------------------------------------------------------------- joint forms (no CLS)


def _groups(c):
    return c["geometry"]["frames"] // c["geometry"]["tubelet"]


def joint_full_rollout(c):
    """Abnar & Zuidema's code: per layer the full rollout matrix, chained matrix products; without
    a CLS the start is uniform, i.e. the mean of the product's rows."""
    joint = c["torch"][0]
    prod = None
    for l in range(joint.shape[1]):
        m = rollout_matrix_torch(joint[0, l].mean(0))
        prod = m if prod is None else m @ prod
    return prod.mean(0).reshape(_groups(c), *c["grid"])


def joint_vec_rollout(c):
    joint = c["torch"][0]
    abar = head_mean_torch(joint[0])                                      # (L, S, S)
    d = rollout_rowsums_torch(abar)
    S = abar.shape[-1]
    v = torch.full((1, S), 1.0 / S)
    for l in reversed(range(abar.shape[0])):
        v = rollout_vec_torch(v, abar[l:l + 1], d[l:l + 1])
    return v.reshape(_groups(c), *c["grid"])


def joint_np_rollout(c):
    joint = c["numpy"][0]
    abar = head_mean_np(joint[0])
    S = abar.shape[-1]
    v = np.full(S, 1.0 / S, np.float32)
    for l in reversed(range(abar.shape[0])):
        v = v @ rollout_matrix_np(abar[l])
    return v.reshape(_groups(c), *c["grid"])


def joint_full_last(c):
    joint = c["torch"][0]
    return joint[0, -1].mean(0).mean(0).reshape(_groups(c), *c["grid"])


def joint_vec_last(c):
    joint = c["torch"][0]
    return joint[0, -1].mean(-2).mean(0).reshape(_groups(c), *c["grid"])  # column means


def joint_np_last(c):
    joint = c["numpy"][0]
    return joint[0, -1].mean(-2, dtype=np.float32).mean(0).reshape(_groups(c), *c["grid"])


# --------------------------------------------------------------------------- staa, reads


def staa_form(method, postprocess="raw", given="torch"):
    def run(c):
        g = c["geometry"]
        if g["layout"] == "divided":
            spatial, temporal = c[given]
            a = staa.attribute(spatial, temporal=temporal, method=method, postprocess=postprocess, **g)
        else:
            a = staa.attribute(joint=c[given][0], method=method, postprocess=postprocess, **g)
        # V (T, h, w): each group is repeated tubelet times (a step slice costs torch ~10 µs)
        return a.spatial[0] if g["tubelet"] == 1 else a.spatial[0, ::g["tubelet"]]
    return run


def read_torch(c):
    return sum(float(x.sum()) for x in c["torch"])


def read_numpy(c):
    return sum(float(np.add.reduce(x.reshape(-1))) for x in c["numpy"])


FORMS = {
    "divided": {
        "rollout": [("torch full-matrix (naive)", div_full_rollout),
                    ("torch vectorised", div_vec_rollout),
                    ("numpy vectorised", div_np_rollout)],
        "last": [("torch full-matrix (naive)", div_full_last),
                 ("torch vectorised", div_vec_last),
                 ("numpy vectorised", div_np_last)],
    },
    "joint": {
        "rollout": [("torch full-matrix (naive)", joint_full_rollout),
                    ("torch vectorised", joint_vec_rollout),
                    ("numpy vectorised", joint_np_rollout)],
        "last": [("torch full-matrix (naive)", joint_full_last),
                 ("torch vectorised", joint_vec_last),
                 ("numpy vectorised", joint_np_last)],
    },
}
STAA = "staa.attribute (torch in)"
STAA_NUMPY = "staa.attribute (numpy in)"


# --------------------------------------------------------------------------- timing


def cpu_idle(seconds=1.0):
    """The share of the machine's CPUs not busy over a short interval, from /proc/stat's busy
    counters (user, nice, system, irq, softirq, steal; some VMs never advance 'idle'), or None."""
    def busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    try:
        hz = os.sysconf("SC_CLK_TCK")
        b0, t0 = busy(), time.perf_counter()
        time.sleep(seconds)
        b1, t1 = busy(), time.perf_counter()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, 1 - (b1 - b0) / hz / (t1 - t0) / (os.cpu_count() or 1))


class Timing(float):
    """The median of the runs, in seconds; ``.min`` the fastest run."""

    min = 0.0


def timeit(fns, arg, repeat, warmup=1):
    """{name: Timing} for the forms fns ({name: fn}): the median and minimum
    over repeat rounds of the time of one call. In a round every form runs
    once, one after the other (starting one form later each round), so that
    the VM's slow and fast spells fall on all of them alike. A run is one call, or as many calls as take ~10 ms
    when one takes less than a millisecond (the `last` forms): single calls
    of tens of µs would time the VM's hiccups and cold caches."""
    number = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            t0 = time.perf_counter()
            fn(arg)
            once = time.perf_counter() - t0
        number[name] = 1 if once >= 1e-3 else max(1, int(10e-3 / max(once, 1e-6)))
    times = {name: [] for name in fns}
    order = list(fns.items())
    for r in range(repeat):
        # each round starts one form later: no form always follows the same
        # one (whose threads, torch's or BLAS's, may still spin for a while)
        for name, fn in order[r % len(order):] + order[:r % len(order)]:
            n = number[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn(arg)
            times[name].append((time.perf_counter() - t0) / n)
    out = {}
    for name, ts in times.items():
        out[name] = Timing(statistics.median(ts))
        out[name].min = min(ts)
    return out


def as_np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def rel_diff(name, got, want, rtol=1e-4):
    """max |got - want| / max |want|; exits if the forms disagree (beyond float32 rounding)."""
    got, want = as_np(got).astype(np.float64), as_np(want).astype(np.float64)
    if got.shape != want.shape:
        raise SystemExit(f"{name}: shape {got.shape} != {want.shape}")
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(got - want).max()) / scale
    if not np.allclose(got, want, rtol=rtol, atol=1e-6 * scale):
        raise SystemExit(f"{name}: forms disagree, max |diff| / max = {err:.3g}")
    return err


def make_case(layout, quick):
    if layout == "divided":
        L, T, H, h, w = (2, 4, 2, 4, 4) if quick else (12, 8, 12, 14, 14)
        tensors = make_divided(L, T, H, h * w)
        geo = dict(layout="divided", frames=T, grid=(h, w), cls=True, tubelet=1)
        desc = (f"divided{'' if quick else ', TimeSformer-base size'}: L {L}, T {T}, H {H}, N {h * w} ({h}x{w}), CLS: "
                f"spatial {tuple(tensors[0].shape)} + temporal {tuple(tensors[1].shape)}")
    else:
        L, T, H, h, w, tau = (2, 4, 2, 4, 4, 2) if quick else (12, 8, 12, 14, 14, 2)
        tensors = (make_joint(L, H, T * h * w),)
        geo = dict(layout="joint", frames=T * tau, grid=(h, w), cls=False, tubelet=tau)
        desc = (f"joint{'' if quick else ', VideoMAE-base size'}: L {L}, {T * tau} frames, tubelet {tau}, H {H}, "
                f"N {h * w}, no CLS: {tuple(tensors[0].shape)}")
    nbytes = sum(x.nbytes for x in tensors)
    return {"layout": layout, "torch": tensors, "numpy": tuple(x.numpy() for x in tensors),
            "geometry": geo, "grid": (h, w), "bytes": nbytes,
            "desc": f"{desc}, float32, {nbytes / 1e6:.1f} MB, one clip"}


def run_case(c, repeat):
    """{(method, form): seconds}, {(method, form): rel diff}, {"torch"|"numpy": read seconds}."""
    times, diffs = {}, {}
    forms = FORMS[c["layout"]]
    for method, rows in forms.items():          # 1. agreement, before any timing
        want = staa_form(method)(c)
        diffs[(method, STAA_NUMPY)] = rel_diff(f"{c['layout']}/{method}/{STAA_NUMPY}",
                                               staa_form(method, given="numpy")(c), want)
        for name, fn in rows:
            diffs[(method, name)] = rel_diff(f"{c['layout']}/{method}/{name}", fn(c), want)
    rel_diff("read", read_numpy(c), read_torch(c), rtol=1e-3)
    for method, rows in forms.items():          # 2. timing, the forms of a method in rounds
        fns = {STAA: staa_form(method), STAA_NUMPY: staa_form(method, given="numpy")}
        if method == "rollout":
            fns[STAA + ", optimized postprocess"] = staa_form(method, "optimized")
        fns.update(rows)
        times.update({(method, name): t for name, t in timeit(fns, c, repeat).items()})
    reads = timeit({"torch.sum": read_torch, "numpy.sum": read_numpy}, c, repeat)
    return times, diffs, reads


def tiny_latency(repeat):
    """The latency of a tiny call (one clip, 8 frames, 4x4 grid, 2 layers, 2 heads,
    divided, raw): torch and numpy inputs, through staa._fastcall and through the
    ctypes path, interleaved in rounds of 500 calls so that the VM's slow and fast
    spells fall on every form alike. Prints and returns the medians and minima (µs)."""
    from staa import _call

    fast = _call._fastcall
    sp, tp = make_divided(2, 8, 2, 16, seed=1)
    g = dict(layout="divided", frames=8, grid=(4, 4), cls=True, tubelet=1, postprocess="raw")
    inputs = {"torch": (sp, tp), "numpy": (sp.numpy(), tp.numpy())}
    paths = {"C extension": fast} if fast is not None else {}
    paths["ctypes"] = None
    forms = [(m, kind, path) for m in ("rollout", "last") for kind in inputs for path in paths]
    times = {f: [] for f in forms}
    rounds = max(4, repeat)
    for _ in range(rounds):
        for f in forms:
            m, kind, path = f
            s, t = inputs[kind]
            _call._fastcall = paths[path]
            for _ in range(20):
                staa.attribute(s, temporal=t, method=m, **g)
            for _ in range(500):
                t0 = time.perf_counter_ns()
                staa.attribute(s, temporal=t, method=m, **g)
                times[f].append(time.perf_counter_ns() - t0)
    _call._fastcall = fast
    print("## Latency of a tiny call (one clip, 8 frames, 4x4 grid, L 2, H 2, divided, raw)\n")
    print(f"{rounds} rounds of 500 calls per form, interleaved.\n")
    print("| method | input | path | median µs | min µs |")
    print("|---|---|---|---:|---:|")
    out = {}
    for (m, kind, path), ts in times.items():
        med, lo = statistics.median(ts) / 1e3, min(ts) / 1e3
        print(f"| {m} | {kind} | {path} | {med:.1f} | {lo:.1f} |")
        out[f"{m}/{kind}/{path}"] = {"median": med, "min": lo}
    print()
    return out


def tiny_blocks(calls=4000, block=250):
    """The tiny call through the default path, each form on its own: 4000 calls
    in blocks of 250, so that a quiet spell of the VM shows as a block. Prints
    and returns the median, 5th and 95th percentiles, and the lowest and highest
    block medians (µs)."""
    sp, tp = make_divided(2, 8, 2, 16, seed=1)
    g = dict(layout="divided", frames=8, grid=(4, 4), cls=True, tubelet=1, postprocess="raw")
    print(f"{calls} calls per form, one form at a time; medians of blocks of {block} calls:\n")
    print("| method | input | median µs | p5 | p95 | block medians |")
    print("|---|---|---:|---:|---:|---|")
    out = {}
    for kind, (s, t) in (("torch", (sp, tp)), ("numpy", (sp.numpy(), tp.numpy()))):
        for m in ("rollout", "last"):
            for _ in range(300):
                staa.attribute(s, temporal=t, method=m, **g)
            ts = []
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                staa.attribute(s, temporal=t, method=m, **g)
                ts.append(time.perf_counter_ns() - t0)
            us = np.array(ts) / 1e3
            blocks = [float(np.median(us[i:i + block])) for i in range(0, calls, block)]
            row = {"median": float(np.median(us)), "p5": float(np.percentile(us, 5)),
                   "p95": float(np.percentile(us, 95)), "block_min": min(blocks), "block_max": max(blocks)}
            print(f"| {m} | {kind} | {row['median']:.1f} | {row['p5']:.1f} | {row['p95']:.1f} | "
                  f"{row['block_min']:.1f}–{row['block_max']:.1f} |")
            out[f"{m}/{kind}"] = row
    print()
    return out


def fmt_ms(s):
    return f"{s * 1e3:.3f}" if s < 0.001 else f"{s * 1e3:.2f}" if s < 0.1 else f"{s * 1e3:.0f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (a CI smoke test)")
    p.add_argument("--joint", action="store_true", help="also the joint layout, VideoMAE-base size")
    p.add_argument("--repeat", type=int, default=None, help="timed runs per form (the median)")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    p.add_argument("--tiny", action="store_true", help="only the latency of a tiny call")
    args = p.parse_args(argv)

    torch.set_num_threads(THREADS)
    repeat = args.repeat or (2 if args.quick else 7)
    layouts = ["divided"] + (["joint"] if args.joint else [])

    print(f"# staa.attribute vs PyTorch and numpy{' (--quick sizes)' if args.quick else ''}\n")
    print(f"- {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"torch {torch.__version__}, torch.set_num_threads({THREADS}); numpy {np.__version__} "
          f"({THREADS} BLAS threads); staa {staa.__version__}, library {staa.version()} "
          "(Go engine, default workers)")
    idle = cpu_idle()
    if idle is not None:
        busy = "" if idle > 0.9 else " - THE MACHINE IS BUSY, the figures are not reliable"
        print(f"- CPU idle before the run: {idle:.0%}{busy}")
    print(f"- median of {repeat} runs after a warm-up; GB/s = attention bytes / time; "
          "'/ read' = time / one plain full read; '/ staa' = time / staa's time (> 1: staa is faster)")
    print("- staa with postprocess 'raw' (the other forms do no post-processing) unless said; "
          "'max diff' = max |form - staa| / max |staa|\n")

    report = {"threads": THREADS, "repeat": repeat, "cases": {}}
    for layout in ([] if args.tiny else layouts):
        c = make_case(layout, args.quick)
        times, diffs, reads = run_case(c, repeat)
        read_name = min(reads, key=reads.get)
        read = reads[read_name]
        gbs = lambda s, nbytes=c["bytes"]: nbytes / s / 1e9  # noqa: E731
        print(f"## {c['desc']}\n")
        print("| method | form | ms | min ms | GB/s | / read | / staa | max diff |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for (method, name), t in times.items():
            base = times[(method, STAA)]
            d = diffs.get((method, name))
            ratio = "-" if name == STAA else f"{t / base:.2f}"
            print(f"| {method} | {name} | {fmt_ms(t)} | {fmt_ms(t.min)} | {gbs(t):.3g} | {t / read:.2f} | {ratio} | "
                  f"{'-' if d is None else f'{d:.1e}'} |")
        others = ", ".join(f"{k} {fmt_ms(v)} ms" for k, v in reads.items())
        print(f"| - | one full read, the fastest ({others}) | {fmt_ms(read)} | {fmt_ms(read.min)} | "
              f"{gbs(read):.3g} | 1.00 | - | - |\n")
        report["cases"][layout] = {
            "desc": c["desc"], "bytes": c["bytes"],
            "ms": {f"{m}/{n}": t * 1e3 for (m, n), t in times.items()},
            "min_ms": {f"{m}/{n}": t.min * 1e3 for (m, n), t in times.items()},
            "read_ms": {k: v * 1e3 for k, v in reads.items()},
            "max_rel_diff": {f"{m}/{n}": d for (m, n), d in diffs.items()},
        }
        del c

    report["tiny_us"] = tiny_latency(repeat)
    report["tiny_blocks_us"] = tiny_blocks()
    idle_after = cpu_idle()
    if idle_after is not None:
        busy = "" if idle_after > 0.9 else " - the machine was busy, the figures are not reliable"
        print(f"\nCPU idle after the run: {idle_after:.0%}{busy}.")
    report["cpu_idle"] = {"before": idle, "after": idle_after}

    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
