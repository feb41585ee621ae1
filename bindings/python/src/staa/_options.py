"""The options_json document of the C ABI (keys and values as in docs/conventions.md)."""

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
        "frames": operator.index(frames),
        "grid": [operator.index(h), operator.index(w)],
        "cls": bool(cls),
        "tubelet": operator.index(tubelet),
        "method": method,
        "head_fusion": head_fusion,
        "residual": float(residual),
        "postprocess": postprocess_value(postprocess),
    }
    if volume:
        opts["volume"] = True
    if workers is not None:
        opts["workers"] = operator.index(workers)
    return opts
