"""Pareto beyond the generic suite: the CDF next to the scale, float32 draws at a tiny shape,
and parity with torch (including its infinite moments)."""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch
import torch.distributions as td

import rsample

F64, F32 = torch.float64, torch.float32


def test_cdf_next_to_the_scale_keeps_relative_accuracy():
    """F(s(1 + δ)) ≈ αδ: from log1p((x − s)/s), exact where x/s rounds away δ (torch's
    transformed-distribution CDF and scipy's 1 − (x/s)^{−α} lose ~1/δ ulps)."""
    s, alpha = 3.0, 2.5
    x = torch.tensor([s * (1 + 2**-52), s * (1 + 1e-12), s * (1 + 1e-6), 2 * s, 1e10], dtype=F64)
    got = rsample.Pareto(torch.tensor(s, dtype=F64), alpha).cdf(x)
    with mp.workdps(40):
        want = [float(-mp.expm1(-alpha * mp.log(mp.mpf(float(v)) / s))) for v in x]
    torch.testing.assert_close(got, torch.tensor(want, dtype=F64), rtol=1e-14, atol=0)


def test_float32_draws_at_a_tiny_shape_saturate_finitely():
    """α = 0.05: 1.2 % of the float32 mass lies above the largest float32; such draws are
    (about) that number, with finite log-densities."""
    n = 20_000
    alpha = torch.full((n,), 0.05, requires_grad=True)
    scale = torch.ones(n, requires_grad=True)
    dist = rsample.Pareto(scale, alpha)
    x = dist.rsample(generator=torch.Generator().manual_seed(4))
    top = torch.finfo(F32).max
    share = float((x >= top * (1 - 1e-4)).float().mean())
    p_top = top**-0.05
    assert share == pytest.approx(p_top, abs=5 * math.sqrt(p_top * (1 - p_top) / n) + 1 / n)
    assert x.isfinite().all() and (x >= 1).all() and dist.log_prob(x).isfinite().all()
    grads = torch.autograd.grad(x.sum(), [scale, alpha])
    representable = x < 1e30  # above, dx/dα = −x·E/α² may overflow: −inf, never NaN
    assert all(g[representable].isfinite().all() and not g.isnan().any() for g in grads)


def test_matches_torch_including_infinite_moments():
    scale = torch.tensor([1.0, 0.5, 2.0, 3.0, 1e-3], dtype=F64)
    alpha = torch.tensor([0.5, 1.0, 1.5, 2.0, 7.0], dtype=F64)
    ours, theirs = rsample.Pareto(scale, alpha), td.Pareto(scale, alpha)
    p = torch.tensor([0.01, 0.3, 0.5, 0.9, 0.999], dtype=F64).unsqueeze(-1)
    x = theirs.icdf(p)
    torch.testing.assert_close(ours.icdf(p), x, rtol=1e-13, atol=0)
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(ours.cdf(x), theirs.cdf(x), rtol=1e-11, atol=0)
    for name in ("mean", "variance", "mode"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-14, atol=0)
    torch.testing.assert_close(ours.entropy(), theirs.entropy(), rtol=1e-14, atol=1e-15)
    assert ours.mean[:2].isposinf().all() and ours.variance[:4].isposinf().all()
    assert isinstance(ours.support, torch.distributions.constraints.greater_than_eq)
    torch.testing.assert_close(ours.support.lower_bound, scale)
