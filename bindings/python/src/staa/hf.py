"""HuggingFace integration: capture the attention of a video transformer, explain a clip.

Supported models (``transformers`` >= 5), any of the task heads or the bare model:

=================================  ==========  =====  ===================  ==========
model (``config.model_type``)      layout      CLS    tubelet              attention
=================================  ==========  =====  ===================  ==========
TimeSformer, divided space-time    divided     yes    1                    always eager
TimeSformer, joint space-time      joint       yes    1                    always eager
VideoMAE                           joint       no     ``tubelet_size``     eager needed
ViViT                              joint       yes    ``tubelet_size[0]``  eager needed
=================================  ==========  =====  ===================  ==========

Two entry points::

    with staa.hf.capture(model) as cap:          # hooks in, hooks out (even on errors)
        logits = model(pixel_values).logits
    a = cap.attribute(method="rollout")          # staa.attribute on what was captured

    a = staa.hf.explain(model, pixel_values, method="grad")   # forward (+ backward), attribute

How the attention is obtained (no ``output_attentions=True`` needed):

- TimeSformer computes its attention probabilities in ``TimesformerSelfAttention`` and passes
  them through its ``attn_drop`` (``nn.Dropout``) module; a forward hook on that module sees
  the tensor that is multiplied with the values. That is the same tensor the model returns in
  ``outputs.attentions`` (spatial, ``(B*T, H, 1+N, 1+N)``), and it is the only way to get the
  temporal attention ``(B*N, H, T, T)``, which the model never returns. Row ``b*T + t`` of the
  spatial tensor is frame t of clip b; row ``b*N + n`` of the temporal one is patch n.
  TimeSformer's joint space-time variant orders its tokens patch-major (token ``1 + n*T + t``);
  the captured matrices are permuted once to the t-major order of the engine.
- VideoMAE and ViViT return ``(context, probabilities)`` from their attention module
  (``VideoMAESelfAttention``, ``VivitAttention``); a forward hook reads the second element. Only
  the ``eager`` attention implementation computes probabilities: SDPA, flash and flex attention
  return ``None``. ``capture`` therefore switches a model that is not eager to eager for the
  duration of the ``with`` block (``model.set_attn_implementation``) and switches it back on
  exit; with ``force_eager=False`` it raises :class:`AttentionImplementationError` instead.

Gradients (method ``grad``, Chefer et al. 2021): with ``grad=True`` a tensor hook on every
captured attention tensor keeps its gradient when a backward pass goes through it (the last
backward wins). ``cap.backward(target)`` does that backward for you: the sum over clips of each
clip's target logit, differentiated with ``torch.autograd.grad`` with respect to the attention
tensors only, so the parameters' ``.grad`` are left untouched. The clips of a batch do not
interact in these models, so the sum gives every clip its own gradient.

Geometry (layout, frames, grid, cls, tubelet) comes from ``model.config`` and the shape of the
``pixel_values`` of the last forward pass (read by a hook on the patch embedding), so inputs
whose size differs from ``config.image_size`` (ViViT's ``interpolate_pos_encoding``) work.

Every forward pass inside the block replaces what was captured before. The hooks are removed
when the block exits; the captured tensors stay, so ``cap.attribute`` can be called after it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

from ._errors import StaaRuntimeError, StaaUnsupportedError, StaaValueError

__all__ = ["capture", "explain", "Capture", "geometry", "AttentionImplementationError",
           "SUPPORTED_MODEL_TYPES"]

log = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES = ("timesformer", "videomae", "vivit")
_EAGER = "eager"
_METHODS = ("last", "rollout", "grad")


class AttentionImplementationError(StaaValueError):
    """The model's attention implementation (SDPA, flash, flex) returns no probabilities."""


def _torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise StaaUnsupportedError("staa.hf needs PyTorch (pip install torch)") from e
    return torch


# --------------------------------------------------------------------------- model inspection


def _config(model):
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise StaaUnsupportedError(
            f"staa.hf: {type(model).__name__} (model_type {model_type!r}) is not supported; "
            f"supported model types: {', '.join(SUPPORTED_MODEL_TYPES)} "
            "(TimesformerForVideoClassification, VideoMAEForVideoClassification, "
            "VivitForVideoClassification or their bare models). For other models pass the "
            "attention to staa.attribute yourself.")
    return config, model_type


def _pair(x):
    if isinstance(x, (list, tuple)):
        if len(x) != 2:
            raise StaaValueError(f"staa.hf: expected an int or a pair, got {x!r}")
        return int(x[0]), int(x[1])
    return int(x), int(x)


def _patch_and_tubelet(config, model_type):
    """(patch height, patch width, tubelet) of the model."""
    if model_type == "vivit":
        ts = list(config.tubelet_size)
        if len(ts) != 3:
            raise StaaValueError(f"staa.hf: ViViT tubelet_size must be [t, h, w], got {ts!r}")
        return int(ts[1]), int(ts[2]), int(ts[0])
    ph, pw = _pair(config.patch_size)
    tubelet = int(config.tubelet_size) if model_type == "videomae" else 1
    return ph, pw, tubelet


def _layout(config, model_type):
    if model_type != "timesformer":
        return "joint"
    kind = getattr(config, "attention_type", "divided_space_time")
    if kind == "divided_space_time":
        return "divided"
    if kind == "joint_space_time":
        return "joint"
    raise StaaUnsupportedError(
        f"staa.hf: TimeSformer with attention_type={kind!r} is not supported: with 'space_only' "
        "the model classifies every frame on its own (no attention across time). Use "
        "'divided_space_time' or 'joint_space_time'.")


def geometry(model, pixel_shape=None):
    """The staa geometry of a supported HuggingFace model, as keyword arguments of
    :func:`staa.attribute`: ``layout``, ``frames``, ``grid`` (h, w), ``cls``, ``tubelet``.

    ``pixel_shape`` is the shape of ``pixel_values`` ``(B, F, C, H, W)``; without it the sizes
    come from ``config.num_frames`` and ``config.image_size``.
    """
    config, model_type = _config(model)
    ph, pw, tubelet = _patch_and_tubelet(config, model_type)
    if pixel_shape is not None:
        if len(pixel_shape) != 5:
            raise StaaValueError(
                f"staa.hf: pixel_values must be (batch, frames, channels, height, width), "
                f"got shape {tuple(pixel_shape)}")
        frames, height, width = int(pixel_shape[1]), int(pixel_shape[3]), int(pixel_shape[4])
    else:
        frames = int(config.num_frames)
        height, width = _pair(config.image_size)
    if frames % tubelet:
        raise StaaValueError(
            f"staa.hf: {frames} frames is not a multiple of the tubelet size {tubelet}: the model "
            "silently drops the last frames; pass a multiple")
    return {
        "layout": _layout(config, model_type),
        "frames": frames,
        "grid": (height // ph, width // pw),
        "cls": model_type != "videomae",
        "tubelet": tubelet,
    }


def _base_model(model):
    base = getattr(model, "base_model", model)
    return base if base is not None else model


def _sites(model, model_type, layout):
    """[(kind, layer index, module, reads_tuple)] where to hook; ``reads_tuple``: the
    probabilities are output[1] of the module (else the module's output itself)."""
    base = _base_model(model)
    sites = []
    if model_type == "timesformer":
        layers = base.encoder.layer
        for i, layer in enumerate(layers):
            if layout == "divided":
                sites.append(("temporal", i, layer.temporal_attention.attention.attn_drop, False))
                sites.append(("spatial", i, layer.attention.attention.attn_drop, False))
            else:
                sites.append(("joint", i, layer.attention.attention.attn_drop, False))
    elif model_type == "videomae":
        for i, layer in enumerate(base.encoder.layer):  # the encoder only, never a decoder
            sites.append(("joint", i, layer.attention.attention, True))
    else:  # vivit
        for i, layer in enumerate(base.layers):
            sites.append(("joint", i, layer.attention, True))
    if not sites:
        raise StaaValueError(f"staa.hf: {type(model).__name__} has no attention layers")
    return sites


def attn_implementation(model):
    """The attention implementation in force (``"eager"``, ``"sdpa"``, ...). TimeSformer's
    attention is always computed eagerly, whatever its config says."""
    _, model_type = _config(model)
    if model_type == "timesformer":
        return _EAGER
    return getattr(model.config, "_attn_implementation", None) or _EAGER


# --------------------------------------------------------------------------- targets


def _resolve_target(target, logits):
    """A (B,) long tensor of class indices: None = argmax per clip, an int for every clip,
    or one index per clip."""
    torch = _torch()
    if logits is None:
        raise StaaValueError("staa.hf: no logits: run the model inside the capture block first "
                             "(or pass logits=)")
    if logits.ndim != 2:
        raise StaaValueError(f"staa.hf: logits must be (batch, classes), got {tuple(logits.shape)}")
    b, c = logits.shape
    if target is None:
        t = logits.detach().argmax(dim=-1)
    elif isinstance(target, int):
        t = torch.full((b,), int(target), dtype=torch.long, device=logits.device)
    else:
        t = torch.as_tensor(target, device=logits.device).to(torch.long).reshape(-1)
        if t.numel() == 1 and b > 1:
            t = t.expand(b).clone()
        if t.numel() != b:
            raise StaaValueError(f"staa.hf: {t.numel()} targets for a batch of {b} clips")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= c):
        raise StaaValueError(f"staa.hf: target {t.tolist()} out of range for {c} classes")
    return t


# --------------------------------------------------------------------------- capture


class Capture:
    """What one forward pass left in the hooks; made by :func:`capture`.

    Attributes, after a forward pass:

    - ``layers``: ``{"spatial"|"temporal"|"joint": [per-layer tensor]}`` in the model's own
      form (``(B*T, H, 1+N, 1+N)``, ``(B*N, H, T, T)``, ``(B, H, S, S)``), the tensors of the
      forward pass itself (still part of its autograd graph, if any).
    - ``grads``: the same keys, the gradient of each tensor once a backward pass went through
      it (None before).
    - ``logits``: the logits of the last forward pass (None if the model returned a tuple).
    - ``target``: the class indices of the last :meth:`backward`.
    - ``geometry``: see :func:`geometry`.
    - ``pixel_shape``: the shape of the last ``pixel_values``.
    """

    def __init__(self, model, grad=False, force_eager=True):
        self.model = model
        self.config, self.model_type = _config(model)
        self.layout = _layout(self.config, self.model_type)
        self.grad = bool(grad)
        self.force_eager = bool(force_eager)
        self.layers = {}
        self.grads = {}
        self.logits = None
        self.target = None
        self.pixel_shape = None
        self._handles = []          # module hooks
        self._tensor_handles = []   # gradient hooks on the captured tensors
        self._restore_impl = None
        self._no_grad = False
        self._active = False
        self._sites = _sites(model, self.model_type, self.layout)
        if self.model_type == "videomae" and not getattr(self.config, "use_mean_pooling", True):
            warnings.warn(
                "staa.hf: this VideoMAE classifies from token 0 (use_mean_pooling=False), a patch "
                "token; staa starts from the uniform vector of a model without CLS (mean pooling)",
                stacklevel=3)

    # ---- context management

    def __enter__(self):
        if self._active:
            raise StaaRuntimeError("staa.hf: this capture is already active")
        try:
            self._ensure_eager()
            self._install()
        except BaseException:
            self._remove()
            raise
        self._active = True
        return self

    def __exit__(self, *exc):
        self._remove()
        return False

    def _ensure_eager(self):
        impl = attn_implementation(self.model)
        if impl == _EAGER:
            return
        if not self.force_eager:
            raise AttentionImplementationError(
                f"staa.hf: {type(self.model).__name__} uses attn_implementation={impl!r}, which "
                "returns no attention probabilities. Load the model with "
                "attn_implementation=\"eager\", call model.set_attn_implementation(\"eager\"), "
                "or use capture(model, force_eager=True) to switch for the duration of the block.")
        setter = getattr(self.model, "set_attn_implementation", None)
        if setter is None:
            raise AttentionImplementationError(
                f"staa.hf: {type(self.model).__name__} uses attn_implementation={impl!r} and has "
                "no set_attn_implementation(); load it with attn_implementation=\"eager\"")
        setter(_EAGER)
        now = attn_implementation(self.model)
        if now != _EAGER:
            with contextlib.suppress(Exception):
                setter(impl)
            raise AttentionImplementationError(
                f"staa.hf: could not switch {type(self.model).__name__} from {impl!r} to eager "
                f"attention (still {now!r}); load it with attn_implementation=\"eager\"")
        self._restore_impl = impl
        log.debug("staa.hf: switched %s from %s to eager attention", type(self.model).__name__, impl)

    def _install(self):
        if self.model.training and getattr(self.config, "attention_probs_dropout_prob", 0) > 0:
            warnings.warn("staa.hf: the model is in training mode with attention dropout: the "
                          "captured attention is the dropped-out one; call model.eval()",
                          stacklevel=3)
        base = _base_model(self.model)
        embed = base.embeddings.patch_embeddings
        self._handles.append(embed.register_forward_pre_hook(self._on_input))
        self._handles.append(self.model.register_forward_hook(self._on_output))
        for kind, index, module, reads_tuple in self._sites:
            self._handles.append(module.register_forward_hook(
                self._make_hook(kind, index, reads_tuple)))

    def _remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []
        for h in self._tensor_handles:
            h.remove()
        self._tensor_handles = []
        if self._restore_impl is not None:
            impl, self._restore_impl = self._restore_impl, None
            self.model.set_attn_implementation(impl)
        self._active = False

    # ---- hooks

    def _reset(self):
        for h in self._tensor_handles:
            h.remove()
        self._tensor_handles = []
        counts = {}
        for kind, _, _, _ in self._sites:
            counts[kind] = counts.get(kind, 0) + 1
        self.layers = {k: [None] * n for k, n in counts.items()}
        self.grads = {k: [None] * n for k, n in counts.items()}
        self.logits = None
        self.target = None
        self._no_grad = False

    def _on_input(self, module, args):
        pixel_values = args[0] if args else None
        self._reset()
        self.pixel_shape = tuple(pixel_values.shape) if pixel_values is not None else None

    def _on_output(self, module, args, output):
        logits = getattr(output, "logits", None)
        self.logits = logits if logits is not None and getattr(logits, "ndim", 0) == 2 else None

    def _make_hook(self, kind, index, reads_tuple):
        def hook(module, args, output):
            probs = output[1] if reads_tuple else output
            if probs is None:
                raise AttentionImplementationError(
                    f"staa.hf: layer {index} returned no attention probabilities (attention "
                    f"implementation {getattr(self.config, '_attn_implementation', None)!r}); "
                    "use attn_implementation=\"eager\"")
            self.layers[kind][index] = probs
            if self.grad:
                if probs.requires_grad:
                    self._tensor_handles.append(probs.register_hook(self._make_grad_hook(kind, index)))
                else:
                    self._no_grad = True
        return hook

    def _make_grad_hook(self, kind, index):
        def hook(g):
            self.grads[kind][index] = g
        return hook

    # ---- results

    @property
    def geometry(self):
        return geometry(self.model, self.pixel_shape)

    def _check_captured(self):
        if not self.layers or any(t is None for ts in self.layers.values() for t in ts):
            raise StaaRuntimeError(
                "staa.hf: no attention captured: run the model inside the `with staa.capture(model)`"
                " block first")

    def backward(self, target=None, logits=None, retain_graph=False):
        """Gradients of the target logits with respect to the captured attention.

        ``target``: None (the argmax of each clip), an int (the same class for every clip) or one
        class per clip. Differentiates ``sum_b logits[b, target[b]]`` with respect to the attention
        tensors only (``torch.autograd.grad``): the parameters' ``.grad`` are not touched. Returns
        the (B,) target tensor.
        """
        torch = _torch()
        self._check_captured()
        logits = self.logits if logits is None else logits
        t = _resolve_target(target, logits)
        tensors, slots = [], []
        for kind, ts in self.layers.items():
            for i, a in enumerate(ts):
                tensors.append(a)
                slots.append((kind, i))
        if not logits.requires_grad or not all(a.requires_grad for a in tensors):
            raise StaaRuntimeError(
                "staa.hf: the attention has no autograd graph: run the forward pass with gradients "
                "enabled (not under torch.no_grad() / inference_mode()), with parameters that require "
                "grad or pixel_values.requires_grad_()")
        score = logits.gather(1, t.view(-1, 1)).sum()
        grads = torch.autograd.grad(score, tensors, retain_graph=retain_graph, allow_unused=True)
        for (kind, i), a, g in zip(slots, tensors, grads):
            self.grads[kind][i] = torch.zeros_like(a) if g is None else g
        self.target = t
        return t

    def _stack(self, parts, kind):
        """Per-layer HF tensors -> one contiguous, detached, CPU, batch-first tensor."""
        torch = _torch()
        geo = self.geometry
        t_groups = geo["frames"] // geo["tubelet"]
        h, w = geo["grid"]
        n = h * w
        c = int(geo["cls"])
        first = parts[0]
        if kind == "spatial":
            bt, heads, s, _ = first.shape
            if bt % t_groups or s != c + n:
                raise StaaValueError(
                    f"staa.hf: spatial attention {tuple(first.shape)} does not match {t_groups} "
                    f"frames of a {h}x{w} grid with{'out' if not c else ''} CLS")
            shape = (bt // t_groups, t_groups, heads, s, s)
        elif kind == "temporal":
            bn, heads, tt, _ = first.shape
            if bn % n or tt != t_groups:
                raise StaaValueError(
                    f"staa.hf: temporal attention {tuple(first.shape)} does not match {t_groups} "
                    f"frames of a {h}x{w} grid")
            shape = (bn // n, n, heads, tt, tt)
        else:
            _, heads, s, _ = first.shape
            if s != c + t_groups * n:
                raise StaaValueError(
                    f"staa.hf: joint attention over {s} tokens does not match {c} CLS + "
                    f"{t_groups} x {h}x{w} patches (VideoMAE with bool_masked_pos is not supported)")
            shape = first.shape
        with torch.no_grad():
            out = torch.stack([p.detach().reshape(shape) for p in parts], dim=1)
            if out.dtype not in (torch.float32, torch.float16):
                out = out.float()
            if kind == "joint" and self.model_type == "timesformer":
                # TimeSformer's tokens are patch-major (1 + n*T + t): reorder to t-major (c + t*N + n).
                idx = torch.arange(t_groups * n, device=out.device).view(n, t_groups).t().reshape(-1)
                perm = torch.cat([torch.zeros(1, dtype=torch.long, device=out.device), idx + 1])
                out = out.index_select(-2, perm).index_select(-1, perm)
            out = out.cpu().contiguous()
        return out

    def attentions(self):
        """The captured attention, stacked batch-first as :func:`staa.attribute` takes it:
        ``{"spatial": (B, L, T, H, 1+N, 1+N), "temporal": (B, L, N, H, T, T)}`` (divided) or
        ``{"joint": (B, L, H, S, S)}``, float32 (or float16), contiguous, on the CPU."""
        self._check_captured()
        return {k: self._stack(v, k) for k, v in self.layers.items()}

    def gradients(self):
        """The gradients of the captured attention, stacked like :meth:`attentions`."""
        self._check_captured()
        missing = [k for k, gs in self.grads.items() if any(g is None for g in gs)]
        if missing:
            if self._no_grad:
                why = ("the forward pass ran without autograd (torch.no_grad(), or no parameter nor "
                       "input requires grad)")
            elif not self.grad:
                why = "capture(model, grad=False) keeps no gradients; call cap.backward(target)"
            else:
                why = ("no backward pass went through the attention: call cap.backward(target) or "
                       "backward() on the target logit inside the `with` block")
            raise StaaRuntimeError(f"staa.hf: no gradients for the {'/'.join(missing)} attention: {why}")
        return {k: self._stack(v, k) for k, v in self.grads.items()}

    def attribute(self, method="rollout", postprocess="optimized", head_fusion=None, residual=None,
                  **kw):
        """:func:`staa.attribute` on the captured attention, with the model's geometry.

        ``method`` ``"grad"`` needs the gradients (``capture(model, grad=True)`` and a backward pass
        inside the block, or :meth:`backward`). Other keyword arguments go to
        :func:`staa.attribute`. Returns its Attribution, with ``logits`` and ``target`` attached.
        """
        from . import attribute as _attribute  # lazily: staa/__init__ may import this module

        if method not in _METHODS:
            raise StaaValueError(f"staa.hf: method must be one of {_METHODS}, got {method!r}")
        args = dict(self.geometry)
        args.update(self.attentions())
        if method == "grad":
            args["grads"] = self.gradients()
        args["method"] = method
        args["postprocess"] = postprocess
        if head_fusion is not None:
            args["head_fusion"] = head_fusion
        if residual is not None:
            args["residual"] = residual
        args.update(kw)
        result = _attribute(**args)
        _attach(result, self.logits, self.target)
        return result


def _attach(result, logits, target):
    """Attach the model's outputs to an Attribution: ``logits`` (B, C), ``predictions`` (argmax,
    (B,)) and ``target`` (the explained class of each clip, (B,))."""
    logits = logits.detach() if logits is not None else None
    predictions = logits.argmax(dim=-1) if logits is not None else None
    target = target if target is not None else predictions
    for name, value in (("logits", logits), ("predictions", predictions), ("target", target)):
        try:
            setattr(result, name, value)
        except AttributeError:  # pragma: no cover - an Attribution with __slots__
            pass


def capture(model, grad=False, force_eager=True):
    """Hook a HuggingFace TimeSformer, VideoMAE or ViViT model to capture its attention.

    A context manager (as pytorch-grad-cam's): every forward pass of ``model`` inside the block
    records the attention probabilities of every layer (spatial and temporal for TimeSformer);
    ``grad=True`` also keeps their gradients when a backward pass goes through them. All hooks
    are removed on exit, also when the block raises, and an attention implementation switched
    to eager (``force_eager``) is switched back.

    >>> with staa.hf.capture(model, grad=True) as cap:
    ...     logits = model(pixel_values).logits
    ...     cap.backward()                       # d(argmax logit of each clip)/d(attention)
    >>> a = cap.attribute(method="grad")
    """
    return Capture(model, grad=grad, force_eager=force_eager)


def explain(model, pixel_values, target=None, method="rollout", postprocess="optimized",
            force_eager=True, model_kwargs=None, **kw):
    """Explain a batch of clips in one call: forward (and, for ``grad``, backward), attribute.

    ``pixel_values``: ``(B, F, C, H, W)`` as the model takes it. ``target``: None (the predicted
    class of each clip), an int, or one class per clip; it matters for ``grad`` only (the other
    methods do not depend on the class). ``method``: ``"rollout"``, ``"last"`` or ``"grad"``.
    ``model_kwargs`` go to the model's forward (e.g. ``{"interpolate_pos_encoding": True}``);
    other keyword arguments (``head_fusion``, ``residual``, ...) to :func:`staa.attribute`.

    The model runs in eval mode; its train/eval state and attention implementation are restored
    afterwards. Returns the Attribution with ``logits`` (B, C), ``predictions`` (B,) and
    ``target`` (B,) attached.
    """
    torch = _torch()
    if method not in _METHODS:
        raise StaaValueError(f"staa.hf: method must be one of {_METHODS}, got {method!r}")
    if not torch.is_tensor(pixel_values):
        pixel_values = torch.as_tensor(pixel_values)
    model_kwargs = dict(model_kwargs or {})
    was_training = model.training
    model.eval()
    try:
        with capture(model, grad=False, force_eager=force_eager) as cap:
            if method == "grad":
                x = pixel_values
                if not x.requires_grad:
                    # so that the attention has a graph even when every parameter is frozen
                    x = x.detach().requires_grad_(True)
                with torch.enable_grad():
                    model(x, **model_kwargs)
                    cap.backward(target)
            else:
                with torch.no_grad():
                    model(pixel_values, **model_kwargs)
                cap.target = _resolve_target(target, cap.logits) if cap.logits is not None else None
        return cap.attribute(method=method, postprocess=postprocess, **kw)
    finally:
        model.train(was_training)
