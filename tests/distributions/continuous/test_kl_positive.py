"""Analytic KLs with Pareto and Weibull (``rsample/distributions/continuous/_kl_positive.py``).

References, in float64 and independent of the code under test:

* the textbook closed forms (torch's, and Bauckhage 2013 for Weibull‖Weibull) evaluated by mpmath
  at 50 digits on the exact float inputs: the reference at the hard corners and for nearly equal
  distributions, where the textbook forms cancel in floating point;
* quadrature of :math:`\\int p \\log(p/q)` with scipy.stats log-densities;
* ``torch.distributions.kl_divergence`` on torch's own distributions, on a moderate grid (torch
  has no Weibull‖Weibull).
"""

from __future__ import annotations

import functools
import math

import mpmath as mp
import pytest
import torch
import torch.distributions as td
from scipy import stats

import kl_reference as kr
import rsample
from rsample.distributions.continuous import _kl_positive

F64, F32 = torch.float64, torch.float32
INF = math.inf
MP_DPS = 50

FAMILIES = {
    "Pareto": (rsample.Pareto, td.Pareto, lambda s, a: stats.pareto(a, scale=s)),
    "Weibull": (rsample.Weibull, td.Weibull, lambda s, k: stats.weibull_min(k, scale=s)),
    "Exponential": (rsample.Exponential, td.Exponential, lambda r: stats.expon(0, 1 / r)),
    "Gamma": (rsample.Gamma, td.Gamma, lambda a, b: stats.gamma(a, scale=1 / b)),
    "Normal": (rsample.Normal, td.Normal, lambda m, s: stats.norm(m, s)),
    "Gumbel": (rsample.Gumbel, td.Gumbel, lambda m, s: stats.gumbel_r(m, s)),
    "Laplace": (rsample.Laplace, td.Laplace, lambda m, s: stats.laplace(m, s)),
    "Uniform": (rsample.Uniform, td.Uniform, lambda a, b: stats.uniform(a, b - a)),
    "ContinuousBernoulli": (rsample.ContinuousBernoulli, td.ContinuousBernoulli, None),
}


make = functools.partial(kr.make_batch, FAMILIES)


# --------------------------------------------------------------------------- mpmath closed forms
_m = kr.mp_args


def _pareto_neg_entropy(s, a):
    return mp.log(a) - mp.log(s) - 1 - 1 / a


def _pp(p, q):
    (s1, a1), (s2, a2) = _m(p), _m(q)
    if s1 < s2:
        return mp.inf
    return mp.log(a1 / a2) + a2 * mp.log(s1 / s2) + a2 / a1 - 1


def _pe(p, q):
    (s, a), (lam,) = _m(p), _m(q)
    if a <= 1:
        return mp.inf
    return _pareto_neg_entropy(s, a) - mp.log(lam) + lam * a * s / (a - 1)


def _pg(p, q):
    (s, a), (k, b) = _m(p), _m(q)
    if a <= 1:
        return mp.inf
    e_log, e_x = mp.log(s) + 1 / a, a * s / (a - 1)
    return _pareto_neg_entropy(s, a) - (k * mp.log(b) - mp.loggamma(k) + (k - 1) * e_log - b * e_x)


def _pn(p, q):
    (s, a), (m, sigma) = _m(p), _m(q)
    if a <= 2:
        return mp.inf
    mean, var = a * s / (a - 1), s**2 * a / ((a - 1) ** 2 * (a - 2))
    return (
        _pareto_neg_entropy(s, a)
        + mp.log(2 * mp.pi * sigma**2) / 2
        + (var + (mean - m) ** 2) / (2 * sigma**2)
    )


def _up(p, q):
    (lo, hi), (s, a) = _m(p), _m(q)
    if lo < s:
        return mp.inf
    e_log = (hi * mp.log(hi) - lo * mp.log(lo)) / (hi - lo) - 1
    return -mp.log(hi - lo) - mp.log(a) - a * mp.log(s) + (a + 1) * e_log


def _ww(p, q):
    (l1, k1), (l2, k2) = _m(p), _m(q)
    g = mp.euler
    return (
        mp.log(k1) - k1 * mp.log(l1)
        - mp.log(k2) + k2 * mp.log(l2)
        + (k1 - k2) * (mp.log(l1) - g / k1)
        + mp.exp(k2 * mp.log(l1 / l2)) * mp.gamma(k2 / k1 + 1)
        - 1
    )  # fmt: skip


_inf = kr.infinite


REFERENCE = {
    ("Pareto", "Pareto"): _pp,
    ("Pareto", "Exponential"): _pe,
    ("Pareto", "Gamma"): _pg,
    ("Pareto", "Normal"): _pn,
    ("Uniform", "Pareto"): _up,
    ("Weibull", "Weibull"): _ww,
    ("Pareto", "Uniform"): _inf,
    ("Pareto", "ContinuousBernoulli"): _inf,
    ("ContinuousBernoulli", "Pareto"): _inf,
    ("Exponential", "Pareto"): _inf,
    ("Gamma", "Pareto"): _inf,
    ("Gumbel", "Pareto"): _inf,
    ("Laplace", "Pareto"): _inf,
    ("Normal", "Pareto"): _inf,
}
PAIRS, FINITE_PAIRS, INF_PAIRS = kr.split_pairs(REFERENCE)
TORCH_PAIRS = [pq for pq in PAIRS if pq != ("Weibull", "Weibull")]


reference = functools.partial(kr.mp_reference, REFERENCE, MP_DPS)


# --------------------------------------------------------------------------- parameter grids
MODERATE = {
    # α = 1.5: +inf against the Normal; the 0.5 scale: +inf against the larger Pareto scales.
    "Pareto": [(1.0, 3.0), (0.5, 1.5), (2.0, 4.5)],
    "Weibull": [(1.0, 1.0), (0.5, 3.0), (2.0, 0.7)],
    "Exponential": [(1.0,), (0.4,), (3.0,)],
    "Gamma": [(1.0, 1.0), (2.5, 0.7), (0.4, 3.0)],
    "Normal": [(0.0, 1.0), (-1.3, 0.4), (2.1, 3.0)],
    "Gumbel": [(0.0, 1.0), (-1.3, 0.4), (2.1, 3.0)],
    "Laplace": [(0.0, 1.0), (-1.3, 0.4), (2.1, 3.0)],
    # (0.2, 1.0) reaches below every Pareto scale of the grid: +inf.
    "Uniform": [(1.0, 2.0), (0.2, 1.0), (3.0, 7.5)],
    "ContinuousBernoulli": [(0.3,), (0.5,), (0.9,)],
}

# Tiny and huge scales and shapes, α just above the thresholds 1 and 2, narrow and wide ranges.
CORNERS = {
    "Pareto": [
        (1e-150, 5.0),
        (1e150, 2.5),
        (1.0, 1.0 + 1e-9),
        (1.0, 2.0 + 1e-9),
        (3.0, 1e3),
        (1.0, 1e-3),
        (2.0, 1e6),
    ],
    "Weibull": [(1e-100, 5.0), (1e100, 0.05), (1.0, 50.0), (1.0, 1.0 + 1e-9), (7.0, 1e3)],
    "Exponential": [(1e-100,), (1e100,), (1.0,)],
    "Gamma": [(1e6, 1e6), (1e-3, 1e3), (30.0, 0.1), (1.0, 1e-100)],
    "Normal": [(1e5, 1e3), (-2.0, 1e-3), (0.0, 1e100)],
    "Uniform": [(3.0, 3.0001), (1e-100, 1e100), (2.0, 1e6), (1e150, 1e151)],
}


def near_equal(family) -> list[tuple[tuple, tuple]]:
    """Nearly equal parameters, KL from 0 to ~1e-18: the textbook forms cancel here."""
    if family == "Pareto":
        return [
            ((1.0, 3.0), (1.0, 3.0 * (1 + 1e-8))),
            ((2.0 * (1 + 1e-12), 0.5), (2.0, 0.5)),
            ((5.0, 2.0), (5.0 * (1 - 1e-9), 2.0 * (1 + 1e-10))),
            ((1.0, 3.0), (1.0, 3.0 * 1.3)),
            ((1.0, 3.0), (1.0, 3.0)),
        ]
    return [  # Weibull
        ((1.0, 1.0), (1.0 + 1e-8, 1.0)),
        ((1.0, 2.0), (1.0, 2.0 * (1 + 1e-9))),
        ((3.0, 0.7), (3.0 * (1 - 1e-10), 0.7 * (1 + 1e-10))),
        ((1.0, 1.0), (1.0, 1.15)),  # the lgamma series near its switch point
        ((1e10, 1e3), (1e10 * (1 + 1e-14), 1e3)),
        ((2.0, 5.0), (2.0, 5.0)),
    ]


rs_kl = functools.partial(kr.rs_kl, FAMILIES)
rel_err, _grid = kr.rel_err, kr.grid


def _quad_kl(pair, pp, qp) -> float:
    """``∫₀¹ (log p − log q)(F_p⁻¹(u)) du``: the quantile substitution puts the integral on a
    finite interval inside the support of ``p``; each half from its own tail (``isf``)."""
    sp, sq = FAMILIES[pair[0]][2](*pp), FAMILIES[pair[1]][2](*qp)
    return kr.quad_kl_quantile(sp, sq.logpdf, epsrel=1e-10, limit=100)


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_matches_mpmath_and_quadrature(pair):
    pps, qps = _grid(pair, MODERATE)
    got = rs_kl(pair, pps, qps)
    want = [reference(pair, a, b) for a, b in zip(pps, qps)]
    assert rel_err(got, want).max() < 2e-14
    finite = [i for i, w in enumerate(want) if w < 1e3]
    assert len(finite) >= 3
    quad = [_quad_kl(pair, pps[i], qps[i]) for i in finite]
    torch.testing.assert_close(got[finite], torch.tensor(quad, dtype=F64), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("pair", TORCH_PAIRS, ids="-".join)
def test_matches_torch_and_its_infinities(pair):
    pps, qps = _grid(pair, MODERATE)
    got = kr.check_matches_torch(FAMILIES, pair, pps, qps, rtol=1e-12, atol=1e-14)
    if pair in INF_PAIRS:
        assert torch.isposinf(got).all()


def test_torch_infinity_conventions_at_the_thresholds():
    """+inf for α ≤ 1 (Exponential, Gamma), α ≤ 2 (Normal), s_p < s_q, a Uniform below s."""
    pareto = [(1.0, 1.0), (1.0, 1.0 + 1e-12), (1.0, 2.0), (1.0, 2.0 + 1e-12)]
    kl_e = rs_kl(("Pareto", "Exponential"), pareto, [(1.0,)] * 4)
    kl_g = rs_kl(("Pareto", "Gamma"), pareto, [(2.0, 1.0)] * 4)
    kl_n = rs_kl(("Pareto", "Normal"), pareto, [(0.0, 1.0)] * 4)
    assert torch.isposinf(kl_e[0]) and kl_e[1:].isfinite().all()
    assert torch.isposinf(kl_g[0]) and kl_g[1:].isfinite().all()
    assert torch.isposinf(kl_n[:3]).all() and kl_n[3].isfinite()
    kl_p = rs_kl(("Pareto", "Pareto"), [(1.0, 2.0), (1.0 - 1e-12, 2.0)], [(1.0, 3.0)] * 2)
    assert kl_p[0].isfinite() and torch.isposinf(kl_p[1])
    kl_u = rs_kl(("Uniform", "Pareto"), [(1.0, 2.0), (1.0 - 1e-12, 2.0)], [(1.0, 3.0)] * 2)
    assert kl_u[0].isfinite() and torch.isposinf(kl_u[1])


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_hard_corners_match_mpmath(pair):
    grid = {**MODERATE, **CORNERS}
    # Measured ≤ 1.1e-14 (Weibull(1e100, 0.05)‖Weibull(1, 1) is e^Y with Y ≈ 272).
    kr.check_reference(FAMILIES, reference, pair, *_grid(pair, grid), rtol=1e-13)


@pytest.mark.parametrize("family", ["Pareto", "Weibull"])
def test_nearly_equal_distributions_keep_relative_accuracy(family):
    pair, cases = (family, family), near_equal(family)
    got = rs_kl(pair, [a for a, _ in cases], [b for _, b in cases])
    want = [reference(pair, a, b) for a, b in cases]
    assert rel_err(got, want).max() < 1e-14
    assert (got >= 0).all()


def test_nearly_equal_paretos_beat_torch():
    """KL ≈ 1e-17 … 1e-21: torch's ``log(α_p/α_q) + α_q/α_p − 1`` returns rounding noise."""
    cases = near_equal("Pareto")[:3]
    pps, qps = [a for a, _ in cases], [b for _, b in cases]
    want = [reference(("Pareto", "Pareto"), a, b) for a, b in cases]
    ours = rel_err(rs_kl(("Pareto", "Pareto"), pps, qps), want).max()
    theirs = rel_err(
        td.kl_divergence(make("td", "Pareto", pps)[0], make("td", "Pareto", qps)[0]), want
    )
    assert ours < 1e-14 and theirs.max() > 1e-3


# --------------------------------------------------------------------------- dispatch, shapes
@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_torch_dispatches_to_rsample(pair):
    kr.check_torch_dispatch(FAMILIES, _kl_positive, pair, *_grid(pair, MODERATE))


@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_broadcasting(pair):
    pps, qps = MODERATE[pair[0]], MODERATE[pair[1]][:2]
    kr.check_broadcasting(FAMILIES, pair, pps, qps)


# --------------------------------------------------------------------------- float32
F32_CORNERS = {
    "Pareto": [(1e-20, 5.0), (1e20, 2.5), (1.0, 1.001), (1.0, 2.001), (3.0, 1e3), (1.0, 1e-3)],
    "Weibull": [(1e-20, 5.0), (1e20, 0.05), (1.0, 50.0), (1.0, 1.001), (7.0, 1e3)],
    "Exponential": [(1e-20,), (1e20,), (1.0,)],
    "Gamma": [(1e4, 1e4), (1e-3, 1e3), (30.0, 0.1)],
    "Normal": [(1e5, 1e3), (-2.0, 1e-3), (0.0, 1e20)],
    "Uniform": [(3.0, 3.01), (1e-20, 1e20), (2.0, 1e6)],
}


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_float32_finite_where_representable(pair):
    got, want, ok = kr.float32_check(FAMILIES, reference, pair, F32_CORNERS)
    assert torch.isposinf(got[[i for i, w in enumerate(want) if w == INF]]).all()
    # Measured ≤ 7e-7 (Pareto‖Gamma and Uniform‖Pareto, sums of terms of size ~10).
    assert rel_err(got[ok], [want[i] for i in ok]).max() < 1e-5


# --------------------------------------------------------------------------- gradients
_kl_from_columns = functools.partial(kr.kl_from_columns, FAMILIES)


@pytest.mark.parametrize("pair", [pq for pq in FINITE_PAIRS if pq in TORCH_PAIRS], ids="-".join)
def test_gradient_matches_torch(pair):
    pps, qps = _grid(pair, MODERATE)
    ours, theirs = kr.gradients_vs_torch(FAMILIES, pair, pps, qps, keep=torch.isfinite)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_gradcheck(pair):
    """Finite differences of every parameter, at p = q and near the series switches included;
    points where the KL is +inf or next to a support edge (where it jumps) are left out."""
    pps, qps = _grid(pair, MODERATE)
    if pair[0] == pair[1]:
        cases = near_equal(pair[0])
        pps, qps = pps + [a for a, _ in cases], qps + [b for _, b in cases]
    kl, _ = _kl_from_columns(pair, pps, qps)
    keep = [i for i in range(len(pps)) if kl[i].isfinite()]
    if pair == ("Pareto", "Pareto"):
        keep = [i for i in keep if pps[i][0] > qps[i][0] * (1 + 1e-6)]
    if pair == ("Uniform", "Pareto"):
        keep = [i for i in keep if pps[i][0] > qps[i][0] * (1 + 1e-6)]
    pps, qps = [pps[i] for i in keep], [qps[i] for i in keep]
    assert len(pps) >= 3
    kr.check_gradcheck(FAMILIES, pair, pps, qps)


@pytest.mark.parametrize("family", ["Pareto", "Weibull"])
def test_gradient_vanishes_at_equality(family):
    pair, params = (family, family), MODERATE[family][:1] + MODERATE[family][2:]
    kl, cols = _kl_from_columns(pair, params, params)
    grads = torch.autograd.grad(kl.sum(), cols)
    assert (kl == 0).all()
    # Pareto's d/ds_p is α_q/s_p at s_p = s_q (the KL grows linearly into the support): the
    # one-sided derivative at the support edge, not 0.
    for i, g in enumerate(grads):
        assert g.isfinite().all()
        if not (family == "Pareto" and i in (0, 2)):
            assert g.abs().max() < 1e-15, (i, g)
