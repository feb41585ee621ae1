"""The options_json document of the C ABI (keys and values as in docs/conventions.md)."""

import json
import operator
from collections.abc import Mapping


def postprocess_value(postprocess):
    """A preset name or a post-processing object, checked for type only."""
    if isinstance(postprocess, str):
        return postprocess
    if isinstance(postprocess, Mapping):
        return dict(postprocess)
    raise TypeError("staa: postprocess must be a preset name ('raw', 'optimized') or a dict "
                    "with blur, gamma, threshold, normalize; got " + type(postprocess).__name__)


def _integer(name, value):
    """value as an int (anything with __index__: numpy integers too), or a
    TypeError that names the option."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"staa: {name} must be an integer, got {value!r} ({type(value).__name__})") from None


def attribute_options(*, layout, frames, grid, cls, tubelet, method, head_fusion, residual,
                      postprocess, volume, workers):
    """The options of staa_attribute. Values are checked by the library, which names
    unknown keys and values in its error."""
    try:
        h, w = grid
    except (TypeError, ValueError):
        raise TypeError(f"staa: grid must be (h, w), got {grid!r}") from None
    opts = {
        "layout": layout,
        "frames": _integer("frames", frames),
        "grid": [_integer("grid[0]", h), _integer("grid[1]", w)],
        "cls": bool(cls),
        "tubelet": _integer("tubelet", tubelet),
        "method": method,
        "head_fusion": head_fusion,
        "residual": float(residual),
        "postprocess": postprocess_value(postprocess),
    }
    if volume:
        opts["volume"] = True
    if workers is not None:
        opts["workers"] = _integer("workers", workers)
    return opts


_encoded = {}  # the arguments of attribute_options → (options, their JSON)


def encoded_attribute_options(*, layout, frames, grid, cls, tubelet, method, head_fusion, residual,
                              postprocess, volume, workers):
    """(attribute_options(...), its JSON as bytes), remembered for repeated
    arguments (a post-processing preset name, not an object): encoding the same
    document on every call cost more than a small attribution. The dict is
    shared: do not change it."""
    args = (layout, frames, grid, cls, tubelet, method, head_fusion, residual, postprocess, volume, workers)
    key = None
    if isinstance(postprocess, str) and isinstance(grid, (tuple, list)):
        # The types too: 8.0 == 8, but frames=8.0 must still be refused.
        key = args[:2] + (tuple(grid),) + args[3:] + tuple(map(type, args)) + tuple(map(type, grid))
        try:
            hit = _encoded.get(key)
        except TypeError:  # an unhashable value: not cached
            key, hit = None, None
        if hit is not None:
            return hit
    opts = attribute_options(layout=layout, frames=frames, grid=grid, cls=cls, tubelet=tubelet, method=method,
                             head_fusion=head_fusion, residual=residual, postprocess=postprocess,
                             volume=volume, workers=workers)
    out = (opts, json.dumps(opts, separators=(",", ":")).encode())
    if key is not None and len(_encoded) < 256:
        _encoded[key] = out
    return out
