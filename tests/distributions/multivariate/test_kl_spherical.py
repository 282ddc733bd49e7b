"""KL divergences between VonMisesFisher, PowerSpherical and HypersphericalUniform.

References: closed forms evaluated in mpmath at 50 digits (Bessel functions, log-gammas,
digammas), cross-checked by direct quadrature of E_p[log p − log q] in the angle to μ; torch's
registry finds the pairs; gradients of the KLs in κ against finite differences of the mpmath
values; different spheres raise.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

import rsample
from rsample import HypersphericalUniform, PowerSpherical, VonMisesFisher
from rsample.testing import assert_close

mp = pytest.importorskip("mpmath")

F64 = torch.float64
DIMS = [2, 3, 5, 10, 100, 1000]
KAPPAS = [1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e5]


def _mp_log_area(d):
    return mp.log(2) + mp.mpf(d) / 2 * mp.log(mp.pi) - mp.loggamma(mp.mpf(d) / 2)


@functools.cache
def _mp_vmf(d: int, kappa: float) -> tuple[float, float]:
    """(KL(vMF‖U), KL(U‖vMF)) = (κA − Λ, Λ), Λ = log(Γ(v+1)(2/κ)^v I_v(κ))."""
    with mp.workdps(60):
        v, k = mp.mpf(d) / 2 - 1, mp.mpf(kappa)
        i_v = mp.besseli(v, k, maxterms=10**6)
        a = mp.besseli(v + 1, k, maxterms=10**6) / i_v
        lam = mp.log(i_v) - v * mp.log(k / 2) + mp.loggamma(v + 1)
        return float(k * a - lam), float(lam)


@functools.cache
def _mp_ps(d: int, kappa: float) -> tuple[float, float]:
    """(KL(PS‖U), KL(U‖PS)) from the log normalizer and E[log(1 + t)] under each."""
    with mp.workdps(60):
        k = mp.mpf(kappa)
        b = mp.mpf(d - 1) / 2
        a = b + k
        log_n = (a + b) * mp.log(2) + b * mp.log(mp.pi) + mp.loggamma(a) - mp.loggamma(a + b)
        e_p = mp.log(2) + mp.digamma(a) - mp.digamma(a + b)  # E_p[log(1 + t)]
        e_u = mp.log(2) + mp.digamma(b) - mp.digamma(2 * b)  # E_U[log(1 + t)]
        la = _mp_log_area(d)
        return float(k * e_p - log_n + la), float(log_n - la - k * e_u)


def _quadrature_kl(log_p, log_q, d: int, scale: float) -> float:
    """∫ p (log p − log q) over the sphere for densities depending on the angle θ to μ only:
    ∫_0^π … |S^{d−2}| sin^{d−2}θ dθ, by mpmath's tanh-sinh quadrature on graded panels."""
    with mp.workdps(30):
        log_shell = mp.log(2) + mp.mpf(d - 1) / 2 * mp.log(mp.pi) - mp.loggamma(mp.mpf(d - 1) / 2)

        def integrand(t):
            lp = log_p(t)
            if (d > 2 and mp.sin(t) == 0) or lp == -mp.inf:
                return mp.mpf(0)
            shell = log_shell + (d - 2) * mp.log(mp.sin(t)) if d > 2 else log_shell
            return mp.exp(lp + shell) * (lp - log_q(t))

        edges = sorted({0, mp.pi, *[c * scale for c in (1, 3, 10, 30) if c * scale < 3]})
        return float(mp.quad(integrand, edges))


@pytest.mark.parametrize("d", DIMS)
def test_vmf_and_uniform(d):
    mu = torch.zeros(d, dtype=F64)
    mu[0] = 1
    u = HypersphericalUniform(d, dtype=F64)
    for kappa in KAPPAS:
        p = VonMisesFisher(mu, torch.tensor(kappa, dtype=F64))
        forward, backward = _mp_vmf(d, kappa)
        assert_close(rsample.kl_divergence(p, u), forward, rtol=1e-12, label=f"vMF‖U {kappa}")
        assert_close(rsample.kl_divergence(u, p), backward, rtol=1e-12, label=f"U‖vMF {kappa}")
        assert_close(torch.distributions.kl_divergence(p, u), forward, rtol=1e-12)


@pytest.mark.parametrize("d", DIMS)
def test_power_spherical_and_uniform(d):
    mu = torch.zeros(d, dtype=F64)
    mu[-1] = 1
    u = HypersphericalUniform(d, dtype=F64)
    for kappa in KAPPAS:
        p = PowerSpherical(mu, torch.tensor(kappa, dtype=F64))
        forward, backward = _mp_ps(d, kappa)
        assert_close(rsample.kl_divergence(p, u), forward, rtol=1e-12, label=f"PS‖U {kappa}")
        assert_close(rsample.kl_divergence(u, p), backward, rtol=1e-12, label=f"U‖PS {kappa}")
        assert_close(torch.distributions.kl_divergence(u, p), backward, rtol=1e-12)


@pytest.mark.parametrize("d,kappa", [(3, 2.0), (5, 40.0), (10, 0.5)])
def test_closed_forms_against_quadrature(d, kappa):
    """The closed forms equal ∫ p log(p/q) computed from the densities themselves."""
    with mp.workdps(30):
        la = _mp_log_area(d)
        v, k = mp.mpf(d) / 2 - 1, mp.mpf(kappa)
        log_c = v * mp.log(k) - mp.mpf(d) / 2 * mp.log(2 * mp.pi) - mp.log(mp.besseli(v, k))
        b = mp.mpf(d - 1) / 2
        log_n = (2 * b + k) * mp.log(2) + b * mp.log(mp.pi) + mp.loggamma(b + k)
        log_n -= mp.loggamma(2 * b + k)

    def vmf(t):
        return k * mp.cos(t) + log_c

    def ps(t):  # 1 + cos t = 2 cos²(t/2), which keeps its digits next to t = π
        return k * mp.log(2 * mp.cos(t / 2) ** 2) - log_n

    def unif(t):
        return -la

    scale = 1 / math.sqrt(kappa + d)
    assert_close(_quadrature_kl(vmf, unif, d, scale), _mp_vmf(d, kappa)[0], rtol=1e-12)
    assert_close(_quadrature_kl(unif, vmf, d, scale), _mp_vmf(d, kappa)[1], rtol=1e-12)
    assert_close(_quadrature_kl(ps, unif, d, scale), _mp_ps(d, kappa)[0], rtol=1e-12)
    assert_close(_quadrature_kl(unif, ps, d, scale), _mp_ps(d, kappa)[1], rtol=1e-12)


def test_uniform_uniform_and_batches():
    u = HypersphericalUniform(4, batch_shape=(3,), dtype=F64)
    assert (rsample.kl_divergence(u, HypersphericalUniform(4, dtype=F64)) == 0).all()
    mu = torch.nn.functional.normalize(torch.randn(2, 1, 4, dtype=F64), dim=-1)
    p = VonMisesFisher(mu, torch.tensor([0.5, 3.0, 30.0], dtype=F64))
    kl = rsample.kl_divergence(p, u)
    assert kl.shape == (2, 3)
    assert_close(kl[0], [_mp_vmf(4, k)[0] for k in (0.5, 3.0, 30.0)], rtol=1e-12)


def test_different_spheres_raise():
    p = VonMisesFisher(torch.tensor([0.6, 0.8, 0.0], dtype=F64), 1.0)
    q = PowerSpherical(torch.tensor([1.0, 0.0], dtype=F64), 1.0)
    for a, b in ((p, HypersphericalUniform(4)), (HypersphericalUniform(3), q)):
        with pytest.raises(ValueError, match="different spheres"):
            rsample.kl_divergence(a, b)
    with pytest.raises(ValueError, match="different spheres"):
        rsample.kl_divergence(HypersphericalUniform(2), HypersphericalUniform(3))


@pytest.mark.parametrize("d,kappa", [(2, 0.3), (3, 5.0), (10, 50.0), (100, 20.0), (5, 2e3)])
def test_gradients_in_kappa(d, kappa):
    """d/dκ of the four KLs (autograd through the Bessel ratio, log_iv_normalized, trigamma
    quadratures) against central differences of the mpmath values."""
    mu = torch.zeros(d, dtype=F64)
    mu[1] = 1
    u = HypersphericalUniform(d, dtype=F64)
    h = 1e-4 * kappa
    cases = [
        (lambda k: rsample.kl_divergence(VonMisesFisher(mu, k), u), lambda k: _mp_vmf(d, k)[0]),
        (lambda k: rsample.kl_divergence(u, VonMisesFisher(mu, k)), lambda k: _mp_vmf(d, k)[1]),
        (lambda k: rsample.kl_divergence(PowerSpherical(mu, k), u), lambda k: _mp_ps(d, k)[0]),
        (lambda k: rsample.kl_divergence(u, PowerSpherical(mu, k)), lambda k: _mp_ps(d, k)[1]),
    ]
    for ours, ref in cases:
        k = torch.tensor(kappa, dtype=F64, requires_grad=True)
        (grad,) = torch.autograd.grad(ours(k), k)
        d1 = (ref(kappa + h) - ref(kappa - h)) / (2 * h)
        d2 = (ref(kappa + h / 2) - ref(kappa - h / 2)) / h
        assert_close(grad, (4 * d2 - d1) / 3, rtol=1e-7, atol=1e-12, label=f"dKL/dκ d={d}")


def test_nearly_uniform_kl_keeps_relative_accuracy():
    """KL ≈ κ²/(2d) for tiny κ: no cancellation against log|S^{d−1}| (≈ 2600 for d = 1000)."""
    for d in (3, 1000):
        mu = torch.zeros(d, dtype=F64)
        mu[0] = 1
        u = HypersphericalUniform(d, dtype=F64)
        for kappa in (1e-8, 1e-4):
            kl = rsample.kl_divergence(VonMisesFisher(mu, torch.tensor(kappa, dtype=F64)), u)
            assert_close(kl, _mp_vmf(d, kappa)[0], rtol=1e-12, label="vMF")
            assert_close(kl, kappa**2 / (2 * d), rtol=1e-3, label="vMF small-κ law")
            kl = rsample.kl_divergence(PowerSpherical(mu, torch.tensor(kappa, dtype=F64)), u)
            assert_close(kl, _mp_ps(d, kappa)[0], rtol=1e-12, label="PS")
    assert np.isfinite(_mp_ps(3, 1e-8)[0])


def _mp_vmf_vmf(d: int, k_p: float, k_q: float, mu_p, mu_q) -> float:
    """A(κ_p)(κ_p − κ_q μ_qᵀμ_p) + Λ(κ_q) − Λ(κ_p) at 60 digits, with 1 − μ_qᵀμ_p taken as
    ½‖μ_p − μ_q‖² of the stored (unit) vectors."""
    with mp.workdps(60):
        v = mp.mpf(d) / 2 - 1
        kp, kq = mp.mpf(k_p), mp.mpf(k_q)

        def lam(k):
            return mp.log(mp.besseli(v, k, maxterms=10**6)) - v * mp.log(k / 2) + mp.loggamma(v + 1)

        a = mp.besseli(v + 1, kp, maxterms=10**6) / mp.besseli(v, kp, maxterms=10**6)
        gap = sum((mp.mpf(float(x)) - mp.mpf(float(y))) ** 2 for x, y in zip(mu_p, mu_q)) / 2
        return float(a * ((kp - kq) + kq * gap) + lam(kq) - lam(kp))


@pytest.mark.parametrize("d", [2, 3, 10, 100])
def test_vmf_vmf_against_mpmath(d):
    """Far and nearly equal concentrations (the Bregman term by quadrature) and directions."""
    worst = 0.0
    for k_p in (1e-3, 0.5, 3.0, 50.0, 1e4):
        for k_q in (k_p, k_p * (1 + 1e-7), k_p * 1.3, k_p * 3, 0.2, 2e4):
            for angle in (0.0, 1e-4, 1.0, 3.0):
                mu_p = torch.zeros(d, dtype=F64)
                mu_p[0] = 1
                mu_q = torch.zeros(d, dtype=F64)
                mu_q[0], mu_q[1] = math.cos(angle), math.sin(angle)
                p = VonMisesFisher(mu_p, torch.tensor(k_p, dtype=F64))
                q = VonMisesFisher(mu_q, torch.tensor(k_q, dtype=F64))
                want = _mp_vmf_vmf(d, k_p, k_q, mu_p, mu_q)
                got = float(rsample.kl_divergence(p, q))
                assert got >= 0
                if want == 0:
                    assert got == 0
                    continue
                worst = max(worst, abs(got - want) / want)
    assert worst <= 1e-10, worst


def test_vmf_vmf_monte_carlo_batches_and_gradients():
    mu = torch.nn.functional.normalize(torch.randn(2, 5, dtype=F64), dim=-1)
    k_p = torch.tensor([0.7, 20.0], dtype=F64, requires_grad=True)
    k_q = torch.tensor(4.0, dtype=F64, requires_grad=True)
    p = VonMisesFisher(mu, k_p)
    q = VonMisesFisher(mu.flip(0), k_q)
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (2,)
    assert_close(torch.distributions.kl_divergence(p, q), kl, rtol=0, label="torch registry")
    x = p.sample((200_000,), generator=torch.Generator().manual_seed(0))
    diff = p.log_prob(x) - q.log_prob(x)
    se = diff.std(0) / math.sqrt(x.shape[0])
    assert ((diff.mean(0) - kl).abs() <= 5 * se).all()
    g_p, g_q = torch.autograd.grad(kl.sum(), (k_p, k_q))
    assert torch.isfinite(g_p).all() and torch.isfinite(g_q)
    h = 1e-6
    for i in range(2):
        bumped = [k_p.detach().clone() for _ in range(2)]
        bumped[0][i] += h
        bumped[1][i] -= h
        plus, minus = (
            rsample.kl_divergence(VonMisesFisher(mu, b), VonMisesFisher(mu.flip(0), 4.0)).sum()
            for b in bumped
        )
        assert_close(g_p[i], (plus - minus) / (2 * h), rtol=1e-6, label="d KL / d κ_p")
