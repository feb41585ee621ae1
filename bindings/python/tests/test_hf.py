"""staa.hf: capturing HuggingFace TimeSformer, VideoMAE and ViViT attention, and explaining clips.

Models are built from tiny random configs (no downloads). What is checked:

- the captured attention is bit for bit what the model returns in ``outputs.attentions``
  (spatial / joint), and the temporal attention (which TimeSformer never returns) equals a plain
  torch recomputation from the temporal attention module's inputs;
- the stacked, batch-first form puts every clip, layer, frame and patch where the engine expects it
  (checked from first principles: per-patch recomputation, TimeSformer joint's token order);
- ``explain`` with ``last``/``rollout`` matches the numpy reference (tests/reference.py) run on the
  captured attention, and ``grad`` matches a plain torch computation (autograd of the target logit
  with respect to the attention probabilities, then Chefer's I + mean_h relu(G ⊙ A) propagation,
  following docs/conventions.md for the divided layout);
- SDPA models are switched to eager for the block and back (or refused with force_eager=False);
- every hook is removed on exit, also when the block raises, and the model's state is restored.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import reference  # noqa: E402
import staa  # noqa: E402
from staa import hf  # noqa: E402
from staa._errors import StaaError  # noqa: E402

pytestmark = pytest.mark.torch

BATCH = 2


# --------------------------------------------------------------------------- models


def _timesformer(attention_type="divided_space_time", frames=4):
    cfg = transformers.TimesformerConfig(
        image_size=32, patch_size=8, num_channels=3, num_frames=frames, hidden_size=32,
        num_hidden_layers=3, num_attention_heads=4, intermediate_size=64, num_labels=5,
        attention_type=attention_type)
    return transformers.TimesformerForVideoClassification(cfg)


def _videomae(attn="eager"):
    # non-square: 32x24 pixels -> a 4x3 grid; 4 frames, tubelet 2 -> T = 2
    cfg = transformers.VideoMAEConfig(
        image_size=(32, 24), patch_size=8, num_channels=3, num_frames=4, tubelet_size=2,
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        num_labels=5, attn_implementation=attn)
    return transformers.VideoMAEForVideoClassification(cfg)


def _vivit(attn="eager"):
    # non-square: 24x32 pixels -> a 3x4 grid; 8 frames, tubelet 2 -> T = 4
    cfg = transformers.VivitConfig(
        image_size=(24, 32), tubelet_size=[2, 8, 8], num_channels=3, num_frames=8,
        hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64,
        num_labels=5, attn_implementation=attn)
    return transformers.VivitForVideoClassification(cfg)


# name -> (builder, pixel shape (F, C, H, W) of one clip, key of the HF-returned attention)
MODELS = {
    "timesformer": (_timesformer, (4, 3, 32, 32), "spatial"),
    # TimeSformer interpolates its position embeddings: a 24x32 input gives a 3x4 grid
    "timesformer-nonsquare": (_timesformer, (4, 3, 24, 32), "spatial"),
    "videomae": (_videomae, (4, 3, 32, 24), "joint"),
    "vivit": (_vivit, (8, 3, 24, 32), "joint"),
    "timesformer-joint": (lambda: _timesformer("joint_space_time"), (4, 3, 32, 32), "joint"),
}
THREE = ["timesformer", "videomae", "vivit"]


def build(name, seed=0):
    builder, shape, _ = MODELS[name]
    torch.manual_seed(seed)
    model = builder().eval()
    x = torch.randn((BATCH,) + shape)
    return model, x


def forward_attentions(model, x):
    with torch.no_grad():
        return model(x, output_attentions=True).attentions


def count_hooks(model):
    n = 0
    for m in model.modules():
        n += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        n += len(getattr(m, "_forward_hooks_with_kwargs", {}))
    return n


def close(actual, expected, rtol=1e-4):
    actual = np.asarray(actual.detach().cpu() if torch.is_tensor(actual) else actual, np.float64)
    expected = np.asarray(expected.detach().cpu() if torch.is_tensor(expected) else expected,
                          np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-6 * scale)


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("name,expected", [
    ("timesformer", dict(layout="divided", frames=4, grid=(4, 4), cls=True, tubelet=1)),
    ("timesformer-nonsquare", dict(layout="divided", frames=4, grid=(3, 4), cls=True, tubelet=1)),
    ("videomae", dict(layout="joint", frames=4, grid=(4, 3), cls=False, tubelet=2)),
    ("vivit", dict(layout="joint", frames=8, grid=(3, 4), cls=True, tubelet=2)),
    ("timesformer-joint", dict(layout="joint", frames=4, grid=(4, 4), cls=True, tubelet=1)),
])
def test_geometry_from_config_and_input(name, expected):
    model, x = build(name)
    with hf.capture(model) as cap:
        with torch.no_grad():
            model(x)
    assert cap.geometry == expected
    if name != "timesformer-nonsquare":  # the config alone gives the same when sizes match
        assert hf.geometry(model) == expected


# --------------------------------------------------------------------------- capture


@pytest.mark.parametrize("name", list(MODELS))
def test_capture_equals_outputs_attentions(name):
    model, x = build(name)
    key = MODELS[name][2]
    with hf.capture(model) as cap:
        with torch.no_grad():
            out = model(x, output_attentions=True)
    again = forward_attentions(model, x)  # an independent forward pass, outside the block
    got = cap.layers[key]
    assert len(got) == len(out.attentions) == model.config.num_hidden_layers
    for l, (a, b, c) in enumerate(zip(got, out.attentions, again)):
        assert torch.equal(a, b), f"layer {l}: not the returned tensor"
        assert torch.equal(a, c), f"layer {l}: differs from an independent forward pass"

    # the stacked, batch-first form
    stacked = cap.attentions()[key]
    assert stacked.is_contiguous() and stacked.dtype == torch.float32
    geo = cap.geometry
    T = geo["frames"] // geo["tubelet"]
    for l, a in enumerate(out.attentions):
        for b in range(BATCH):
            if key == "spatial":  # (B*T, H, 1+N, 1+N): row b*T + t
                for t in range(T):
                    assert torch.equal(stacked[b, l, t], a[b * T + t])
            elif name == "timesformer-joint":  # patch-major tokens, checked further below
                assert stacked[b, l].shape == a[b].shape
            else:
                assert torch.equal(stacked[b, l], a[b])


def test_capture_without_output_attentions():
    """The hooks do not need output_attentions=True, and the model's output is unchanged."""
    model, x = build("vivit")
    with torch.no_grad():
        plain = model(x).logits
    with hf.capture(model) as cap:
        with torch.no_grad():
            logits = model(x).logits
    assert torch.equal(plain, logits)
    assert torch.equal(cap.logits, logits)
    expected = forward_attentions(model, x)
    for a, b in zip(cap.layers["joint"], expected):
        assert torch.equal(a, b)


def _temporal_inputs(model):
    """Forward pre-hooks recording the input of every TimeSformer temporal attention module."""
    inputs, handles = {}, []
    for l, layer in enumerate(model.timesformer.encoder.layer):
        def pre(module, args, l=l):
            inputs[l] = args[0].detach()
        handles.append(layer.temporal_attention.attention.register_forward_pre_hook(pre))
    return inputs, handles


def _probs(module, hidden):
    """Softmax(q kᵀ · scale) of a TimesformerSelfAttention module, written out in torch."""
    b, n, d = hidden.shape
    heads = module.num_heads
    qkv = module.qkv(hidden).reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    q, k = qkv[0], qkv[1]
    return torch.softmax((q @ k.transpose(-2, -1)) * module.scale, dim=-1)


@pytest.mark.parametrize("name", ["timesformer", "timesformer-nonsquare"])
def test_temporal_attention_equals_recomputation(name):
    model, x = build(name)
    inputs, handles = _temporal_inputs(model)
    try:
        with hf.capture(model) as cap, torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    geo = cap.geometry
    T = geo["frames"]
    h, w = geo["grid"]
    N = h * w
    with torch.no_grad():
        for l, layer in enumerate(model.timesformer.encoder.layer):
            module = layer.temporal_attention.attention
            want = _probs(module, inputs[l])
            got = cap.layers["temporal"][l]
            assert got.shape == (BATCH * N, model.config.num_attention_heads, T, T)
            torch.testing.assert_close(got, want, rtol=0, atol=1e-7)


def test_temporal_patch_order_from_first_principles():
    """stacked temporal[b, l, n] is patch n = i*w + j of clip b: recompute it from the layer's
    input hidden states (CLS, then patch-major tokens 1 + n*T + t) one patch at a time."""
    model, x = build("timesformer-nonsquare")
    hidden = {}
    handles = [layer.register_forward_pre_hook(lambda m, a, l=l: hidden.__setitem__(l, a[0].detach()))
               for l, layer in enumerate(model.timesformer.encoder.layer)]
    try:
        with hf.capture(model) as cap, torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    stacked = cap.attentions()["temporal"]
    T = cap.geometry["frames"]
    h, w = cap.geometry["grid"]
    with torch.no_grad():
        for l, layer in enumerate(model.timesformer.encoder.layer):
            for b in range(BATCH):
                for i in range(h):
                    for j in range(w):
                        n = i * w + j
                        tokens = hidden[l][b:b + 1, 1 + n * T:1 + (n + 1) * T]  # (1, T, D)
                        want = _probs(layer.temporal_attention.attention,
                                      layer.temporal_layernorm(tokens))[0]
                        torch.testing.assert_close(stacked[b, l, n], want, rtol=0, atol=1e-6)


def test_timesformer_joint_token_order():
    """TimeSformer joint space-time orders tokens patch-major (1 + n*T + t); the stacked form is
    t-major (1 + t*N + n), as the engine expects."""
    model, x = build("timesformer-joint")
    with hf.capture(model) as cap, torch.no_grad():
        out = model(x, output_attentions=True)
    stacked = cap.attentions()["joint"]
    T, (h, w) = cap.geometry["frames"], cap.geometry["grid"]
    N = h * w

    def hf_index(k):  # staa token k -> HF token
        if k == 0:
            return 0
        t, n = divmod(k - 1, N)
        return 1 + n * T + t

    perm = torch.tensor([hf_index(k) for k in range(1 + T * N)])
    for l, a in enumerate(out.attentions):
        for b in range(BATCH):
            assert torch.equal(stacked[b, l], a[b][:, perm][:, :, perm])


# --------------------------------------------------------------------------- explain: last, rollout


def _reference(cap, method, post, grads=None):
    arrays = {k: v.numpy() for k, v in cap.attentions().items()}
    if grads:
        arrays.update({k + "_grad": v.numpy() for k, v in grads.items()})
    return reference.attribute(postprocess=post, method=method, **cap.geometry, **arrays)


@pytest.mark.parametrize("post", ["raw", "optimized"])
@pytest.mark.parametrize("method", ["last", "rollout"])
@pytest.mark.parametrize("name", THREE + ["timesformer-nonsquare", "timesformer-joint"])
def test_explain_matches_reference(name, method, post):
    model, x = build(name)
    a = hf.explain(model, x, method=method, postprocess=post)
    with hf.capture(model) as cap, torch.no_grad():
        model(x)
    spatial, temporal, _ = _reference(cap, method, post)
    geo = cap.geometry
    assert tuple(a.spatial.shape) == (BATCH, geo["frames"]) + tuple(geo["grid"])
    assert tuple(a.temporal.shape) == (BATCH, geo["frames"])
    assert torch.is_tensor(a.spatial)  # torch in, torch out
    close(a.spatial, spatial)
    close(a.temporal, temporal)
    # the model's outputs ride along
    with torch.no_grad():
        logits = model(x).logits
    assert torch.equal(a.logits, logits)
    assert torch.equal(a.predictions, logits.argmax(-1))
    assert torch.equal(a.target, logits.argmax(-1))


def test_capture_attribute_passes_options():
    model, x = build("vivit")
    with hf.capture(model) as cap, torch.no_grad():
        model(x)
    a = cap.attribute(method="rollout", postprocess="raw", head_fusion="max", residual=0.3)
    spatial, temporal, _ = reference.attribute(
        postprocess="raw", method="rollout", head_fusion="max", residual=0.3, **cap.geometry,
        **{k: v.numpy() for k, v in cap.attentions().items()})
    close(a.spatial, spatial)
    close(a.temporal, temporal)


# --------------------------------------------------------------------------- explain: grad


def _attention_with_graph(model, x):
    """A forward pass with gradients; the attention probabilities as tensors of the graph:
    {"spatial"|"temporal"|"joint": [per layer]}, in HF's own form, and the logits. The spatial /
    joint attention is what the model returns; TimeSformer's temporal attention comes from this
    test's own hooks on the modules' attention dropout (where the probabilities pass)."""
    temporal, handles = [], []
    if model.config.model_type == "timesformer" and model.config.attention_type == "divided_space_time":
        for layer in model.timesformer.encoder.layer:
            handles.append(layer.temporal_attention.attention.attn_drop.register_forward_hook(
                lambda m, a, out: temporal.append(out)))
    try:
        with torch.enable_grad():
            out = model(x, output_attentions=True)
    finally:
        for h in handles:
            h.remove()
    if temporal:
        return {"spatial": list(out.attentions), "temporal": temporal}, out.logits
    return {"joint": list(out.attentions)}, out.logits


def _chefer_torch(model, x, target):
    """Chefer et al. (2021) written out in torch, from the model's own tensors: G = ∂(Σ_b
    logit[b, target[b]])/∂A, Ā = mean_h relu(G ⊙ A), M = I + Ā, v propagated from the last layer
    (docs/conventions.md). Returns V (B, F, h, w) before post-processing."""
    attn, logits = _attention_with_graph(model, x)
    names = list(attn)
    flat = [a for k in names for a in attn[k]]
    score = logits.gather(1, target.view(-1, 1)).sum()
    grads = torch.autograd.grad(score, flat)
    L = len(attn[names[0]])
    G = {k: list(grads[i * L:(i + 1) * L]) for i, k in enumerate(names)}
    A = {k: [a.detach() for a in attn[k]] for k in names}
    geo = hf.geometry(model, x.shape)
    h, w = geo["grid"]
    N, tau = h * w, geo["tubelet"]
    T = geo["frames"] // tau
    c = int(geo["cls"])

    def fuse(a, g):  # (..., H, n, n) -> (..., n, n), plus the identity
        m = torch.relu(g * a).mean(dim=-3)
        return m + torch.eye(m.shape[-1])

    out = []
    for b in range(x.shape[0]):
        if "joint" in A:
            S = A["joint"][0].shape[-1]
            v = torch.zeros(S)
            if c:
                v[0] = 1
            else:
                v[:] = 1.0 / S
            for l in reversed(range(L)):
                v = v @ fuse(A["joint"][l][b], G["joint"][l][b])
            if model.config.model_type == "timesformer":  # HF's patch-major tokens
                V = v[1:].reshape(N, T).t()
            else:
                V = v[c:].reshape(T, N)
        else:
            v_cls = torch.tensor(1.0)
            v = torch.zeros(T, N)
            for l in reversed(range(L)):
                # spatial: the frames of clip b are rows b*T .. b*T+T-1
                Ms = fuse(A["spatial"][l][b * T:(b + 1) * T], G["spatial"][l][b * T:(b + 1) * T])
                us = []
                for t in range(T):
                    u = torch.cat([(v_cls / T).reshape(1), v[t]]) @ Ms[t]
                    us.append(u)
                v_cls = sum(u[0] for u in us)
                v = torch.stack([u[1:] for u in us])
                # temporal: the patches of clip b are rows b*N .. b*N+N-1
                Mt = fuse(A["temporal"][l][b * N:(b + 1) * N], G["temporal"][l][b * N:(b + 1) * N])
                v = torch.stack([v[:, n] @ Mt[n] for n in range(N)], dim=1)
            V = v
        out.append(V.reshape(T, h, w).repeat_interleave(tau, dim=0))
    return torch.stack(out), logits.detach()


@pytest.mark.parametrize("target", [None, [1, 3]], ids=["argmax", "given"])
@pytest.mark.parametrize("name", THREE + ["timesformer-nonsquare", "timesformer-joint"])
def test_grad_matches_torch(name, target):
    model, x = build(name)
    a = hf.explain(model, x, target=target, method="grad", postprocess="raw")
    with torch.no_grad():
        logits = model(x).logits
    tgt = logits.argmax(-1) if target is None else torch.tensor(target)
    V, ref_logits = _chefer_torch(model, x, tgt)
    assert torch.equal(a.target, tgt)
    close(a.logits, ref_logits)
    close(a.spatial, V)
    close(a.temporal, V.sum(dim=(2, 3)) / V.sum(dim=(1, 2, 3))[:, None])
    # the model's parameters were not given gradients
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("name", THREE)
def test_grad_matches_reference(name):
    """The engine's grad (through capture + backward) against the numpy reference on the same
    captured attention and gradients, with the optimized post-processing."""
    model, x = build(name)
    with hf.capture(model, grad=True) as cap:
        model(x)
        cap.backward(target=2)
    grads = cap.gradients()
    a = cap.attribute(method="grad", postprocess="optimized")
    spatial, temporal, _ = _reference(cap, "grad", "optimized", grads)
    close(a.spatial, spatial)
    close(a.temporal, temporal)
    assert a.target.tolist() == [2, 2]


@pytest.mark.parametrize("name", THREE)
def test_grad_tensor_hooks_with_user_backward(name):
    """capture(grad=True) keeps the gradients of a backward pass the user runs."""
    model, x = build(name)
    tgt = torch.tensor([4, 0])
    with hf.capture(model, grad=True) as cap:
        logits = model(x).logits
        (logits[0, 4] + logits[1, 0]).backward()
    attn, ref_logits = _attention_with_graph(model, x)
    names = list(attn)
    flat = [t for k in names for t in attn[k]]
    want = torch.autograd.grad(ref_logits.gather(1, tgt.view(-1, 1)).sum(), flat)
    L = len(attn[names[0]])
    for i, k in enumerate(names):
        for l in range(L):
            torch.testing.assert_close(cap.grads[k][l], want[i * L + l], rtol=1e-5, atol=1e-8)
    V, _ = _chefer_torch(model, x, tgt)
    a = cap.attribute(method="grad", postprocess="raw")
    close(a.spatial, V)
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("name", ["timesformer", "vivit"])
def test_grad_batch_is_per_clip(name):
    """The sum of each clip's target logit gives each clip its own gradient: a batch of two
    explains like the two clips one at a time."""
    model, x = build(name)
    both = hf.explain(model, x, target=[1, 3], method="grad", postprocess="raw")
    one = hf.explain(model, x[:1], target=1, method="grad", postprocess="raw")
    two = hf.explain(model, x[1:], target=3, method="grad", postprocess="raw")
    close(both.spatial[:1], one.spatial, rtol=1e-4)
    close(both.spatial[1:], two.spatial, rtol=1e-4)


def test_grad_with_frozen_parameters():
    """explain(method="grad") works when no parameter requires grad (the input does)."""
    model, x = build("videomae")
    want = hf.explain(model, x, method="grad", postprocess="raw")
    for p in model.parameters():
        p.requires_grad_(False)
    got = hf.explain(model, x, method="grad", postprocess="raw")
    close(got.spatial, want.spatial)
    assert not x.requires_grad


def test_grad_errors():
    model, x = build("timesformer")
    with hf.capture(model, grad=True) as cap, torch.no_grad():
        model(x)
    with pytest.raises(StaaError, match="without autograd"):
        cap.attribute(method="grad")
    with pytest.raises(StaaError, match="no autograd graph"):
        cap.backward()
    with hf.capture(model, grad=True) as cap:
        model(x)
    with pytest.raises(StaaError, match="no backward pass"):
        cap.attribute(method="grad")
    with pytest.raises(StaaError, match="out of range"):
        hf.explain(model, x, target=7, method="grad")
    with pytest.raises(StaaError, match="2 clips"):
        hf.explain(model, x, target=[1, 2, 3], method="grad")
    with pytest.raises(StaaError, match="method"):
        hf.explain(model, x, method="gradcam")


# --------------------------------------------------------------------------- SDPA


@pytest.mark.parametrize("builder", [_videomae, _vivit], ids=["videomae", "vivit"])
def test_sdpa_is_switched_to_eager_and_back(builder):
    torch.manual_seed(0)
    sdpa = builder(attn="sdpa").eval()
    assert sdpa.config._attn_implementation == "sdpa"
    eager = builder(attn="eager").eval()
    eager.load_state_dict(sdpa.state_dict())
    shape = (BATCH,) + next(v[1] for v in MODELS.values() if v[0] is builder)
    x = torch.randn(shape)

    # SDPA alone returns no attention probabilities
    with torch.no_grad():
        assert not sdpa(x, output_attentions=True).attentions

    with hf.capture(sdpa) as cap:
        assert sdpa.config._attn_implementation == "eager"
        with torch.no_grad():
            sdpa(x)
    assert sdpa.config._attn_implementation == "sdpa"
    for a, b in zip(cap.layers["joint"], forward_attentions(eager, x)):
        assert torch.equal(a, b)

    for method in ("rollout", "grad"):
        got = hf.explain(sdpa, x, method=method, postprocess="raw")
        want = hf.explain(eager, x, method=method, postprocess="raw")
        assert sdpa.config._attn_implementation == "sdpa"
        close(got.spatial, want.spatial)


def test_sdpa_refused_without_force_eager():
    torch.manual_seed(0)
    model = _vivit(attn="sdpa").eval()
    before = count_hooks(model)
    with pytest.raises(hf.AttentionImplementationError, match="sdpa.*eager"):
        with hf.capture(model, force_eager=False):
            pass  # pragma: no cover
    with pytest.raises(hf.AttentionImplementationError):
        hf.explain(model, torch.randn(1, 8, 3, 24, 32), force_eager=False)
    assert count_hooks(model) == before
    assert model.config._attn_implementation == "sdpa"


# --------------------------------------------------------------------------- hooks and state


@pytest.mark.parametrize("name", THREE)
def test_hooks_removed_on_exit(name):
    model, x = build(name)
    forward_attentions(model, x)  # transformers installs its own (permanent) hooks on first use
    before = count_hooks(model)
    with hf.capture(model, grad=True) as cap:
        assert count_hooks(model) > before
        model(x)
        tensors = [t for ts in cap.layers.values() for t in ts]
        assert all(len(t._backward_hooks or {}) == 1 for t in tensors)
    assert count_hooks(model) == before
    assert all(not t._backward_hooks for t in tensors)  # the gradient hooks too


@pytest.mark.parametrize("name", THREE)
def test_hooks_removed_after_exception(name):
    model, x = build(name)
    forward_attentions(model, x)
    before = count_hooks(model)
    with pytest.raises(RuntimeError, match="boom"):
        with hf.capture(model, grad=True):
            model(x)
            raise RuntimeError("boom")
    assert count_hooks(model) == before
    # an exception inside the model's forward (a wrong input shape)
    with pytest.raises((RuntimeError, ValueError)):
        with hf.capture(model):
            model(x[:, :, :1])
    assert count_hooks(model) == before


def test_hooks_removed_and_sdpa_restored_after_exception():
    torch.manual_seed(0)
    model = _videomae(attn="sdpa").eval()
    before = count_hooks(model)
    with pytest.raises(ValueError):
        with hf.capture(model):
            model(torch.randn(1, 4, 3, 16, 16))  # wrong size: VideoMAE raises
    assert count_hooks(model) == before
    assert model.config._attn_implementation == "sdpa"


@pytest.mark.parametrize("method", ["rollout", "grad"])
def test_explain_restores_training_mode(method):
    model, x = build("vivit")
    model.train()
    hf.explain(model, x, method=method)
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    hf.explain(model, x, method=method)
    assert not any(m.training for m in model.modules())


def test_last_forward_wins():
    model, x = build("timesformer")
    with hf.capture(model) as cap, torch.no_grad():
        model(x)
        model(x[:1])
    assert cap.layers["spatial"][0].shape[0] == 1 * 4
    assert cap.attentions()["spatial"].shape[0] == 1


def test_capture_errors():
    model, _ = build("timesformer")
    cap = hf.capture(model)
    with pytest.raises(StaaError, match="no attention captured"):
        cap.attribute()
    with pytest.raises(StaaError, match="not supported"):
        hf.capture(torch.nn.Linear(2, 2))
    cfg = transformers.TimesformerConfig(image_size=32, patch_size=8, num_frames=4, hidden_size=32,
                                         num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=32, attention_type="space_only")
    with pytest.raises(StaaError, match="space_only"):
        hf.capture(transformers.TimesformerForVideoClassification(cfg))


def test_bare_model():
    """The bare models (no classification head) can be captured too."""
    torch.manual_seed(0)
    model = _vivit().eval()
    x = torch.randn(BATCH, 8, 3, 24, 32)
    with hf.capture(model.vivit) as cap, torch.no_grad():
        model.vivit(x)
    assert cap.logits is None
    a = cap.attribute(method="rollout", postprocess="raw")
    b = hf.explain(model, x, method="rollout", postprocess="raw")
    close(a.spatial, b.spatial)


def test_top_level_names():
    """staa.capture and staa.explain are the ones of staa.hf (docs: DESIGN.md section 4)."""
    if not hasattr(staa, "capture"):
        pytest.skip("staa does not re-export capture/explain (yet)")
    assert staa.capture is hf.capture and staa.explain is hf.explain


def test_videomae_without_mean_pooling_warns():
    cfg = transformers.VideoMAEConfig(image_size=16, patch_size=8, num_frames=2, tubelet_size=2,
                                      hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=32, use_mean_pooling=False)
    with pytest.warns(UserWarning, match="use_mean_pooling"):
        hf.capture(transformers.VideoMAEForVideoClassification(cfg))
