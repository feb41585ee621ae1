"""Checks of the reference itself, so that agreeing with it means something."""

import numpy as np
import pytest

import reference
from data import CASES, make, softmax_attention


def divided_by_loops(spatial, temporal, c, T, N, method, alpha):
    """The divided propagation exactly as docs/conventions.md words it, per frame and per patch."""
    L = spatial.shape[0]
    v = reference.start_vector(c + T * N, c)
    for l in reversed(range(L)):
        cls, frames = (v[0] if c else 0.0), v[c:].reshape(T, N).copy()
        new_cls = 0.0
        for t in range(T):
            u = np.concatenate([[cls / T], frames[t]]) if c else frames[t]
            u = u @ reference.layer_operator(reference.fuse_heads(spatial[l, t]), method, alpha)
            if c:
                new_cls += u[0]
            frames[t] = u[c:]
        if temporal is not None:
            for n in range(N):
                frames[:, n] = frames[:, n] @ reference.layer_operator(
                    reference.fuse_heads(temporal[l, n]), method, alpha)
        v = np.concatenate([[new_cls], frames.ravel()]) if c else frames.ravel()
    return v[c:]


@pytest.mark.parametrize("case", [c for c in CASES if c.layout == "divided"], ids=lambda c: c.id)
@pytest.mark.parametrize("method", ["rollout", "grad"])
def test_divided_matrices_equal_the_worded_loops(case, method):
    arrays = {k: v[0] for k, v in make(case).items()}
    temporal = arrays.get("temporal")
    want = divided_by_loops(arrays["spatial"], temporal, int(case.cls), case.groups,
                            case.patches, method, 0.5)
    # Gradients of ones make grad's fusion relu(1 ⊙ A) = A, the mean fusion of the loops.
    grads = {k + "_grad": np.ones_like(v) for k, v in arrays.items()} if method == "grad" else {}
    V = reference.attribute_clip(**case.geometry(), method=method, **arrays, **grads)
    np.testing.assert_allclose(V[::case.tubelet].ravel(), want, rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rollout_keeps_the_mass(case):
    """Rollout operators are row-stochastic, so the state keeps summing to 1:
    all of it on the patches without CLS, part of it with."""
    arrays = {k: v[0] for k, v in make(case).items()}
    V = reference.attribute_clip(**case.geometry(), method="rollout", **arrays)
    assert V.shape == (case.frames,) + case.grid
    total = V[::case.tubelet].sum()
    if case.cls:
        assert 0 < total < 1
    else:
        assert total == pytest.approx(1.0)


def test_last_is_the_cls_row():
    case = CASES[4]
    joint = make(case)["joint"][0]
    V = reference.attribute_clip(**case.geometry(), method="last", joint=joint)
    np.testing.assert_allclose(V.ravel(), joint[-1].astype(np.float64).mean(axis=0)[0, 1:])


def test_uniform_attention_gives_a_uniform_volume():
    case = CASES[5]  # joint, no CLS
    S = case.groups * case.patches
    joint = np.full((2, 3, S, S), 1.0 / S, np.float32)
    for method in ("last", "rollout"):
        V = reference.attribute_clip(**case.geometry(), method=method, joint=joint)
        np.testing.assert_allclose(V, 1.0 / S)


def test_blur_keeps_constants_and_mass_inside():
    np.testing.assert_allclose(reference.gaussian_blur(np.full((3, 4), 2.0), 1.0), 2.0)
    x = np.zeros((9, 9))
    x[4, 4] = 1
    y = reference.gaussian_blur(x, 1.0)
    assert abs(y.sum() - 1) < 1e-12 and y[4, 4] == y.max()
    np.testing.assert_allclose(y, y.T)


def test_otsu_splits_two_clusters():
    # (reference.otsu was also checked equal to skimage's threshold_otsu on 2000 random inputs.)
    values = np.concatenate([np.full(10, 0.1), np.full(10, 0.9)]) + np.linspace(0, 0.01, 20)
    np.testing.assert_array_equal(values < reference.otsu(values), np.arange(20) < 10)
    assert reference.otsu(np.full(5, 0.3)) == 0.3


def test_postprocess_optimized_profile():
    rng = np.random.default_rng(0)
    V = rng.random((4, 3, 4))
    S, P = reference.postprocess_clip(V, "optimized")
    assert S.max() == pytest.approx(1.0) and P.sum() == pytest.approx(1.0)
    S, P = reference.postprocess_clip(np.zeros((4, 3, 4)), "optimized")
    np.testing.assert_allclose(P, 0.25)


def test_softmax_rows():
    a = softmax_attention(np.random.default_rng(0), (2, 5, 5))
    np.testing.assert_allclose(a.sum(-1), 1, rtol=1e-6)
