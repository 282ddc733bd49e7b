"""LKJCholesky: a batch of 4096 Cholesky factors of d×d correlation matrices, d = 5 and 20.

The reference is ``torch.distributions.LKJCholesky.sample`` (the onion method, no gradient: torch
has no ``rsample`` for this family). rsample's rows are its ``sample`` (the same work without a
graph) and ``rsample`` followed by ``backward`` into the concentration (implicit gradients of the
d − 1 Beta draws per matrix). The "Beta draws only" row (two ``torch._standard_gamma`` calls per
Beta, no gradient) is the part of the sampler nobody can avoid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributions as td

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

BATCH = 4096


def _rsample_backward(dim: int, conc: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        L = rsample.LKJCholesky(dim, conc).rsample()
        L.sum().backward()

    return step


def case(dim: int, eta: float = 2.0) -> list[Row]:
    conc = torch.full((BATCH,), eta).requires_grad_()
    plain = conc.detach()
    i = torch.arange(1, dim, dtype=plain.dtype)
    # the onion method's Beta(i/2, η + (d−1−i)/2) parameters, for the "Beta draws only" row
    both = torch.stack(torch.broadcast_tensors(0.5 * i, plain.unsqueeze(-1) + 0.5 * (dim - 1 - i)))
    impls = {
        "torch.distributions sample (no gradient)": lambda: td.LKJCholesky(dim, plain).sample(),
        "rsample sample": lambda: rsample.LKJCholesky(dim, plain).sample(),
        "rsample rsample + backward": _rsample_backward(dim, conc),
        "Beta draws only (torch._standard_gamma)": lambda: torch._standard_gamma(both),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=2)
    name = f"LKJCholesky(d={dim}, η={eta:g}), batch {BATCH} (1 thread)"
    return make_rows(name, seconds, "torch.distributions sample (no gradient)")


def run() -> list[Row]:
    """d = 5 and d = 20."""
    return case(5) + case(20)
