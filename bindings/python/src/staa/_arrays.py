"""Turning the caller's tensors into C-contiguous float32/float16 numpy arrays.

torch and numpy inputs become numpy views of the same memory (no copy) when
they are already CPU, contiguous, float32 or float16. Otherwise:

- non-contiguous: made contiguous once (a copy);
- float64, bfloat16 (any other floating type): converted once to float32, with
  a StaaWarning (a copy);
- integer, bool, complex, object: refused (TypeError);
- torch tensors on another device (cuda, mps, meta): refused; call ``.cpu()``.

HuggingFace per-layer tuples are stacked into one batch-first array (a copy:
the layers are separate allocations).
"""

import sys
import warnings

import numpy as np

from ._errors import StaaValueError, StaaWarning

_OK = (np.dtype(np.float32), np.dtype(np.float16))


def is_torch(x):
    """Whether x is a torch.Tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def is_array(x):
    return isinstance(x, np.ndarray) or is_torch(x)


def _convert_warning(name, dtype):
    warnings.warn(f"staa: {name} has dtype {dtype}; converting it to float32 (a copy). "
                  "Pass float32 or float16 to avoid the copy.", StaaWarning, stacklevel=4)


def _from_torch(x, name):
    import torch

    # The common case first, with as few calls into torch as possible.
    if (x.dtype is torch.float32 or x.dtype is torch.float16) and x.layout is torch.strided \
            and x.is_contiguous() and not x.is_neg() and x.device.type == "cpu":
        return x.detach().numpy()
    if x.device.type != "cpu":
        raise StaaValueError(
            f"staa: {name} is a tensor on device '{x.device}'; staa runs on the CPU. "
            f"Pass {name}.cpu() (one copy to host memory).")
    if x.layout != torch.strided:
        raise TypeError(f"staa: {name} is a {x.layout} tensor; pass a dense tensor (.to_dense())")
    x = x.detach().resolve_conj().resolve_neg()
    if x.dtype not in (torch.float32, torch.float16):
        if not x.dtype.is_floating_point:
            raise TypeError(f"staa: {name} has dtype {x.dtype}; attention must be float32 or float16")
        _convert_warning(name, x.dtype)
        x = x.to(torch.float32)
    return x.contiguous().numpy()


def to_numpy(x, name, contiguous=True):
    """x as a numpy float32/float16 array sharing x's memory when possible."""
    if is_torch(x):
        arr = _from_torch(x, name)
    elif isinstance(x, np.ndarray) or hasattr(x, "__array_interface__") or hasattr(x, "__array__"):
        arr = np.asarray(x)
        if arr.dtype not in _OK:
            if arr.dtype.kind != "f":
                raise TypeError(f"staa: {name} has dtype {arr.dtype}; attention must be float32 or float16")
            _convert_warning(name, arr.dtype)
            arr = arr.astype(np.float32)
    else:
        raise TypeError(f"staa: {name} must be a torch.Tensor, a numpy array or a tuple of "
                        f"per-layer tensors, got {type(x).__name__}")
    if contiguous:
        arr = np.ascontiguousarray(arr)
    return arr


def stack_layers(layers, name, fold):
    """Stack HuggingFace per-layer tensors into one batch-first array (a copy).

    Each layer is (B·fold, *rest) (fold = T for TimeSformer's spatial
    attention, N for the temporal attention, 1 for joint attention) and the
    result is (B, L, fold, *rest), or (B, L, *rest) when fold is None.
    """
    if len(layers) == 0:
        raise StaaValueError(f"staa: {name} is an empty tuple; need one tensor per layer")
    arrs = [to_numpy(x, f"{name}[{i}]", contiguous=False) for i, x in enumerate(layers)]
    first = arrs[0]
    for i, a in enumerate(arrs):
        if a.shape != first.shape:
            raise StaaValueError(f"staa: {name}[{i}] has shape {tuple(a.shape)} but {name}[0] "
                                 f"has {tuple(first.shape)}; all layers must have the same shape")
    if first.ndim != 4:
        raise StaaValueError(f"staa: {name}[0] has shape {tuple(first.shape)}; expected 4 "
                             "dimensions per layer (batch, heads, tokens, tokens)")
    n0 = first.shape[0]
    k = fold or 1
    if n0 % k != 0:
        folded = "token groups" if name.startswith("spatial") else "patches"
        raise StaaValueError(f"staa: {name}[0] has {n0} rows in its first dimension, which is "
                             f"not a multiple of {k} (batch × {folded}); check frames, tubelet "
                             "and grid")
    batch = n0 // k
    dtype = np.float32 if any(a.dtype == np.float32 for a in arrs) else np.float16
    rest = first.shape[1:]
    shape = (batch, len(arrs)) + ((k,) if fold else ()) + rest
    out = np.empty(shape, dtype=dtype)
    for i, a in enumerate(arrs):
        out[:, i] = a.reshape((batch,) + ((k,) if fold else ()) + rest)
    return out


def plain_torch(x):
    """Whether x is a tensor the library can read where it is: CPU, dense,
    C-contiguous, float32 or float16, no lazy negation."""
    torch = sys.modules["torch"]  # x is a tensor: torch is imported
    return ((x.dtype is torch.float32 or x.dtype is torch.float16) and x.is_cpu
            and x.layout is torch.strided and x.is_contiguous() and not x.is_neg())


def attention(x, name, fold):
    """One attention input (array or per-layer tuple) as a contiguous numpy
    array, or the torch tensor itself when the library can read it in place
    (the call reads its data_ptr(); a numpy view would cost more than a small
    attribution)."""
    if isinstance(x, (tuple, list)):
        return stack_layers(x, name, fold)
    if is_torch(x) and plain_torch(x):
        return x
    return to_numpy(x, name)
