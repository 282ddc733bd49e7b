"""rsample.Beta: what the generic suite (tests/test_generic.py, via tests/examples.py) does not
check — draws at the edges of the unit interval, the exactness of ``rsample_and_log_prob`` where
a draw rounds to 1, and the per-draw derivative of the sampling path.

The sampler forms :math:`X = \\sigma(\\log G_a - \\log G_b)` from log-space standard gammas and
keeps draws in :math:`[\\mathrm{tiny}, 1 - \\epsilon/2]`; its gradient is
:math:`\\partial X/\\partial a = X(1-X)\\,d\\log G_a/da` with the gamma CDF level held fixed.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

from gamma_paths import log_gamma_slopes
from rsample import Beta
from rsample.testing import assert_close

F64, F32 = torch.float64, torch.float32


def _gen(seed):
    return torch.Generator().manual_seed(seed)


EDGE_CASES = [(1e-3, 1e-3), (30.0, 0.3)]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("params", EDGE_CASES, ids=["1e-3,1e-3", "30,0.3"])
def test_draws_near_0_and_1_stay_in_range(params, dtype):
    """Beta(1e-3, 1e-3) puts half its mass within 1e-300 of each end, Beta(30, 0.3) most of its
    mass within float32's resolution of 1: no NaN, every draw in [tiny, 1 − eps/2], for
    sample, rsample and rsample_and_log_prob, and finite gradients."""
    info = torch.finfo(dtype)
    a = torch.tensor(params[0], dtype=dtype, requires_grad=True)
    b = torch.tensor(params[1], dtype=dtype, requires_grad=True)
    dist = Beta(a, b)
    draws = {
        "sample": dist.sample((10_000,), generator=_gen(1)),
        "rsample": dist.rsample((10_000,), generator=_gen(1)),
    }
    x, lp = dist.rsample_and_log_prob((10_000,), generator=_gen(1))
    draws["rsample_and_log_prob"] = x
    assert torch.equal(draws["rsample"], x) and torch.equal(draws["sample"], x.detach())
    for name, v in draws.items():
        assert not torch.isnan(v).any(), name
        assert (v >= info.tiny).all() and (v <= 1 - info.eps / 2).all(), name
    assert torch.isfinite(lp).all()
    assert torch.isfinite(dist.log_prob(x.detach().clone())).all()
    # Both ends are reached (the clamps are in use), as the distribution requires.
    # Beta(30, 0.3) has P(1 − X < eps/2) ≈ 2 % in float32 but ≈ 5e-5 in float64 (0.5 expected
    # hits in 10⁴ draws), so its clamp is asserted in float32 only.
    if params == (1e-3, 1e-3):
        assert (x == info.tiny).any() and (x == 1 - info.eps / 2).any()
    elif dtype == F32:
        assert (x == 1 - info.eps / 2).any()
    ga, gb = torch.autograd.grad(x.sum(), (a, b))
    assert torch.isfinite(ga) and torch.isfinite(gb)


def _mp_log_density_at_log_odds(a: float, b: float, t: float) -> float:
    """log p at x = σ(t), in 60-digit arithmetic from the exact log-odds ``t``."""
    with mpmath.workdps(60):
        a_, b_, t_ = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(t)
        log_x = -mpmath.log1p(mpmath.exp(-t_))
        log_1mx = -mpmath.log1p(mpmath.exp(t_))
        log_beta = mpmath.loggamma(a_) + mpmath.loggamma(b_) - mpmath.loggamma(a_ + b_)
        return float((a_ - 1) * log_x + (b_ - 1) * log_1mx - log_beta)


# (parameters, dtype): each puts enough of 4000 draws within half an ulp of 1.
ROUNDS_TO_1 = [
    ((30.0, 0.3), F32),
    ((2.0, 0.01), F32),
    ((1e-3, 1e-3), F32),
    ((30.0, 0.02), F64),
    ((2.0, 0.01), F64),
    ((1e-3, 1e-3), F64),
]


@pytest.mark.parametrize("params,dtype", ROUNDS_TO_1, ids=[f"{p}-{d}" for p, d in ROUNDS_TO_1])
def test_rsample_and_log_prob_is_exact_where_the_draw_rounds_to_1(params, dtype):
    """Where X rounds to 1 (or to the clamp 1 − eps/2) ``log_prob`` of the rounded value cannot
    know ``log(1 − X)``; ``rsample_and_log_prob`` scores the draw from its log-odds
    ``t = log G_a − log G_b`` and must equal the exact log density at σ(t)."""
    a, b = params
    dist = Beta(torch.tensor(a, dtype=dtype), torch.tensor(b, dtype=dtype))
    x, lp = dist.rsample_and_log_prob((4000,), generator=_gen(8))
    info = torch.finfo(dtype)
    t = dist._log_odds((4000,), _gen(8))  # the same noise: the draw's exact log-odds
    assert torch.equal(x, dist.rsample((4000,), generator=_gen(8)))
    assert_close(torch.sigmoid(t).clamp(info.tiny, 1 - info.eps / 2), x, rtol=4 * info.eps)
    edge = (x == 1 - info.eps / 2).nonzero().flatten()
    assert edge.numel() >= 5, "the test needs draws that round to 1"
    edge = edge[:40]  # each is checked against a 60-digit evaluation
    want = torch.tensor([_mp_log_density_at_log_odds(a, b, float(t[i])) for i in edge], dtype=F64)
    rtol = 1e-12 if dtype == F64 else 2e-6
    assert_close(lp[edge], want, rtol=rtol, atol=rtol, label="rsample_and_log_prob at 1")
    # The rounded value alone loses it: log_prob(x) differs from the exact value there.
    rounded = dist.log_prob(x[edge].clone()).double()
    assert ((rounded - want).abs() > 1e3 * rtol * want.abs().clamp_min(1)).any()


@pytest.mark.parametrize("params", [(0.3, 2.0), (2.5, 0.7), (30.0, 0.3), (1.5, 4.0), (0.05, 0.5)])
def test_per_draw_derivative_is_the_exact_path_derivative(params):
    """dX/da = X(1−X)·d log G_a/da and dX/db = −X(1−X)·d log G_b/db per draw, with the slopes
    from finite differences of the gamma quantile at fixed CDF level (boost included):
    relative error ≤ 1e-6 in float64."""
    n = 500
    a = torch.full((n,), params[0], dtype=F64, requires_grad=True)
    b = torch.full((n,), params[1], dtype=F64, requires_grad=True)
    x = Beta(a, b).rsample(generator=_gen(21))
    ga, gb = torch.autograd.grad(x.sum(), (a, b))
    # Beta draws log G_a, then log G_b, from the one generator.
    g = _gen(21)
    slope_a, slope_b = (log_gamma_slopes(torch.tensor(p, dtype=F64), (n,), g) for p in params)
    xd = x.detach()
    # X(1 − X) from the exact log-odds t of the same draws: 1 − X itself rounds near 1.
    t = Beta(a.detach(), b.detach())._log_odds(torch.Size(), _gen(21))
    spread = torch.exp(-torch.nn.functional.softplus(t) - torch.nn.functional.softplus(-t))
    inside = (xd > torch.finfo(F64).tiny) & (xd < 1 - torch.finfo(F64).eps / 2)  # not clamped
    assert inside.sum() > n // 2
    assert_close(ga[inside], spread[inside] * slope_a[inside], rtol=1e-6, label="dX/da")
    assert_close(gb[inside], -spread[inside] * slope_b[inside], rtol=1e-6, label="dX/db")


def test_log_odds_matches_the_draw_in_float64():
    """σ(log G_a − log G_b) keeps relative accuracy near 0: the draw equals G_a/(G_a + G_b)
    from the same noise to a few ulp where both are representable."""
    dist = Beta(torch.tensor(0.02, dtype=F64), torch.tensor(50.0, dtype=F64))
    t = dist._log_odds((2000,), _gen(4))
    x = dist.rsample((2000,), generator=_gen(4))
    ratio = torch.exp(t) / (1 + torch.exp(t))
    ok = ratio > 1e-300
    assert ok.float().mean() > 0.5 and (ratio < 1e-10).any()  # the lower tail is exercised
    assert_close(x[ok], ratio[ok], rtol=1e-14, label="draw")
    assert math.isfinite(float(dist.log_prob(x).sum()))
