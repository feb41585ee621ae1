"""staa.attribute and staa.postprocess: arrays in, an Attribution out."""

import sys
from collections.abc import Mapping

import numpy as np

from . import _call, _cbatch, _library
from ._arrays import attention, is_array, is_torch, to_numpy
from ._attribution import Attribution
from ._errors import StaaValueError, from_status
from ._options import attribute_options, encoded_attribute_options, postprocess_value

_NDIM = {"spatial": 6, "temporal": 6, "joint": 5}
_FORM = {"spatial": "(B, L, T, H, c+N, c+N)", "temporal": "(B, L, N, H, T, T)",
         "joint": "(B, L, H, S, S)"}


def _is_arrow(x):
    return x is not None and not is_array(x) and hasattr(x, "__arrow_c_array__")


def _kind(*inputs):
    for x in inputs:
        if is_torch(x) or (isinstance(x, (tuple, list)) and any(is_torch(e) for e in x)):
            return "torch"
        if isinstance(x, Mapping) and _kind(*x.values()) == "torch":
            return "torch"
    return "numpy"


def _grads(grads, given):
    """{attention name: gradient} from a dict or, with one attention input, its twin."""
    if grads is None:
        return {}
    if isinstance(grads, Mapping):
        out = {}
        for key, g in grads.items():
            name = key[:-5] if key.endswith("_grad") else key
            if name not in given:
                raise StaaValueError(f"staa: grads has {key!r} but no {name} attention was given "
                                     f"(given: {', '.join(given)})")
            out[name] = g
        return out
    if len(given) != 1:
        raise StaaValueError("staa: with both spatial and temporal attention, pass grads as a "
                             "dict {'spatial': ..., 'temporal': ...}")
    return {given[0]: grads}


def _check_batch(columns):
    batch = None
    for name, arr in columns.items():
        base = name.removesuffix("_grad")
        if arr.ndim != _NDIM[base]:
            raise StaaValueError(
                f"staa: {name} has shape {tuple(arr.shape)}; expected {_FORM[base]}, batch "
                "first (for a single clip add a batch axis: x[None]), or a tuple of per-layer "
                "tensors as HuggingFace returns them")
        if batch is None:
            batch = arr.shape[0]
        elif arr.shape[0] != batch:
            raise StaaValueError(f"staa: {name} has batch size {arr.shape[0]}, other inputs {batch}")
    if batch == 0 or any(0 in arr.shape for arr in columns.values()):
        raise StaaValueError("staa: empty input (a batch of 0 clips or a zero-sized axis)")


def _groups(frames, tubelet):
    if tubelet <= 0 or frames <= 0 or frames % tubelet:
        raise StaaValueError(f"staa: frames ({frames}) must be a positive multiple of tubelet ({tubelet})")
    return frames // tubelet


def attribute(spatial=None, temporal=None, grads=None, layout=None, frames=8, grid=(14, 14),
              cls=True, tubelet=1, method="rollout", head_fusion="mean", residual=0.5,
              postprocess="optimized", joint=None, volume=False, workers=None):
    """Explain a batch of clips from the attention of one forward pass.

    Attention comes batch first and stacked over layers — spatial
    (B, L, T, H, c+N, c+N), temporal (B, L, N, H, T, T), joint (B, L, H, S, S) —
    or as HuggingFace's per-layer tuples (spatial: L × (B·T, H, 1+N, 1+N);
    temporal: L × (B·N, H, T, T); joint: L × (B, H, S, S)). Tuples are stacked,
    which copies them; contiguous CPU float32/float16 arrays are not copied.
    The first argument may also be any object with ``__arrow_c_array__`` (a
    record batch in the layout of docs/conventions.md).

    layout defaults to "joint" when ``joint`` is given, else "divided"; with
    layout="joint" the first argument may hold the joint attention. grads (for
    method="grad") is a dict {"spatial"|"temporal"|"joint": gradient} or, with a
    single attention input, its gradient in the same form.

    Returns an Attribution whose arrays are torch tensors if the input was torch,
    numpy arrays otherwise.
    """
    key = _signature(spatial, temporal, joint, grads, layout, frames, grid, cls, tubelet, method,
                     head_fusion, residual, postprocess, volume, workers)
    for plan in _plans.get(key, ()) if key is not None else ():
        out = plan.call(spatial, temporal, joint)
        if out is not None:
            return out
    if _is_arrow(spatial):
        if temporal is not None or grads is not None or joint is not None:
            raise StaaValueError("staa: an Arrow record batch carries all the columns; "
                                 "do not pass temporal, joint or grads with it")
        import pyarrow as pa

        opts = attribute_options(layout=layout or "divided", frames=frames, grid=grid, cls=cls,
                                 tubelet=tubelet, method=method, head_fusion=head_fusion,
                                 residual=residual, postprocess=postprocess, volume=volume,
                                 workers=workers)
        return Attribution.from_batch(_call.call("attribute", pa.record_batch(spatial), opts), "numpy")

    if layout is None:
        layout = "joint" if joint is not None else "divided"
    if layout == "joint" and joint is None:
        joint, spatial = spatial, None
    opts, opts_json = encoded_attribute_options(
        layout=layout, frames=frames, grid=grid, cls=cls, tubelet=tubelet, method=method,
        head_fusion=head_fusion, residual=residual, postprocess=postprocess, volume=volume,
        workers=workers)
    kind = _kind(spatial, temporal, joint, grads)
    groups = _groups(opts["frames"], opts["tubelet"])
    patches = opts["grid"][0] * opts["grid"][1]
    fold = {"spatial": groups, "temporal": patches, "joint": None}

    given = {}
    if layout == "divided":
        if joint is not None:
            raise StaaValueError("staa: joint attention given with layout='divided'; use layout='joint'")
        if spatial is None:
            raise StaaValueError("staa: layout 'divided' needs the spatial attention")
        given["spatial"] = spatial
        if temporal is not None:
            given["temporal"] = temporal
    else:
        if spatial is not None or temporal is not None:
            raise StaaValueError(f"staa: layout {layout!r} takes only joint attention "
                                 "(spatial/temporal belong to layout='divided')")
        given["joint"] = joint

    columns = {name: attention(x, name, fold[name]) for name, x in given.items()}
    if grads is not None:
        for name, g in _grads(grads, list(given)).items():
            columns[name + "_grad"] = attention(g, name + "_grad", fold[name])
    _check_batch(columns)
    out = _call.call("attribute", columns, opts_json)
    if key is not None and all(columns[n] is x for n, x in given.items()) and (key in _plans or len(_plans) < 256):
        # the newest first; a few shapes per signature (swapped whole: other threads may be reading)
        _plans[key] = (_Plan(opts_json, columns, layout, kind),) + _plans.get(key, ())[:_PLANS_PER_KEY - 1]
    return Attribution.from_batch(out, kind)


def _signature(spatial, temporal, joint, grads, layout, frames, grid, cls, tubelet, method,
               head_fusion, residual, postprocess, volume, workers):
    """The key of attribute()'s plan cache, or None when the arguments are not
    the plain kind a plan covers: numpy arrays or torch tensors (no tuples, no
    Arrow, no subclasses), no grads, a post-processing preset name, and
    scalars of their plain Python types (ints, bools, strings, a tuple grid;
    frames=8.0 or a numpy integer takes the general path, which checks it).
    With the types fixed, equal keys mean equal options: True and 1 never
    meet. The arrays count by their types only: a plan checks their shapes,
    dtypes and layout itself, in C. Written out flat: it runs on every call."""
    if (grads is not None or type(postprocess) is not str or type(grid) is not tuple or len(grid) != 2
            or type(grid[0]) is not int or type(grid[1]) is not int or type(frames) is not int
            or type(tubelet) is not int or type(cls) is not bool or type(volume) is not bool
            or type(method) is not str or type(head_fusion) is not str
            or type(residual) is not float and type(residual) is not int
            or layout is not None and type(layout) is not str
            or workers is not None and type(workers) is not int):
        return None
    torch = sys.modules.get("torch")
    tensor = torch.Tensor if torch is not None else np.ndarray
    ts, tt, tj = type(spatial), type(temporal), type(joint)
    for t in (ts, tt, tj):
        if t is not _NONE and t is not np.ndarray and t is not tensor:
            return None
    return (ts, tt, tj, layout, frames, grid, cls, tubelet, method, head_fusion, residual, postprocess, volume,
            workers)


_NONE = type(None)
_PLANS_PER_KEY = 4
_plans = {}  # _signature -> (_Plan, ...): one per shapes and dtypes, the newest first


class _Plan:
    """What attribute() worked out once for a signature of its arguments — the
    options document, which arguments become which columns and in which
    format, the kind of the result — after every check passed with the arrays
    read in place. A later call with the same signature goes through a
    staa._fastcall.Plan, which only checks in C that its arrays have the
    planned shapes and dtypes and can still be read in place (none of which
    is part of the signature) and calls the library, which validates the
    batch again: the checks in Python are for messages that name the
    argument, and they gave none for these arrays. Without the C extension
    there is no planned path."""

    __slots__ = ("options", "columns", "joint_first", "kind", "fast", "meta")

    def __init__(self, options, columns, layout, kind):
        self.options, self.kind = options, kind
        # (argument, column name, shape, value format, torch dtype or None) per column
        self.columns = tuple((("spatial", "temporal", "joint").index(name), name.encode(), tuple(x.shape),
                              _call.column_format(name, x), None if isinstance(x, np.ndarray) else x.dtype)
                             for name, x in columns.items())
        self.joint_first = layout == "joint" and tuple(columns) == ("joint",)
        self.fast = None  # the staa._fastcall.Plan, made on the first planned call
        self.meta = None  # (temporal_attention, method, library_version) of the output learnt

    def call(self, spatial, temporal, joint):
        """The Attribution of this call, or None when it cannot take the planned
        path: an array that cannot be read in place, or no C extension."""
        fast = self.fast
        if fast is None or fast[0] is not _call._fastcall:
            fast = self.fast = self._make()
            if fast is None:
                return None
        if self.joint_first and joint is None:
            joint = spatial
        _library.check_not_forked()
        out = fast[1](spatial, temporal, joint)
        if out is None:
            return None
        if out[0] == 0:  # the output layout learnt: shaped buffers, converted when read
            cols = out[1]
            ta, method, version = self.meta
            return Attribution._of_outputs(self.kind, cols[0], cols[1], cols[2] if len(cols) > 2 else None, ta,
                                           method, version)
        if out[0] == 2:
            raise from_status(out[1], out[2].decode("utf-8", "replace"))
        _, meta, outputs, digest = out  # another layout: read it the general way, and learn it
        batch = _cbatch.from_outputs(meta, outputs)
        res = Attribution.from_batch(batch, self.kind)
        names = tuple(batch.columns)
        if digest is not None and names in (("spatial", "temporal"), ("spatial", "temporal", "volume")):
            # meta first: another thread may take the learnt path as soon as learn returns
            self.meta = (res.temporal_attention, res.method, res.library_version)
            fast[1].learn(digest, tuple(a.shape for a in batch.columns.values()))
        return res

    def _make(self):
        """(the module, its Plan for this signature), or None without the C extension."""
        fc = _call._fastcall
        if fc is None:
            return None
        torch = sys.modules.get("torch")
        strided = torch.strided if torch is not None else None
        return fc, fc.Plan(_call.address_of("attribute"), self.options, strided, self.columns)


def postprocess(volume, postprocess="optimized"):
    """Post-process attribution volumes (B, F, h, w) (a single (F, h, w) is a batch of one).

    Returns an Attribution with the new spatial maps and temporal profiles; its
    ``volume`` is the input.
    """
    opts = {"postprocess": postprocess_value(postprocess)}
    arr = to_numpy(volume, "volume")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise StaaValueError(f"staa: volume has shape {tuple(arr.shape)}; expected (B, F, h, w)")
    if arr.size == 0:
        raise StaaValueError(f"staa: volume is empty, shape {tuple(arr.shape)}")
    out = _call.call("postprocess", {"volume": arr}, opts)
    kind = _kind(volume)
    return Attribution.from_batch(out, kind, volume=volume)
