"""VonMisesFisher and PowerSpherical: rsample + backward of ~1M floats (N = 1M/d draws in R^d).

The issue asks how the two compare. Both draw ``x = Q(t, √(1−t²) v)`` with ``v`` uniform on
S^{d−2} and ``Q`` the Householder-type map to ``loc``; they differ in the component ``t`` along
``loc``: VonMisesFisher runs Wood's rejection sampler (d = 3: a closed-form inverse CDF) and
differentiates ``t`` implicitly in κ, by quadrature for d ≠ 3; PowerSpherical draws a Beta
(two gammas) and differentiates the gammas implicitly. The floor is the PowerSpherical math
written with raw tensor ops and torch's own gamma sampler and (approximate) gamma gradient
(``torch._standard_gamma``), i.e. what the cheaper family costs without rsample's accurate
gradient. One thread.
"""

from __future__ import annotations

import torch

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

FLOATS = 1_000_000


def _raw_power_spherical(loc: torch.Tensor, kappa: torch.Tensor, n: int) -> torch.Tensor:
    """PowerSpherical draws with raw ops (De Cao & Aziz 2020, Algorithm 1)."""
    d = loc.shape[-1]
    beta = (d - 1) / 2
    alpha = (kappa + beta).expand(n)
    ga = torch._standard_gamma(alpha)
    gb = torch._standard_gamma(torch.full((n,), beta))
    t = (ga - gb) / (ga + gb)
    v = torch.randn(n, d - 1)
    v = v / v.norm(dim=-1, keepdim=True)
    y = torch.cat([t.unsqueeze(-1), (1 - t * t).clamp_min(0).sqrt().unsqueeze(-1) * v], -1)
    u = torch.cat([loc[:1] - 1, loc[1:]])  # reflection e1 → loc (loc₁ < 0 here)
    u = u / u.norm()
    return y - 2 * (y @ u).unsqueeze(-1) * u


def case(d: int, kappa: float) -> list[Row]:
    n = FLOATS // d
    direction = torch.nn.functional.normalize(
        torch.randn(d, generator=torch.Generator().manual_seed(d)), dim=0
    )
    direction = -direction.abs()  # loc₁ < 0: the raw floor's plain reflection is well defined
    loc = direction.clone().requires_grad_()
    k = torch.tensor(kappa, requires_grad=True)

    def step(cls):
        def run() -> None:
            cls(loc, k).rsample((n,)).sum().backward()

        return run

    def floor() -> None:
        _raw_power_spherical(loc, k, n).sum().backward()

    impls = {
        "VonMisesFisher rsample + backward": step(rsample.VonMisesFisher),
        "VonMisesFisher sample (no gradient)": lambda: rsample.VonMisesFisher(loc, k).sample((n,)),
        "PowerSpherical rsample + backward": step(rsample.PowerSpherical),
        "floor: PowerSpherical as raw ops (torch gamma gradient)": floor,
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=5, min_batch_s=0.2, warmup=1)
    name = f"d={d}, κ={kappa:g}: {n} draws rsample + backward (1 thread)"
    return make_rows(name, seconds, "floor: PowerSpherical as raw ops (torch gamma gradient)")


def run() -> list[Row]:
    rows = []
    for d in (3, 10, 100):
        for kappa in (1.0, 10.0, 100.0):
            rows += case(d, kappa)
    return rows
