"""Argument handling shared by the special functions: promotion, broadcasting, working dtype."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

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


@functools.cache
def bernoulli_numbers(n_max: int) -> tuple[Fraction, ...]:
    """``B_0 … B_{n_max}`` exactly (``B_1 = −1/2``), from ``Σ_{k≤n} C(n+1, k) B_k = 0``."""
    b = [Fraction(1)]
    for n in range(1, n_max + 1):
        b.append(-sum(math.comb(n + 1, k) * b[k] for k in range(n)) / (n + 1))
    return tuple(b)


class _NoDoubleBackward(torch.autograd.Function):
    """Identity on a first derivative that has no derivative of its own: differentiating it
    raises (``once_differentiable`` alone would silently treat it as a constant when the
    incoming gradient does not require grad, as in ``autograd.grad(..., create_graph=True)``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(value, what, *inputs):
        return value.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.what = inputs[1]

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(
            f"rsample.special: {ctx.what} is differentiable once; double backward (a derivative "
            "of its gradient) is not supported"
        )


def guard_double_backward(value, what: str, *inputs):
    """Connect a derivative computed without a graph to ``inputs`` so that differentiating it
    again raises, when a graph of the backward pass is being recorded."""
    if value is None or not torch.is_grad_enabled():
        return value
    if any(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs):
        return _NoDoubleBackward.apply(value, what, *inputs)
    return value
