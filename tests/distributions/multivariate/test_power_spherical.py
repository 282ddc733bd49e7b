"""rsample.PowerSpherical (De Cao & Aziz 2020), a ``DEDICATED_TESTS`` family.

log_prob, entropy, mean and variance against mpmath (50 digits) over d ∈ {2, 3, 5, 10, 100,
1000} and κ from 1e-3 to 1e5; the normalization of log_prob by quadrature; goodness of fit of
t = μᵀx (its (1 + t)/2 is Beta((d−1)/2 + κ, (d−1)/2)) and of the direction around μ; pathwise
gradients of E[f(X)] in κ and in the mean direction against closed forms; float32; shapes,
generators, ``expand``, validation, pickling, ``torch.compile`` and ``vmap``.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

import sphere_checks
from rsample import PowerSpherical
from rsample.testing import assert_close, assert_pathwise_gradient, assert_samples_match
from sphere_checks import gen as _gen
from sphere_checks import unit as _unit

mp = pytest.importorskip("mpmath")

F64, F32 = torch.float64, torch.float32
DIMS = [2, 3, 5, 10, 100, 1000]
KAPPAS = [1e-3, 0.1, 1.0, 10.0, 1e3, 1e5]


def _perp(mu: np.ndarray, seed: int = 0) -> np.ndarray:
    """A unit vector orthogonal to μ."""
    v = np.random.default_rng(seed + 10_000).standard_normal(mu.shape[0])
    v -= (v @ mu) * mu
    return v / np.linalg.norm(v)


@functools.cache
def _mp_reference(d: int, kappa: float) -> tuple[float, float, float, float, float]:
    """(log N, entropy, E[t], Var[t], E[1 − t²]) at 50 digits (the paper's formulas; Beta
    moments of (1 + t)/2)."""
    with mp.workdps(50):
        k = mp.mpf(kappa)
        b = mp.mpf(d - 1) / 2
        a = b + k
        log_n = (a + b) * mp.log(2) + b * mp.log(mp.pi) + mp.loggamma(a) - mp.loggamma(a + b)
        entropy = log_n - k * (mp.log(2) + mp.digamma(a) - mp.digamma(a + b))
        mean_t = (a - b) / (a + b)
        var_t = 4 * a * b / ((a + b) ** 2 * (a + b + 1))
        spread = 1 - var_t - mean_t**2
        return float(log_n), float(entropy), float(mean_t), float(var_t), float(spread)


def _mp_log_prob(d, kappa, mu, x) -> tuple[float, float]:
    """κ log((1 + μᵀx)/2) − (log N − κ log 2) in exact arithmetic on the float inputs, and the
    ambiguity of that value for float vectors that are unit only to rounding:
    κ (|‖x‖² − 1| + |‖μ‖² − 1|)/(1 + μᵀx) (the implementation forms (1 + μᵀx)/2 as
    1 − ‖x − μ‖²/4 or ‖x + μ‖²/4, equal only on the sphere)."""
    with mp.workdps(50):
        k = mp.mpf(kappa)
        b = mp.mpf(d - 1) / 2
        a = b + k
        rest = 2 * b * mp.log(2) + b * mp.log(mp.pi) + mp.loggamma(a) - mp.loggamma(a + b)
        xs, ms = [mp.mpf(float(p)) for p in x], [mp.mpf(float(q)) for q in mu]
        dot = mp.fsum(p * q for p, q in zip(xs, ms))
        slack = abs(mp.fsum(p * p for p in xs) - 1) + abs(mp.fsum(q * q for q in ms) - 1)
        return float(k * mp.log((1 + dot) / 2) - rest), float(k * slack / (1 + dot))


@pytest.mark.parametrize("d", DIMS)
def test_methods_match_mpmath(d):
    mu = _unit(d, d)
    e = _perp(mu)
    for kappa in KAPPAS:
        dist = PowerSpherical(torch.tensor(mu), torch.tensor(kappa, dtype=F64))
        _, entropy, mean_t, var_t, spread = _mp_reference(d, kappa)
        angles = [0.0, min(math.sqrt((d - 1) / kappa), 3.0), 1.0, math.pi - 1e-3]
        x = np.array([math.cos(t) * mu + math.sin(t) * e for t in angles])
        got = dist.log_prob(torch.tensor(x))
        for i, xi in enumerate(x):
            want, slack = _mp_log_prob(d, kappa, mu, xi)
            assert_close(got[i], want, rtol=1e-12, atol=1e-12 + slack, label=f"lp {kappa} {i}")
        assert_close(dist.entropy(), entropy, rtol=1e-12, atol=1e-13, label="entropy")
        assert_close(dist.mean, mean_t * mu, rtol=1e-14, atol=1e-300, label="mean")
        assert_close(dist.mode, mu, rtol=0, label="mode")
        # per coordinate: Var(t) μ_i² + E[1 − t²]/(d − 1) (1 − μ_i²)
        want_var = var_t * mu**2 + spread / (d - 1) * (1 - mu**2)
        assert_close(dist.variance, want_var, rtol=1e-12, atol=0, label="variance")


def test_density_vanishes_at_the_antipode():
    mu = torch.tensor([0.6, 0.8, 0.0], dtype=F64)
    dist = PowerSpherical(mu, torch.tensor([0.5, 3.0], dtype=F64))
    assert (dist.log_prob(-mu) == -math.inf).all()


def _theta_rule(kappa: float, d: int, n: int = 40):
    """Gauss–Legendre panels graded at the scale 1/√(κ + d) near 0 and geometrically towards π,
    where the density (1 + cos θ)^κ has a power singularity."""
    scale = 1 / math.sqrt(kappa + d)
    edges = {0.0, math.pi, *[min(math.pi, c * scale) for c in (1, 3, 8, 20, 50)]}
    edges |= {math.pi - 2.0**-k for k in range(1, 60)}
    edges = sorted(edges)
    x, w = np.polynomial.legendre.leggauss(n)
    nodes = [(hi - lo) / 2 * x + (hi + lo) / 2 for lo, hi in itertools.pairwise(edges)]
    weights = [(hi - lo) / 2 * w for lo, hi in itertools.pairwise(edges)]
    return np.concatenate(nodes), np.concatenate(weights)


@pytest.mark.parametrize("d", [2, 3, 10, 100])
@pytest.mark.parametrize("kappa", [1e-3, 1.0, 30.0, 1e4])
def test_log_prob_integrates_to_one(d, kappa):
    """∫_0^π p(x(θ)) |S^{d−2}| sin^{d−2}θ dθ = 1, x(θ) = cos θ μ + sin θ e."""
    mu = _unit(d, 5)
    e = _perp(mu)
    theta, w = _theta_rule(kappa, d)
    x = np.cos(theta)[:, None] * mu + np.sin(theta)[:, None] * e
    log_p = PowerSpherical(torch.tensor(mu), torch.tensor(kappa, dtype=F64)).log_prob(
        torch.tensor(x)
    )
    log_shell = math.log(2) + (d - 1) / 2 * math.log(math.pi) - math.lgamma((d - 1) / 2)
    integrand = np.exp(log_p.numpy() + log_shell + (d - 2) * np.log(np.sin(theta)))
    assert abs((integrand * w).sum() - 1) <= 1e-12


GOF = [(d, k) for d in [2, 3, 10, 100] for k in KAPPAS]


@pytest.mark.parametrize("d,kappa", GOF, ids=[f"d{d}-k{k:g}" for d, k in GOF])
def test_goodness_of_fit(d, kappa):
    """(1 + μᵀx)/2 ~ Beta((d−1)/2 + κ, (d−1)/2), compared through the angle θ to μ so that
    draws near μ keep their resolution: F(θ) = P(Z ≥ cos²(θ/2)) = I_{sin²(θ/2)}(β, α); and
    the direction around μ (coordinate along e ⊥ μ of the tangent direction ~ symmetric Beta).
    Kolmogorov–Smirnov, alpha = 1e-4 each, fixed seed."""
    mu = _unit(d, 11)
    dist = PowerSpherical(torch.tensor(mu), torch.tensor(kappa, dtype=F64))
    x = dist.sample((10_000,), generator=_gen(d * 10 + int(math.log10(kappa) + 3)))
    mu_t = torch.tensor(mu)
    assert_close(x.norm(dim=-1), 1.0, rtol=0, atol=4e-15, label="norm")
    half = (x - mu_t).norm(dim=-1) / 2  # sin(θ/2)
    a, b = (d - 1) / 2 + kappa, (d - 1) / 2

    def cdf(s):  # P(sin(θ/2) ≤ s) = P(1 − Z ≤ s²), 1 − Z ~ Beta(b, a)
        return torch.as_tensor(stats.beta(b, a).cdf(s.double().numpy() ** 2))

    assert_samples_match(half, cdf, alpha=1e-4, label=f"angle d={d} k={kappa}")
    e = torch.tensor(_perp(mu))
    tangent = x - (x @ mu_t).unsqueeze(-1) * mu_t
    c = (tangent @ e) / tangent.norm(dim=-1)
    if d == 2:
        assert abs(int((c > 0).sum()) - 5000) <= 5 * 50
    else:
        ref = stats.beta((d - 2) / 2, (d - 2) / 2)
        assert_samples_match(
            (1 + c) / 2, lambda t: torch.as_tensor(ref.cdf(t.numpy())), alpha=1e-4, label="dir"
        )


# --------------------------------------------------------------------------- pathwise gradients
def _loc(phi, d: int):
    zeros = torch.zeros((*phi.shape, d - 2), dtype=phi.dtype)
    return torch.cat([torch.cos(phi).unsqueeze(-1), torch.sin(phi).unsqueeze(-1), zeros], -1)


def _moments(d: int, kappa: float) -> tuple[float, float]:
    """(E[t], E[t²]) from the Beta law of (1 + t)/2."""
    a, b = (d - 1) / 2 + kappa, (d - 1) / 2
    mean = (a - b) / (a + b)
    var = 4 * a * b / ((a + b) ** 2 * (a + b + 1))
    return mean, var + mean * mean


GRAD_CASES = [(2, 0.5), (3, 4.0), (5, 40.0), (10, 2.0), (100, 300.0)]


@pytest.mark.parametrize("d,kappa", GRAD_CASES)
@pytest.mark.parametrize("fname", ["a.x", "(a.x)^2"])
def test_pathwise_gradient(d, kappa, fname):
    """d/dκ and d/dφ of E[f(X)], μ = (cos φ, sin φ, 0, …), against the closed forms
    E[x] = E[t]μ and E[xxᵀ] = E[t²]μμᵀ + (1 − E[t²])/(d − 1)(I − μμᵀ)."""
    a = np.array([0.3, -0.5, 0.7, 0.1, -0.2] * 200)[:d]
    a_t = torch.tensor(a)

    def expectation(phi, kappa):
        mu = np.array([math.cos(phi), math.sin(phi)] + [0.0] * (d - 2))
        m1, m2 = _moments(d, kappa)
        am = float(a @ mu)
        if fname == "a.x":
            return m1 * am
        return m2 * am**2 + (1 - m2) / (d - 1) * (float(a @ a) - am**2)

    f = (lambda x: x @ a_t) if fname == "a.x" else (lambda x: (x @ a_t).square())

    def make(phi, kappa):
        return PowerSpherical(_loc(phi, d), kappa)

    assert_pathwise_gradient(
        make, {"phi": 0.4, "kappa": kappa}, f, expectation, n=20_000, seed=d, label=fname
    )


# --------------------------------------------------------------------------- float32
@pytest.mark.parametrize("d", [2, 3, 10, 1000])
def test_float32_is_finite(d):
    mu = torch.tensor(_unit(d, 6), dtype=F32)
    for kappa in (1e-3, 1.0, 1e4, 1e5):
        k = torch.tensor(kappa, dtype=F32, requires_grad=True)
        loc = mu.clone().requires_grad_()
        dist = PowerSpherical(loc, k)
        x = dist.rsample((500,), generator=_gen(1))
        assert x.dtype == F32 and torch.isfinite(x).all()
        assert ((x.norm(dim=-1) - 1).abs() <= 1e-5).all()
        lp = dist.log_prob(x)
        assert torch.isfinite(lp).all()
        entropy = _mp_reference(d, kappa)[1]
        assert_close(dist.entropy(), entropy, rtol=1e-5, atol=1e-5, label="float32 entropy")
        assert torch.isfinite(dist.variance).all() and torch.isfinite(dist.mean).all()
        (x.sum() + lp.sum()).backward()
        assert torch.isfinite(k.grad) and torch.isfinite(loc.grad).all()


# --------------------------------------------------------------------------- the rest
@pytest.mark.parametrize("d,kappa", [(2, 3.0), (3, 1e5), (7, 0.01), (50, 200.0)])
def test_rsample_and_log_prob(d, kappa):
    sphere_checks.check_rsample_and_log_prob(PowerSpherical, d, kappa, rtol=1e-11, atol=1e-11)


def test_shapes_graph_and_generator():
    sphere_checks.check_shapes_graph_and_generator(PowerSpherical)


def test_expand_is_a_view():
    sphere_checks.check_expand_is_a_view(PowerSpherical)


@pytest.mark.parametrize(
    "loc,kappa,arg",
    [
        ([1.0, 1.0, 0.0], 1.0, "loc"),
        ([0.6, 0.8], 0.0, "concentration"),
        ([0.6, 0.8], -1.0, "concentration"),
        ([0.6, 0.8], math.nan, "concentration"),
        ([math.inf, 0.0], 1.0, "loc"),
    ],
)
def test_invalid_parameters_raise_value_error(loc, kappa, arg):
    with pytest.raises(ValueError) as info:
        PowerSpherical(torch.tensor(loc, dtype=F64), torch.tensor(kappa, dtype=F64))
    assert "PowerSpherical" in str(info.value) and f"'{arg}'" in str(info.value)
    PowerSpherical(torch.tensor(loc, dtype=F64), kappa, validate_args=False)


def test_bad_values_and_shapes_raise():
    dist = PowerSpherical(torch.tensor([0.6, 0.8, 0.0], dtype=F64), 1.0)
    with pytest.raises(ValueError, match=r"PowerSpherical.*'value'"):
        dist.log_prob(torch.tensor([0.0, 0.0, 0.0], dtype=F64))
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.tensor([0.6, 0.8], dtype=F64))
    with pytest.raises(ValueError, match=r"PowerSpherical.*d ≥ 2"):
        PowerSpherical(torch.tensor([1.0], dtype=F64), 1.0)


def test_pickle_deepcopy_and_torch_save():
    sphere_checks.check_round_trips(PowerSpherical)


def test_torch_compile_fullgraph():
    sphere_checks.check_torch_compile_fullgraph(PowerSpherical)


def test_vmap_of_log_prob_and_entropy():
    sphere_checks.check_vmap_of_log_prob_and_entropy(PowerSpherical)
