"""KL divergences involving the continuous Bernoulli (``_kl_continuous_bernoulli.py``).

References, in float64 and independent of the code under test:

* the textbook closed forms evaluated by mpmath at 80+ digits on the exact float inputs (the
  reference at hard corners: |η| from 1e-12 to 1e15, nearly equal distributions, where the
  closed forms cancel in floating point);
* scipy quadrature of ``∫ p log(p/q)`` on a moderate grid;
* ``torch.distributions.kl_divergence`` on torch's own classes on a moderate grid (away from
  torch's ``lims`` window around λ = ½, where torch's Taylor switch is only ~1e-7 accurate).
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import integrate

import kl_reference as kr
import rsample
from rsample.distributions.continuous import _kl_continuous_bernoulli as _kl_cb

F64, F32 = torch.float64, torch.float32
INF = math.inf
DPS = 80

CB = rsample.ContinuousBernoulli


# --------------------------------------------------------------------------- mpmath references
def _a(e):
    """``A(η) = log((e^η − 1)/η)``."""
    return mp.mpf(0) if e == 0 else mp.log(mp.expm1(e) / e)


def _mean(e):
    return mp.mpf(1) / 2 if e == 0 else 1 / (1 - mp.exp(-e)) - 1 / e


def _var(e):
    return mp.mpf(1) / 12 if e == 0 else 1 / e**2 - mp.exp(e) / mp.expm1(e) ** 2


def _entropy(e):
    return _a(e) - e * _mean(e)


def _log_q(e, x):
    return e * x - _a(e)


def ref_cb_cb(ep, eq):
    return _a(eq) - _a(ep) - (eq - ep) * _mean(ep)


def ref_cb_exp(ep, rate):
    return -_entropy(ep) - mp.log(rate) + rate * _mean(ep)


def ref_cb_normal(ep, loc, scale):
    m, v = _mean(ep), _var(ep)
    return -_entropy(ep) + mp.log(2 * mp.pi * scale**2) / 2 + (v + (m - loc) ** 2) / (2 * scale**2)


def ref_cb_uniform(ep, low, high):
    if low > 0 or high < 1:
        return mp.inf
    return -_entropy(ep) + mp.log(high - low)


def ref_uniform_cb(low, high, eq):
    if low < 0 or high > 1:
        return mp.inf
    # E_U[log q] = η E[X] − A(η) with E[X] = (a + b)/2.
    return -mp.log(high - low) - _log_q(eq, (low + high) / 2)


def reference(fn, *args) -> float:
    with mp.workdps(DPS):
        value = fn(*(mp.mpf(float(a)) for a in args))
        return INF if value == mp.inf else float(value)


def rel_err(got: torch.Tensor, want: list[float]) -> torch.Tensor:
    return kr.rel_err(got, want, signed_inf=False)


def cb(etas, dtype=F64, requires_grad=False):
    logits = torch.tensor(etas, dtype=dtype, requires_grad=requires_grad)
    return CB(logits=logits), logits


# --------------------------------------------------------------------------- grids
ETAS = [-1e15, -1e3, -40.0, -5.0, -2.0001, -2.0, -1.9999, -0.7, -1e-9, 0.0, 1e-12, 0.3, 1.99]
ETAS += [2.0, 3.5, 36.0, 700.0, 1e15]
# Nearly equal pairs (KL ~ δ² Var): 1e-25 … 1e-8; and long same-sign intervals.
NEAR = [
    (0.3, 0.3 * (1 + 1e-9)),
    (5.0, 5.0 + 1e-7),
    (-40.0, -40.00001),
    (1e3, 1e3 * (1 + 1e-10)),
    (0.0, 1e-8),
    (1.999999, 2.000001),
    (-2.5, -2.4),
    (1e15, 1.5e15),
    (-1e15, -1.0001e15),
    (7.0, 7.0),
]
RATES = [1e-3, 0.5, 1.0, 3.0, 1e3]
NORMALS = [(0.5, 0.3), (0.0, 1.0), (-2.0, 1e-3), (1e3, 1e3), (0.4, 2.0)]
UNIFORMS_Q = [(0.0, 1.0), (-1.0, 2.0), (-1e-9, 1.0 + 1e-9), (-1e6, 1e6), (0.1, 2.0), (-1.0, 0.9)]
UNIFORMS_P = [(0.0, 1.0), (0.2, 0.9), (0.0, 1e-6), (1 - 1e-6, 1.0), (0.3, 0.3 + 1e-12)]
UNIFORMS_P += [(-0.1, 0.5), (0.5, 1.1)]


def test_cb_cb_matches_mpmath_at_hard_corners():
    pairs = list(itertools.product(ETAS, ETAS)) + NEAR
    p, _ = cb([a for a, _ in pairs])
    q, _ = cb([b for _, b in pairs])
    got = rsample.kl_divergence(p, q)
    want = [reference(ref_cb_cb, a, b) for a, b in pairs]
    err = rel_err(got, want)
    # Measured ≤ 7e-16.
    assert err.max() < 5e-15, [(pairs[i], got[i].item(), want[i]) for i in err.argsort()[-3:]]
    assert (got >= 0).all()
    assert (got[[i for i, (a, b) in enumerate(pairs) if a == b]] == 0).all()


def test_cb_cb_from_probs_near_one_half():
    """probs 0.5 ± 1e-9 …: the logits carry their exact digits (2λ − 1 is exact)."""
    probs = [0.5, 0.5 + 1e-9, 0.4999, 0.49999999, 0.2, 1e-6, 1 - 1e-6]
    pairs = list(itertools.product(probs, probs))
    p = CB(torch.tensor([a for a, _ in pairs], dtype=F64))
    q = CB(torch.tensor([b for _, b in pairs], dtype=F64))
    got = rsample.kl_divergence(p, q)

    def logit(lam):
        return mp.log(mp.mpf(lam)) - mp.log1p(-mp.mpf(lam))

    with mp.workdps(DPS):
        want = [float(ref_cb_cb(logit(a), logit(b))) for a, b in pairs]
    assert rel_err(got, want).max() < 1e-14


@pytest.mark.parametrize(
    "family,params,fn",
    [
        ("Exponential", [(r,) for r in RATES], ref_cb_exp),
        ("Normal", NORMALS, ref_cb_normal),
        ("Uniform", UNIFORMS_Q, ref_cb_uniform),
    ],
)
def test_cb_to_other_matches_mpmath(family, params, fn):
    combos = list(itertools.product(ETAS, params))
    p, _ = cb([e for e, _ in combos])
    cols = [torch.tensor(c, dtype=F64) for c in zip(*(qp for _, qp in combos))]
    q = getattr(rsample, family)(*cols, validate_args=False)
    got = rsample.kl_divergence(p, q)
    want = [reference(fn, e, *qp) for e, qp in combos]
    err = rel_err(got, want)
    # Measured ≤ 3e-15 (CB‖Normal at η = ±1e15: a KL ~1e30 from squares of 1e15-sized terms).
    assert err.max() < 2e-14, [(combos[i], got[i].item(), want[i]) for i in err.argsort()[-3:]]


def test_cb_exponential_where_cb_approaches_a_truncated_exponential():
    """η → −∞: CB(η) → Exp(|η|) truncated at 1, KL(CB ‖ Exp(|η|)) ≈ e^{−|η|}: no cancellation."""
    etas = [-10.0, -30.0, -100.0, -700.0]
    p, _ = cb(etas)
    rates = [-e for e in etas]
    got = rsample.kl_divergence(p, rsample.Exponential(torch.tensor(rates, dtype=F64)))
    want = [reference(ref_cb_exp, e, r) for e, r in zip(etas, rates)]
    assert rel_err(got, want).max() < 1e-13
    assert got[-1] > 0


def test_uniform_to_cb_matches_mpmath():
    combos = list(itertools.product(UNIFORMS_P, ETAS))
    cols = [torch.tensor(c, dtype=F64) for c in zip(*(up for up, _ in combos))]
    p = rsample.Uniform(*cols, validate_args=False)
    q, _ = cb([e for _, e in combos])
    got = rsample.kl_divergence(p, q)
    want = [reference(ref_uniform_cb, *up, e) for up, e in combos]
    err = rel_err(got, want)
    assert err.max() < 1e-14, [(combos[i], got[i].item(), want[i]) for i in err.argsort()[-3:]]


# --------------------------------------------------------------------------- quadrature
MODERATE_PROBS = [0.1, 0.3, 0.7, 0.85]


_cb_logpdf = kr.cb_logpdf


@pytest.mark.parametrize("other", ["CB", "Exponential", "Normal", "Uniform"])
def test_cb_to_other_matches_quadrature(other):
    qs = {
        "CB": [(0.2,), (0.6,)],
        "Exponential": [(0.7,), (2.5,)],
        "Normal": [(0.3, 0.8), (-1.0, 2.0)],
        "Uniform": [(-0.5, 1.5), (0.0, 3.0)],
    }[other]
    log_q = {
        "CB": lambda lam: _cb_logpdf(lam),
        "Exponential": lambda r: lambda x: math.log(r) - r * x,
        "Normal": lambda m, s: (
            lambda x: -0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))
        ),
        "Uniform": lambda a, b: lambda x: -math.log(b - a),
    }[other]
    for lam, qp in itertools.product(MODERATE_PROBS, qs):
        logp, logq = _cb_logpdf(lam), log_q(*qp)
        want = integrate.quad(
            lambda x, lp=logp, lq=logq: math.exp(lp(x)) * (lp(x) - lq(x)),
            0,
            1,
            epsabs=1e-14,
            epsrel=1e-12,
        )[0]
        p = CB(torch.tensor(lam, dtype=F64))
        q = (
            CB(torch.tensor(qp[0], dtype=F64))
            if other == "CB"
            else getattr(rsample, other)(*(torch.tensor(v, dtype=F64) for v in qp))
        )
        assert rsample.kl_divergence(p, q).item() == pytest.approx(want, rel=1e-9, abs=1e-13)


# --------------------------------------------------------------------------- torch
TORCH_Q = {
    "ContinuousBernoulli": [(0.2,), (0.7,), (0.95,)],
    "Exponential": [(0.5,), (2.0,)],
    "Normal": [(0.3, 0.8), (-1.0, 2.0)],
    "Uniform": [(-0.5, 1.5), (-2.0, 3.0), (0.2, 2.0)],
}


@pytest.mark.parametrize("other", list(TORCH_Q))
def test_cb_to_other_matches_torch(other):
    combos = list(itertools.product(MODERATE_PROBS, TORCH_Q[other]))
    probs = torch.tensor([lam for lam, _ in combos], dtype=F64)
    cols = [torch.tensor(c, dtype=F64) for c in zip(*(qp for _, qp in combos))]
    ours = rsample.kl_divergence(CB(probs), getattr(rsample, other)(*cols))
    theirs = td.kl_divergence(td.ContinuousBernoulli(probs), getattr(td, other)(*cols))
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_uniform_to_cb_matches_torch_strictly_inside():
    lows, highs = [0.1, 0.25, 0.5], [0.3, 0.9, 0.75]
    combos = list(itertools.product(zip(lows, highs), MODERATE_PROBS))
    low = torch.tensor([u[0] for u, _ in combos], dtype=F64)
    high = torch.tensor([u[1] for u, _ in combos], dtype=F64)
    probs = torch.tensor([lam for _, lam in combos], dtype=F64)
    ours = rsample.kl_divergence(rsample.Uniform(low, high), CB(probs))
    theirs = td.kl_divergence(td.Uniform(low, high), td.ContinuousBernoulli(probs))
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_nearly_equal_beats_torch():
    """probs 0.3 vs 0.3·(1 + 1e-9): KL ~ 1e-19; torch's textbook form returns rounding noise."""
    a, b = 0.3, 0.3 * (1 + 1e-9)
    ours = rsample.kl_divergence(CB(torch.tensor(a, dtype=F64)), CB(torch.tensor(b, dtype=F64)))
    theirs = td.kl_divergence(
        td.ContinuousBernoulli(torch.tensor(a, dtype=F64)),
        td.ContinuousBernoulli(torch.tensor(b, dtype=F64)),
    )

    def logit(lam):
        return mp.log(mp.mpf(lam)) - mp.log1p(-mp.mpf(lam))

    with mp.workdps(DPS):
        want = float(ref_cb_cb(logit(a), logit(b)))
    assert rel_err(ours.reshape(1), [want]).max() < 1e-13
    assert rel_err(theirs.reshape(1), [want]).max() > 1e-3


# --------------------------------------------------------------------------- supports, dispatch
INFINITE = ["Exponential", "Gamma", "Gumbel", "Laplace", "Normal"]


@pytest.mark.parametrize("family", INFINITE)
def test_unbounded_families_to_cb_are_infinite(family):
    params = {
        "Exponential": (torch.tensor([0.5, 2.0]),),
        "Gamma": (torch.tensor([0.5, 2.0]), torch.tensor([1.0, 3.0])),
    }.get(family, (torch.tensor([0.0, 0.5]), torch.tensor([1.0, 0.1])))
    p = getattr(rsample, family)(*params)
    q = CB(torch.tensor([[0.2], [0.7], [0.5]]))
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (3, 2) and torch.isposinf(kl).all()
    assert td.kl_divergence(p, q).shape == (3, 2)


def test_uniform_support_conventions():
    """Nested supports (end points included) are finite; torch gives +inf at equality."""
    p = CB(torch.tensor([0.3, 0.3, 0.3, 0.3], dtype=F64))
    q = rsample.Uniform(
        torch.tensor([0.0, -1.0, 1e-9, -1.0], dtype=F64),
        torch.tensor([1.0, 2.0, 2.0, 1 - 1e-9], dtype=F64),
    )
    kl = rsample.kl_divergence(p, q)
    assert kl[:2].isfinite().all() and torch.isposinf(kl[2:]).all()
    assert kl[0] == pytest.approx(-p.entropy()[0].item(), rel=1e-15)
    u = rsample.Uniform(
        torch.tensor([0.0, 0.2, -1e-9, 0.2], dtype=F64),
        torch.tensor([1.0, 0.5, 0.5, 1 + 1e-9], dtype=F64),
    )
    kl = rsample.kl_divergence(u, CB(torch.tensor([0.3, 0.3, 0.3, 0.3], dtype=F64)))
    assert kl[:2].isfinite().all() and torch.isposinf(kl[2:]).all()


PAIRS = [
    (CB, CB),
    (CB, rsample.Exponential),
    (CB, rsample.Normal),
    (CB, rsample.Uniform),
    (rsample.Uniform, CB),
    (rsample.Exponential, CB),
    (rsample.Gamma, CB),
    (rsample.Gumbel, CB),
    (rsample.Laplace, CB),
    (rsample.Normal, CB),
]


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: f"{pair[0].__name__}-{pair[1].__name__}")
def test_torch_dispatches_to_rsample(pair):
    fn = td.kl._dispatch_kl(*pair)
    assert fn is rsample.kl._dispatch(*pair)
    assert fn.__module__ == _kl_cb.__name__


def test_broadcasting_and_python_numbers():
    p = CB(torch.tensor([[0.2], [0.6], [0.9]], dtype=F64))
    q = CB(torch.tensor([0.3, 0.55], dtype=F64))
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (3, 2) and kl.dtype == F64
    for i, j in itertools.product(range(3), range(2)):
        one = rsample.kl_divergence(CB(p.probs[i, 0]), CB(q.probs[j]))
        torch.testing.assert_close(kl[i, j], one, rtol=1e-15, atol=0)
    assert rsample.kl_divergence(CB(0.3), rsample.Normal(torch.zeros(4), 1.0)).shape == (4,)


# --------------------------------------------------------------------------- float32, gradients
def test_float32_finite_and_accurate():
    etas = [-80.0, -20.0, -3.0, -0.5, -1e-4, 0.0, 1e-6, 1.0, 2.0, 15.0, 80.0, 1e15]
    etas32 = [float(np.float32(e)) for e in etas]
    pairs = list(itertools.product(etas32, etas32))
    p, _ = cb([a for a, _ in pairs], dtype=F32)
    q, _ = cb([b for _, b in pairs], dtype=F32)
    got = rsample.kl_divergence(p, q)
    assert got.dtype == F32 and got.isfinite().all()
    want = [reference(ref_cb_cb, a, b) for a, b in pairs]
    err = (got.double() - torch.tensor(want, dtype=F64)).abs()
    # Relative 2e-6, or absolute 1e-12 for the tiny KLs of nearly equal pairs.
    assert (err <= 2e-6 * torch.tensor(want, dtype=F64).abs() + 1e-12).all()
    for family, args in (("Exponential", (2.0,)), ("Normal", (0.3, 0.5)), ("Uniform", (-1.0, 2.0))):
        q = getattr(rsample, family)(*(torch.tensor(a, dtype=F32) for a in args))
        assert rsample.kl_divergence(p, q).isfinite().all()


def test_gradcheck():
    """Finite differences of every parameter: across the quadrature/closed-form switch, near
    η = 0 (series) and for the cross families."""
    ep = torch.tensor([0.3, -0.7, 2.5, -6.0, 0.01, 1.0, -3.0], dtype=F64, requires_grad=True)
    eq = torch.tensor([0.31, 1.2, -4.0, -30.0, -0.02, 12.0, -3.0], dtype=F64, requires_grad=True)

    def cb_cb(a, b):
        return rsample.kl_divergence(CB(logits=a), CB(logits=b))

    assert torch.autograd.gradcheck(cb_cb, (ep, eq), eps=1e-7, atol=1e-6, rtol=1e-5)
    probs = torch.tensor([0.2, 0.45, 0.8], dtype=F64, requires_grad=True)
    rate = torch.tensor([0.5, 1.5, 3.0], dtype=F64, requires_grad=True)
    loc = torch.tensor([0.1, 0.5, -1.0], dtype=F64, requires_grad=True)
    scale = torch.tensor([0.4, 1.0, 2.0], dtype=F64, requires_grad=True)
    low = torch.tensor([0.1, 0.2, 0.3], dtype=F64, requires_grad=True)
    high = torch.tensor([0.6, 0.7, 0.95], dtype=F64, requires_grad=True)
    checks = [
        (lambda pr, r: rsample.kl_divergence(CB(pr), rsample.Exponential(r)), (probs, rate)),
        (lambda pr, m, s: rsample.kl_divergence(CB(pr), rsample.Normal(m, s)), (probs, loc, scale)),
        (lambda a, b, pr: rsample.kl_divergence(rsample.Uniform(a, b), CB(pr)), (low, high, probs)),
    ]
    for fn, args in checks:
        assert torch.autograd.gradcheck(fn, args, eps=1e-7, atol=1e-6, rtol=1e-5)


def test_gradient_vanishes_at_equality():
    logits = torch.tensor([0.3, -5.0, 40.0], dtype=F64, requires_grad=True)
    kl = rsample.kl_divergence(CB(logits=logits), CB(logits=logits.detach().clone()))
    (g,) = torch.autograd.grad(kl.sum(), logits)
    assert (kl == 0).all() and g.abs().max() == 0
