"""VonMises beyond the generic reference tests (``tests/examples_circular.py``).

Sampler validity and goodness of fit on both sampling paths (the CPU one that redraws only
rejected lanes, and the fixed-shape one that accelerators, ``torch.compile`` and ``vmap`` take),
the Best–Fisher envelope's acceptance rate against its integral, per-draw κ-derivatives against
finite differences of the quantile at fixed ``u``, pathwise gradients of a circular moment with a
closed form, parity with ``torch.distributions.VonMises``, conventions of ``cdf``/``icdf``, and
bad input. Statistical tests use fixed seeds and state their false-failure rates.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import integrate, special, stats

import rsample as D
import rsample.distributions.continuous.von_mises as VM
from rsample.special import von_mises_cdf, von_mises_icdf
from rsample.testing import assert_samples_match

F32, F64 = torch.float32, torch.float64
PATHS = ("compact", "fixed")


@contextlib.contextmanager
def _path(path: str):
    """``fixed``: the fixed-shape sampler (blocks of rounds with ``where``) on the CPU."""
    saved = VM.host_reads_free
    if path == "fixed":
        VM.host_reads_free = lambda t: False
    try:
        yield
    finally:
        VM.host_reads_free = saved


def _draws(loc, kappa, n, dtype=F64, seed=0, path="compact"):
    d = D.VonMises(torch.tensor(loc, dtype=dtype), torch.tensor(kappa, dtype=dtype))
    with _path(path):
        return d.sample((n,), generator=torch.Generator().manual_seed(seed))


def _centred(x: torch.Tensor, loc: float) -> np.ndarray:
    return np.remainder(x.double().numpy() - loc + math.pi, 2 * math.pi) - math.pi


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_draws_lie_in_the_period_and_are_finite(dtype, path):
    pi = float(torch.tensor(math.pi, dtype=dtype))
    for kappa in (1e-6, 1e-3, 0.5, 5.0, 300.0, 1e5):
        for loc in (0.0, 3.0, -1e3):
            x = _draws(loc, kappa, 4000 if path == "compact" else 1000, dtype, seed=1, path=path)
            assert x.dtype == dtype and torch.isfinite(x).all()
            assert (x >= -pi).all() and (x < pi).all(), (kappa, loc, x.min(), x.max())
            d = D.VonMises(torch.tensor(loc, dtype=dtype), torch.tensor(kappa, dtype=dtype))
            assert torch.isfinite(d.log_prob(x)).all()


@pytest.mark.parametrize("path", PATHS)
def test_goodness_of_fit(path):
    """Kolmogorov–Smirnov of the centred draws against scipy's CDF, alpha = 1e-4 per case
    (fixed seeds): from the uniform limit to the normal one, float64 and float32."""
    cases = [(1e-6, F64), (0.05, F64), (1.0, F64), (7.0, F32), (60.0, F64), (1e4, F32)]
    for i, (kappa, dtype) in enumerate(cases if path == "compact" else cases[1::2]):
        x = _draws(0.7, kappa, 20_000, dtype, seed=10 + i, path=path)
        y = torch.as_tensor(_centred(x, 0.7))
        assert_samples_match(
            y,
            lambda v, k=kappa: torch.as_tensor(stats.vonmises.cdf(v.numpy(), k)),
            alpha=1e-4,
            label=f"VonMises(0.7, {kappa}) {dtype} {path}",
        )


def _acceptance(kappa: float) -> float:
    """Best–Fisher acceptance probability: E over the wrapped-Cauchy proposal of c·e^{1−c}."""
    tau = 1 + math.sqrt(1 + 4 * kappa * kappa)
    rho = (tau - math.sqrt(2 * tau)) / (2 * kappa)
    r = (1 + rho * rho) / (2 * rho)

    def integrand(theta):
        proposal = (1 - rho * rho) / (2 * math.pi * (1 + rho * rho - 2 * rho * math.cos(theta)))
        c = kappa * (r - math.cos(theta))
        return proposal * c * math.exp(1 - c)

    width = min(math.pi, 30 / math.sqrt(kappa))
    return 2 * integrate.quad(integrand, 0, width, limit=200, epsabs=1e-13)[0]


def test_envelope_acceptance_rate_matches_its_integral():
    """The half-angle envelope (``a``, ``κ(r − 1)``) is Best & Fisher's: one round of
    proposals accepts at the rate their textbook constants give (binomial, 5 SD); and the
    worst rate, 0.6577 as κ → ∞, makes 72 fixed-shape rounds fail with probability < 1e-33."""
    n = 200_000
    gen = torch.Generator().manual_seed(3)
    for kappa in (0.02, 1.0, 4.0, 50.0, 1e4):
        k = torch.tensor(kappa, dtype=F64)
        angle, u = VM._uniforms((n,), k, gen)
        _, accept = VM._propose(angle, u, *VM._envelope(k))
        p = _acceptance(kappa)
        assert abs(float(accept.double().mean()) - p) <= 5 * math.sqrt(p * (1 - p) / n), kappa
    worst = _acceptance(1e8)
    assert 0.6577 < worst < 0.6578
    assert (1 - worst) ** (VM._BLOCK * VM._BLOCKS) < 1e-33


def test_envelope_constants_have_no_cancellation():
    """a = (1 − ρ)/(1 + ρ) and κ(r − 1) from the cancellation-free forms agree with the
    textbook formulas where those are accurate, and reach the uniform limit as κ → 0."""
    for kappa in (1e-2, 0.3, 2.0, 40.0):
        tau = 1 + math.sqrt(1 + 4 * kappa * kappa)
        rho = (tau - math.sqrt(2 * tau)) / (2 * kappa)
        r = (1 + rho * rho) / (2 * rho)
        a, k_r1, _ = VM._envelope(torch.tensor(kappa, dtype=F64))
        assert math.isclose(float(a), (1 - rho) / (1 + rho), rel_tol=1e-12)
        assert math.isclose(float(k_r1), kappa * (r - 1), rel_tol=1e-10)
    for dtype in (F32, F64):
        a, k_r1, _ = VM._envelope(torch.tensor([1e-30, 0.0, 1e30], dtype=dtype))
        assert torch.isfinite(a).all() and torch.isfinite(k_r1).all()
        assert float(a[0]) == 1 and float(a[1]) == 1 and abs(float(k_r1[0]) - 1) < 1e-6


@pytest.mark.parametrize("kappa", [0.3, 4.0, 40.0, 500.0])
def test_per_draw_derivative_matches_inverse_cdf_differences(kappa):
    """dx/dκ at fixed u = G(x − μ): central differences of the quantile (an independent
    Halley solve), and dx/dμ = 1."""
    n = 300
    loc = torch.full((n,), 0.4, dtype=F64, requires_grad=True)
    k = torch.full((n,), kappa, dtype=F64, requires_grad=True)
    x = D.VonMises(loc, k).rsample(generator=torch.Generator().manual_seed(5))
    g_loc, g_k = torch.autograd.grad(x.sum(), (loc, k))
    torch.testing.assert_close(g_loc, torch.ones_like(g_loc), rtol=0, atol=0)
    with torch.no_grad():
        y = torch.as_tensor(_centred(x.detach(), 0.4))
        u = von_mises_cdf(y, kappa)
        h = 1e-6 * kappa
        fd = (von_mises_icdf(u, kappa + h) - von_mises_icdf(u, kappa - h)) / (2 * h)
    scale = fd.abs().max()
    torch.testing.assert_close(g_k, fd, rtol=1e-6, atol=1e-8 * float(scale))


@pytest.mark.parametrize(
    ("kappa", "path"), [(0.05, "compact"), (2.0, "fixed"), (20.0, "compact"), (150.0, "compact")]
)
def test_pathwise_gradient_of_a_circular_moment(kappa, path):
    """E[cos(X − c)] = A(κ)·cos(μ − c) with A = I1/I0: d/dμ = −A sin(μ − c) and
    d/dκ = A'(κ) cos(μ − c), A' = 1 − A/κ − A². Monte Carlo mean of the per-draw pathwise
    gradients within 5 standard errors (false failure ~6e-7 per parameter)."""
    n, mu, c = (150_000 if path == "compact" else 40_000), 0.9, -0.4
    loc = torch.full((n,), mu, dtype=F64, requires_grad=True)
    k = torch.full((n,), kappa, dtype=F64, requires_grad=True)
    with _path(path):
        x = D.VonMises(loc, k).rsample(generator=torch.Generator().manual_seed(7))
    g_loc, g_k = torch.autograd.grad(torch.cos(x - c).sum(), (loc, k))
    a = special.i1e(kappa) / special.i0e(kappa)
    exact = {"loc": -a * math.sin(mu - c), "k": (1 - a / kappa - a * a) * math.cos(mu - c)}
    for name, g in (("loc", g_loc), ("k", g_k)):
        mean, se = float(g.mean()), float(g.std()) / math.sqrt(n)
        assert abs(mean - exact[name]) <= 5 * se + 1e-9, (kappa, name, mean, exact[name], se)


def test_matches_torch_where_torch_is_accurate():
    """torch's Bessel functions are 7-digit polynomial fits (Abramowitz & Stegun 9.8):
    agreement to their accuracy."""
    gen = torch.Generator().manual_seed(0)
    for kappa in (0.1, 1.0, 3.75, 5.0, 30.0, 200.0):
        for loc in (-2.0, 0.5):
            ours = D.VonMises(torch.tensor(loc, dtype=F64), torch.tensor(kappa, dtype=F64))
            theirs = td.VonMises(torch.tensor(loc, dtype=F64), torch.tensor(kappa, dtype=F64))
            x = (torch.rand(50, generator=gen, dtype=F64) - 0.5) * 20
            # torch's log I0 errs by up to 3.8e-7 (at κ = 200, against mpmath)
            torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=5e-7, atol=5e-7)
            torch.testing.assert_close(ours.mean, theirs.mean, rtol=0, atol=0)
            torch.testing.assert_close(ours.mode, theirs.mode, rtol=0, atol=0)
            # 1 − variance = I1/I0 (the variance itself amplifies torch's error by ~2κ)
            torch.testing.assert_close(1 - ours.variance, 1 - theirs.variance, rtol=1e-6, atol=0)
    assert D.VonMises.support is td.VonMises.support
    assert D.VonMises.arg_constraints == td.VonMises.arg_constraints
    assert D.VonMises(0.0, 1.0).has_rsample and D.VonMises.rsample_kind == "implicit"


def test_cdf_and_icdf_conventions():
    """cdf is G(x − μ reduced into [−π, π]): 0 at μ − π, 1 at μ + π, scipy's
    ``vonmises(κ, μ).cdf`` in between (scipy is accurate to ~2e-13 absolute for κ ≤ 50), and
    periodic. icdf(q) = μ + G⁻¹(q) ∈ [μ − π, μ + π]."""
    for loc, kappa in ((0.3, 2.0), (-2.5, 40.0), (5.0, 0.01)):
        d = D.VonMises(torch.tensor(loc, dtype=F64), torch.tensor(kappa, dtype=F64))
        x = loc + torch.linspace(-math.pi + 1e-9, math.pi - 1e-9, 41, dtype=F64)
        ref = stats.vonmises(kappa, loc).cdf(x.numpy())
        np.testing.assert_allclose(d.cdf(x).numpy(), ref, rtol=1e-11, atol=5e-13)
        torch.testing.assert_close(d.cdf(x + 4 * math.pi), d.cdf(x), rtol=1e-12, atol=1e-12)
        q = torch.tensor([0.0, 1e-9, 0.2, 0.5, 0.9, 1.0], dtype=F64)
        xq = d.icdf(q)
        assert float(xq[0]) == pytest.approx(loc - math.pi, abs=1e-15)
        assert float(xq[-1]) == pytest.approx(loc + math.pi, abs=1e-15)
        torch.testing.assert_close(d.cdf(xq[1:-1]), q[1:-1], rtol=1e-12, atol=1e-15)


def test_moments_and_entropy_limits():
    """κ → 0: the uniform circle (variance 1, entropy log 2π); κ → ∞: the normal limit,
    variance ≈ 1/(2κ) and entropy ≈ ½ log(2πe/κ)."""
    d = D.VonMises(torch.tensor(0.0, dtype=F64), torch.tensor([1e-30, 1e8], dtype=F64))
    var, ent = d.variance, d.entropy()
    assert float(var[0]) == 1.0 and float(ent[0]) == pytest.approx(math.log(2 * math.pi), 1e-15)
    k = 1e8
    assert float(var[1]) == pytest.approx(1 / (2 * k) + 1 / (8 * k * k), rel=1e-12)
    assert float(ent[1]) == pytest.approx(0.5 * math.log(2 * math.pi * math.e / k), abs=1e-8)
    for dtype in (F32, F64):
        kk = torch.tensor([1e-20, 1e-3, 1.0, 1e3, 1e6], dtype=dtype, requires_grad=True)
        dd = D.VonMises(torch.zeros_like(kk), kk)
        grads = torch.autograd.grad((dd.entropy() + dd.variance).sum(), kk)[0]
        assert torch.isfinite(dd.entropy()).all() and torch.isfinite(grads).all()


def test_invalid_arguments_raise():
    for loc, kappa, name, word in (
        (0.0, 0.0, "concentration", "positive"),
        (0.0, -1.0, "concentration", "positive"),
        (0.0, math.nan, "concentration", "positive"),
        (math.nan, 1.0, "loc", "real"),
    ):
        with pytest.raises(ValueError, match="VonMises") as info:
            D.VonMises(torch.tensor(loc), torch.tensor(kappa))
        assert f"'{name}'" in str(info.value) and word in str(info.value)
        D.VonMises(torch.tensor(loc), torch.tensor(kappa), validate_args=False)
    d = D.VonMises(0.0, 1.0)
    with pytest.raises(ValueError, match="value"):
        d.log_prob(torch.tensor([0.0, math.nan]))
    with pytest.raises(ValueError, match="value"):
        d.icdf(torch.tensor([-0.1]))
    assert d.log_prob(torch.tensor([math.inf, -math.inf])).eq(-math.inf).all()
    assert d.log_prob(torch.tensor(100.0)).isfinite()  # any real angle


@pytest.mark.parametrize("path", PATHS)
def test_generator_determinism(path):
    d = D.VonMises(torch.tensor([0.3, -1.0]), torch.tensor([2.0, 0.05]))
    state = torch.random.get_rng_state()
    with _path(path):
        a = d.sample((500,), generator=torch.Generator().manual_seed(9))
        b = d.sample((500,), generator=torch.Generator().manual_seed(9))
        c = d.sample((500,), generator=torch.Generator().manual_seed(10))
        x, lp = d.rsample_and_log_prob((500,), generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b) and not torch.equal(a, c) and torch.equal(x, a)
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.testing.assert_close(lp, d.log_prob(a.clone()), rtol=1e-6, atol=1e-6)
