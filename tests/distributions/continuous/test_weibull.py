"""Weibull beyond the generic suite: shapes down to k = 0.01 (float64), the variance at large k,
the mode convention, and parity with torch."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import rsample

F64, F32 = torch.float64, torch.float32


def test_tiny_shape_in_float64():
    """k = 0.01: quantiles from 1e-300 to 7e83 (the generic grid stops at k = 0.1, where float32
    still holds the 1e-6 … 0.999 quantiles); the variance overflows to +inf (Γ(201) ≈ 8e374),
    where scipy returns NaN and torch inf − inf = NaN."""
    k, lam = 0.01, 2.0
    dist = rsample.Weibull(torch.tensor(lam, dtype=F64), torch.tensor(k, dtype=F64))
    p = np.array([1e-3, 0.05, 0.3, 0.5, 0.9, 0.999])
    ref = stats.weibull_min(k, scale=lam)
    x = ref.ppf(p)
    xt = torch.tensor(x, dtype=F64)
    np.testing.assert_allclose(dist.icdf(torch.tensor(p, dtype=F64)), x, rtol=1e-12)
    np.testing.assert_allclose(dist.log_prob(xt), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(xt), p, rtol=1e-12)
    with mp.workdps(40):
        mean = float(lam * mp.gamma(1 + 1 / mp.mpf(k)))
    assert float(dist.mean) == pytest.approx(mean, rel=1e-12)
    assert dist.variance.isposinf() and float(dist.entropy()) == pytest.approx(ref.entropy())
    assert torch.isnan(td.Weibull(torch.tensor(lam, dtype=F64), k).variance)


@pytest.mark.parametrize("k", [5.0, 19.9, 20.1, 100.0, 1e3, 1e5, 1e8])
def test_variance_at_large_shapes(k):
    """Γ(1 + 2/k) − Γ(1 + 1/k)² cancels as k grows (scipy loses 3 digits at k = 100, all of
    them at 1e8); the series of log Γ(1 + 2t) − 2 log Γ(1 + t) keeps them (switch at k = 20)."""
    dist = rsample.Weibull(torch.tensor(3.0, dtype=F64), torch.tensor(k, dtype=F64))
    with mp.workdps(60):
        t = 1 / mp.mpf(k)
        var = float(9 * (mp.gamma(1 + 2 * t) - mp.gamma(1 + t) ** 2))
    assert float(dist.variance) == pytest.approx(var, rel=5e-15)


def test_mode_convention():
    """λ(1 − 1/k)^{1/k} for k > 1, else 0 — torch's formula gives NaN for k < 1 (a negative
    base to a fractional power) or a wrong positive value (λ at k = 1/2, where (−1)² = 1)."""
    k = torch.tensor([0.3, 0.5, 1.0, 1.5, 4.0], dtype=F64)
    ours = rsample.Weibull(torch.full_like(k, 2.0), k).mode
    theirs = td.Weibull(torch.full_like(k, 2.0), k).mode
    torch.testing.assert_close(ours[2:], theirs[2:])
    assert ours[:3].tolist() == [0.0, 0.0, 0.0]
    assert theirs[0].isnan() and theirs[1] == 2.0
    # k > 1: where the log-density peaks.
    x = torch.linspace(1e-4, 6, 600_001, dtype=F64).unsqueeze(-1)
    dist = rsample.Weibull(torch.full((2,), 2.0, dtype=F64), k[3:])
    peak = x[dist.log_prob(x).argmax(0), 0]
    torch.testing.assert_close(ours[3:], peak, rtol=0, atol=2e-5)


def test_matches_torch_on_a_moderate_grid():
    lam = torch.tensor([0.5, 1.0, 2.0, 3.0, 1.5], dtype=F64)
    k = torch.tensor([0.7, 1.0, 1.5, 5.0, 12.0], dtype=F64)
    ours, theirs = rsample.Weibull(lam, k), td.Weibull(lam, k)
    p = torch.tensor([0.01, 0.3, 0.5, 0.9, 0.999], dtype=F64).unsqueeze(-1)
    x = theirs.icdf(p)
    torch.testing.assert_close(ours.icdf(p), x, rtol=1e-13, atol=0)
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(ours.cdf(x), theirs.cdf(x), rtol=1e-12, atol=0)
    torch.testing.assert_close(ours.mean, theirs.mean, rtol=1e-13, atol=0)
    torch.testing.assert_close(ours.variance, theirs.variance, rtol=1e-11, atol=0)
    torch.testing.assert_close(ours.entropy(), theirs.entropy(), rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(ours.concentration_reciprocal, theirs.concentration_reciprocal)


def test_float32_draws_at_a_tiny_shape():
    """k = 0.02: 16 % of the float32 mass lies below the smallest normal number, where the
    density is unbounded; such draws are that number, with finite log-densities and
    gradients. (Where ``dx/dk = −x log E/k²`` exceeds the float32 range, for 0.7 % of the
    draws, it is −inf, never NaN.)"""
    k = torch.full((20_000,), 0.02, requires_grad=True)
    dist = rsample.Weibull(torch.ones(20_000), k)
    x = dist.rsample(generator=torch.Generator().manual_seed(1))
    tiny = torch.finfo(F32).tiny
    share = float((x <= tiny * (1 + 1e-6)).float().mean())
    assert share == pytest.approx(-np.expm1(-(tiny**0.02)), abs=5 * (0.16 * 0.84 / 20_000) ** 0.5)
    assert x.isfinite().all() and dist.log_prob(x).isfinite().all()
    (g,) = torch.autograd.grad(x.sum(), k)
    representable = x < 1e30  # |x·log E/k²| < 1e35
    assert g[representable].isfinite().all() and not g.isnan().any()
