#!/usr/bin/env python3
"""The ``shap`` and ``lime`` Python packages on the model ``staa eval`` evaluates, through
``staa.Session.predict_pixels``: their time per clip and, with ``staa eval --attributions``,
their quality in the same table as STAA and the Go SHAP and LIME baselines.

For N clips of the held-out split of ``staa eval --seed S --n N`` (generated here by
``staa synth --seed S --n N --frames F --size H``, F and H the model's: the same clips, as
``staa eval -h`` documents), explain the model's predicted class of each clip with:

- ``python-shap``: temporal Shapley values over the F frames (features = frames), with
  ``shap.explainers.Exact``. For 8 features it enumerates all 2^8 = 256 coalitions once (in
  Gray-code order) and returns the exact Shapley values, as the Go baseline
  (staa/baselines/shap.go) does; the permutation explainer would only sample orderings.
  The masker is ``shap.maskers.Independent`` over a 0/1 coalition vector with a single
  all-zero background row, so ``v(∅)`` is the baseline clip's value and Σφ = v(N) − v(∅).
- ``python-lime``: spatial LIME over the h·w patch tubes (a patch through all frames),
  with ``lime.lime_base.LimeBase``: the sampling, distance and kernel of
  ``lime_image.LimeImageExplainer`` (uniform random 0/1 masks with the first row all ones,
  cosine distance to the all-ones mask, kernel √exp(−d²/0.25²)) and its default regressor,
  ``Ridge(alpha=1)`` with sample weights; 1000 samples, as the Go baseline
  (staa/baselines/lime.go). The masks come from numpy's RandomState(seed + clip index), so
  they are not the Go baseline's (PCG) masks: the two LIMEs agree in distribution only.

Both match the Go baselines' choices: the value of a perturbed clip is the predicted class's
probability; what replaces a frame outside a coalition (SHAP) or a switched-off patch (LIME) is
the "zeros" baseline, 0 in the model's normalised pixel space (the dataset's mean colour), the
default of ``staa eval``. Perturbation happens on the preprocessed pixels (the model's input,
made here exactly as the library's preprocessor makes it, and checked against
``Session.predict`` on the uint8 clips), and every perturbed clip goes through
``Session.predict_pixels`` in batches of ``--batch`` (16, ``staa eval``'s default).

The attribution volume written for ``staa eval --attributions`` is, as staa/baselines
defines ``Volume``: SHAP, V[f, i, j] = max(φ_f, 0) / (h·w) (the frame's value spread evenly
over its patches); LIME, V[f, i, j] = max(β_ij, 0) in every frame.

Time per clip: the wall time of one explanation, model calls included (building the masked
clips, the explainer's own work, the regression); summary.json also has the process CPU time,
which another load on the machine disturbs less. The predicted class is computed before,
untimed, as ``staa eval`` does. One untimed explanation of the first clip per method warms
up ONNX Runtime and shap's numba kernels.

Cost caveat: the C ABI has no logits-only call, so each ``predict_pixels`` batch runs the
model with its attention outputs and computes (and drops) the cheapest attribution, while the
Go baselines call a logits-only ONNX Runtime session. ``--overhead`` measures what that costs
(``predict_pixels`` against the ``onnxruntime`` package asking for the logits alone).

Single-threaded by default: ONNX Runtime with one intra-op and one inter-op thread,
GOMAXPROCS=1 for the library, one BLAS thread. Usage (from the repository root)::

    pip install './bindings/python[bench]'        # shap, lime (and scikit-learn)
    python3 bindings/python/benchmarks/shap_lime.py --n 20 --seed 4242 --out out/shap_lime \\
        [--go-eval] [--overhead] [--check]

Writes OUT/python-shap.arrow and OUT/python-lime.arrow (Arrow IPC files: schema metadata
``staa.method``, ``staa.seed``, ``staa.n``; columns ``index`` int64, ``volume``
arrow.fixed_shape_tensor float32 [F, h, w], ``seconds`` float64) and OUT/summary.json (per
clip: target, signed values, seconds, model calls). ``--go-eval`` also runs ``staa eval
--methods shap,lime`` on the same clips, single-threaded, for the Go baselines' times side by
side (and passes the files with ``--attributions`` when that flag exists). ``--check`` compares
the shap package's values on the first clip with a brute-force Shapley enumeration in numpy.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy, sklearn, numba are imported
os.environ.setdefault("GOMAXPROCS", "1")  # read by libstaa's Go runtime when it loads

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.ipc as ipc  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
try:
    import staa
except ImportError:  # a source checkout without the package installed
    sys.path.insert(0, str(HERE.parent / "src"))
    import staa

try:
    import lime
    import lime.lime_base
    import shap
    import sklearn
    from sklearn.metrics import pairwise_distances
except ImportError as e:  # benchmark-only dependencies
    sys.exit(f"shap_lime.py needs the shap and lime packages: pip install './bindings/python[bench]' ({e})")

LIME_KERNEL_WIDTH = 0.25  # lime_image.LimeImageExplainer's default


# ------------------------------------------------------------------ data


def staa_command():
    """How to run the staa command: a binary built once from this tree."""
    exe = Path(tempfile.gettempdir()) / f"staa-shap-lime-{os.getpid()}"
    subprocess.run(["go", "build", "-o", str(exe), "./cmd/staa"], cwd=REPO, check=True)
    return exe


def read_split(path):
    """The clips (N, F, H, W, 3) uint8, labels (N,) and metadata of a staa synth split file."""
    table = ipc.open_file(path).read_all()
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    f, h, w = (int(meta[f"staa.synth.{k}"]) for k in ("frames", "height", "width"))
    col = table.column("clip").combine_chunks()
    if isinstance(col, pa.ExtensionArray):
        col = col.storage
    clips = col.flatten().to_numpy(zero_copy_only=False).reshape(len(table), f, h, w, 3)
    return clips, table.column("label").to_numpy(), meta


def preprocess(session, clips):
    """uint8 (N, F, H, W, 3) at the model's frame size → float32 (N, F, 3, H, W): the
    library's per-channel table, (v·scale − mean)/std computed in float64 and rounded once."""
    info = session.info
    if clips.shape[2:4] != info.frame_size:
        raise SystemExit(f"clips of {clips.shape[2:4]} pixels, the model takes {info.frame_size}: "
                         "generate the split at the model's size")
    if info.input_layout != "BFCHW":
        raise SystemExit(f"model input layout {info.input_layout}: only BFCHW is handled here")
    v = np.arange(256, dtype=np.float64)
    lut = np.stack([((v * info.scale - m) / s).astype(np.float32) for m, s in zip(info.mean, info.std)])
    px = np.stack([lut[c][clips[..., c]] for c in range(3)], axis=2)  # (N, F, 3, H, W)
    return np.ascontiguousarray(px)


# ------------------------------------------------------------- explainers


class Counter:
    """Counts the perturbed clips a value function sends to the model."""

    def __init__(self):
        self.clips = 0


def value_function(session, x, base, keep_pixels, target, batch, compose, counter):
    """v(z) for binary masks z (n, p): the target's probability for the clips that take x
    where keep_pixels(z) is 1 and base elsewhere, composed `compose` clips at a time (memory)
    and evaluated through Session.predict_pixels in batches of `batch`."""

    def v(z):
        z = np.asarray(z)
        out = np.empty(len(z), np.float64)
        for s in range(0, len(z), compose):
            keep = keep_pixels(z[s:s + compose])  # (m, ...) broadcastable against x
            clips = np.where(keep, x, base).astype(np.float32, copy=False)
            p = session.predict_pixels(clips, batch_size=batch)
            out[s:s + len(p)] = p[:, target]
            counter.clips += len(p)
        return out

    return v


def explain_shap(session, x, base, target, batch, compose):
    """Exact temporal Shapley values over the frames with shap's Exact explainer."""
    F = x.shape[0]
    counter = Counter()
    v = value_function(session, x, base, lambda z: z.astype(bool)[:, :, None, None, None],
                       target, batch, compose, counter)
    masker = shap.maskers.Independent(np.zeros((1, F)), max_samples=1)
    explainer = shap.explainers.Exact(v, masker)
    ex = explainer(np.ones((1, F)), silent=True)
    phi = np.asarray(ex.values[0], np.float64)
    return {"values": phi, "empty": float(ex.base_values[0]), "model_clips": counter.clips}


def explain_lime(session, x, base, target, batch, compose, grid, samples, seed):
    """Spatial LIME over the patch tubes with lime's LimeBase."""
    F, _, H, W = x.shape
    gh, gw = grid
    if H % gh or W % gw:  # the Go baseline's ⌊y·h/H⌋ cells would not be equal blocks
        raise SystemExit(f"frames of {H}×{W} do not split into the {gh}×{gw} patch grid")
    ph, pw = H // gh, W // gw
    p = gh * gw
    counter = Counter()

    def keep_pixels(z):  # (m, p) → (m, 1, 1, H, W): patch (i, j) is the ph×pw block
        m = z.astype(bool).reshape(len(z), gh, 1, gw, 1)
        return np.broadcast_to(m, (len(z), gh, ph, gw, pw)).reshape(len(z), 1, 1, H, W)

    v = value_function(session, x, base, keep_pixels, target, batch, compose, counter)
    rng = np.random.RandomState(seed)
    # lime_image's sampling: uniform bits, the first sample the clip itself.
    data = rng.randint(0, 2, samples * p).reshape(samples, p)
    data[0, :] = 1
    y = v(data)
    ys = np.zeros((samples, target + 1))  # LimeBase reads column `target`
    ys[:, target] = y
    distances = pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    base_lime = lime.lime_base.LimeBase(
        lambda d: np.sqrt(np.exp(-(d ** 2) / LIME_KERNEL_WIDTH ** 2)), random_state=rng)
    intercept, local_exp, score, _ = base_lime.explain_instance_with_data(
        data, ys, distances, target, num_features=p, feature_selection="none")
    beta = np.zeros(p)
    for k, b in local_exp:
        beta[k] = b
    return {"values": beta, "intercept": float(intercept), "score": float(score),
            "model_clips": counter.clips}


def shap_volume(phi, F, gh, gw):
    """staa/baselines TemporalSHAP's Volume with one frame per segment."""
    return np.broadcast_to((np.maximum(phi, 0) / (gh * gw))[:, None, None], (F, gh, gw)).astype(np.float32)


def lime_volume(beta, F, gh, gw):
    """staa/baselines SpatialLIME's Volume: the positive coefficients in every frame."""
    return np.broadcast_to(np.maximum(beta, 0).reshape(1, gh, gw), (F, gh, gw)).astype(np.float32)


def brute_force_shapley(v, S):
    """φ_s = Σ_{C ⊆ N∖{s}} |C|!(S−|C|−1)!/S! (v(C ∪ {s}) − v(C)) over all 2^S coalitions
    (an independent check of the shap package's values)."""
    masks = np.array(list(itertools.product([0, 1], repeat=S)))[:, ::-1]  # row c: bits of c
    vals = v(masks)
    phi = np.zeros(S)
    for s in range(S):
        for c in range(2 ** S):
            if not c >> s & 1:
                k = bin(c).count("1")
                phi[s] += math.factorial(k) * math.factorial(S - k - 1) / math.factorial(S) * (
                    vals[c | 1 << s] - vals[c])
    return phi


# ----------------------------------------------------------------- output


def write_attributions(path, method, seed, n, indices, volumes, seconds, extra_meta):
    F, gh, gw = volumes[0].shape
    typ = pa.fixed_shape_tensor(pa.float32(), [F, gh, gw])
    flat = pa.array(np.stack(volumes).reshape(-1), pa.float32())
    storage = pa.FixedSizeListArray.from_arrays(flat, F * gh * gw)
    volume = pa.ExtensionArray.from_storage(typ, storage)
    meta = {"staa.method": method, "staa.seed": str(seed), "staa.n": str(n), **extra_meta}
    schema = pa.schema([("index", pa.int64()), ("volume", typ), ("seconds", pa.float64())], metadata=meta)
    batch = pa.record_batch([pa.array(indices, pa.int64()), volume, pa.array(seconds, pa.float64())],
                            schema=schema)
    with ipc.new_file(path, schema) as w:
        w.write_batch(batch)


def stats(xs):
    return {"mean": statistics.fmean(xs), "std": statistics.pstdev(xs) if len(xs) > 1 else 0.0,
            "median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def overhead(session, px, batch, model_path, repeat):
    """CPU seconds per clip of a batch through Session.predict_pixels (attention outputs and
    the "last" attribution computed) and through onnxruntime asking for the logits alone
    (both single-threaded, so CPU time is the cost, less disturbed by other load)."""
    import onnxruntime as ort

    x = np.ascontiguousarray(np.resize(px, (batch,) + px.shape[1:]))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    z = sess.run(["logits"], {name: x})[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    ref = e / e.sum(axis=1, keepdims=True)
    got = session.predict_pixels(x, batch_size=batch)
    diff = float(np.abs(got - ref).max())

    def best(fn):
        ts = []
        for _ in range(repeat):
            t0 = time.process_time()
            fn()
            ts.append(time.process_time() - t0)
        return statistics.median(ts) / batch

    return {"batch": batch, "onnxruntime": ort.__version__,
            "predict_pixels_s_per_clip": best(lambda: session.predict_pixels(x, batch_size=batch)),
            "ort_logits_only_s_per_clip": best(lambda: sess.run(["logits"], {name: x})),
            "max_abs_prob_diff": diff}


# ------------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "timesformer-synth.onnx"))
    ap.add_argument("--n", type=int, default=20, help="clips of the held-out split (staa eval --n)")
    ap.add_argument("--seed", type=int, default=4242, help="seed of the split (staa eval --seed)")
    ap.add_argument("--split", help="an existing `staa synth` file of that seed and n (default: generate it)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--methods", default="shap,lime")
    ap.add_argument("--batch", type=int, default=16, help="clips per model call (staa eval --batch)")
    ap.add_argument("--compose", type=int, default=64, help="perturbed clips built at a time (memory)")
    ap.add_argument("--lime-samples", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    ap.add_argument("--go-eval", action="store_true", help="also run staa eval --methods shap,lime")
    ap.add_argument("--overhead", action="store_true", help="time predict_pixels against logits-only ORT")
    ap.add_argument("--check", action="store_true", help="check shap's values by brute force on clip 0")
    a = ap.parse_args(argv)
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    if not methods or set(methods) - {"shap", "lime"}:
        ap.error(f"--methods {a.methods!r}: want shap and/or lime")
    if a.n < 1 or a.batch < 1 or a.compose < 1 or a.lime_samples < 2 or a.threads < 0:
        ap.error("--n, --batch, --compose must be >= 1, --lime-samples >= 2, --threads >= 0")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    session = staa.Session(a.model, intra_op_threads=a.threads, inter_op_threads=1)
    info = session.info
    F, (gh, gw), (H, W) = info.frames, info.grid, info.frame_size
    staa_exe = None
    if a.split:
        split = Path(a.split)
    else:
        staa_exe = staa_command()
        split = out / f"split-seed{a.seed}-n{a.n}.arrow"
        # staa eval generates its split at the model's frames and frame size (at least
        # 16 px); staa synth's other options keep the generator's defaults in both.
        cmd = [str(staa_exe), "synth", "--seed", str(a.seed), "--n", str(a.n), "--frames", str(F),
               "--height", str(max(H, 16)), "--width", str(max(W, 16)), "--out", str(split), "-q"]
        subprocess.run(cmd, check=True)
        print("split:", " ".join(["staa"] + cmd[1:]))
    clips, labels, meta = read_split(split)
    if int(meta["staa.synth.seed"]) != a.seed or len(clips) != a.n:
        raise SystemExit(f"{split}: seed {meta['staa.synth.seed']} and {len(clips)} clips, want seed {a.seed}, n {a.n}")
    px = preprocess(session, clips)
    probs = session.predict(clips)
    if not np.allclose(session.predict_pixels(px), probs, rtol=0, atol=1e-6):
        raise SystemExit("preprocess() differs from the library's preprocessing")
    targets = probs.argmax(axis=1)
    base = np.zeros_like(px[0])  # the "zeros" baseline

    print(f"model {Path(a.model).name}: {F} frames of {W}×{H}, grid {gh}×{gw}, classes {info.classes}; "
          f"{a.n} clips (seed {a.seed}), batch {a.batch}, ORT intra-op threads {a.threads}, "
          f"GOMAXPROCS {os.environ.get('GOMAXPROCS')}; shap {shap.__version__}, lime "
          f"{version('lime')}, scikit-learn {sklearn.__version__}")

    def run(method, i):
        if method == "shap":
            return explain_shap(session, px[i], base, targets[i], a.batch, a.compose)
        return explain_lime(session, px[i], base, targets[i], a.batch, a.compose, (gh, gw),
                            a.lime_samples, a.seed + i)

    summary = {"model": a.model, "seed": a.seed, "n": a.n, "batch": a.batch, "threads": a.threads,
               "lime_samples": a.lime_samples, "python": platform.python_version(),
               "shap": shap.__version__, "scikit-learn": sklearn.__version__, "methods": {}}
    files = {}
    for method in methods:
        run(method, 0)  # warm-up: ONNX Runtime, numba's JIT of shap's kernels
        rows, volumes, secs = [], [], []
        for i in range(a.n):
            t0, c0 = time.perf_counter(), time.process_time()
            r = run(method, i)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            secs.append(dt)
            vol = (shap_volume if method == "shap" else lime_volume)(r["values"], F, gh, gw)
            volumes.append(vol)
            row = {"index": i, "label": int(labels[i]), "target": int(targets[i]), "seconds": dt,
                   "cpu_seconds": cpu,
                   **{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}}
            if method == "shap":
                row["efficiency_gap"] = float(r["values"].sum() - (probs[i, targets[i]] - r["empty"]))
            rows.append(row)
        name = "python-" + method
        path = out / f"{name}.arrow"
        explainer = (f"shap {shap.__version__} ExactExplainer" if method == "shap"
                     else f"lime {version('lime')} LimeBase, {a.lime_samples} samples")
        write_attributions(path, name, a.seed, a.n, list(range(a.n)), volumes, secs,
                           {"staa.explainer": explainer, "staa.model": Path(a.model).name})
        files[name] = path
        summary["methods"][name] = {"time_per_clip_seconds": stats(secs), "clips": rows}
        s = stats(secs)
        calls = statistics.fmean(r["model_clips"] for r in rows)
        summary["methods"][name]["cpu_per_clip_seconds"] = c = stats([r["cpu_seconds"] for r in rows])
        print(f"  {name:12s} {s['mean']:.4f} ± {s['std']:.4f} s per clip (median {s['median']:.4f}, "
              f"CPU {c['mean']:.4f}), {calls:.0f} model clips per explanation → {path}")
        if method == "shap":
            gaps = [abs(r["efficiency_gap"]) for r in rows]
            print(f"  {'':12s} efficiency |Σφ − (v(N) − v(∅))| ≤ {max(gaps):.2e}")

    summary["labels"] = labels.tolist()
    summary["targets"] = targets.tolist()
    print(f"  accuracy of the model on these clips: {np.mean(labels == targets):.3f}")

    if a.check and "shap" in methods:
        t = int(targets[0])
        v = value_function(session, px[0], base, lambda z: z.astype(bool)[:, :, None, None, None],
                           t, a.batch, a.compose, Counter())
        ref = brute_force_shapley(v, F)
        got = np.array(summary["methods"]["python-shap"]["clips"][0]["values"])
        err = float(np.abs(got - ref).max())
        summary["check_shap_max_abs_diff"] = err
        print(f"  check: shap.ExactExplainer vs brute-force Shapley on clip 0: max |Δφ| = {err:.2e}")
        if err > 1e-6:
            raise SystemExit("shap's values differ from the brute-force Shapley values")

    if a.overhead:
        summary["overhead"] = o = overhead(session, px, a.batch, a.model, repeat=20)
        print(f"  model call, batch {o['batch']}, CPU time: Session.predict_pixels {o['predict_pixels_s_per_clip'] * 1e3:.3f} ms "
              f"per clip, onnxruntime {o['onnxruntime']} logits only {o['ort_logits_only_s_per_clip'] * 1e3:.3f} ms "
              f"per clip (probabilities agree within {o['max_abs_prob_diff']:.1e})")

    if a.go_eval:
        staa_exe = staa_exe or staa_command()
        go_out = out / "go-eval"
        cmd = [str(staa_exe), "eval", "--model", a.model, "--n", str(a.n), "--seed", str(a.seed),
               "--batch", str(a.batch), "--threads", str(a.threads), "--lime-samples", str(a.lime_samples),
               "--out", str(go_out), "-q"]
        h = subprocess.run([str(staa_exe), "eval", "-h"], capture_output=True, text=True)
        help_text = h.stdout + h.stderr
        if "-attributions" in help_text:  # every method, plus the rows of these files
            for name, path in files.items():
                cmd += ["--attributions", f"{name}={path}"]
        else:
            cmd[cmd.index("--out"):cmd.index("--out")] = ["--methods", "shap,lime"]
        env = dict(os.environ, GOMAXPROCS="1")
        print("go:", " ".join(["staa"] + cmd[1:]))
        subprocess.run(cmd, check=True, env=env)
        rep = json.loads((go_out / "eval.json").read_text())
        summary["go_eval"] = {}
        for m in rep["methods"]:
            t = m["time_per_clip_seconds"]
            go_targets = [c["target"] for c in m["clips"]]
            summary["go_eval"][m["method"]] = {"time_per_clip_seconds": t,
                                               "same_targets": go_targets == targets.tolist()}
            mm = m["metrics"]
            print(f"  {m['method']:18s} {t['mean']:8.4f} ± {t['std']:.4f} s per clip, faithfulness "
                  f"{mm['faithfulness']['mean']:.3f}, monotonicity {mm['monotonicity']['mean']:.3f}, "
                  f"pointing game {mm['pointing_game']['mean']:.3f}; targets "
                  f"{'equal' if go_targets == targets.tolist() else 'DIFFER'} to the Python run's")
        for py, go in (("python-shap", "shap"), ("python-lime", "lime")):
            if py in summary["methods"] and go in summary["go_eval"]:
                r = summary["methods"][py]["time_per_clip_seconds"]["mean"] / \
                    summary["go_eval"][go]["time_per_clip_seconds"]["mean"]
                print(f"  {py} / go {go}: {r:.2f}× the time per clip")
        print(f"  table: {go_out / 'eval.md'}")
    if staa_exe is not None:
        staa_exe.unlink(missing_ok=True)

    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {', '.join(str(p) for p in files.values())}, {out / 'summary.json'}")
    session.close()


if __name__ == "__main__":
    main()
