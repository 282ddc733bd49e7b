"""rsample.Bernoulli against 40-digit mpmath references, scipy, torch and the shared checks."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import discrete_checks as dc
from rsample import Bernoulli
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32
PROBS = [0.0, 1e-300, 1e-12, 1e-5, 0.3, 0.5, 0.7, 1 - 1e-7, 1 - 1e-12, 1.0]
LOGITS = [-700.0, -30.0, -5.0, -1e-8, 0.0, 2.0, 30.0, 700.0]


def _mp_p(prob=None, logit=None):
    """(p, 1 − p, log p, log(1 − p)) in mpmath from exact float inputs."""
    if prob is not None:
        p = mp.mpf(prob)
        q = 1 - p if p >= 0.5 else None
        log_p = mp.log(p) if p > 0 else -mp.inf
        log_q = mp.log1p(-p) if p < 1 else -mp.inf
        return p, (q if q is not None else mp.exp(log_q)), log_p, log_q
    ell = mp.mpf(logit)
    return (
        1 / (1 + mp.exp(-ell)),
        1 / (1 + mp.exp(ell)),
        -mp.log1p(mp.exp(-ell)),
        -mp.log1p(mp.exp(ell)),
    )


def _reference(p, q, log_p, log_q):
    def xlogx(v, log_v):
        return v * log_v if v > 0 else mp.mpf(0)

    mode = math.nan if p == q else float(p > q)
    return {
        ("log_prob", 1.0): dc.finite_float(log_p),
        ("log_prob", 0.0): dc.finite_float(log_q),
        ("cdf", 0.0): float(q),
        ("cdf", 1.0): 1.0,
        "mean": float(p),
        "variance": float(p * q),
        "entropy": float(-xlogx(p, log_p) - xlogx(q, log_q)),
        "mode": mode,
    }


def _check(dist, ref, rtol=1e-10):
    for key, expected in ref.items():
        if isinstance(key, tuple):
            actual = getattr(dist, key[0])(torch.tensor(key[1], dtype=dist._param.dtype))
        else:
            attr = getattr(dist, key)
            actual = attr() if callable(attr) else attr
        assert_close(actual, expected, rtol=rtol, atol=0.0, label=f"{key} of {dist}")


@pytest.mark.parametrize("prob", PROBS)
def test_probs_match_mpmath_float64(prob):
    with mp.workdps(dc.MP_DPS):
        ref = _reference(*_mp_p(prob=prob))
    _check(Bernoulli(probs=torch.tensor(prob, dtype=F64)), ref)


@pytest.mark.parametrize("logit", LOGITS)
def test_logits_match_mpmath_float64(logit):
    with mp.workdps(dc.MP_DPS):
        ref = _reference(*_mp_p(logit=logit))
    _check(Bernoulli(logits=torch.tensor(logit, dtype=F64)), ref)


def test_matches_scipy_on_a_moderate_grid():
    p = np.array([1e-3, 0.1, 0.25, 0.5, 0.8, 0.999])
    d = Bernoulli(probs=dc.t64(p))
    for k in (0.0, 1.0):
        assert_close(d.log_prob(dc.t64(k)), stats.bernoulli(p).logpmf(k), rtol=1e-12)
        assert_close(d.cdf(dc.t64(k)), stats.bernoulli(p).cdf(k), rtol=1e-12)
    assert_close(d.entropy(), stats.bernoulli(p).entropy(), rtol=1e-12)
    assert_close(d.variance, stats.bernoulli(p).var(), rtol=1e-12)


def test_float32_is_finite_where_representable():
    for kind, values in (("probs", PROBS[1:-1]), ("logits", [-80.0, -30.0, 0.0, 30.0, 80.0])):
        d32 = Bernoulli(**{kind: torch.tensor(values, dtype=F32)})
        d64 = Bernoulli(**{kind: torch.tensor(values, dtype=F32).double()})
        for k in (0.0, 1.0):
            v = torch.tensor(k)
            dc.assert_finite_where(d32.log_prob(v), d64.log_prob(v.double()), f"{kind} {k}")
        for name in ("entropy", "variance", "mean"):
            a32 = getattr(d32, name)
            a64 = getattr(d64, name)
            a32, a64 = (a32(), a64()) if callable(a32) else (a32, a64)
            dc.assert_finite_where(a32, a64, name)
            assert_close(a32, a64, rtol=1e-5, atol=1e-30, label=f"float32 {name}")


def test_probs_and_logits_describe_the_same_distribution():
    probs = torch.tensor([1e-12, 1e-5, 0.3, 0.5, 0.9, 1 - 1e-9], dtype=F64)
    a = Bernoulli(probs=probs)
    b = Bernoulli(logits=a.logits)
    for k in (0.0, 1.0):
        assert_close(b.log_prob(dc.t64(k)), a.log_prob(dc.t64(k)), rtol=1e-9)
    for name in ("entropy", "variance", "mean", "mode"):
        x, y = getattr(a, name), getattr(b, name)
        x, y = (x(), y()) if callable(x) else (x, y)
        assert_close(y, x, rtol=1e-9, label=name)
    # exact conversions at the end points: no clamping to [eps, 1 − eps]
    d = Bernoulli(probs=torch.tensor([0.0, 1.0]))
    assert d.logits.tolist() == [-math.inf, math.inf]
    assert d.log_prob(torch.tensor([1.0, 0.0])).tolist() == [-math.inf, -math.inf]
    assert d.log_prob(torch.tensor([0.0, 1.0])).tolist() == [0.0, 0.0]


def test_score_function_gradient_is_exact():
    logits = torch.tensor([-30.0, -2.0, 0.0, 3.0, 30.0], dtype=F64, requires_grad=True)
    x = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=F64)
    (g,) = torch.autograd.grad(Bernoulli(logits=logits).log_prob(x).sum(), logits)
    assert_close(g, x - torch.sigmoid(logits.detach()), rtol=1e-13)
    probs = torch.tensor([1e-8, 0.3, 0.5, 1 - 1e-8], dtype=F64, requires_grad=True)
    x = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=F64)
    (g,) = torch.autograd.grad(Bernoulli(probs=probs).log_prob(x).sum(), probs)
    p = probs.detach()
    assert_close(g, x / p - (1 - x) / (1 - p), rtol=1e-12)


def test_soft_targets_match_torch_binary_cross_entropy():
    logits = torch.tensor([-3.0, 0.0, 0.5, 4.0], dtype=F64)
    value = torch.tensor([0.2, 0.5, 0.9, 0.0], dtype=F64)
    ours = Bernoulli(logits=logits, validate_args=False).log_prob(value)
    theirs = td.Bernoulli(logits=logits, validate_args=False).log_prob(value)
    assert_close(ours, theirs, rtol=1e-14)
    probs = torch.sigmoid(logits)
    ours = Bernoulli(probs=probs, validate_args=False).log_prob(value)
    assert_close(ours, theirs, rtol=1e-12)


def test_agrees_with_torch_where_torch_is_accurate():
    probs = torch.tensor([0.01, 0.2, 0.5, 0.6, 0.99], dtype=F64)
    for kw in ({"probs": probs}, {"logits": torch.logit(probs)}):
        ours, theirs = Bernoulli(**kw), td.Bernoulli(**kw)
        for k in (0.0, 1.0):
            assert_close(ours.log_prob(dc.t64(k)), theirs.log_prob(dc.t64(k)), rtol=1e-12)
        for name in ("entropy", "mean", "variance", "mode"):
            x, y = getattr(ours, name), getattr(theirs, name)
            x, y = (x(), y()) if callable(x) else (x, y)
            assert_close(x, y, rtol=1e-12, label=name)
        assert ours.param_shape == theirs.param_shape
        torch.testing.assert_close(ours.enumerate_support(), theirs.enumerate_support())
        torch.testing.assert_close(
            ours.enumerate_support(expand=False), theirs.enumerate_support(expand=False)
        )


def test_samples_chi_square():
    probs = torch.tensor([0.02, 0.3, 0.5, 0.97])
    draws = Bernoulli(probs=probs).sample((20000,), generator=dc.gen(0))
    for j, p in enumerate(probs.tolist()):
        dc.assert_chi_square(
            draws[:, j].numpy(), lambda k, p=p: stats.bernoulli(p).pmf(k), np.arange(2)
        )
    certain = Bernoulli(probs=torch.tensor([0.0, 1.0])).sample((100,), generator=dc.gen(1))
    assert certain[:, 0].eq(0).all() and certain[:, 1].eq(1).all()


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_shapes_generator_expand_pickle(kind):
    param = torch.tensor([[0.2, 0.5, 0.9]], requires_grad=True)
    d = Bernoulli(**{kind: param})
    x = dc.assert_shapes(d)
    dc.assert_generator_determinism(d)
    dc.assert_expand(d, (2,))
    dc.assert_round_trips(Bernoulli(**{kind: param.detach()}), x)
    assert d.enumerate_support().shape == (2, 1, 3)
    assert d.enumerate_support(expand=False).shape == (2, 1, 1)
    assert not d.has_rsample and d.has_enumerate_support and d.rsample_kind is None
    assert d.logits.requires_grad and d.probs.requires_grad


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"Bernoulli: argument 'probs'.*unit_interval.*1.5"):
        Bernoulli(probs=torch.tensor([0.2, 1.5]))
    with pytest.raises(ValueError, match=r"Bernoulli: argument 'probs'.*nan"):
        Bernoulli(probs=torch.tensor([math.nan]))
    with pytest.raises(ValueError, match=r"Bernoulli: argument 'logits'.*finite.*inf"):
        Bernoulli(logits=torch.tensor([math.inf]))
    with pytest.raises(ValueError, match=r"exactly one of 'probs' or 'logits'"):
        Bernoulli(probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match=r"exactly one of 'probs' or 'logits'"):
        Bernoulli()
    d = Bernoulli(probs=torch.tensor([0.3, 0.6]))
    for bad in ([0.5, 1.0], [2.0, 0.0], [-1.0, 0.0]):
        with pytest.raises(ValueError, match=r"Bernoulli: argument 'value'.*Boolean"):
            d.log_prob(torch.tensor(bad))
    Bernoulli(probs=torch.tensor([1.5]), validate_args=False)  # no check when turned off


def test_torch_compile_fullgraph():
    def step(p, v):
        a, b = Bernoulli(probs=p), Bernoulli(logits=p)
        return a.log_prob(v), b.log_prob(v), b.entropy(), a.cdf(v), a.sample((5,))

    dc.assert_compiles(step, torch.tensor([0.2, 0.7]), torch.tensor([1.0, 0.0]))
