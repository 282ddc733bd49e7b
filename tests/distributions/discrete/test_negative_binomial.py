"""rsample.NegativeBinomial (torch's convention: successes with probability ``probs`` before
``total_count`` failures; scipy's ``nbinom(r, 1 − p)``) against 40-digit mpmath references,
scipy, torch and the shared checks.

Entropy references: the pmf summed in mpmath wherever that is feasible (including the
heavy-tailed regime that the library handles by an integral representation); for means of
1e11 and more, mpmath's own quadrature of that representation (Malmstén's formula for log Γ
in expectation), which is first checked here against the direct sum.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import discrete_checks as dc
from rsample import NegativeBinomial
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32

CASES = [
    (0.0, 0.3),  # a point mass at 0
    (1e-8, 0.5),
    (0.5, 1e-12),
    (1.0, 0.5),  # Geometric
    (3.5, 0.3),
    (10.0, 0.9),
    (0.3, 0.995),  # heavy tail, small shape
    (20.0, 0.99),  # heavy tail, σ = 445
    (1e4, 0.5),  # wide and Gaussian-like: the trapezoid rule
    (1e6, 1e-12),
    (1e5, 0.5),
]
HUGE = [(0.5, 1 - 1e-12), (1e-8, 1 - 1e-6), (100.0, 1 - 1e-9), (1e8, 0.5)]


def _mp(r, p):
    r, p = mp.mpf(r), mp.mpf(p)
    log_q = mp.log1p(-p)
    return r, p, mp.exp(log_q), mp.log(p) if p > 0 else -mp.inf, log_q


def _log_pmf(k, r, p, q, log_p, log_q):
    if r == 0:
        return mp.mpf(0) if k == 0 else -mp.inf
    a = k * log_p if k > 0 else mp.mpf(0)
    return mp.loggamma(k + r) - mp.loggamma(r) - mp.loggamma(k + 1) + a + r * log_q


def _walker(r, p, q, log_p, log_q):
    mode = int(max(0, mp.floor((r - 1) * p / q)))
    return (lambda k: _log_pmf(k, r, p, q, log_p, log_q)), (lambda k: (k + r) / (k + 1) * p), mode


def _mp_entropy_direct(*args):
    log_at, ratio, mode = _walker(*args)
    return dc.mp_lattice_sum(log_at, ratio, mode, 0, None)


def _mp_entropy_integral(r, p, q, log_p, log_q):
    """The integral representation of the library's heavy-tail branch, by mpmath's quadrature."""
    f0 = mp.exp(r * log_q)
    s = r - 1

    def integrand(t):
        g = (q / (1 - p * mp.exp(-t))) ** r
        a = mp.expm1(-s * t) / mp.expm1(-t) if s != 0 else mp.mpf(0)
        return mp.exp(-t) * (s * (1 - g) + (g - f0) * (s - a)) / t

    d_prime = mp.quad(integrand, [0, q, mp.sqrt(q), 1, 10, mp.inf])
    mean = r * p / q
    return -r * log_q - (1 - f0) * (mp.log(r) - mp.loggamma(r + 1)) - d_prime - mean * log_p


def test_integral_reference_agrees_with_the_direct_sum():
    with mp.workdps(dc.MP_DPS):
        for r, p in [(0.3, 0.995), (2.5, 0.9)]:
            args = _mp(r, p)
            # (the direct sum stops where the terms drop by e^{-60}: its tail is below 1e-23)
            assert abs(_mp_entropy_integral(*args) / _mp_entropy_direct(*args) - 1) < 1e-20


def _values(r, p):
    mean = r * p / (1 - p)
    sd = math.sqrt(r * p) / (1 - p)
    pts = {0, 1, 2, math.floor(mean), math.floor(mean + 6 * sd + 2), math.floor(mean + 30 * sd + 5)}
    pts.add(max(0, math.floor(mean - 5 * sd)))
    return sorted(pts)


@pytest.mark.parametrize(("r", "p"), CASES)
def test_matches_mpmath_float64(r, p):
    d = NegativeBinomial(dc.t64(r), probs=dc.t64(p))
    values = _values(r, p)
    with mp.workdps(dc.MP_DPS):
        args = _mp(r, p)
        log_at, ratio, mode = _walker(*args)
        lp = [dc.finite_float(log_at(k)) for k in values]
        if r == 0:
            cdf, entropy = [1.0] * len(values), 0.0
        else:
            profile = dc.mp_profile(log_at, ratio, mode, 0, None, cover=values)
            cdf = [float(c) for c in dc.mp_cdfs(profile, values, 0, None)]
            entropy = float(-mp.fsum(p * lp for p, lp in zip(*profile[1:]) if p > 0))
        _, pm, qm, _, _ = args
        ref = {"mean": float(args[0] * pm / qm), "variance": float(args[0] * pm / qm**2)}
    assert_close(d.log_prob(dc.t64(values)), lp, rtol=1e-10, label="log_prob")
    assert_close(d.cdf(dc.t64(values)), cdf, rtol=1e-10, label="cdf")
    assert_close(d.entropy(), entropy, rtol=1e-10, label="entropy")
    dc.assert_methods(d, ref, rtol=1e-13)
    assert d.mode.item() == max(0.0, math.floor((r - 1) * p / (1 - p)))


@pytest.mark.parametrize(("r", "p"), HUGE)
def test_entropy_of_huge_means_matches_the_mpmath_integral(r, p):
    with mp.workdps(30):
        ref = float(_mp_entropy_integral(*_mp(r, p)))
    d = NegativeBinomial(dc.t64(r), probs=dc.t64(p))
    assert_close(d.entropy(), ref, rtol=1e-10)
    k = dc.t64([0.0, 3.0, 1e6])
    with mp.workdps(dc.MP_DPS):
        lp = [float(_log_pmf(int(x), *_mp(r, p))) for x in k.tolist()]
    assert_close(d.log_prob(k), lp, rtol=1e-10)


def test_matches_scipy_and_torch_on_a_moderate_grid():
    r = np.array([[0.7], [3.0], [25.0]])
    p = np.array([0.1, 0.5, 0.8])
    frozen = stats.nbinom(r, 1 - p)
    k = np.floor(frozen.mean())
    d = NegativeBinomial(dc.t64(r), dc.t64(p))
    assert_close(d.log_prob(dc.t64(k)), frozen.logpmf(k), rtol=1e-10)
    assert_close(d.cdf(dc.t64(k)), frozen.cdf(k), rtol=1e-10)
    assert_close(d.mean, frozen.mean(), rtol=1e-12)
    assert_close(d.variance, frozen.var(), rtol=1e-12)
    assert_close(d.entropy(), frozen.entropy(), rtol=1e-9)
    for kw in ({"probs": dc.t64(p)}, {"logits": torch.logit(dc.t64(p))}):
        ours, theirs = NegativeBinomial(dc.t64(r), **kw), td.NegativeBinomial(dc.t64(r), **kw)
        assert_close(ours.log_prob(dc.t64(k)), theirs.log_prob(dc.t64(k)), rtol=1e-11)
        for name in ("mean", "mode", "variance"):
            assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-12, label=name)


def test_float32_and_both_parameterizations():
    r = torch.tensor([[0.5], [4.0], [1e4]])
    p = torch.tensor([1e-6, 0.5, 0.99])
    d32, d64 = NegativeBinomial(r, p), NegativeBinomial(r.double(), p.double())
    k = torch.floor(d64.mean).float()
    lp32, lp64 = d32.log_prob(k), d64.log_prob(k.double())
    dc.assert_finite_where(lp32, lp64, "log_prob")
    assert_close(lp32, lp64, rtol=1e-4, atol=1e-6)
    dc.assert_finite_where(d32.entropy(), d64.entropy(), "entropy")
    assert_close(d32.entropy(), d64.entropy(), rtol=1e-4, atol=1e-12)
    e = NegativeBinomial(r.double(), logits=d64.logits)
    assert_close(e.log_prob(k.double()), lp64, rtol=1e-9)
    assert_close(e.entropy(), d64.entropy(), rtol=1e-9)
    assert_close(e.cdf(k.double()), d64.cdf(k.double()), rtol=1e-9)


def test_total_count_gradient_is_exact():
    r = torch.tensor([0.5, 3.0, 2e4], dtype=F64, requires_grad=True)
    p = torch.tensor([0.3, 0.8, 0.5], dtype=F64)
    k = torch.tensor([2.0, 11.0, 19800.0], dtype=F64)
    (g,) = torch.autograd.grad(NegativeBinomial(r, p).log_prob(k).sum(), r)
    rd = r.detach()
    expected = torch.digamma(k + rd) - torch.digamma(rd) + torch.log1p(-p)
    assert_close(g, expected, rtol=1e-9, atol=1e-12)


def test_samples_chi_square():
    r = torch.tensor([0.0, 1e-3, 0.5, 2.5, 40.0], dtype=F64)
    p = torch.tensor([0.5, 0.5, 0.9, 0.3, 0.2], dtype=F64)
    draws = NegativeBinomial(r, p).sample((20000,), generator=dc.gen(0)).numpy()
    assert (draws[:, 0] == 0).all()
    for j in range(1, 5):
        frozen = stats.nbinom(r[j].item(), 1 - p[j].item())
        support = np.arange(0, int(frozen.isf(1e-7)) + 2)
        dc.assert_chi_square(draws[:, j], frozen.pmf, support, label=f"r={r[j]}")


def test_shapes_generator_expand_pickle():
    r = torch.tensor([[0.5, 5.0, 300.0]], requires_grad=True)
    p = torch.tensor([0.3, 0.5, 0.9], requires_grad=True)
    d = NegativeBinomial(r, p)
    x = dc.assert_shapes(d)
    dc.assert_generator_determinism(d)
    dc.assert_expand(d, (2,))
    dc.assert_round_trips(NegativeBinomial(r.detach(), p.detach()), x)
    assert not d.has_rsample and not d.has_enumerate_support


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"NegativeBinomial: argument 'total_count'.*-1"):
        NegativeBinomial(torch.tensor([-1.0]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match=r"NegativeBinomial: argument 'probs'.*HalfOpenInterval"):
        NegativeBinomial(torch.tensor([2.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"NegativeBinomial: argument 'logits'.*finite"):
        NegativeBinomial(2.0, logits=torch.tensor([math.inf]))
    d = NegativeBinomial(torch.tensor([2.5]), torch.tensor([0.5]))
    for bad in ([0.5], [-2.0]):
        with pytest.raises(ValueError, match=r"NegativeBinomial: argument 'value'.*Integer"):
            d.log_prob(torch.tensor(bad))


def test_torch_compile_fullgraph():

    def step(r, p, k):
        d = NegativeBinomial(r, logits=p)
        return d.log_prob(k), d.entropy(), d.cdf(k), d.sample((3,))

    dc.assert_compiles(
        step, torch.tensor([0.5, 30.0]), torch.tensor([0.2, 0.7]), torch.tensor([1.0, 60.0])
    )


def test_moments_at_the_edges_and_their_slopes():
    """r = 0 (a point mass at 0) and odds that overflow give finite or infinite moments, never
    0·∞ = NaN; at p = 0 the slopes of the mean r·p/q and variance r·p/q² are r."""
    p = torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    r = torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)
    d = NegativeBinomial(r, probs=p)
    assert_close(d.mean, [0.0, 0.0, 0.0], rtol=0, atol=0)
    assert_close(d.variance, [0.0, 0.0, 0.0], rtol=0, atol=0)
    assert_close(d.mode, [0.0, 0.0, 0.0], rtol=0, atol=0)
    (slope_mean,) = torch.autograd.grad(d.mean[0], p)
    (slope_var,) = torch.autograd.grad(NegativeBinomial(r, probs=p).variance[0], p)
    assert_close(slope_mean, [3.0, 0.0, 0.0], rtol=1e-15)
    assert_close(slope_var, [3.0, 0.0, 0.0], rtol=1e-15)
    huge = NegativeBinomial(torch.tensor([0.0, 1.0, 4.0]), logits=torch.tensor(1e4))
    assert_close(huge.mean, [0.0, math.inf, math.inf], rtol=0, atol=0)
    assert_close(huge.mode, [0.0, 0.0, torch.finfo(torch.float32).max], rtol=0, atol=0)
    assert not huge.variance.isnan().any()
