"""InverseGaussian beyond the generic suite: the implicit gradients against mpmath derivatives of
the exact CDF at sampled points, both tails of ``cdf``/``icdf`` (the survival side is the
cancellation-free form) far beyond scipy's reach, the closed-form entropy, the mode, and
float32 at shape ratios where the whole distribution lies within one ulp of the mean."""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch
from scipy import integrate

import rsample
from rsample.testing import assert_close

F32, F64 = torch.float32, torch.float64
IG = rsample.InverseGaussian
DPS = 50

# (μ, λ): λ/μ from 1e-6 to 1e8, with small and large scales.
PARAMS = [
    (1.0, 1e-6),
    (1.0, 1e-3),
    (2.5, 0.02),
    (0.6, 0.3),
    (1.0, 1.0),
    (1e3, 3e4),
    (1e-3, 10.0),
    (1.0, 1e8),
]


def _ab(x, mu, lam):
    k = mp.sqrt(lam / x)
    return k * (x - mu) / mu, k * (x + mu) / mu


def mp_cdf(x, mu, lam):
    a, b = _ab(x, mu, lam)
    return mp.ncdf(a) + mp.exp(2 * lam / mu + mp.log(mp.ncdf(-b)))


def mp_sf(x, mu, lam):
    with mp.workdps(mp.mp.dps + 40):  # Φ(−a) − e^{2φ}Φ(−b) cancels; 40 digits cover it here
        a, b = _ab(x, mu, lam)
        return +(mp.ncdf(-a) - mp.exp(2 * lam / mu + mp.log(mp.ncdf(-b))))


def mp_log_pdf(x, mu, lam):
    return mp.log(lam / (2 * mp.pi * x**3)) / 2 - lam * (x - mu) ** 2 / (2 * mu**2 * x)


def mp_quantile(p, mu, lam):
    """Bisection in log x on log F (or log S above the median), then a secant polish."""
    p = mp.mpf(p)
    if p <= 0.5:
        g = lambda t: mp.log(mp_cdf(mp.exp(t), mu, lam)) - mp.log(p)  # noqa: E731
    else:
        g = lambda t: mp.log(1 - p) - mp.log(mp_sf(mp.exp(t), mu, lam))  # noqa: E731
    lo, hi, step = mp.log(mu) - 1, mp.log(mu) + 1, mp.mpf(1)
    while g(lo) > 0:
        lo, step = lo - step, 2 * step
    step = mp.mpf(1)
    while g(hi) < 0:
        hi, step = hi + step, 2 * step
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if g(mid) > 0 else (mid, hi)
    return mp.exp(mp.findroot(g, (lo, hi), solver="secant"))


@pytest.mark.parametrize("mu,lam", PARAMS)
def test_gradients_match_mpmath_derivatives_of_the_exact_cdf(mu, lam):
    """dx/dθ = −(∂F/∂θ)/p at sampled x, the partial derivatives by mpmath's numerical
    differentiation of the 50-digit CDF: relative error ≤ 1e-8 (measured ≤ 2e-14)."""
    n = 6
    loc = torch.full((n,), mu, dtype=F64, requires_grad=True)
    conc = torch.full((n,), lam, dtype=F64, requires_grad=True)
    x = IG(loc, conc).rsample(generator=torch.Generator().manual_seed(int(lam * 7 + mu * 13)))
    d_mu, d_lam = torch.autograd.grad(x.sum(), (loc, conc))
    with mp.workdps(DPS):
        m, lm = mp.mpf(mu), mp.mpf(lam)
        for xi, g_mu, g_lam in zip(x.tolist(), d_mu.tolist(), d_lam.tolist()):
            xm = mp.mpf(xi)
            dens = mp.exp(mp_log_pdf(xm, m, lm))
            want_mu = -mp.diff(lambda v, xm=xm: mp_cdf(xm, v, lm), m) / dens
            want_lam = -mp.diff(lambda v, xm=xm: mp_cdf(xm, m, v), lm) / dens
            assert abs(g_mu - want_mu) <= 1e-8 * abs(want_mu), (xi, g_mu, float(want_mu))
            assert abs(g_lam - want_lam) <= 1e-8 * abs(want_lam), (xi, g_lam, float(want_lam))
    # Scale equivariance x(sμ, sλ) = s·x(μ, λ): μ ∂x/∂μ + λ ∂x/∂λ = x.
    assert_close(mu * d_mu + lam * d_lam, x.detach(), rtol=1e-13, label="Euler")


PROBS = [1e-300, 1e-30, 1e-8, 0.3, 0.5, 0.8, 1 - 1e-8, 1 - 2**-50]


@pytest.mark.parametrize("mu,lam", PARAMS)
def test_both_tails_of_cdf_and_icdf_match_mpmath(mu, lam):
    """Quantiles from 1e-300 to 1 − 2⁻⁵⁰ to 1e-12 relative; the CDF below the median and the
    survival function above it (as 1 − cdf) to 1e-12 relative (scipy's ``invgauss.sf`` cancels
    in the upper tail, and its ppf reaches ~1e-11)."""
    dist = IG(torch.tensor(mu, dtype=F64), torch.tensor(lam, dtype=F64))
    q = torch.tensor(PROBS, dtype=F64)
    got = dist.icdf(q)
    with mp.workdps(40):
        want = [float(mp_quantile(p, mu, lam)) for p in PROBS]
        x = torch.tensor(want, dtype=F64)
        cdf = dist.cdf(x)
        for p, xi, c in zip(PROBS, want, cdf.tolist()):
            if p <= 0.5:
                exact = mp_cdf(mp.mpf(xi), mu, lam)
                assert abs(c - exact) <= 1e-12 * exact, (p, c, float(exact))
            else:
                exact = mp_sf(mp.mpf(xi), mu, lam)
                assert abs((1 - c) - exact) <= 1e-12 * exact + 2**-53, (p, 1 - c, float(exact))
    assert_close(got, want, rtol=1e-12, label=f"icdf μ={mu} λ={lam}")


@pytest.mark.parametrize("phi", [1e-8, 1e-3, 0.3, 1.0, 2.0, 7.0, 1e3, 1e8])
def test_entropy_matches_mpmath_and_quadrature(phi):
    mu = 1.7
    lam = phi * mu
    got = IG(torch.tensor(mu, dtype=F64), torch.tensor(lam, dtype=F64)).entropy().item()
    with mp.workdps(40):
        m, lm = mp.mpf(mu), mp.mpf(lam)
        closed = m * 0 + mp.mpf(1) / 2 + mp.log(2 * mp.pi * m**3 / lm) / 2
        closed -= 1.5 * mp.exp(2 * lm / m) * mp.e1(2 * lm / m)
    assert abs(got - float(closed)) <= 1e-14 * max(1.0, abs(float(closed)))
    if 1e-3 <= phi <= 1e3:  # −∫ p log p by quadrature, in log x (independent of the closed form)

        def integrand(t):
            with mp.workdps(30):
                lp = mp_log_pdf(mp.exp(mp.mpf(t)), m, lm)
                return float(-mp.exp(lp + t) * lp)

        centre = math.log(mu)
        quad = sum(
            integrate.quad(integrand, a, b, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
            for a, b in ((centre - 60, centre), (centre, centre + 25))
        )
        assert abs(got - quad) <= 1e-10 * max(1.0, abs(quad))


def test_mode_without_cancellation():
    """μ/λ up to 1e12: the mode μ(√(1 + r²) − r) ≈ λ/3 would cancel; mpmath argmax check."""
    mu = torch.tensor([1.0, 1.0, 1.0, 1e6], dtype=F64)
    lam = torch.tensor([1e4, 1.0, 1e-6, 1e-6], dtype=F64)
    got = IG(mu, lam).mode
    with mp.workdps(60):
        for g, m, lm in zip(got.tolist(), mu.tolist(), lam.tolist()):
            m, lm = mp.mpf(m), mp.mpf(lm)
            r = mp.mpf(1.5) * m / lm
            want = m * (mp.sqrt(1 + r**2) - r)
            assert abs(g - want) <= 1e-14 * want
            # It is the maximizer: the derivative of the log-density vanishes there.
            slope = mp.diff(lambda v, m=m, lm=lm: mp_log_pdf(v, m, lm), want)
            assert abs(slope * want) < 1e-20


def test_float32_when_the_spread_is_below_one_ulp():
    """λ/μ = 3e20: the quantiles lie within 1e-10 (relative) of μ; icdf is computed in log y from
    sinh/cosh of it, never through a rounded x, so it stays monotone and within an ulp of μ."""
    dist = IG(torch.tensor(1e-20), torch.tensor(3.0))
    q = torch.tensor([1e-30, 1e-7, 0.25, 0.5, 0.75, 1 - 2**-20])
    x = dist.icdf(q)
    assert (x[1:] >= x[:-1]).all()
    assert ((x - 1e-20).abs() <= 2 * torch.finfo(F32).eps * 1e-20).all()
    draws = dist.sample((1000,), generator=torch.Generator().manual_seed(0))
    assert ((draws - 1e-20).abs() <= 2 * torch.finfo(F32).eps * 1e-20).all()


def test_sampler_roots_are_cancellation_free():
    """φ = 1e-12 (w = ν/2φ huge): the small root 1/(1 + w + √(w(w+2))) keeps full relative
    accuracy, so the draws follow the Lévy limit x ≈ λ/ν; φ = 1e12: x − μ ≈ ±μ√(ν/φ)."""
    gen = torch.Generator().manual_seed(5)
    lam = torch.tensor(1e-12, dtype=F64)
    x = IG(torch.tensor(1.0, dtype=F64), lam).sample((4000,), generator=gen)
    small = x[x < 1e-3]  # the Lévy part of the mass: P(X ≤ x) ≈ 2Φ(−√(λ/x))
    assert small.numel() > 3000 and (small > 0).all()
    u = 2 * torch.special.ndtr(-torch.sqrt(lam / small))
    assert 0.2 < u.mean() < 0.8  # the probability-integral transform is spread out, not 0 or 1
    near = IG(torch.tensor(1.0, dtype=F64), torch.tensor(1e12, dtype=F64)).sample((4000,))
    z = (near - 1) * 1e6
    assert 0.9 < z.std() < 1.1 and z.mean().abs() < 0.1
