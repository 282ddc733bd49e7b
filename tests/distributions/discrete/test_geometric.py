"""rsample.Geometric (failures before the first success, support {0, 1, …}) against 40-digit
mpmath closed forms, scipy (``geom(p, loc=-1)``), torch and the shared checks."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import discrete_checks as dc
from rsample import Geometric
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32
PROBS = [1e-300, 1e-12, 1e-5, 0.3, 0.5, 0.9, 1 - 1e-12, 1.0]
LOGITS = [-700.0, -30.0, -2.0, 0.0, 5.0, 30.0, 700.0]


def _mp(prob=None, logit=None):
    if prob is not None:
        p = mp.mpf(prob)
        log_q = mp.log1p(-p) if p < 1 else -mp.inf
        q = 1 - p if p >= 0.5 else mp.exp(log_q)
        return p, q, mp.log(p), log_q
    ell = mp.mpf(logit)
    return (
        1 / (1 + mp.exp(-ell)),
        1 / (1 + mp.exp(ell)),
        -mp.log1p(mp.exp(-ell)),
        -mp.log1p(mp.exp(ell)),
    )


def _check(d, p, q, log_p, log_q):
    with mp.workdps(dc.MP_DPS):
        m = q / p
        ks = [0, 1, 7, int(min(1e15, float(40 * m))) + 3]
        lp = [
            dc.finite_float((k * log_q if k else 0) + log_p) if k == 0 or q > 0 else -math.inf
            for k in ks
        ]
        cdf = [float(-mp.expm1((k + 1) * log_q)) if q > 0 else 1.0 for k in ks]
        xlogq = q * log_q if q > 0 else mp.mpf(0)
        ref = {"mean": float(m), "variance": float(m / p), "entropy": float(-log_p - xlogq / p)}
    v = dc.t64(ks)
    assert_close(d.log_prob(v), lp, rtol=1e-10, label="log_prob")
    assert_close(d.cdf(v), cdf, rtol=1e-10, label="cdf")
    dc.assert_methods(d, ref, rtol=1e-10)
    assert d.mode.item() == 0.0


@pytest.mark.parametrize("prob", PROBS)
def test_probs_match_mpmath_float64(prob):
    _check(Geometric(probs=dc.t64(prob)), *_mp(prob=prob))


@pytest.mark.parametrize("logit", LOGITS)
def test_logits_match_mpmath_float64(logit):
    _check(Geometric(logits=dc.t64(logit)), *_mp(logit=logit))


def test_matches_scipy_and_torch_on_a_moderate_grid():
    p = np.array([0.01, 0.2, 0.5, 0.95])
    k = np.array([[0.0], [3.0], [40.0]])
    frozen = stats.geom(p, loc=-1)
    d = Geometric(dc.t64(p))
    assert_close(d.log_prob(dc.t64(k)), frozen.logpmf(k), rtol=1e-12)
    assert_close(d.cdf(dc.t64(k)), frozen.cdf(k), rtol=1e-12)
    assert_close(d.entropy(), frozen.entropy(), rtol=1e-12)
    assert_close(d.mean, frozen.mean(), rtol=1e-12)
    assert_close(d.variance, frozen.var(), rtol=1e-12)
    for kw in ({"probs": dc.t64(p)}, {"logits": torch.logit(dc.t64(p))}):
        ours, theirs = Geometric(**kw), td.Geometric(**kw)
        assert_close(ours.log_prob(dc.t64(k)), theirs.log_prob(dc.t64(k)), rtol=1e-12)
        for name in ("entropy", "mean", "mode", "variance"):
            x, y = getattr(ours, name), getattr(theirs, name)
            x, y = (x(), y()) if callable(x) else (x, y)
            assert_close(x, y, rtol=1e-12, label=name)


def test_float32_and_both_parameterizations():
    p = torch.tensor([1e-12, 1e-4, 0.4, 0.999])
    k = torch.tensor([[0.0], [5.0], [1e6]])
    d32, d64 = Geometric(p), Geometric(p.double())
    for name in ("log_prob", "cdf"):
        a, b = getattr(d32, name)(k), getattr(d64, name)(k.double())
        dc.assert_finite_where(a, b, name)
        assert_close(a, b, rtol=1e-5, atol=1e-30, label=name)
    dc.assert_finite_where(d32.entropy(), d64.entropy(), "entropy")
    e = Geometric(logits=d64.logits)
    assert_close(e.log_prob(k.double()), d64.log_prob(k.double()), rtol=1e-9)
    assert_close(e.entropy(), d64.entropy(), rtol=1e-9)


def test_samples_chi_square():
    p = torch.tensor([1e-3, 0.1, 0.5, 0.97, 1.0], dtype=F64)
    draws = Geometric(p).sample((20000,), generator=dc.gen(0)).numpy()
    for j, prob in enumerate(p.tolist()):
        support = np.arange(0, int(30 / prob) + 2)
        frozen = stats.geom(prob, loc=-1)
        dc.assert_chi_square(draws[:, j], frozen.pmf, support, label=f"p={prob}")
    big = Geometric(torch.tensor(1e-12, dtype=F64)).sample((20000,), generator=dc.gen(1))
    scaled = (big * 1e-12).numpy()  # ≈ Exp(1)
    assert stats.kstest(scaled, "expon").pvalue > 1e-4


def test_shapes_generator_expand_pickle():
    p = torch.tensor([[0.2, 0.5, 1.0]], requires_grad=True)
    d = Geometric(p)
    x = dc.assert_shapes(d)
    dc.assert_generator_determinism(d)
    dc.assert_expand(d, (2,))
    dc.assert_round_trips(Geometric(p.detach()), x)
    assert not d.has_rsample


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"Geometric: argument 'probs'.*positive.*0"):
        Geometric(torch.tensor([0.5, 0.0]))
    with pytest.raises(ValueError, match=r"Geometric: argument 'probs'.*unit_interval.*1.5"):
        Geometric(torch.tensor([1.5]))
    with pytest.raises(ValueError, match=r"Geometric: argument 'logits'.*finite"):
        Geometric(logits=torch.tensor([-math.inf]))
    d = Geometric(torch.tensor([0.5]))
    for bad in ([0.5], [-1.0]):
        with pytest.raises(ValueError, match=r"Geometric: argument 'value'.*Integer"):
            d.log_prob(torch.tensor(bad))


def test_torch_compile_fullgraph():
    def step(p, k):
        a, b = Geometric(p), Geometric(logits=p)
        return a.log_prob(k), b.cdf(k), b.entropy(), a.sample((5,))

    dc.assert_compiles(step, torch.tensor([0.2, 0.9]), torch.tensor([3.0, 0.0]))
