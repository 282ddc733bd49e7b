"""Kumaraswamy beyond the generic suite: float32 draws near 0 and 1, the entropy and moments
against quadrature and mpmath at small shapes, the mode, and parity with torch."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td

import rsample

F64, F32 = torch.float64, torch.float32


def _max_abs(t: torch.Tensor) -> float:
    return float(t.abs().max()) if t.numel() else 0.0


@pytest.mark.parametrize("a,b", [(0.05, 1.0), (1.0, 0.05), (0.3, 0.3), (30.0, 0.5)])
def test_float32_draws_are_the_float64_draws_rounded(a, b):
    """The same exponential noise in both dtypes: float32 draws are the float64 draws rounded
    (up to the shapes' condition number), down to the smallest normal number and as close to 1
    as float32 resolves. A sampler that formed ``1 − (1 − u)^{1/b}`` from a float32 uniform
    would lose both tails (``u`` has 24 bits)."""
    n = 20_000
    x32 = rsample.Kumaraswamy(torch.tensor(a, dtype=F32), b).sample(
        (n,), generator=torch.Generator().manual_seed(7)
    )
    x64 = rsample.Kumaraswamy(torch.tensor(a, dtype=F64), b).sample(
        (n,), generator=torch.Generator().manual_seed(7)
    )
    info = torch.finfo(F32)
    expected = x64.clamp(info.tiny, 1 - info.eps / 2)
    # Near 0: relative error ≲ (1/a)·(a few ulps of the noise).
    cond = max(1.0, 1 / a) * max(1.0, 1 / b)
    low = expected < 0.5
    rel = ((x32.double() - expected) / expected)[low]
    assert _max_abs(rel) < 8 * cond * info.eps
    # Near 1: the distance to 1, where float32 can hold it (1 − x ≥ 2^-20).
    high = (expected >= 0.5) & (1 - expected >= 2**-20)
    gap64, gap32 = 1 - expected[high], 1 - x32.double()[high]
    assert _max_abs((gap32 - gap64) / gap64) < 8 * cond * info.eps + 2**-4
    assert x32.min() >= info.tiny and x32.max() < 1 and torch.isfinite(x32).all()
    # The tails are reached: draws below 1e-30 and within 1e-6 of 1 where the mass is there.
    assert (x32 < 1e-30).any() == bool(x64.lt(1e-30).any())
    assert (x32 > 1 - 1e-6).any() == bool(x64.gt(1 - 1e-6).any())


def _mp_entropy(a, b):
    a, b = mp.mpf(a), mp.mpf(b)
    return (1 - 1 / b) + (1 - 1 / a) * mp.harmonic(b) - mp.log(a * b)


@pytest.mark.parametrize("a,b", [(0.5, 2.0), (3.0, 0.7), (2.0, 1e-3), (0.8, 0.049), (0.8, 0.051)])
def test_entropy_matches_quadrature_and_mpmath(a, b):
    """The closed form in mpmath on both sides of the harmonic-number series switch at
    b = 0.05, and quadrature over the noise: with ``x = (1 − e^{−E/b})^{1/a}``,
    ``−log p(x) = −log(ab) − (1 − 1/a)·log(1 − e^{−E/b}) + (1 − 1/b)·E``, so the entropy is
    ``(1 − 1/b) − log(ab) − (1 − 1/a)·E[log(1 − e^{−E/b})]`` (in x the mass of b ≪ 1 sits
    within an ulp of 1, out of reach of quadrature)."""
    dist = rsample.Kumaraswamy(torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64))
    got = float(dist.entropy())

    with mp.workdps(30):
        bm = mp.mpf(b)
        mean_log = float(
            mp.quad(lambda e: mp.log(-mp.expm1(-e / bm)) * mp.exp(-e), [0, bm, 10 * bm, 1, mp.inf])
        )
    quad = (1 - 1 / b) - math.log(a * b) - (1 - 1 / a) * mean_log
    with mp.workdps(40):
        exact = float(_mp_entropy(a, b))
    assert got == pytest.approx(exact, rel=1e-13, abs=1e-14)
    assert got == pytest.approx(quad, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("a,b", [(0.05, 1e3), (1e3, 0.05), (1e-3, 1e-3), (200.0, 200.0)])
def test_moments_at_extreme_shapes_match_mpmath(a, b):
    dist = rsample.Kumaraswamy(torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64))
    with mp.workdps(50):
        am, bm = mp.mpf(a), mp.mpf(b)
        m1, m2 = bm * mp.beta(1 + 1 / am, bm), bm * mp.beta(1 + 2 / am, bm)
        mean, var, ent = float(m1), float(m2 - m1**2), float(_mp_entropy(a, b))
    assert float(dist.mean) == pytest.approx(mean, rel=1e-12, abs=1e-300)
    assert float(dist.variance) == pytest.approx(var, rel=1e-9, abs=1e-300)
    assert float(dist.entropy()) == pytest.approx(ent, rel=1e-13, abs=1e-13)


def test_mode_is_where_the_density_peaks():
    """Interior for a, b > 1; 0 or 1 where the density is unbounded or largest at an end; NaN
    for a, b < 1 (both ends unbounded) and a = b = 1. torch's formula is NaN for every a, b
    here (``log1p(−b)`` for b > 1); ours follows the density."""
    a = torch.tensor([2.0, 5.0, 1.5, 0.5, 1.0, 3.0, 1.0, 0.5, 1.0], dtype=F64)
    b = torch.tensor([3.0, 1.5, 20.0, 2.0, 4.0, 0.5, 0.3, 0.5, 1.0], dtype=F64)
    mode = rsample.Kumaraswamy(a, b).mode
    x = torch.linspace(1e-6, 1 - 1e-6, 200_001, dtype=F64).unsqueeze(-1)
    peak = x[rsample.Kumaraswamy(a, b).log_prob(x).argmax(0), 0]
    interior = (a > 1) & (b > 1)
    torch.testing.assert_close(mode[interior], peak[interior], rtol=0, atol=1e-5)
    assert mode[3:5].tolist() == [0.0, 0.0] and mode[5:7].tolist() == [1.0, 1.0]
    assert mode[7:].isnan().all()
    assert td.Kumaraswamy(a, b).mode[interior].isnan().all()


def test_matches_torch_on_a_moderate_grid():
    values = [0.5, 1.0, 2.0, 5.0]
    a = torch.tensor([u for u in values for _ in values], dtype=F64)
    b = torch.tensor([v for _ in values for v in values], dtype=F64)
    ours, theirs = rsample.Kumaraswamy(a, b), td.Kumaraswamy(a, b)
    x = torch.tensor([0.01, 0.2, 0.5, 0.8, 0.99], dtype=F64).unsqueeze(-1)
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.cdf(x), theirs.cdf(x), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(ours.icdf(x), theirs.icdf(x), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(ours.mean, theirs.mean, rtol=1e-12, atol=0)
    torch.testing.assert_close(ours.variance, theirs.variance, rtol=1e-10, atol=0)
    torch.testing.assert_close(ours.entropy(), theirs.entropy(), rtol=1e-12, atol=1e-13)


def test_log_prob_near_one_in_float32():
    """``log(1 − x^a)`` from ``a·log x``: 1 − x = 6e-8 (the largest float32 below 1) keeps its
    digits, and ``(b − 1)·log(1 − x^a)`` its gradient in ``a`` (about (b − 1)/a, not the
    overflowing ``(b − 1)/(1 − x^a)`` of the chain rule of ``log(−expm1(t))``)."""
    x = torch.tensor([1 - 2**-24], dtype=F32)
    a = torch.tensor([1e-20, 1.0, 30.0], requires_grad=True)
    b = torch.tensor([1e15, 0.05, 3.0])
    lp = rsample.Kumaraswamy(a, b).log_prob(x)
    (g,) = torch.autograd.grad(lp.sum(), a)
    with mp.workdps(40):
        xm = mp.mpf(float(x))

        def exact(ai, bi):
            ai, bi = mp.mpf(ai), mp.mpf(bi)
            return mp.log(ai * bi) + (ai - 1) * mp.log(xm) + (bi - 1) * mp.log(1 - xm**ai)

        want = [float(exact(ai, bi)) for ai, bi in zip(a.tolist(), b.tolist())]
        want_g = [
            float(mp.diff(lambda t, bi=bi: exact(t, bi), mp.mpf(ai)))
            for ai, bi in zip(a.tolist(), b.tolist())
        ]
    np.testing.assert_allclose(lp.detach().double(), want, rtol=1e-6)
    np.testing.assert_allclose(g.double(), want_g, rtol=1e-5)
    assert math.isfinite(float(g[0]))
