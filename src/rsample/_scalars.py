"""Python constants as cached 0-dim tensors, for arithmetic on the hot path.

On CPU in eager mode, ``tensor + 0.5`` costs several microseconds more than ``tensor + t`` with
a 0-dim tensor ``t``: the Python float is wrapped into a fresh tensor on every call. For the
small, overhead-bound workloads of a training loop (a 256×6 policy batch) that is a large
share of each op, so sampling and scoring code writes its constants through :func:`const`.

A 0-dim CPU tensor combines with tensors on any device, and a 0-dim operand never changes the
result dtype of a dimensioned one; the constant is cached per dtype so that 0-dim parameters
keep their dtype too. Under ``torch.compile`` the plain float is returned (the compiler folds
it).
"""

from __future__ import annotations

import torch

__all__ = ["const"]

_CACHE: dict[tuple[float, torch.dtype], torch.Tensor] = {}


def const(value: float, dtype: torch.dtype) -> torch.Tensor | float:
    """``value`` as a cached 0-dim CPU tensor of ``dtype`` (the float itself when compiling)."""
    if torch.compiler.is_compiling():
        return value
    key = (value, dtype)
    tensor = _CACHE.get(key)
    if tensor is None:
        with torch.inference_mode(False):
            tensor = _CACHE[key] = torch.tensor(value, dtype=dtype)
    return tensor
