"""Shape arithmetic for the hot paths."""

from __future__ import annotations

import torch

__all__ = ["broadcast_shapes"]


def broadcast_shapes(*shapes) -> torch.Size:
    """``torch.broadcast_shapes``, in plain Python when eager (torch's goes through its
    symbolic-shape machinery: ~24 µs for four shapes, a sixth of a small constructor); a
    ``RuntimeError`` when the shapes do not broadcast."""
    if torch.compiler.is_compiling():
        return torch.broadcast_shapes(*shapes)
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for s in shapes:
        offset = ndim - len(s)
        for i, size in enumerate(s):
            current = out[offset + i]
            if size != current:
                if current == 1:
                    out[offset + i] = size
                elif size != 1:
                    raise RuntimeError(f"shapes {[tuple(s) for s in shapes]} do not broadcast")
    return torch.Size(out)
