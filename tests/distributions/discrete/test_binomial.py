"""rsample.Binomial against 40-digit mpmath references (log-pmf, CDF tails and entropy by
summing the pmf), scipy, torch and the shared checks."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import discrete_checks as dc
from rsample import Binomial
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32

# (total_count, probs): n = 0 and 1, probabilities 0, 1, 1e-12 and 1 − 1e-12, n = 1e6 (where
# the lgamma form loses 1e-9), wide spreads (σ = 500) and Poisson-like corners.
CASES = [
    (0.0, 0.3),
    (1.0, 1e-12),
    (1.0, 0.5),
    (1.0, 1 - 1e-12),
    (10.0, 0.0),
    (10.0, 1.0),
    (10.0, 0.3),
    (37.0, 1e-12),
    (200.0, 0.999),
    (1e4, 0.5),
    (5e3, 0.01),
    (1e6, 1e-12),
    (1e6, 3e-5),
    (1e6, 0.5),
    (1e6, 1 - 1e-12),
]
LOGIT_CASES = [(20.0, -30.0), (20.0, 30.0), (1e6, -30.0), (3e3, 0.7)]


def _mp(n, p=None, logit=None):
    """(n, p, q, log p, log q) in mpmath from the exact float inputs."""
    n = int(n)
    if logit is not None:
        ell = mp.mpf(logit)
        return (
            n,
            1 / (1 + mp.exp(-ell)),
            1 / (1 + mp.exp(ell)),
            -mp.log1p(mp.exp(-ell)),
            -(mp.log1p(mp.exp(ell))),
        )
    p = mp.mpf(p)
    q = 1 - p if p >= 0.5 else mp.exp(mp.log1p(-p))
    log_p = mp.log(p) if p > 0 else -mp.inf
    log_q = mp.log1p(-p) if p < 1 else -mp.inf
    return n, p, q, log_p, log_q


def _log_pmf(k, n, p, q, log_p, log_q):
    if k < 0 or k > n:
        return -mp.inf
    a = k * log_p if k > 0 else mp.mpf(0)
    b = (n - k) * log_q if k < n else mp.mpf(0)
    return mp.loggamma(n + 1) - mp.loggamma(k + 1) - mp.loggamma(n - k + 1) + a + b


def _reference(n, p, q, log_p, log_q, values):
    with mp.workdps(dc.MP_DPS):
        args = (n, p, q, log_p, log_q)
        mode = min(n, int(mp.floor((n + 1) * p)))
        if p == 0 or q == 0:
            ratio = lambda k: mp.mpf(0)  # noqa: E731
        else:
            ratio = lambda k: (n - k) / mp.mpf(k + 1) * p / q  # noqa: E731
        profile = dc.mp_profile(lambda k: _log_pmf(k, *args), ratio, mode, 0, n, cover=values)
        _ks, pmf, lps = profile
        return {
            "log_prob": [dc.finite_float(_log_pmf(int(k), *args)) for k in values],
            "cdf": [float(c) for c in dc.mp_cdfs(profile, values, 0, n)],
            "entropy": float(-mp.fsum(p * lp for p, lp in zip(pmf, lps) if p > 0)),
            "mean": float(n * p),
            "variance": float(n * p * q),
            "mode": float(mode),
        }


def _values(n, p):
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    pts = {0, n, math.floor(mean), math.floor(mean + 6 * sd + 1), math.floor(mean + 25 * sd + 3)}
    pts |= {max(0, math.floor(mean - 6 * sd)), max(0, math.floor(mean - 25 * sd)), 1, n - 1}
    return sorted(k for k in pts if 0 <= k <= n)


def _check(d, ref, values):
    v = dc.t64(values)
    assert_close(d.log_prob(v), ref["log_prob"], rtol=1e-10, label="log_prob")
    assert_close(d.cdf(v), ref["cdf"], rtol=1e-10, label="cdf")
    assert_close(d.entropy(), ref["entropy"], rtol=1e-10, label="entropy")
    assert_close(d.mean, ref["mean"], rtol=1e-13, label="mean")
    assert_close(d.variance, ref["variance"], rtol=1e-13, label="variance")
    assert d.mode.item() == ref["mode"]


@pytest.mark.parametrize(("n", "p"), CASES)
def test_matches_mpmath_float64(n, p):
    values = _values(n, p)
    ref = _reference(*_mp(n, p), values)
    _check(Binomial(dc.t64(n), probs=dc.t64(p)), ref, values)


@pytest.mark.parametrize(("n", "logit"), LOGIT_CASES)
def test_logits_match_mpmath_float64(n, logit):
    values = _values(n, 1 / (1 + math.exp(-logit)))
    ref = _reference(*_mp(n, logit=logit), values)
    _check(Binomial(dc.t64(n), logits=dc.t64(logit)), ref, values)


def test_matches_scipy_on_a_moderate_grid():
    n = np.array([[1.0], [7.0], [60.0], [2500.0]])
    p = np.array([0.01, 0.2, 0.5, 0.93])
    d = Binomial(dc.t64(n), dc.t64(p))
    k = np.floor(n * p)
    frozen = stats.binom(n, p)
    assert_close(d.log_prob(dc.t64(k)), frozen.logpmf(k), rtol=1e-10)
    assert_close(d.cdf(dc.t64(k)), frozen.cdf(k), rtol=1e-10)
    assert_close(d.entropy(), frozen.entropy(), rtol=1e-10)
    assert_close(d.variance, frozen.var(), rtol=1e-12)


def test_inhomogeneous_total_count_entropy_and_heavy_batch():
    n = torch.tensor([0.0, 3.0, 1e3, 1e6, 2e8], dtype=F64)
    p = torch.tensor([0.5, 0.5, 0.2, 0.5, 0.25], dtype=F64)
    h = Binomial(n, p).entropy()
    for j in range(4):
        single = Binomial(n[j], p[j]).entropy()
        assert_close(h[j], single, rtol=1e-14)
    # σ = 6124, far beyond the enumeration window: ½log(2πeσ²) − γ₁²σ²/(12σ²) with the
    # skewness γ₁ = (1 − 2p)/σ; the next term, measured against the mpmath sum at σ² = 7500, is
    # about −0.013/σ⁴ (1e-17 here).
    var = 2e8 * 0.25 * 0.75
    gauss = 0.5 * math.log(2 * math.pi * math.e * var) - (1 - 2 * 0.25) ** 2 / (12 * var)
    assert_close(h[4], gauss, rtol=1e-13)


def test_float32_is_finite_where_representable():
    n = torch.tensor([[1.0], [30.0], [1e4], [1e6]])
    p = torch.tensor([1e-12, 0.3, 0.5, 1 - 1e-7])
    d32, d64 = Binomial(n, p), Binomial(n.double(), p.double())
    k = torch.floor(n * p)
    dc.assert_finite_where(d32.log_prob(k), d64.log_prob(k.double()), "log_prob")
    assert_close(d32.log_prob(k), d64.log_prob(k.double()), rtol=1e-4, atol=1e-6)
    dc.assert_finite_where(d32.entropy(), d64.entropy(), "entropy")
    assert_close(d32.entropy(), d64.entropy(), rtol=1e-4, atol=1e-12, label="entropy")
    assert_close(d32.cdf(k), d64.cdf(k.double()), rtol=1e-4, label="cdf")


def test_probs_and_logits_agree():
    n = torch.tensor([[4.0], [90.0], [1e5]], dtype=F64)
    p = torch.tensor([1e-9, 0.3, 0.99], dtype=F64)
    a, b = Binomial(n, probs=p), Binomial(n, logits=torch.logit(p))
    k = torch.floor(n * p) + 1
    for name in ("log_prob", "cdf"):
        assert_close(getattr(b, name)(k), getattr(a, name)(k), rtol=1e-9, label=name)
    assert_close(b.entropy(), a.entropy(), rtol=1e-9)
    assert_close(b.variance, a.variance, rtol=1e-9)


def test_agrees_with_torch_where_torch_is_accurate():
    n = torch.tensor([[5.0], [40.0], [300.0]], dtype=F64)
    p = torch.tensor([0.1, 0.5, 0.8], dtype=F64)
    for kw in ({"probs": p}, {"logits": torch.logit(p)}):
        ours, theirs = Binomial(n, **kw), td.Binomial(n, **kw)
        k = torch.floor(n * p)
        assert_close(ours.log_prob(k), theirs.log_prob(k), rtol=1e-11)
        for name in ("mean", "mode", "variance"):
            assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-12, label=name)
    ours, theirs = Binomial(30.0, p), td.Binomial(30.0, p)  # torch: homogeneous counts only
    assert_close(ours.entropy(), theirs.entropy(), rtol=1e-11)
    assert torch.equal(ours.enumerate_support(), theirs.enumerate_support())
    assert torch.equal(ours.enumerate_support(False), theirs.enumerate_support(False))


def test_samples_chi_square():
    n = torch.tensor([1.0, 12.0, 400.0, 1e6, 1e6], dtype=F64)
    p = torch.tensor([0.3, 0.5, 0.02, 0.5, 1e-6], dtype=F64)
    draws = Binomial(n, p).sample((20000,), generator=dc.gen(0)).numpy()
    for j in range(5):
        mean, sd = (n[j] * p[j]).item(), (n[j] * p[j] * (1 - p[j])).sqrt().item()
        lo = max(0, int(mean - 8 * sd))
        support = np.arange(lo, int(min(n[j].item(), mean + 8 * sd + 5)) + 1)
        frozen = stats.binom(n[j].item(), p[j].item())
        dc.assert_chi_square(draws[:, j], frozen.pmf, support, label=f"n={n[j]} p={p[j]}")
    edge = Binomial(torch.tensor([0.0, 7.0, 7.0]), torch.tensor([0.5, 0.0, 1.0])).sample((50,))
    assert (edge == torch.tensor([0.0, 0.0, 7.0])).all()


def test_shapes_generator_expand_pickle():
    n = torch.tensor([[3.0, 50.0, 1e5]])
    p = torch.tensor([0.2, 0.5, 0.9], requires_grad=True)
    d = Binomial(n, p)
    x = dc.assert_shapes(d)
    dc.assert_generator_determinism(d)
    dc.assert_expand(d, (2,))
    dc.assert_round_trips(Binomial(n, p.detach()), x)
    assert not d.has_rsample and d.has_enumerate_support
    with pytest.raises(NotImplementedError, match=r"inhomogeneous"):
        d.enumerate_support()
    s = Binomial(4.0, torch.tensor([0.3, 0.6])).enumerate_support()
    assert s.shape == (5, 2) and s[:, 0].tolist() == [0, 1, 2, 3, 4]


def test_score_gradient_is_exact_for_large_counts():
    n = torch.tensor([1e6, 50.0], dtype=F64)
    p = torch.tensor([0.3, 1e-3], dtype=F64, requires_grad=True)
    k = torch.tensor([300400.0, 2.0], dtype=F64)
    (g,) = torch.autograd.grad(Binomial(n, p).log_prob(k).sum(), p)
    pd = p.detach()
    assert_close(g, k / pd - (n - k) / (1 - pd), rtol=1e-9)


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"Binomial: argument 'total_count'.*Integer.*2.5"):
        Binomial(torch.tensor([2.5]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match=r"Binomial: argument 'total_count'.*Integer.*-1"):
        Binomial(torch.tensor([-1.0]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match=r"Binomial: argument 'probs'.*unit_interval"):
        Binomial(3, torch.tensor([1.2]))
    with pytest.raises(ValueError, match=r"Binomial: argument 'logits'.*finite"):
        Binomial(3, logits=torch.tensor([math.nan]))
    with pytest.raises(ValueError, match=r"parameter shapes do not broadcast"):
        Binomial(torch.ones(2), torch.full((3,), 0.5))
    d = Binomial(torch.tensor([3.0, 5.0]), torch.tensor([0.5, 0.5]))
    for bad in ([4.0, 1.0], [-1.0, 0.0], [1.5, 2.0]):
        with pytest.raises(ValueError, match=r"Binomial: argument 'value'.*IntegerInterval"):
            d.log_prob(torch.tensor(bad))


def test_torch_compile_fullgraph():

    def step(n, p, k):
        d = Binomial(n, logits=p)
        return d.log_prob(k), d.entropy(), d.cdf(k), d.sample((3,))

    dc.assert_compiles(
        step, torch.tensor([5.0, 40.0]), torch.tensor([0.2, 0.7]), torch.tensor([1.0, 30.0])
    )
