"""Argument handling shared by the special functions: promotion, broadcasting, working dtype."""

from __future__ import annotations

import functools

import torch


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a function computes in: float64 stays, everything else runs in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def prepare(*args) -> tuple[list[torch.Tensor], torch.dtype]:
    """Tensors or numbers → broadcast tensors in the working dtype, plus the result dtype.

    The result dtype is the promotion of the floating inputs (the default dtype if none).
    """
    tensors = [t for t in args if isinstance(t, torch.Tensor)]
    dtype = torch.get_default_dtype()
    device = tensors[0].device if tensors else None
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    if floats:
        dtype = functools.reduce(torch.promote_types, floats)
    out = [torch.as_tensor(t, dtype=dtype, device=device) for t in args]
    out = list(torch.broadcast_tensors(*out))
    work = compute_dtype(dtype)
    return [t.to(work) for t in out], dtype
