"""rsample.VonMisesFisher: everything the generic suite checks for the univariate families.

VonMisesFisher is in ``DEDICATED_TESTS`` (the univariate table has no event dimension), so this
module covers it: log_prob, entropy and mean against mpmath (50 digits) and
scipy.stats.vonmises_fisher, the normalization of log_prob over the sphere by quadrature,
goodness of fit of the angle to μ (Kolmogorov–Smirnov against its exact CDF) and of the
direction around μ, for d ∈ {2, 3, 5, 10, 100} and κ from 1e-3 to 1e4, on both sampler paths
(CPU rounds on the rejected lanes; the fixed-shape path of accelerators and ``torch.compile``);
the implicit derivative dθ/dκ of single draws against finite differences of the exact CDF at a
fixed level; pathwise gradients of E[f(X)] in κ and in the mean direction against closed forms
and quadrature; float32; shapes, generators, ``expand``, validation, pickling,
``torch.compile`` and ``vmap``.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import torch
from scipy import integrate, optimize, stats

import rsample
import sphere_checks
from rsample import VonMisesFisher
from rsample.distributions.multivariate import von_mises_fisher as vmf_module
from rsample.testing import assert_close, assert_pathwise_gradient, assert_samples_match
from sphere_checks import gen as _gen
from sphere_checks import unit as _unit

mp = pytest.importorskip("mpmath")

F64, F32 = torch.float64, torch.float32
DIMS = [2, 3, 5, 10, 100]
KAPPAS = [1e-3, 0.1, 1.0, 10.0, 1e3, 1e4]


def _orthonormal(mu: np.ndarray) -> np.ndarray:
    """Columns: μ, then an orthonormal basis of its complement (numpy QR, independent of the
    library's rotation)."""
    d = mu.shape[0]
    basis, _ = np.linalg.qr(np.column_stack([mu, np.eye(d)[:, : d - 1] + 1e-3]))
    return basis * np.sign(basis[:, :1].T @ mu)


@functools.cache
def _mp_constants(d: int, kappa: float) -> tuple[float, float, float]:
    """(log C_d(κ), A_d(κ), entropy) at 50 digits."""
    with mp.workdps(50):
        v, k = mp.mpf(d) / 2 - 1, mp.mpf(kappa)
        i_v = mp.besseli(v, k, maxterms=10**6)
        a = mp.besseli(v + 1, k, maxterms=10**6) / i_v
        log_c = v * mp.log(k) - mp.mpf(d) / 2 * mp.log(2 * mp.pi) - mp.log(i_v)
        return float(log_c), float(a), float(-k * a - log_c)


def _mp_log_prob(d: int, kappa: float, mu: np.ndarray, x: np.ndarray) -> float:
    r""":math:`-\tfrac\kappa2\|x - \mu\|^2 + \kappa + \log C` in exact arithmetic on the float
    inputs (= :math:`\kappa\mu^\top x + \log C` for exactly unit vectors)."""
    with mp.workdps(50):
        v, k = mp.mpf(d) / 2 - 1, mp.mpf(kappa)
        log_c = v * mp.log(k) - mp.mpf(d) / 2 * mp.log(2 * mp.pi)
        log_c -= mp.log(mp.besseli(v, k, maxterms=10**6))
        sq = mp.fsum((mp.mpf(float(a)) - mp.mpf(float(b))) ** 2 for a, b in zip(x, mu))
        return float(-k * sq / 2 + k + log_c)


def _points(d: int, kappa: float, mu: np.ndarray) -> np.ndarray:
    """μ, a point at the typical angle √((d−1)/κ), one at 1 rad, one next to −μ."""
    basis = _orthonormal(mu)
    e = basis[:, 1]
    out = [mu]
    for angle in (min(math.sqrt((d - 1) / kappa), 3.0), 1.0, math.pi - 1e-3):
        out.append(math.cos(angle) * mu + math.sin(angle) * e)
    return np.array(out)


# --------------------------------------------------------------------------- methods vs mpmath
@pytest.mark.parametrize("d", DIMS)
def test_methods_match_mpmath_and_scipy(d):
    mu = _unit(d, d)
    for kappa in KAPPAS:
        dist = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=F64))
        _, a, entropy = _mp_constants(d, kappa)
        x = _points(d, kappa, mu)
        want = [_mp_log_prob(d, kappa, mu, xi) for xi in x]
        got = dist.log_prob(torch.tensor(x))
        assert_close(got, want, rtol=1e-12, atol=1e-12, label=f"log_prob d={d} k={kappa}")
        # scipy forms κ(μᵀx) + log C: agreement to its own rounding (κ·eps absolute)
        ref = stats.vonmises_fisher(mu, kappa)
        assert_close(got, ref.logpdf(x), rtol=1e-10, atol=4e-16 * kappa, label="vs scipy")
        assert_close(dist.entropy(), entropy, rtol=1e-12, atol=1e-13, label="entropy")
        assert_close(dist.entropy(), ref.entropy(), rtol=1e-10, atol=1e-12, label="scipy H")
        assert_close(dist.mean, a * mu, rtol=1e-13, atol=1e-300, label="mean")
        assert_close(dist.mode, mu, rtol=0, label="mode")


@pytest.mark.parametrize("d", [*DIMS, 1000])
def test_variance(d):
    """diag Cov(x) = (A/κ)(1 − μ_i²) + Var(w) μ_i², Var(w) = 1 − A² − (d − 1)A/κ at 50 digits
    (its terms cancel to O(1/κ²) for large κ), and its κ-derivative against mpmath's numerical
    derivative of the same 50-digit expression."""
    mu = _unit(d, d + 1)
    for kappa in [*KAPPAS, 1e5]:
        with mp.workdps(50):
            v, k = mp.mpf(d) / 2 - 1, mp.mpf(kappa)
            a = mp.besseli(v + 1, k, maxterms=10**6) / mp.besseli(v, k, maxterms=10**6)
            var_w = 1 - a * a - (d - 1) * a / k
            m2 = [mp.mpf(float(m)) ** 2 for m in mu]
            want = [float(a / k * (1 - q) + var_w * q) for q in m2]
        got = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=F64)).variance
        assert_close(got, want, rtol=1e-12, atol=0, label=f"variance d={d} k={kappa}")
    for kappa in (1e-4, 2.0, 31.0, 1e3, 1e5):  # both sides of the series/expansion switch
        with mp.workdps(50):
            v, k = mp.mpf(d) / 2 - 1, mp.mpf(kappa)

            def ratio(t, v=v):
                return mp.besseli(v + 1, t, maxterms=10**6) / mp.besseli(v, t, maxterms=10**6)

            slope_a_k = mp.diff(lambda t: ratio(t) / t, k)
            slope_var_w = mp.diff(lambda t: 1 - ratio(t) ** 2 - (d - 1) * ratio(t) / t, k)
            want = [float(slope_a_k * (1 - q) + slope_var_w * q) for q in m2[: min(d, 3)]]
        kappa_t = torch.tensor(kappa, dtype=F64, requires_grad=True)
        variance = VonMisesFisher(torch.tensor(mu), kappa_t).variance
        got = [
            torch.autograd.grad(variance[i], kappa_t, retain_graph=True)[0]
            for i in range(min(d, 3))
        ]
        assert_close(torch.stack(got), want, rtol=3e-11, atol=0, label=f"dvar/dκ d={d} {kappa}")
    if d > 10:
        return
    x = VonMisesFisher(torch.tensor(mu), 3.0).sample((20_000,), generator=_gen(d))
    empirical = x.var(0)
    se = torch.sqrt(((x - x.mean(0)) ** 4).mean(0) / 20_000)
    want = VonMisesFisher(torch.tensor(mu), 3.0).variance
    assert ((empirical - want).abs() <= 5 * se + 1e-12).all()


def test_limits():
    """κ → 0: the uniform distribution (log_prob = −log|S^{d−1}|, mean → κ/d·μ); large κ, large
    d: finite and continuous (κ up to 1e7, d up to 1000)."""
    for d in (2, 3, 7, 1000):
        mu = torch.tensor(_unit(d, 1))
        log_area = math.log(2) + d / 2 * math.log(math.pi) - math.lgamma(d / 2)
        tiny = VonMisesFisher(mu, torch.tensor(1e-300, dtype=F64))
        assert_close(tiny.log_prob(mu), -log_area, rtol=1e-15, label="uniform limit")
        assert_close(tiny.entropy(), log_area, rtol=1e-15, label="entropy limit")
        assert_close(tiny.mean, 1e-300 / d * mu, rtol=1e-14, atol=0, label="mean limit")
        for kappa in (1e5, 1e7):
            entropy = _mp_constants(d, kappa)[2]
            big = VonMisesFisher(mu, torch.tensor(kappa, dtype=F64))
            want = _mp_log_prob(d, kappa, mu.numpy(), mu.numpy())
            assert_close(big.log_prob(mu), want, rtol=1e-12, label="log_prob at mu")
            assert_close(big.entropy(), entropy, rtol=1e-11, label="entropy large kappa")


# --------------------------------------------------------------------------- normalization
def _theta_rule(kappa: float, d: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes/weights on [0, π], panels graded at the scale 1/√(κ + d)."""
    scale = 1 / math.sqrt(kappa + d)
    edges = sorted({0.0, math.pi, *[min(math.pi, c * scale) for c in (1, 3, 8, 20, 50)]})
    x, w = np.polynomial.legendre.leggauss(n)
    nodes, weights = [], []
    for lo, hi in itertools.pairwise(edges):
        nodes.append((hi - lo) / 2 * x + (hi + lo) / 2)
        weights.append((hi - lo) / 2 * w)
    return np.concatenate(nodes), np.concatenate(weights)


@pytest.mark.parametrize("kappa", [1e-3, 1.0, 30.0, 1e4])
def test_log_prob_integrates_to_one_on_the_2_sphere(kappa):
    """d = 3: ∫ p dS over S² (polar angle from μ by graded Gauss–Legendre, azimuth by the
    periodic trapezoid rule) = 1 to 1e-12."""
    mu = _unit(3, 4)
    basis = _orthonormal(mu)
    theta, w_theta = _theta_rule(kappa, 3)
    phi = np.arange(32) * (2 * np.pi / 32)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    local = np.stack([np.cos(t), np.sin(t) * np.cos(p), np.sin(t) * np.sin(p)], -1)
    x = local @ basis.T
    dens = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=F64)).log_prob(
        torch.tensor(x)
    )
    total = (np.exp(dens.numpy()) * np.sin(t)).sum(1) * (2 * np.pi / 32)
    assert abs((total * w_theta).sum() - 1) <= 1e-12


@pytest.mark.parametrize("d", [2, 5, 10, 100])
@pytest.mark.parametrize("kappa", [1e-3, 1.0, 30.0, 1e4])
def test_log_prob_integrates_to_one_radially(d, kappa):
    """∫_0^π p(x(θ)) |S^{d−2}| sin^{d−2}θ dθ = 1, x(θ) = cos θ μ + sin θ e (e ⊥ μ)."""
    mu = _unit(d, 5)
    e = _orthonormal(mu)[:, 1]
    theta, w = _theta_rule(kappa, d)
    x = np.cos(theta)[:, None] * mu + np.sin(theta)[:, None] * e
    log_p = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=F64)).log_prob(
        torch.tensor(x)
    )
    log_shell = math.log(2) + (d - 1) / 2 * math.log(math.pi) - math.lgamma((d - 1) / 2)
    integrand = np.exp(log_p.numpy() + log_shell + (d - 2) * np.log(np.sin(theta)))
    assert abs((integrand * w).sum() - 1) <= 1e-12


# --------------------------------------------------------------------------- goodness of fit
def _angle_cdf(d: int, kappa: float):
    """CDF of θ = ∠(x, μ), tabulated (cumulative trapezoid of the exact density on a fine grid
    dense where the mass is; interpolation error < 1e-7), as a function of torch tensors."""
    scale = 1 / math.sqrt(kappa + d)
    hi = min(math.pi, 60 * scale)
    grid = np.concatenate([np.linspace(0, hi, 200_001), np.linspace(hi, math.pi, 2001)[1:]])
    log_q = kappa * (np.cos(grid) - 1)
    if d > 2:
        with np.errstate(divide="ignore"):
            log_q = log_q + (d - 2) * np.log(np.sin(grid))
    q = np.exp(log_q - log_q.max())
    cum = np.concatenate([[0.0], np.cumsum((q[1:] + q[:-1]) / 2 * np.diff(grid))])
    cum /= cum[-1]

    def cdf(t: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(np.interp(t.double().numpy(), grid, cum))

    return cdf


def _angles(x: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """θ = 2 asin(‖x − μ‖/2), accurate for small angles."""
    return 2 * torch.asin(((x - mu).norm(dim=-1) / 2).clamp(max=1))


def _check_directions(x: torch.Tensor, mu: np.ndarray, label: str) -> None:
    """The direction of x around μ is uniform on S^{d−2}: its coordinate along a fixed e ⊥ μ,
    c, has (1 + c)/2 ~ Beta((d−2)/2, (d−2)/2) (d = 2: c = ±1 with equal probability)."""
    d = mu.shape[0]
    e = torch.tensor(_orthonormal(mu)[:, 1])
    mu_t = torch.tensor(mu)
    tangent = x - (x @ mu_t).unsqueeze(-1) * mu_t
    c = (tangent @ e) / tangent.norm(dim=-1)
    if d == 2:
        n, k = c.numel(), int((c > 0).sum())
        assert abs(k - n / 2) <= 5 * math.sqrt(n) / 2, (label, k, n)
        return
    ref = stats.beta((d - 2) / 2, (d - 2) / 2)
    assert_samples_match(
        (1 + c) / 2, lambda t: torch.as_tensor(ref.cdf(t.numpy())), alpha=1e-4, label=label
    )


GOF = [(d, k) for d in DIMS for k in KAPPAS]


@pytest.mark.parametrize("d,kappa", GOF, ids=[f"d{d}-k{k:g}" for d, k in GOF])
def test_goodness_of_fit(d, kappa):
    """Angle to μ against its exact CDF, and the direction around μ (KS, alpha = 1e-4 each,
    fixed seed)."""
    mu = _unit(d, 11)
    dist = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=F64))
    x = dist.sample((10_000,), generator=_gen(d * 100 + int(math.log10(kappa) + 3)))
    assert_close(x.norm(dim=-1), 1.0, rtol=0, atol=4e-15, label="norm")
    assert_samples_match(
        _angles(x, torch.tensor(mu)), _angle_cdf(d, kappa), alpha=1e-4, label=f"angle {d} {kappa}"
    )
    _check_directions(x, mu, f"direction d={d} k={kappa}")


@pytest.mark.parametrize("d,kappa", [(2, 1e3), (5, 10.0), (100, 0.3)])
def test_fixed_shape_sampler_path(d, kappa, monkeypatch):
    """The accelerator/compile path (8 rounds of 8 proposals per lane, no host reads) draws from
    the same distribution."""
    monkeypatch.setattr(vmf_module, "host_reads_free", lambda t: False)
    mu = _unit(d, 12)
    dist = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=F64))
    x = dist.sample((4000,), generator=_gen(7))
    assert_samples_match(
        _angles(x, torch.tensor(mu)), _angle_cdf(d, kappa), alpha=1e-4, label="fixed path"
    )


# --------------------------------------------------------------------------- implicit derivative
def _reference_slopes(d: int, kappa: float, theta: np.ndarray) -> np.ndarray:
    """dθ/dκ at fixed u = F(θ; κ): the exact CDF by adaptive quadrature (scipy), θ(κ ± h)
    solved from F(θ; κ ± h) = u, Richardson-extrapolated central differences."""

    def log_q(t, k):
        return k * (np.cos(t) - 1) + (d - 2) * np.log(np.sin(t)) if d > 2 else k * (np.cos(t) - 1)

    def cdf(t, k):
        scale = 1 / math.sqrt(k + d)
        pts = [p for p in (scale, 3 * scale, 10 * scale, 30 * scale) if p < math.pi]
        norm = integrate.quad(
            lambda s: np.exp(log_q(s, k)),
            0,
            math.pi,
            points=pts,
            epsabs=0,
            epsrel=1e-13,
            limit=400,
        )[0]
        head = integrate.quad(
            lambda s: np.exp(log_q(s, k)),
            0,
            t,
            points=[p for p in pts if p < t],
            epsabs=0,
            epsrel=1e-13,
            limit=400,
        )[0]
        return head / norm

    out = []
    for t in theta:
        u = cdf(t, kappa)

        def solve(k, u=u, t=t):
            return optimize.brentq(
                lambda s: cdf(s, k) - u, t * 0.5, min(math.pi, t * 2 + 0.1), xtol=1e-15, rtol=1e-15
            )

        def diff(h):
            return (solve(kappa + h) - solve(kappa - h)) / (2 * h)

        h = 1e-3 * kappa
        out.append((4 * diff(h / 2) - diff(h)) / 3)
    return np.array(out)


@pytest.mark.parametrize(
    "d,kappa", [(2, 0.7), (3, 0.2), (3, 50.0), (5, 30.0), (10, 1e4), (100, 3.0)]
)
def test_implicit_derivative_of_single_draws(d, kappa):
    """Per draw (each with its own κ leaf), dθ/dκ through rsample equals the derivative of the
    draw at a fixed CDF level, from finite differences of the exact CDF (rtol 1e-6)."""
    mu = torch.tensor(_unit(d, 3))
    n = 6
    leaf = torch.full((n,), kappa, dtype=F64, requires_grad=True)
    x = VonMisesFisher(mu, leaf).rsample(generator=_gen(d))
    theta = _angles(x, mu)
    (slope,) = torch.autograd.grad(theta.sum(), leaf)
    want = _reference_slopes(d, kappa, theta.detach().numpy())
    assert_close(slope, want, rtol=1e-6, atol=0, label=f"dθ/dκ d={d} κ={kappa}")


def test_d3_derivative_is_continuous_across_its_two_forms():
    """The closed form for d = 3 switches formulas at κ = ½: both sides agree there."""
    theta = torch.tensor([1e-6, 0.3, 1.5, 3.0], dtype=F64)
    below = vmf_module._dtheta_dkappa_d3(theta, torch.tensor(0.5, dtype=F64))[0]
    above = vmf_module._dtheta_dkappa_d3(theta, torch.tensor(0.5 + 1e-12, dtype=F64))[0]
    assert_close(below, above, rtol=1e-10, atol=0, label="κ = 1/2")


# --------------------------------------------------------------------------- pathwise gradients
def _log_norm(d: int, kappa: float) -> float:
    return _mp_constants(d, kappa)[0]


def _mean_length(d: int, kappa: float) -> float:
    return _mp_constants(d, kappa)[1]


def _loc(phi, d: int):
    """μ(φ) = (cos φ, sin φ, 0, …): a scalar parameter for the mean direction."""
    zeros = torch.zeros((*phi.shape, d - 2), dtype=phi.dtype)
    return torch.cat([torch.cos(phi).unsqueeze(-1), torch.sin(phi).unsqueeze(-1), zeros], -1)


def _expectations(d: int):
    a = np.array([0.3, -0.5, 0.7, 0.1, -0.2] * 20)[:d]
    b = np.array([0.4, 0.9, -0.6, 0.2, 0.5] * 20)[:d]
    a_t, b_t = torch.tensor(a), torch.tensor(b)

    def mu_np(phi):
        return np.array([math.cos(phi), math.sin(phi)] + [0.0] * (d - 2))

    def e_linear(phi, kappa):  # E[aᵀx] = A aᵀμ
        return _mean_length(d, kappa) * float(a @ mu_np(phi))

    def e_square(phi, kappa):  # E[(aᵀx)²] = (A/κ)‖a‖² + (1 − dA/κ)(aᵀμ)²
        ak = _mean_length(d, kappa) / kappa
        return ak * float(a @ a) + (1 - d * ak) * float(a @ mu_np(phi)) ** 2

    def e_exp(phi, kappa):  # E[exp(bᵀx)] = C(κ)/C(‖κμ + b‖)
        return math.exp(
            _log_norm(d, kappa) - _log_norm(d, float(np.linalg.norm(kappa * mu_np(phi) + b)))
        )

    return {
        "a.x": (lambda x: x @ a_t, e_linear),
        "(a.x)^2": (lambda x: (x @ a_t).square(), e_square),
        "exp(b.x)": (lambda x: torch.exp(x @ b_t), e_exp),
    }


GRAD_CASES = [
    (2, 4.0, "a.x"),
    (2, 0.5, "exp(b.x)"),
    (3, 0.5, "(a.x)^2"),
    (3, 40.0, "exp(b.x)"),
    (5, 4.0, "(a.x)^2"),
    (5, 40.0, "a.x"),
    (10, 4.0, "exp(b.x)"),
    (100, 40.0, "(a.x)^2"),
]


@pytest.mark.parametrize(
    "d,kappa,fname", GRAD_CASES, ids=[f"d{d}-k{k}-{f}" for d, k, f in GRAD_CASES]
)
def test_pathwise_gradient_in_kappa_and_direction(d, kappa, fname):
    """d/dκ and d/dφ of E[f(X)], μ = (cos φ, sin φ, 0, …): per-draw pathwise gradients within 5
    standard errors of the central difference of the closed form (mpmath Bessel functions)."""
    f, expectation = _expectations(d)[fname]

    def make(phi, kappa):
        return VonMisesFisher(_loc(phi, d), kappa)

    assert_pathwise_gradient(
        make, {"phi": 0.4, "kappa": kappa}, f, expectation, n=10_000, seed=d, label=fname
    )


@pytest.mark.parametrize("d,kappa", [(4, 2.0), (10, 25.0)])
def test_pathwise_gradient_against_radial_quadrature(d, kappa):
    """f(x) = (μᵀx)³: E[w³] by quadrature of the marginal density of w = μᵀx."""

    def expectation(kappa):
        def dens(w, k=kappa):
            return (1 - w * w) ** ((d - 3) / 2) * math.exp(k * (w - 1))

        top = integrate.quad(lambda w: w**3 * dens(w), -1, 1, epsabs=0, epsrel=1e-13)[0]
        return top / integrate.quad(dens, -1, 1, epsabs=0, epsrel=1e-13)[0]

    mu = torch.tensor(_unit(d, 2))

    def make(kappa):
        return VonMisesFisher(mu, kappa)

    assert_pathwise_gradient(
        make, {"kappa": kappa}, lambda x: (x @ mu) ** 3, expectation, n=10_000, seed=5
    )


# --------------------------------------------------------------------------- float32
@pytest.mark.parametrize("d", [2, 3, 10, 100, 1000])
def test_float32_is_finite(d):
    mu = torch.tensor(_unit(d, 6), dtype=F32)
    for kappa in (1e-3, 1.0, 1e4, 1e5):
        k = torch.tensor(kappa, dtype=F32, requires_grad=True)
        loc = mu.clone().requires_grad_()
        dist = VonMisesFisher(loc, k)
        x = dist.rsample((500,), generator=_gen(1))
        assert x.dtype == F32 and torch.isfinite(x).all()
        assert ((x.norm(dim=-1) - 1).abs() <= 1e-5).all()
        lp = dist.log_prob(x)
        assert torch.isfinite(lp).all() and torch.isfinite(dist.log_prob(x.clone())).all()
        want = _mp_log_prob(d, kappa, mu.double().numpy(), mu.double().numpy())
        assert_close(dist.log_prob(mu), want, rtol=1e-5, atol=1e-5, label="float32 log_prob")
        assert_close(dist.entropy(), _mp_constants(d, kappa)[2], rtol=1e-5, atol=1e-5)
        (x.sum() + lp.sum()).backward()
        assert torch.isfinite(k.grad) and torch.isfinite(loc.grad).all()


# --------------------------------------------------------------------------- rsample_and_log_prob
@pytest.mark.parametrize("d,kappa", [(2, 3.0), (3, 1e4), (7, 0.01), (50, 200.0)])
def test_rsample_and_log_prob(d, kappa):
    sphere_checks.check_rsample_and_log_prob(
        VonMisesFisher, d, kappa, rtol=1e-12, atol=1e-12 * kappa
    )


# --------------------------------------------------------------------------- shapes, generators
def test_shapes_graph_and_generator():
    sphere_checks.check_shapes_graph_and_generator(VonMisesFisher)


def test_expand_is_a_view():
    sphere_checks.check_expand_is_a_view(VonMisesFisher)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "loc,kappa,arg",
    [
        ([1.0, 1.0, 0.0], 1.0, "loc"),
        ([0.6, 0.8], 0.0, "concentration"),
        ([0.6, 0.8], -2.0, "concentration"),
        ([0.6, 0.8], math.nan, "concentration"),
        ([0.6, 0.8], math.inf, "concentration"),
        ([math.nan, 1.0], 1.0, "loc"),
        ([[0.6, 0.8], [0.0, 0.5]], 1.0, "loc"),
    ],
)
def test_invalid_parameters_raise_value_error(loc, kappa, arg):
    with pytest.raises(ValueError) as info:
        VonMisesFisher(torch.tensor(loc, dtype=F64), torch.tensor(kappa, dtype=F64))
    message = str(info.value)
    assert "VonMisesFisher" in message and f"'{arg}'" in message
    VonMisesFisher(torch.tensor(loc, dtype=F64), kappa, validate_args=False)  # no check


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"VonMisesFisher.*d ≥ 2"):
        VonMisesFisher(torch.tensor([1.0], dtype=F64), 1.0)
    with pytest.raises(ValueError, match=r"VonMisesFisher.*d ≥ 2"):
        VonMisesFisher(torch.tensor(1.0, dtype=F64), 1.0)
    with pytest.raises(ValueError, match=r"VonMisesFisher.*broadcast"):
        VonMisesFisher(torch.eye(3, dtype=F64), torch.ones(2, dtype=F64))
    dist = VonMisesFisher(torch.tensor([0.6, 0.8, 0.0], dtype=F64), 1.0)
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.tensor([0.6, 0.8], dtype=F64))


def test_out_of_support_values_raise():
    dist = VonMisesFisher(torch.tensor([0.6, 0.8, 0.0], dtype=F64), 1.0)
    with pytest.raises(ValueError, match=r"VonMisesFisher.*'value'.*UnitSphere"):
        dist.log_prob(torch.tensor([1.0, 1.0, 0.0], dtype=F64))
    x = dist.rsample((4,), generator=_gen(1))
    assert_close(dist.log_prob(x), dist.log_prob(x.clone()), rtol=1e-15, label="own draw")
    with torch.no_grad():
        x[0] *= 2
    with pytest.raises(ValueError, match="VonMisesFisher"):
        dist.log_prob(x)


# --------------------------------------------------------------------------- interop
def test_pickle_deepcopy_and_torch_save():
    sphere_checks.check_round_trips(VonMisesFisher)


def test_torch_compile_fullgraph():
    """rsample (the fixed-shape sampler path), log_prob and the implicit backward (quadrature);
    the Bessel functions take their dense two-method path."""
    sphere_checks.check_torch_compile_fullgraph(VonMisesFisher)


def test_vmap_of_log_prob_and_entropy():
    sphere_checks.check_vmap_of_log_prob_and_entropy(VonMisesFisher)


def test_torch_kl_registry_finds_the_uniform_pair():
    p = VonMisesFisher(torch.tensor([0.6, 0.8, 0.0], dtype=F64), 3.0)
    q = rsample.HypersphericalUniform(3, dtype=F64)
    assert_close(torch.distributions.kl_divergence(p, q), rsample.kl_divergence(p, q), rtol=0)
