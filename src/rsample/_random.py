"""Parameter-free noise with ``generator=``, traceable by ``torch.compile`` with dynamic shapes.

``torch.rand(shape, generator=g)`` and ``torch.randn`` need concrete sizes once a generator
argument is passed (even ``None``), so a compiled function that has seen two batch sizes (and
marked them dynamic) fails; ``empty(shape).uniform_(generator=g)`` draws the same numbers and
traces with symbolic sizes.
"""

from __future__ import annotations

import torch

__all__ = ["normal", "uniform"]


def uniform(shape, *, dtype, device, generator=None) -> torch.Tensor:
    """``torch.rand(shape, …, generator=generator)``: U[0, 1)."""
    return torch.empty(shape, dtype=dtype, device=device).uniform_(generator=generator)


def normal(shape, *, dtype, device, generator=None) -> torch.Tensor:
    """``torch.randn(shape, …, generator=generator)``: N(0, 1)."""
    return torch.empty(shape, dtype=dtype, device=device).normal_(generator=generator)
