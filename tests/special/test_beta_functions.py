"""Incomplete beta function, its inverse and derivatives, and the Student t CDF / quantile.

References: scipy (boost) in float64, and where scipy is imprecise (deep tails with large
parameters, the center of heavy-tailed t) a 40-digit mpmath evaluation of the same continued
fraction (A&S 26.5.8) run to convergence on its convergent side. mpmath is called only for points
where our value and scipy's disagree, and for a small fixed set of derivative points, with
results cached in module fixtures.

Error metrics:

* values: relative error of I and of 1 − I (whichever is asked), for reference values ≥ 1e-300;
  logs: absolute error of log I, log(1 − I) (= relative error of the value), also past underflow;
* derivatives: |d − d_ref| / max(|d_ref|, 1e-6·min(I, 1 − I)): relative, with a floor at a
  millionth of the function's own scale where ∂I/∂θ is tiny compared to it;
* float32: |log v32 − log v64| ≤ 2e-5 + 64·ε32·(1 + κ), with κ = |a ∂log v/∂a| + |b ∂log v/∂b| +
  |x ∂log v/∂x| the condition number (the error that rounding the inputs alone causes) and v64
  computed at the float32-rounded inputs.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st
import torch
from torch.autograd import gradcheck

from rsample.special import (
    betainc,
    betainc_grad_ab,
    betaincc,
    betaincinv,
    lbeta,
    log_betainc,
    log_betaincc,
    student_t_cdf,
    student_t_icdf,
    student_t_log_prob,
)

F64 = torch.float64
PARAMS = [1e-4, 1e-3, 0.01, 0.3, 0.5, 1.0, 2.0, 29.5, 30.0, 100.0, 1e3, 1e4]
QUANTILES = [1e-300, 1e-100, 1e-20, 1e-8, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-8, 1 - 1e-16]


# ---------------------------------------------------------------------------------------------
# mpmath reference: the continued fraction on its convergent side, to convergence
# ---------------------------------------------------------------------------------------------


def _mp_cf(a, b, x, n):
    v = mp.mpf(1)
    for m in range(n, 0, -1):
        v = 1 - (a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)) / v
        v = 1 + m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)) / v
    return 1 / (1 - (a + b) * x / (a + 1) / v)


def _mp_side(a, b, x):
    n, prev = 32, _mp_cf(a, b, x, 32)
    while True:
        n *= 2
        cur = _mp_cf(a, b, x, n)
        if abs(cur / prev - 1) < mp.mpf(10) ** (8 - mp.mp.dps):
            break
        prev = cur
    log_pre = a * mp.log(x) + b * mp.log1p(-x) - mp.loggamma(a) - mp.loggamma(b)
    return mp.exp(log_pre + mp.loggamma(a + b)) / a * cur


def _mp_sides(a, b, x):
    """(I, 1 − I) at the current mpmath precision; a, b, x are mpf."""
    if x < (a + 1) / (a + b + 2):
        w = _mp_side(a, b, x)
        return w, 1 - w
    w = _mp_side(b, a, 1 - x)
    return 1 - w, w


def mp_betainc(a, b, x, dps=40):
    with mp.workdps(dps):
        return _mp_sides(mp.mpf(a), mp.mpf(b), mp.mpf(x))


def mp_grad_ab(a, b, x, dps=40):
    """(I, 1 − I, ∂I/∂a, ∂I/∂b) by mpmath's numerical differentiation of the smaller side."""
    with mp.workdps(dps):
        a, b, x = mp.mpf(a), mp.mpf(b), mp.mpf(x)
        i, ic = _mp_sides(a, b, x)
        if i < 0.5:
            da = mp.diff(lambda t: _mp_sides(t, b, x)[0], a)
            db = mp.diff(lambda t: _mp_sides(a, t, x)[0], b)
        else:
            da = -mp.diff(lambda t: _mp_sides(t, b, x)[1], a)
            db = -mp.diff(lambda t: _mp_sides(a, t, x)[1], b)
        return i, ic, da, db


def _t(*vals, dtype=F64):
    return [torch.tensor(v, dtype=dtype) for v in vals]


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid():
    """(a, b, x) over the parameter grid, at quantiles 1e-300 … 1 − 1e-16 of Beta(a, b) and at
    the continued fraction's switch point (a+1)/(a+b+2)."""
    rows = []
    for a, b in itertools.product(PARAMS, PARAMS):
        for q in QUANTILES:
            x = float(sc.betaincinv(a, b, q))
            if 0 < x < 1:
                rows.append((a, b, x))
        rows.append((a, b, (a + 1) / (a + b + 2)))
    a, b, x = (torch.tensor(c, dtype=F64) for c in zip(*rows))
    return a, b, x


@pytest.fixture(scope="module")
def reference(grid):
    """scipy's I and 1 − I, replaced by mpmath's where it disagrees with ours by > 1e-11."""
    a, b, x = grid
    ref_i = sc.betainc(a.numpy(), b.numpy(), x.numpy())
    ref_c = sc.betaincc(a.numpy(), b.numpy(), x.numpy())
    ours_i = betainc(a, b, x).numpy()
    ours_c = betaincc(a, b, x).numpy()

    def rel(v, r):
        return np.abs(v - r) / np.maximum(np.abs(r), 1e-300)

    suspect = np.nonzero((rel(ours_i, ref_i) > 1e-11) | (rel(ours_c, ref_c) > 1e-11))[0]
    for k in suspect:
        i, ic = mp_betainc(a[k].item(), b[k].item(), x[k].item())
        ref_i[k], ref_c[k] = float(i), float(ic)
    return torch.tensor(ref_i), torch.tensor(ref_c), len(suspect)


# ---------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------


def test_values_float64(grid, reference):
    a, b, x = grid
    ref_i, ref_c, n_mp = reference
    assert n_mp < 0.1 * len(a)  # mpmath is the exception, not the rule
    for ours, ref in [(betainc(a, b, x), ref_i), (betaincc(a, b, x), ref_c)]:
        m = ref >= 1e-300
        err = ((ours - ref).abs() / ref)[m]
        assert err.max() < 1e-10, err.max()


def test_logs_float64(grid, reference):
    a, b, x = grid
    ref_i, ref_c, _ = reference
    for ours, ref in [(log_betainc(a, b, x), ref_i), (log_betaincc(a, b, x), ref_c)]:
        m = ref >= 1e-300
        assert torch.isfinite(ours).all()
        assert ((ours - ref.log()).abs()[m]).max() < 1e-10


@pytest.mark.parametrize(
    "a, b, x",
    [
        (2.0, 3.0, 1e-200),  # I ≈ 1e-400
        (1e4, 1e4, 0.3),  # far lower tail of a narrow Beta
        (30.0, 1e4, 0.2),
        (0.5, 1e3, 0.9),
        (1e3, 0.5, 0.1),
    ],
)
def test_log_past_underflow(a, b, x):
    i, ic = mp_betainc(a, b, x)
    small, side = (i, log_betainc) if i < ic else (ic, log_betaincc)
    got = side(*_t(a, b, x)).item()
    assert small < 1e-308
    assert abs(got / float(mp.log(small)) - 1) < 1e-12


def test_edges_and_invalid():
    a, b = _t([2.0, 0.3], [3.0, 0.2])
    assert torch.equal(betainc(a, b, torch.zeros(2, dtype=F64)), torch.zeros(2, dtype=F64))
    assert torch.equal(betainc(a, b, torch.ones(2, dtype=F64)), torch.ones(2, dtype=F64))
    assert torch.equal(log_betainc(a, b, torch.zeros(2, dtype=F64)), torch.full((2,), -math.inf))
    assert torch.equal(log_betaincc(a, b, torch.ones(2, dtype=F64)), torch.full((2,), -math.inf))
    bad = betainc(
        *_t([-1.0, 1.0, 1.0, 1.0, math.nan], [1.0, 0.0, 1.0, 1.0, 1.0]),
        torch.tensor([0.5, 0.5, -0.1, 1.1, 0.5], dtype=F64),
    )
    assert torch.isnan(bad).all()
    p = betaincinv(*_t(2.0, 3.0), torch.tensor([0.0, 1.0, -0.1], dtype=F64))
    assert p[0] == 0 and p[1] == 1 and torch.isnan(p[2])


def test_closed_forms():
    x = torch.linspace(0.001, 0.999, 50, dtype=F64)
    # I_x(a, 1) = x^a, I_x(1, b) = 1 − (1 − x)^b, I_x(½, ½) = (2/π) asin √x
    for a in [1e-3, 0.7, 45.0]:
        assert torch.allclose(betainc(a, 1.0, x), x**a, rtol=1e-13, atol=0)
        assert torch.allclose(betaincc(1.0, a, x), (1 - x) ** a, rtol=1e-13, atol=0)
    assert torch.allclose(betainc(0.5, 0.5, x), 2 / math.pi * torch.asin(x.sqrt()), rtol=1e-13)


def test_lbeta():
    # scipy's betaln subtracts lgamma values of size 1e7 here (errors ~1e-9); mpmath does not
    pairs = list(itertools.product([1e-4, 0.5, 3.0, 9.0, 1e3, 1e8], [1e-3, 1.0, 7.0, 50.0, 1e6]))
    a, b = (torch.tensor(c, dtype=F64) for c in zip(*pairs))
    got = lbeta(a, b)
    with mp.workdps(30):
        for k, (u, v) in enumerate(pairs):
            u, v = mp.mpf(u), mp.mpf(v)
            ref = float(mp.loggamma(u) + mp.loggamma(v) - mp.loggamma(u + v))
            assert abs(got[k].item() - ref) <= 2e-15 * max(1.0, abs(ref)), pairs[k]


def test_broadcasting_dtypes_and_scalars():
    a = torch.tensor([0.5, 2.0, 50.0])
    x = torch.tensor([[0.1], [0.6]], dtype=torch.float32)
    out = betainc(a, 3.0, x)
    assert out.shape == (2, 3) and out.dtype == torch.float32
    assert betainc(2, 3, 0.5).dtype == torch.get_default_dtype()
    assert abs(betainc(2, 3, 0.5).item() - 0.6875) < 1e-6
    assert betainc(*_t(2.0, 3.0, 0.5)).dtype == F64
    assert betainc(torch.tensor(2.0, dtype=torch.float16), 3.0, 0.5).dtype == torch.float16


# ---------------------------------------------------------------------------------------------
# derivatives
# ---------------------------------------------------------------------------------------------

GRAD_POINTS = [
    # (a, b, quantile or x) across the three methods and the recurrence shifts
    (0.5, 0.5, 0.3),
    (1e-3, 0.5, 0.2),
    (1e-4, 2.0, 0.999),
    (0.3, 1e4, 1e-3),
    (2.0, 29.5, 0.5),
    (29.5, 2.0, 1e-8),
    (5.0, 1e3, 0.9),
    (1e3, 5.0, 0.1),
    (0.01, 100.0, 1 - 1e-8),
    (100.0, 0.01, 0.5),
    (30.0, 30.0, 0.5),
    (100.0, 1e3, 0.3),
    (1e4, 1e4, 1e-20),
    (1e3, 1e4, 0.999),
    (31.0, 1e4, 0.5),
    (0.5, 3.0, 1e-100),
]


@pytest.fixture(scope="module")
def grad_reference():
    rows = []
    for a, b, q in GRAD_POINTS:
        x = float(sc.betaincinv(a, b, q))
        rows.append((a, b, x, *mp_grad_ab(a, b, x)))
    return rows


def test_grad_ab_vs_mpmath(grad_reference):
    a, b, x = (torch.tensor(c, dtype=F64) for c in list(zip(*grad_reference))[:3])
    da, db = betainc_grad_ab(a, b, x)
    for k, (_, _, _, i, ic, ra, rb) in enumerate(grad_reference):
        floor = 1e-6 * float(min(i, ic))
        for got, ref in [(da[k].item(), float(ra)), (db[k].item(), float(rb))]:
            assert abs(got - ref) <= 1e-8 * max(abs(ref), floor), (k, got, ref)


def test_autograd_matches_grad_ab(grad_reference):
    a, b, x = (torch.tensor(c, dtype=F64).requires_grad_() for c in list(zip(*grad_reference))[:3])
    betainc(a, b, x).sum().backward()
    da, db = betainc_grad_ab(a.detach(), b.detach(), x.detach())
    assert torch.equal(a.grad, da) and torch.equal(b.grad, db)
    # ∂I/∂x is the density
    with mp.workdps(30):
        for k, (u, v, w, *_) in enumerate(grad_reference):
            u, v, w = mp.mpf(u), mp.mpf(v), mp.mpf(w)
            log_dens = (u - 1) * mp.log(w) + (v - 1) * mp.log1p(-w)
            log_dens += mp.loggamma(u + v) - mp.loggamma(u) - mp.loggamma(v)
            dens = float(mp.exp(log_dens))
            if 0 < dens < math.inf:
                assert abs(x.grad[k].item() / dens - 1) < 1e-11


@pytest.mark.parametrize("fn", [betainc, betaincc, log_betainc, log_betaincc])
def test_gradcheck(fn):
    # one point per method: continued fraction, Temme, gamma expansion (with and without the
    # recurrence shift)
    pts = _t(
        [0.7, 40.0, 0.3, 45.0, 0.002], [2.3, 35.0, 60.0, 0.8, 3.0], [0.3, 0.52, 0.004, 0.99, 0.2]
    )
    inputs = [t.requires_grad_() for t in pts]
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6, fast_mode=True)


def test_gradcheck_inverse():
    pts = _t([0.7, 40.0, 0.3], [2.3, 35.0, 60.0], [0.3, 0.52, 0.004])
    inputs = [t.requires_grad_() for t in pts]
    assert gradcheck(betaincinv, inputs, eps=1e-7, atol=1e-7, rtol=1e-5, fast_mode=True)


@pytest.mark.parametrize("fn", [betainc, log_betaincc, betaincinv])
def test_double_backward_raises(fn):
    inputs = [t.requires_grad_() for t in _t(2.0, 3.0, 0.4)]
    grads = torch.autograd.grad(fn(*inputs), inputs, create_graph=True)
    for g in grads:
        with pytest.raises(RuntimeError, match="differentiable once"):
            (g * g + inputs[0]).backward(retain_graph=True)


# ---------------------------------------------------------------------------------------------
# inverse
# ---------------------------------------------------------------------------------------------


def test_inverse_roundtrip_float64():
    ps = torch.tensor([1e-300, 1e-100, 1e-20, 1e-8, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3], dtype=F64)
    a, b, p = torch.meshgrid(
        torch.tensor(PARAMS, dtype=F64), torch.tensor(PARAMS, dtype=F64), ps, indexing="ij"
    )
    x = betaincinv(a, b, p)
    assert torch.isfinite(x).all()
    # in probability: I(x) = p to 1e-10 (relative, on the side of p that is small), wherever
    # x is not at the edge of the representable range
    lo = p <= 0.5
    x_ = x.clone().requires_grad_()
    got = torch.where(lo, log_betainc(a, b, x_), log_betaincc(a, b, x_))
    (dx,) = torch.autograd.grad(got.sum(), x_)
    want = torch.where(lo, p.log(), torch.log1p(-p))
    # the answer x is rounded to a double: allow for the error that alone causes
    tol = 1e-10 + 2 * torch.finfo(F64).eps * (x * dx).abs()
    ok = (x > 1e-300) & (x < 1)  # x = 1.0 when the root is within 1e-16 of 1
    assert ((got.detach() - want).abs() <= tol)[ok].all()
    # in x: x → p → x, where x is well conditioned (|d log x / d log p| ≤ 100)
    xs = torch.tensor([1e-200, 1e-10, 1e-3, 0.2, 0.5, 0.8, 0.999], dtype=F64)
    a, b, x = torch.meshgrid(
        torch.tensor(PARAMS, dtype=F64), torch.tensor(PARAMS, dtype=F64), xs, indexing="ij"
    )
    li = log_betainc(a, b, x)
    p = li.exp()
    keep = (p > 1e-300) & (p < 0.99)
    xi = betaincinv(a, b, p)
    x_ = x.clone().requires_grad_()
    g = torch.autograd.grad(log_betainc(a, b, x_).sum(), x_)[0]  # ∂ log I/∂x
    cond = 1 / (x * g).abs()  # |d log x / d log p|
    keep = keep & (cond <= 100)
    rel = ((xi - x).abs() / x)[keep]
    assert rel.max() < 1e-10, rel.max()


def test_inverse_float32_finite():
    a, b, p = torch.meshgrid(
        torch.tensor(PARAMS),
        torch.tensor(PARAMS),
        torch.tensor([1e-30, 1e-3, 0.5, 0.9]),
        indexing="ij",
    )
    x = betaincinv(a, b, p)
    assert torch.isfinite(x).all() and ((x >= 0) & (x <= 1)).all()
    got = betainc(a.double(), b.double(), x.double())
    well = (x > 1e-30) & (x < 0.999)
    assert ((got - p.double()).abs() / p.double())[well & (p < 0.5)].max() < 1e-3


# ---------------------------------------------------------------------------------------------
# float32
# ---------------------------------------------------------------------------------------------


def test_float32(grid):
    a, b, x = (t.float() for t in grid)
    keep = (x > 0) & (x < 1)
    a, b, x = a[keep], b[keep], x[keep]
    l32 = [log_betainc(a, b, x), log_betaincc(a, b, x)]
    for v in l32:
        assert not torch.isnan(v).any()
    a64, b64, x64 = (t.double().requires_grad_() for t in (a, b, x))
    for v32, fn in zip(l32, [log_betainc, log_betaincc]):
        v64 = fn(a64, b64, x64)
        ga, gb, gx = torch.autograd.grad(v64.sum(), (a64, b64, x64))
        kappa = (a64 * ga).abs() + (b64 * gb).abs() + (x64 * gx).abs()
        m = v64 > math.log(1e-37)  # representable in float32
        assert torch.isfinite(v32[m]).all()
        err = (v32.double() - v64).abs()
        tol = 2e-5 + 64 * torch.finfo(torch.float32).eps * (1 + kappa)
        assert (err <= tol)[m].all(), (err / tol)[m].max()
        assert (v32.double().exp() - v64.exp()).abs().max() < 1e-5


def test_float32_gradients_finite():
    a, b, x = (torch.tensor(v) for v in zip(*itertools.product(PARAMS, PARAMS, [1e-3, 0.5, 0.99])))
    da, db = betainc_grad_ab(a, b, x)
    assert torch.isfinite(da).all() and torch.isfinite(db).all()
    ra, rb = betainc_grad_ab(a.double(), b.double(), x.double())
    scale = torch.maximum(ra.abs(), rb.abs()).clamp(min=1e-30)
    assert ((da.double() - ra).abs() / scale).max() < 1e-3


# ---------------------------------------------------------------------------------------------
# Student t
# ---------------------------------------------------------------------------------------------

DFS = [1e-2, 0.1, 1.0, 2.5, 10.0, 100.0, 1e4, 1e6, 1e8]
TS = [-1e10, -1e5, -30.0, -3.0, -0.5, -1e-8, 0.0]


def mp_t_cdf(df, t, dps=40):
    """P(T ≤ t) for t ≤ 0: ½ I_x(ν/2, ½), x = ν/(ν + t²)."""
    if t == 0:
        return mp.mpf(0.5)
    with mp.workdps(dps):
        df, t = mp.mpf(df), mp.mpf(t)
        return _mp_sides(df / 2, mp.mpf(0.5), df / (df + t * t))[0] / 2


@pytest.fixture(scope="module")
def t_reference():
    rows = list(itertools.product(DFS, TS))
    return rows, [mp_t_cdf(df, t) for df, t in rows]


def test_student_t_cdf(t_reference):
    rows, ref = t_reference
    df, t = (torch.tensor(c, dtype=F64) for c in zip(*rows))
    lower = student_t_cdf(df, t)
    upper = student_t_cdf(df, -t)  # = 1 − F(t): the upper tail, computed directly
    for k, r in enumerate(ref):
        if r > 1e-300:
            assert abs(lower[k].item() / float(r) - 1) < 1e-10, rows[k]
        else:
            assert lower[k].item() <= 1e-300
        assert abs(upper[k].item() - (1 - float(r))) <= 1e-15
    # vs scipy where scipy is accurate (moderate arguments)
    d2, t2 = np.meshgrid([0.5, 1.0, 3.0, 30.0, 1e3], np.linspace(-20, 20, 41))
    got = student_t_cdf(torch.tensor(d2), torch.tensor(t2)).numpy()
    ref2 = st.t.cdf(t2, d2)
    assert np.all(np.abs(got - ref2) <= 1e-13 * ref2 + 1e-300)


def test_student_t_cdf_extreme_and_normal():
    # Cauchy: F(t) = ½ + atan(t)/π, here in the far tail where x = 1/(1 + t²) underflows
    t = torch.tensor([-1e300, -1e200, -1e10], dtype=F64)
    assert torch.allclose(student_t_cdf(1.0, t), torch.atan2(t.new_ones(3), -t) / math.pi)
    z = torch.linspace(-30, 8, 39, dtype=F64)
    normal = 0.5 * torch.special.erfc(-z / math.sqrt(2))
    assert torch.allclose(student_t_cdf(math.inf, z), normal, rtol=1e-12, atol=0)
    assert torch.allclose(student_t_cdf(1e16, z), normal, rtol=1e-9, atol=0)  # (z⁴ + …)/4ν
    p = torch.tensor([1e-10, 0.3])
    assert torch.equal(student_t_icdf(math.inf, p), torch.special.ndtri(p))
    lp = student_t_log_prob(*_t([0.3, 3.0, 1e8], [1e5, -2.0, 0.7]))
    ref = st.t.logpdf([1e5, -2.0, 0.7], [0.3, 3.0, 1e8])
    assert np.allclose(lp.numpy(), ref, rtol=1e-12, atol=0)


def test_student_t_icdf():
    ps = [1e-300, 1e-20, 1e-5, 0.1, 0.5 - 1e-12, 0.5, 0.5 + 1e-12, 0.9, 1 - 1e-10]
    df, p = (torch.tensor(c, dtype=F64) for c in zip(*itertools.product(DFS, ps)))
    t = student_t_icdf(df, p)
    finite = torch.isfinite(t)
    # only the heaviest tails overflow (|t| > 1e308)
    assert finite[df >= 1].all()
    back = student_t_cdf(df, t)
    lo = p < 0.5
    rel = torch.where(lo, (back / p - 1).abs(), ((1 - back) / (1 - p) - 1).abs())
    assert rel[finite & (p != 0.5)].max() < 1e-10
    assert (t[p == 0.5] == 0).all()
    # Cauchy near the median: t = tan(π(p − ½)) (scipy loses digits here)
    p = torch.tensor([0.5 - 1e-12, 0.25, 0.999], dtype=F64)
    assert torch.allclose(student_t_icdf(1.0, p), torch.tan(math.pi * (p - 0.5)), rtol=1e-12)
    # vs scipy in the bulk
    d2, p2 = np.meshgrid([0.5, 3.0, 30.0, 1e3], np.linspace(0.01, 0.99, 9))
    got = student_t_icdf(torch.tensor(d2), torch.tensor(p2)).numpy()
    assert np.allclose(got, st.t.ppf(p2, d2), rtol=1e-11, atol=1e-14)


def test_student_t_gradcheck():
    inputs = [v.requires_grad_() for v in _t([0.3, 3.0, 50.0, 1e5], [-2.0, 1.5, -4.0, 0.3])]
    assert gradcheck(student_t_cdf, inputs, eps=1e-6, atol=1e-9, rtol=1e-6, fast_mode=True)
    inputs = [v.requires_grad_() for v in _t([0.7, 3.0, 40.0], [0.2, 0.6, 0.01])]
    assert gradcheck(student_t_icdf, inputs, eps=1e-7, atol=1e-7, rtol=1e-5, fast_mode=True)


def test_student_t_float32():
    df, t = (torch.tensor(c) for c in zip(*itertools.product(DFS, [*TS, 2.0, 1e5])))
    f32 = student_t_cdf(df, t)
    f64 = student_t_cdf(df.double(), t.double())
    assert torch.isfinite(f32).all()
    m = f64 > 1e-37
    assert ((f32.double() - f64).abs() / f64)[m].max() < 1e-5
    p = torch.tensor([1e-6, 0.1, 0.5, 0.8])
    q = student_t_icdf(torch.tensor(4.0), p)
    assert torch.allclose(q.double(), torch.tensor(st.t.ppf(p.double().numpy(), 4.0)), rtol=1e-5)


def test_compile_fullgraph():
    """The series tables are constants to dynamo (no graph break in the cached builders), in
    both regimes that use them (small arguments and Temme's expansion)."""
    g = torch.Generator().manual_seed(3)
    a = torch.exp(torch.empty(40, dtype=torch.float64).uniform_(-3, 7, generator=g))
    b = torch.exp(torch.empty(40, dtype=torch.float64).uniform_(-3, 7, generator=g))
    x = torch.rand(40, generator=g, dtype=torch.float64)
    for fn in (betainc, log_betaincc):
        torch._dynamo.reset()
        compiled = torch.compile(fn, fullgraph=True, backend="eager")
        torch.testing.assert_close(compiled(a, b, x), fn(a, b, x), rtol=1e-13, atol=0)
