"""GeneralizedNormal beyond the generic suite: its special cases (Normal, Laplace, the uniform
limit), the float32 sampler at large powers (no atom from underflowing gamma draws), quantiles
next to the centre for large powers, and finite gradients at the ends of the power range."""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch

import rsample
from rsample.testing import assert_close

F32, F64 = torch.float32, torch.float64
GN = rsample.GeneralizedNormal


def _t(*values, dtype=F64):
    return [torch.tensor(v, dtype=dtype) for v in values]


@pytest.mark.parametrize(
    "power,other",
    [
        (2.0, lambda loc, scale: rsample.Normal(loc, scale / math.sqrt(2))),
        (1.0, lambda loc, scale: rsample.Laplace(loc, scale)),
    ],
)
def test_special_cases(power, other):
    loc, scale = _t(0.7, 2.5)
    ours, theirs = GN(loc, scale, torch.tensor(power, dtype=F64)), other(loc, scale)
    x = torch.tensor([-40.0, -3.0, 0.0, 0.7, 1.0, 9.0, 60.0], dtype=F64)
    q = torch.tensor([1e-300, 1e-12, 0.2, 0.5, 0.9, 1 - 1e-12], dtype=F64)
    assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-14, atol=1e-14, label="log_prob")
    # At x = −40 (β = 2) Q(½, z²) has condition number z² ≈ 265 in z².
    assert_close(ours.cdf(x), theirs.cdf(x), rtol=2e-12, label="cdf")
    assert_close(ours.icdf(q), theirs.icdf(q), rtol=1e-12, atol=1e-14, label="icdf")
    for name in ("mean", "variance"):
        assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-14, label=name)
    assert_close(ours.entropy(), theirs.entropy(), rtol=1e-14, label="entropy")


def test_large_power_approaches_the_uniform():
    loc, scale = _t(1.0, 2.0)
    dist = GN(loc, scale, torch.tensor(1e6, dtype=F64))
    x = torch.tensor([-0.5, 0.0, 2.0, 2.9], dtype=F64)
    assert_close(dist.cdf(x), (x + 1) / 4, rtol=1e-5, label="cdf")
    assert_close(dist.variance, torch.tensor(4 / 3, dtype=F64), rtol=1e-5, label="variance")
    assert_close(dist.entropy(), torch.tensor(math.log(4), dtype=F64), rtol=1e-5, label="entropy")


@pytest.mark.parametrize("power", [8.0, 50.0, 100.0])
def test_float32_draws_have_no_atom_near_the_centre(power):
    """|X − μ|/α = G^{1/β}, G ~ Gamma(1/β): for β = 50, 18 % of all G underflow float32 (42 % for
    β = 100). Drawn as V·G'^{1/β}, G' ~ Gamma(1 + 1/β), V ~ U(−1, 1), there is no atom, and the
    share of draws within c of μ matches P(1/β, c^β) (binomial, 5 SD)."""
    n = 40_000
    dist = GN(*_t(0.0, 1.0, power, dtype=F32))
    x = dist.sample((n,), generator=torch.Generator().manual_seed(11))
    ties = int((x.abs() == x.abs().min()).sum())
    assert ties <= 2
    # P(|X| < c) = 1 − Q(1/β, c^β) = P(1/β, c^β).
    for c in (1e-3, 0.05, 0.2):
        p = float(mp.gammainc(1 / power, 0, c**power, regularized=True))
        k = int((x.abs() < c).sum())
        assert abs(k - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1, (c, k, n * p)


@pytest.mark.parametrize("power", [50.0, 1e3])
@pytest.mark.parametrize("half_width", [1e-3, 1e-10, 1e-15])
def test_quantiles_next_to_the_centre(power, half_width):
    """p = ½ ± δ: z^β = P⁻¹(1/β, 2δ) underflows for large β, where z = 2δ·Γ(1 + 1/β) to
    relative O(z^β); against mpmath's inverse at 40 digits."""
    loc, scale = _t(0.3, 1.5)
    dist = GN(loc, scale, torch.tensor(power, dtype=F64))
    q = torch.tensor([0.5 - half_width, 0.5 + half_width], dtype=F64)
    got = dist.icdf(q)
    with mp.workdps(40):
        a = mp.mpf(1) / power
        s = 2 * mp.mpf(float(0.5 + half_width)) - 1  # the exact |2p − 1| of the double
        w = mp.findroot(
            lambda lw: mp.log(mp.gammainc(a, 0, mp.exp(lw), regularized=True)) - mp.log(s),
            mp.log(s * mp.gamma(1 + a)) * power,
        )
        z = float(mp.exp(w * a))
    want = torch.tensor([0.3 - 1.5 * z, 0.3 + 1.5 * z], dtype=F64)
    assert_close(got - 0.3, want - 0.3, rtol=1e-12, label="centre quantiles")


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("power", [0.05, 0.3, 2.0, 100.0])
def test_gradients_are_finite_across_the_power_range(dtype, power):
    n = 500
    leaves = [torch.full((n,), v, dtype=dtype, requires_grad=True) for v in (0.2, 1.5, power)]
    dist = GN(*leaves)
    x = dist.rsample(generator=torch.Generator().manual_seed(2))
    grads = torch.autograd.grad(
        x.sum() + dist.log_prob(x.detach()).sum(), leaves, retain_graph=True
    )
    assert all(g.isfinite().all() for g in grads)
    # d x/d loc = 1 and d x/d scale = (x − loc)/scale at fixed noise.
    g_loc, g_scale, _ = torch.autograd.grad(x.sum(), leaves)
    assert (g_loc == 1).all()
    # (x − loc) from the rounded draw: absolute error ~ulp(x) in float32.
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == F32 else {"rtol": 1e-13, "atol": 1e-15}
    assert_close(g_scale, (x.detach() - 0.2) / 1.5, **tol)


def test_log_prob_at_the_location_has_a_finite_gradient():
    """At x = μ with β < 1 the one-sided derivatives are infinite; the gradient returned is the
    subgradient 0 in μ, and the exact value −1/α in α."""
    leaves = [torch.tensor(v, dtype=F64, requires_grad=True) for v in (0.5, 2.0, 0.4)]
    lp = GN(*leaves).log_prob(torch.tensor(0.5, dtype=F64))
    g_loc, g_scale, g_power = torch.autograd.grad(lp, leaves)
    assert g_loc == 0 and g_scale == pytest.approx(-0.5, rel=1e-15)
    # ∂/∂β of −log Γ(1 + 1/β) = ψ(1 + 1/β)/β².
    assert g_power == pytest.approx(float(mp.digamma(1 + 1 / 0.4)) / 0.16, rel=1e-13)
