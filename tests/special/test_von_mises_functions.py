"""The von Mises distribution function, its κ-derivative and quantile against mpmath and scipy.

Reference: ``G(y; κ) = ∫_{−π}^{y} e^{κ cos t} dt / (2π I0(κ))`` by 30-digit tanh-sinh quadrature
of ``e^{κ(cos t − cos y)}`` (split on the scale on which the integrand decays, so deep tails keep
their digits), cross-checked against the Fourier series ``½ + y/2π + Σ I_n/I_0 sin(ny)/(nπ)``
summed in 60-digit arithmetic. ``∂G/∂κ`` by central differences of that CDF (step 1e-9·κ at
30 digits: truncation ~1e-18, cancellation ~1e-21, relative).

Points: each κ from 1e-4 to 1e4 (and the method switches at κ = 20) at quantile-like points
``y = −2 asin(z/2√κ)`` in both tails, points next to the antimode (``δ = π + y`` from 1e-10 on)
and on the switches between the three series (``cos²(y/2) = 0.8, 0.45, 15/κ``). The accuracy
claim is relative error ≤ 2e-12 (float64) wherever G is a normal float on the CPU, and where
``G ≥ 1e-37`` on the fixed-shape path (accelerators, ``torch.compile``, ``vmap``), whose fixed
term counts leave κ > 80 far in the tail as an underestimate (checked too).
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np
import pytest
import torch

import rsample.special.von_mises as V
from rsample.special import (
    i1_i0_ratio,
    log_i0,
    one_minus_i1_i0_ratio,
    von_mises_cdf,
    von_mises_cdf_grad,
    von_mises_icdf,
    von_mises_log_prob,
    von_mises_sample_grad,
)

mp = pytest.importorskip("mpmath")
stats = pytest.importorskip("scipy.stats")

F64 = torch.float64
DPS = 30
KAPPAS = [1e-4, 1.0, 10.0, 19.99, 20.0, 35.0, 100.0, 1e4]


def _mp_cdf(kappa, y):
    """G(y; κ) for an mpf or float ``y ∈ [−π, π]``, at ``DPS`` digits."""
    with mp.workdps(DPS):
        k, y = mp.mpf(kappa), mp.mpf(y)
        if y > 0:
            return 1 - _mp_cdf(k, -y)
        cy = mp.cos(y)
        lam = k * abs(mp.sin(y)) + 1
        cuts = [y - mp.mpf(c) / lam for c in (60, 15, 4, 1)]
        points = [-mp.pi] + [c for c in cuts if c > -mp.pi] + [y]
        value = mp.quad(lambda t: mp.exp(k * (mp.cos(t) - cy)), points)
        log_norm = mp.log(2 * mp.pi * mp.besseli(0, k)) - k
        return value * mp.exp(k * (cy - 1) - log_norm)


@functools.cache
def _ref_lower(kappa: float, y_abs: float) -> tuple[float, float]:
    """(G, ∂G/∂κ) at ``−y_abs``: the lower half, where G is small and its differences keep
    their digits (the upper half follows from G(y) = 1 − G(−y), ∂G/∂κ(y) = −∂G/∂κ(−y))."""
    with mp.workdps(DPS):
        h = mp.mpf(kappa) * mp.mpf("1e-9")
        y = -mp.mpf(y_abs)
        up, down = _mp_cdf(mp.mpf(kappa) + h, y), _mp_cdf(mp.mpf(kappa) - h, y)
        return float(_mp_cdf(kappa, y)), float((up - down) / (2 * h))


def _ref(kappa: float, y: float) -> tuple[float, float]:
    g, dg = _ref_lower(kappa, abs(y))
    return (1 - g, -dg) if y > 0 else (g, dg)


def _points(kappa: float) -> list[float]:
    ys = {-math.pi + d for d in (1e-10, 1e-3, 0.5)} | {-2.0, -0.3, -1e-6, 0.0}
    for z in (0.3, 2.0, 5.0, 8.0):
        if z < 2 * math.sqrt(kappa):
            ys.add(-2 * math.asin(z / (2 * math.sqrt(kappa))))
    for sigma2 in (0.8, 0.45, 15 / kappa):  # switches between the series
        if 0 < sigma2 < 1:
            ys.add(-2 * math.acos(math.sqrt(sigma2)))
    ys |= {-y for y in list(ys) if y < -0.5}  # upper half too
    return sorted(ys)


def _case(kappa):
    ys = [y for y in _points(kappa) if _ref(kappa, y)[0] >= 1e-37]
    refs = [_ref(kappa, y) for y in ys]
    y = torch.tensor(ys, dtype=F64)
    k = torch.full_like(y, kappa)
    g = torch.tensor([r[0] for r in refs], dtype=F64)
    dg = torch.tensor([r[1] for r in refs], dtype=F64)
    return y, k, g, dg


@contextlib.contextmanager
def _dispatch(path: str):
    """Both dispatches: per-method gathering on the CPU (``compact``), and the fixed-shape one
    with ``where`` (``dense``) that accelerators, ``torch.compile`` and ``vmap`` take."""
    saved = V.host_reads_free
    if path == "dense":
        V.host_reads_free = lambda t: False
    try:
        yield
    finally:
        V.host_reads_free = saved


PATHS = ("compact", "dense")


def test_reference_agrees_with_fourier_series():
    with mp.workdps(60):
        for kappa, y in [(0.7, -2.9), (10.0, -1.3), (30.0, -0.4), (3.0, 1.1)]:
            k, yy = mp.mpf(kappa), mp.mpf(y)
            i0 = mp.besseli(0, k)
            series = 0.5 + yy / (2 * mp.pi)
            for n in range(1, 400):
                series += mp.besseli(n, k) / i0 * mp.sin(n * yy) / (n * mp.pi)
            assert abs(_mp_cdf(kappa, y) / series - 1) < 1e-25


@pytest.mark.parametrize("kappa", KAPPAS)
def test_cdf_matches_mpmath(kappa):
    y, k, g, _ = _case(kappa)
    for path in PATHS:
        with _dispatch(path):
            got = von_mises_cdf(y, k)
        rel = ((got - g).abs() / g).max()
        assert rel < 2e-12, (path, kappa, rel)


@pytest.mark.parametrize("kappa", KAPPAS)
def test_cdf_grad_matches_finite_differences_of_mpmath(kappa):
    """Relative error 1e-10, plus an absolute 2e-14/κ next to the mode where ``∂G/∂κ``
    vanishes linearly (its largest values are ~0.24/κ: this is 1e-13 of the scale)."""
    y, k, _, dg = _case(kappa)
    for path in PATHS:
        with _dispatch(path):
            got = von_mises_cdf_grad(y, k)
        excess = (got - dg).abs() / (1e-10 * dg.abs() + 2e-14 / max(kappa, 1.0))
        assert excess.max() <= 1, (path, kappa, excess.max(), y[excess.argmax()])
    # autograd of the CDF gives the same, and −∂G/∂κ / p is the sample gradient
    kk = k.clone().requires_grad_()
    (auto,) = torch.autograd.grad(von_mises_cdf(y, kk).sum(), kk)
    torch.testing.assert_close(auto, got, rtol=1e-14, atol=0)
    density = torch.exp(von_mises_log_prob(y, k))
    inside = density > 1e-280
    torch.testing.assert_close(
        von_mises_sample_grad(y, k)[inside], (-got / density)[inside], rtol=1e-12, atol=1e-300
    )


def test_cdf_against_scipy_where_scipy_is_accurate():
    """scipy's ``vonmises.cdf`` (Hill's series below κ = 50): to its absolute accuracy, which
    is all it has in the lower tail (it gives 1.9e-13 for 7.7e-35 at κ = 40, y = −2.75)."""
    for kappa in (1e-3, 0.5, 2.0, 10.0, 40.0):
        y = torch.linspace(-3.0, 3.0, 25, dtype=F64)
        ref = stats.vonmises.cdf(y.numpy(), kappa)
        np.testing.assert_allclose(von_mises_cdf(y, kappa).numpy(), ref, rtol=1e-11, atol=5e-13)


def test_cdf_periodic_reduction_and_loc():
    """``x − loc`` is reduced into [−π, π] with compensated sums: next to ``loc − π`` the
    lower tail keeps its relative accuracy for any ``loc``."""
    kappa = 1.0
    for loc in (0.0, 0.5, -2.0, 4.0, 100.0):
        for delta in (1e-12, 1e-6, 0.3):
            x = loc - math.pi + delta  # a float; the reference reduces it exactly
            with mp.workdps(DPS):
                y = mp.mpf(x) - mp.mpf(loc)
                ref = float(_mp_cdf(kappa, y))
            got = float(von_mises_cdf(torch.tensor(x, dtype=F64), kappa, loc))
            assert abs(got / ref - 1) < 1e-12, (loc, delta, got, ref)
    y = torch.linspace(-3, 3, 7, dtype=F64)
    base = von_mises_cdf(y, 2.0)
    for shift in (-2, 1, 5):
        torch.testing.assert_close(von_mises_cdf(y + 2 * math.pi * shift, 2.0), base)
    torch.testing.assert_close(von_mises_cdf(y + 0.7, 2.0, 0.7), base, rtol=1e-14, atol=1e-15)
    ends = von_mises_cdf(torch.tensor([-math.inf, math.inf, math.nan], dtype=F64), 2.0)
    assert ends[0] == 0 and ends[1] == 1 and ends[2].isnan()


def test_extreme_concentrations():
    y = torch.linspace(-math.pi, math.pi, 41, dtype=F64)
    uniform = von_mises_cdf(y, 1e-30)
    torch.testing.assert_close(uniform, (y + math.pi) / (2 * math.pi), rtol=0, atol=1e-15)
    for kappa in (1e6, 1e12, 1e30):
        g = von_mises_cdf(y / math.sqrt(kappa), kappa)
        assert torch.isfinite(g).all() and (g[1:] >= g[:-1]).all()
        # the normal limit: G(z/√κ) → Φ(z)
        z = y.numpy()
        torch.testing.assert_close(g, torch.tensor(stats.norm.cdf(z)), rtol=0, atol=1e-6)
        assert torch.isfinite(von_mises_cdf_grad(y / math.sqrt(kappa), kappa)).all()


def test_deep_tail():
    """κ > 80 and G < e^{−1.1κ}: on the CPU the antimode series runs past its Poisson peak and
    keeps full accuracy; the fixed-shape path (fixed term counts) gives an underestimate there,
    never negative or NaN."""
    y = torch.tensor([-2.0, -2.5], dtype=F64)
    for kappa in (100.0, 300.0):
        ref = torch.tensor([_ref(kappa, float(v))[0] for v in y], dtype=F64)
        torch.testing.assert_close(von_mises_cdf(y, kappa), ref, rtol=1e-12, atol=0)
        with _dispatch("dense"):
            g = von_mises_cdf(y, kappa)
            d = von_mises_sample_grad(y, torch.tensor(kappa, dtype=F64))
        assert ((g >= 0) & (g <= ref * (1 + 1e-12))).all() and torch.isfinite(d).all()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_quantile_inverts_the_cdf(dtype, path):
    q = torch.tensor(
        [0.0, 1e-30, 1e-12, 1e-6, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.999, 1 - 1e-6, 1.0], dtype=dtype
    )
    eps = torch.finfo(dtype).eps
    for kappa in (1e-20, 1e-4, 0.5, 3.0, 19.9, 20.0, 80.0, 1e3, 1e5):
        k = torch.tensor(kappa, dtype=dtype)
        with _dispatch(path):
            y = von_mises_icdf(q, k)
        assert (y[1:] >= y[:-1]).all() and (y.abs() <= math.pi + 1e-6).all()
        g = von_mises_cdf(y, k)
        tail = torch.minimum(q, 1 - q)
        # |G(y) − q| within the resolution of y, p(y)·ulp(y), plus the rounding of G itself:
        # relative in the tails, absolute (~ε) where the Fourier series serves (G > 1e-5).
        density = torch.exp(von_mises_log_prob(y, k))
        floor = eps * (1e3 * tail).clamp_max(1.0)
        bound = 16 * eps * (tail + density * y.abs().clamp_min(1e-30)) + floor
        assert ((g - q).abs() <= bound).all(), (kappa, (g - q).abs() / bound)


def test_quantile_gradients():
    q = torch.tensor([1e-6, 0.05, 0.4, 0.6, 0.97], dtype=F64, requires_grad=True)
    k = torch.tensor(3.0, dtype=F64, requires_grad=True)
    y = von_mises_icdf(q, k)
    gq, gk = torch.autograd.grad(y.sum(), (q, k))
    torch.testing.assert_close(gq, torch.exp(-von_mises_log_prob(y.detach(), 3.0)))
    with torch.no_grad():
        h = 1e-6
        fd = (von_mises_icdf(q, 3.0 + h) - von_mises_icdf(q, 3.0 - h)).sum() / (2 * h)
    torch.testing.assert_close(gk, fd, rtol=1e-7, atol=0)


def test_float32_is_close_to_float64():
    """float32 computes in float32: G to 5e-7 absolute (the conditioning of rounded inputs
    included: y/√κ at κ = 1e5), ``∂y/∂κ`` to 2e-5 relative to ``|∂y/∂κ| + 1/κ``."""
    for kappa in (1e-3, 1.0, 10.0, 19.9, 25.0, 300.0, 1e5):
        y = torch.linspace(-3.14, 3.14, 201, dtype=torch.float32) / (1 + math.sqrt(kappa) / 3)
        k = torch.tensor(kappa, dtype=torch.float32)
        g32, g64 = von_mises_cdf(y, k), von_mises_cdf(y.double(), k.double())
        assert ((g32.double() - g64).abs() <= 5e-7).all(), kappa
        d32, d64 = von_mises_sample_grad(y, k), von_mises_sample_grad(y.double(), k.double())
        assert ((d32.double() - d64).abs() <= 2e-5 * (d64.abs() + 1 / max(kappa, 1))).all()


def test_bessel_helpers_against_mpmath():
    ks = [1e-30, 1e-8, 1e-3, 0.5, 3.0, 29.99, 30.0, 30.01, 100.0, 1e4, 1e8, 1e15]
    k = torch.tensor(ks, dtype=F64)
    with mp.workdps(100):  # log I0(1e-30) = 2.5e-61 needs ~80 digits
        a = [mp.besseli(1, v) / mp.besseli(0, v) for v in map(mp.mpf, ks)]
        ref_1ma = torch.tensor([float(1 - v) for v in a], dtype=F64)
        ref_a = torch.tensor([float(v) for v in a], dtype=F64)
        ref_log = torch.tensor([float(mp.log(mp.besseli(0, mp.mpf(v)))) for v in ks], dtype=F64)
    torch.testing.assert_close(one_minus_i1_i0_ratio(k), ref_1ma, rtol=2e-14, atol=0)
    torch.testing.assert_close(i1_i0_ratio(k), ref_a, rtol=1e-15, atol=0)
    torch.testing.assert_close(log_i0(k), ref_log, rtol=1e-15, atol=1e-300)
    kk = k.clone().requires_grad_()
    (g,) = torch.autograd.grad(one_minus_i1_i0_ratio(kk).sum(), kk)
    assert torch.isfinite(g).all()
