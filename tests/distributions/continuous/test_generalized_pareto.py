"""GeneralizedPareto beyond the generic suite: continuity across ξ = 0 (values and gradients,
float64 and float32), the conventions at the upper end of a ξ < 0 support, parity with torch."""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch
import torch.distributions as td

import rsample

F64, F32 = torch.float64, torch.float32
SHAPES = [-1e-3, -1e-6, -1e-9, -1e-12, -1e-300, 0.0, 1e-300, 1e-12, 1e-9, 1e-6, 1e-3, 0.04, 0.06]
Z = [0.0, 1e-8, 0.1, 1.0, 5.0, 30.0]
PROBS = [1e-12, 1e-6, 0.3, 0.5, 0.9, 1 - 1e-9]


def _mp_log_prob(xi, z, scale=1.0):
    xi, z = mp.mpf(xi), mp.mpf(z)
    base = -z if xi == 0 else -(1 + 1 / xi) * mp.log1p(xi * z)
    return base - mp.log(scale)


def _mp_log_survival(xi, z):
    xi, z = mp.mpf(xi), mp.mpf(z)
    return -z if xi == 0 else -mp.log1p(xi * z) / xi


def _mp_quantile(xi, p):
    xi, e = mp.mpf(xi), -mp.log1p(-mp.mpf(p))
    return e if xi == 0 else mp.expm1(xi * e) / xi


def _grid(dtype):
    xi = torch.tensor([s for s in SHAPES for _ in Z], dtype=dtype)
    z = torch.tensor([z for _ in SHAPES for z in Z], dtype=dtype)
    return xi, z


def test_continuity_across_zero_float64():
    """log_prob, log_survival_function, cdf, icdf and their ξ-derivatives against mpmath, from
    ξ = ±1e-300 to ±0.06 (both sides of the series switch at |ξz| = 0.05) and at ξ = 0."""
    xi, z = _grid(F64)
    xi.requires_grad_(True)
    dist = rsample.GeneralizedPareto(torch.zeros_like(xi), torch.ones_like(xi), xi)
    lp, log_s = dist.log_prob(z), dist.log_survival_function(z)
    (d_lp,) = torch.autograd.grad(lp.sum(), xi)
    with mp.workdps(40):
        want_lp = [float(_mp_log_prob(a, b)) for a, b in zip(xi.tolist(), z.tolist())]
        want_s = [float(_mp_log_survival(a, b)) for a, b in zip(xi.tolist(), z.tolist())]
        want_d = [
            float(mp.diff(lambda t, b=b: _mp_log_prob(t, b), mp.mpf(a)))
            for a, b in zip(xi.tolist(), z.tolist())
        ]
    torch.testing.assert_close(lp, torch.tensor(want_lp, dtype=F64), rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(log_s, torch.tensor(want_s, dtype=F64), rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(d_lp, torch.tensor(want_d, dtype=F64), rtol=1e-9, atol=1e-12)
    cdf = dist.cdf(z)
    torch.testing.assert_close(
        cdf, -torch.expm1(torch.tensor(want_s, dtype=F64)), rtol=1e-14, atol=0
    )

    xi_q = torch.tensor([s for s in SHAPES for _ in PROBS], dtype=F64, requires_grad=True)
    p = torch.tensor([p for _ in SHAPES for p in PROBS], dtype=F64)
    q_dist = rsample.GeneralizedPareto(torch.zeros_like(xi_q), torch.ones_like(xi_q), xi_q)
    x = q_dist.icdf(p)
    (d_x,) = torch.autograd.grad(x.sum(), xi_q)  # the pathwise derivative of a draw
    with mp.workdps(40):
        want_x = [float(_mp_quantile(a, b)) for a, b in zip(xi_q.tolist(), p.tolist())]
        want_dx = [
            float(mp.diff(lambda t, b=b: _mp_quantile(t, b), mp.mpf(a)))
            for a, b in zip(xi_q.tolist(), p.tolist())
        ]
    torch.testing.assert_close(x, torch.tensor(want_x, dtype=F64), rtol=1e-14, atol=0)
    torch.testing.assert_close(d_x, torch.tensor(want_dx, dtype=F64), rtol=1e-9, atol=1e-300)


def test_continuity_across_zero_float32():
    """float32: within a few ulps of the float64 values at the same (float32) inputs, and
    finite ξ-gradients, on both sides of ξ = 0."""
    xi32, z32 = _grid(F32)
    xi32.requires_grad_(True)
    d32 = rsample.GeneralizedPareto(torch.zeros_like(xi32), torch.ones_like(xi32), xi32)
    lp32 = d32.log_prob(z32)
    (g32,) = torch.autograd.grad(lp32.sum(), xi32)
    xi64, z64 = xi32.detach().double().requires_grad_(True), z32.double()
    d64 = rsample.GeneralizedPareto(torch.zeros_like(xi64), torch.ones_like(xi64), xi64)
    lp64 = d64.log_prob(z64)
    (g64,) = torch.autograd.grad(lp64.sum(), xi64)
    torch.testing.assert_close(lp32.double(), lp64, rtol=4e-7, atol=1e-7)
    torch.testing.assert_close(d32.cdf(z32).double(), d64.cdf(z64), rtol=4e-7, atol=1e-7)
    torch.testing.assert_close(g32.double(), g64, rtol=1e-5, atol=1e-6)
    p = torch.tensor(PROBS * len(SHAPES), dtype=F32)
    xi_q = torch.tensor([s for s in SHAPES for _ in PROBS], dtype=F32)
    q32 = rsample.GeneralizedPareto(torch.zeros_like(xi_q), torch.ones_like(xi_q), xi_q).icdf(p)
    xi_q64 = xi_q.double()
    q64 = rsample.GeneralizedPareto(torch.zeros_like(xi_q64), torch.ones_like(xi_q64), xi_q64)
    torch.testing.assert_close(q32.double(), q64.icdf(p.double()), rtol=4e-7, atol=1e-30)


def test_draws_and_their_log_density_through_zero():
    """A draw is ``σ·expm1(ξE)/ξ`` and its log-density ``−log σ − (1 + ξ)E``: at ξ = 0 the
    pathwise ``dx/dξ`` is ``σE²/2``, the limit of the derivatives on both sides."""
    n = 1000
    xi = torch.zeros(n, dtype=F64, requires_grad=True)
    scale = torch.full((n,), 2.0, dtype=F64)
    dist = rsample.GeneralizedPareto(torch.zeros(n, dtype=F64), scale, xi)
    x, lp = dist.rsample_and_log_prob(generator=torch.Generator().manual_seed(0))
    e = x.detach() / 2.0  # the exponential noise at ξ = 0
    (dx,) = torch.autograd.grad(x.sum(), xi)
    torch.testing.assert_close(dx, scale * e.square() / 2, rtol=1e-14, atol=0)
    torch.testing.assert_close(lp, -math.log(2.0) - e, rtol=1e-14, atol=1e-15)
    for side in (-1e-9, 1e-9):
        xi_s = torch.full((n,), side, dtype=F64, requires_grad=True)
        x_s = rsample.GeneralizedPareto(torch.zeros(n, dtype=F64), scale, xi_s).rsample(
            generator=torch.Generator().manual_seed(0)
        )
        (dx_s,) = torch.autograd.grad(x_s.sum(), xi_s)
        torch.testing.assert_close(dx_s, dx, rtol=1e-7, atol=0)


def test_upper_end_of_a_negative_shape():
    """ξ < 0: the support ends at μ − σ/ξ. Draws stay below it, icdf(1) reaches it; for ξ < −1
    the density is unbounded there and the mode is that end (torch returns μ)."""
    loc, scale = torch.tensor([1.0, 1.0, 1.0], dtype=F64), torch.tensor([2.0, 2.0, 2.0], dtype=F64)
    xi = torch.tensor([-0.5, -1.0, -2.5], dtype=F64)
    dist = rsample.GeneralizedPareto(loc, scale, xi)
    upper = loc - scale / xi
    torch.testing.assert_close(dist.support.upper_bound, upper, rtol=1e-15, atol=0)
    torch.testing.assert_close(dist.icdf(torch.ones(3, dtype=F64)), upper, rtol=1e-15, atol=0)
    torch.testing.assert_close(dist.mode, torch.tensor([1.0, 1.0, 1.8], dtype=F64))
    x = dist.sample((20_000,), generator=torch.Generator().manual_seed(3))
    assert (x < upper).all() and (x >= loc).all()
    assert dist.log_prob(x).isfinite().all()
    # ξ = −1 is the uniform on [μ, μ + σ]: log p = −log σ everywhere, the end included.
    inside = torch.linspace(1.0, 3.0, 7, dtype=F64)
    uniform = rsample.GeneralizedPareto(1.0, 2.0, -1.0).log_prob(inside)
    torch.testing.assert_close(uniform, torch.full_like(inside, -math.log(2.0)))
    # At the end itself 1 + ξz has rounded to 0 and is taken as ε: finite and increasing toward
    # the end for ξ < −1, decreasing for −1 < ξ < 0.
    end = dist.log_prob(upper)
    before = dist.log_prob(torch.lerp(loc, upper, 1 - 1e-9))
    assert end.isfinite().all() and end[2] > before[2] and end[0] < before[0]


MODERATE = [(0.3, 1.5, xi) for xi in (-0.7, -0.3, 0.2, 0.45, 0.6, 1.5)] + [(-2.0, 0.5, 0.1)]


def test_matches_torch_on_a_moderate_grid():
    """Values, moments and torch's NaN conventions (mean for ξ ≥ 1, variance for ξ ≥ 1/2).

    torch's log-density and survival function raise for float64 parameters (``isclose`` with
    a float32 zero), so torch runs in float32 and the comparison is at float32 accuracy.
    """
    loc, scale, xi = (torch.tensor(c, dtype=F64) for c in zip(*MODERATE))
    ours = rsample.GeneralizedPareto(loc, scale, xi)
    theirs = td.GeneralizedPareto(loc.float(), scale.float(), xi.float())
    p = torch.tensor([0.01, 0.3, 0.5, 0.9, 0.999], dtype=F64).unsqueeze(-1)
    x = ours.icdf(p)
    x32 = x.float()
    torch.testing.assert_close(theirs.icdf(p.float()).double(), x, rtol=1e-4, atol=0)
    for name in ("log_prob", "cdf", "log_survival_function", "log_cdf"):
        got = getattr(ours, name)(x32.double())
        want = getattr(theirs, name)(x32).double()
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5, msg=name)
    for name in ("mean", "variance", "mode"):
        got, want = getattr(ours, name), getattr(theirs, name).double()
        torch.testing.assert_close(got, want, rtol=1e-6, atol=0, equal_nan=True, msg=name)
    torch.testing.assert_close(ours.entropy(), theirs.entropy().double(), rtol=1e-6, atol=1e-7)
    assert ours.mean.isnan().tolist() == [False] * 5 + [True, False]
    assert ours.variance.isnan().tolist() == [False] * 4 + [True, True, False]


@pytest.mark.parametrize("dtype", [F32, F64])
def test_log_cdf_keeps_the_lower_tail(dtype):
    """``log F`` at z = 1e-30: ``log(−expm1(−s))``, not ``log1p(−e^{−s})`` (which gives −inf)."""
    dist = rsample.GeneralizedPareto(torch.tensor(0.0, dtype=dtype), 1.0, 0.3)
    got = dist.log_cdf(torch.tensor([1e-30, 1e-10], dtype=dtype))
    want = torch.tensor([math.log(1e-30), math.log(1e-10)], dtype=F64)
    torch.testing.assert_close(got.double(), want, rtol=1e-6, atol=0)
