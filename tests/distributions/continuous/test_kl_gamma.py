"""Analytic KLs with Gamma / InverseGamma (``rsample/distributions/continuous/_kl_gamma.py``).

References, in float64 and independent of the code under test:

* the textbook closed forms evaluated by mpmath at 50 digits on the exact float inputs (the
  reference at the hard corners and for nearly equal distributions, where the textbook forms
  cancel in floating point);
* quadrature of :math:`\\int p \\log(p/q)` with scipy.stats log-densities;
* ``torch.distributions.kl_divergence`` on torch's own distributions, on a moderate grid.
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
from rsample.distributions.continuous import _kl_gamma

F64, F32 = torch.float64, torch.float32
INF = math.inf
MP_DPS = 50

FAMILIES = {
    "Gamma": (rsample.Gamma, td.Gamma, lambda a, b: stats.gamma(a, scale=1 / b)),
    "InverseGamma": (
        rsample.InverseGamma,
        td.InverseGamma,
        lambda a, b: stats.invgamma(a, scale=b),
    ),
    "Chi2": (rsample.Chi2, td.Chi2, lambda k: stats.chi2(k)),
    "Exponential": (rsample.Exponential, td.Exponential, lambda r: stats.expon(0, 1 / r)),
    "Normal": (rsample.Normal, td.Normal, lambda m, s: stats.norm(m, s)),
    "Gumbel": (rsample.Gumbel, td.Gumbel, lambda m, s: stats.gumbel_r(m, s)),
    "Laplace": (rsample.Laplace, td.Laplace, lambda m, s: stats.laplace(m, s)),
    "Uniform": (rsample.Uniform, td.Uniform, lambda a, b: stats.uniform(a, b - a)),
}


make = functools.partial(kr.make_batch, FAMILIES)


# --------------------------------------------------------------------------- mpmath closed forms
_m = kr.mp_args


def _gamma_entropy(a, b):
    return a - mp.log(b) + mp.loggamma(a) + (1 - a) * mp.digamma(a)


def _gg(p, q):
    (a1, b1), (a2, b2) = _m(p), _m(q)
    return (
        (a1 - a2) * mp.digamma(a1)
        - mp.loggamma(a1)
        + mp.loggamma(a2)
        + a2 * (mp.log(b1) - mp.log(b2))
        + a1 * (b2 - b1) / b1
    )


def _chi2(p):
    return (p[0] / 2, 0.5)


def _ge(p, q):
    return _gg(p, (1.0, q[0]))


def _eg(p, q):
    return _gg((1.0, p[0]), q)


def _gn(p, q):
    (a, b), (m, s) = _m(p), _m(q)
    second = (a / b**2 + (a / b - m) ** 2) / (2 * s**2)
    return -_gamma_entropy(a, b) + mp.log(2 * mp.pi * s**2) / 2 + second


def _ggum(p, q):
    (a, b), (m, s) = _m(p), _m(q)
    e_z = (a / b - m) / s
    e_exp = mp.exp(m / s) * (1 + 1 / (b * s)) ** (-a)
    return -_gamma_entropy(a, b) + mp.log(s) + e_z + e_exp


def _ug(p, q):
    (lo, hi), (a, b) = _m(p), _m(q)
    if lo < 0:
        return mp.inf
    e_log = mp.log(hi) - 1 if lo == 0 else (hi * mp.log(hi) - lo * mp.log(lo)) / (hi - lo) - 1
    return -mp.log(hi - lo) + mp.loggamma(a) - a * mp.log(b) - (a - 1) * e_log + b * (lo + hi) / 2


_inf = kr.infinite


REFERENCE = {
    ("Gamma", "Gamma"): _gg,
    ("InverseGamma", "InverseGamma"): _gg,
    ("Gamma", "Exponential"): _ge,
    ("Exponential", "Gamma"): _eg,
    ("Gamma", "Normal"): _gn,
    ("Gamma", "Gumbel"): _ggum,
    ("Uniform", "Gamma"): _ug,
    ("Chi2", "Gamma"): lambda p, q: _gg(_chi2(p), q),
    ("Gamma", "Chi2"): lambda p, q: _gg(p, _chi2(q)),
    ("Chi2", "Chi2"): lambda p, q: _gg(_chi2(p), _chi2(q)),
    ("Gamma", "Uniform"): _inf,
    ("Gumbel", "Gamma"): _inf,
    ("Laplace", "Gamma"): _inf,
    ("Normal", "Gamma"): _inf,
}
PAIRS, FINITE_PAIRS, INF_PAIRS = kr.split_pairs(REFERENCE)
SAME_FAMILY = [("Gamma", "Gamma"), ("InverseGamma", "InverseGamma")]


reference = functools.partial(kr.mp_reference, REFERENCE, MP_DPS)


# --------------------------------------------------------------------------- parameter grids
MODERATE = {
    "Gamma": [(1.0, 1.0), (0.4, 2.0), (3.5, 0.7)],
    "Chi2": [(1.0,), (0.5,), (7.0,)],
    "Exponential": [(1.0,), (0.4,), (3.0,)],
    "loc_scale": [(0.0, 1.0), (-1.3, 0.4), (2.1, 3.0)],
    "Uniform": [(0.2, 1.0), (0.0, 2.0), (0.5, 4.0)],
}
CORNERS = {
    "Gamma": [
        (1e-3, 1.0),
        (1e3, 1e-3),
        (1e6, 1e6),
        (1e-2, 1e5),
        (9.99, 2.0),
        (10.0, 0.5),
        (150.0, 1e3),
        (2.0, 1e-150),
        (0.3, 1e150),
    ],
    "Chi2": [(1e-3,), (1.0,), (20.0,), (1e6,)],
    "Exponential": [(1e-150,), (1e150,), (1e-6,), (1e6,)],
    "loc_scale": [(0.0, 1e-6), (1e6, 1.0), (-1e3, 1e3), (3.0, 1e-3), (50.0, 7.0)],
    "Uniform": [(0.0, 1e-6), (1e6, 1e6 + 1.0), (0.0, 1e6), (3.0, 3.0 + 1e-6)],
}
for _grid in (MODERATE, CORNERS):
    _grid["InverseGamma"] = _grid["Gamma"]
    for _name in ("Normal", "Gumbel", "Laplace"):
        _grid[_name] = _grid["loc_scale"]

# Nearly equal Gammas: KL from 0 to ~1e-13, including the mean-preserving direction (α and β
# scaled together) where the textbook terms of size α log α cancel most, and the switch of the
# Stirling branch at α = 10.
NEAR_EQUAL = [
    ((1.0, 1.0), (1.0, 1.0 + 1e-8)),
    ((3.0, 2.0), (3.0 * (1 + 1e-9), 2.0)),
    ((1e-3, 1.0), (1e-3 * (1 + 1e-8), 1.0)),
    ((1e3, 1.0), (1e3 * (1 + 1e-6), 1.0 + 1e-6)),
    ((1e6, 1.0), (1e6 + 1.0, 1.0 + 1e-6)),
    ((9.99, 1.0), (10.01, 1.0)),
    ((0.5, 3.0), (0.5 + 1e-12, 3.0)),
    ((40.0, 0.2), (40.0 * (1 - 3e-8), 0.2 * (1 - 3e-8))),
    ((2.0, 1.0), (2.0, 1.0)),
]


rs_kl = functools.partial(kr.rs_kl, FAMILIES)
rel_err, _grid = kr.rel_err, kr.grid


def _quad_kl(pair, pp, qp) -> float:
    """``∫₀¹ (log p − log q)(F_p⁻¹(u)) du``, each half from its own tail (ppf / isf)."""
    sp, sq = FAMILIES[pair[0]][2](*pp), FAMILIES[pair[1]][2](*qp)
    return kr.quad_kl_quantile(sp, sq.logpdf, epsrel=1e-10, limit=50)  # quad's default limit


# --------------------------------------------------------------------------- (a) values
@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_matches_mpmath_and_quadrature(pair):
    pps, qps = _grid(pair, MODERATE)
    got = rs_kl(pair, pps, qps)
    want = [reference(pair, a, b) for a, b in zip(pps, qps)]
    assert rel_err(got, want).max() < 1e-14
    quad = [_quad_kl(pair, a, b) for a, b in zip(pps[:4], qps[:4])]
    torch.testing.assert_close(got[:4], torch.tensor(quad, dtype=F64), rtol=1e-8, atol=1e-12)


TORCH_PAIRS = list(PAIRS)  # torch registers (or reaches through transforms) all of them


@pytest.mark.parametrize("pair", TORCH_PAIRS, ids="-".join)
def test_matches_torch(pair):
    kr.check_matches_torch(FAMILIES, pair, *_grid(pair, MODERATE), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_hard_corners_match_mpmath(pair):
    kr.check_reference(FAMILIES, reference, pair, *_grid(pair, CORNERS), rtol=1e-13)


@pytest.mark.parametrize("pair", SAME_FAMILY, ids="-".join)
def test_nearly_equal_distributions_keep_relative_accuracy(pair):
    got = rs_kl(pair, [a for a, _ in NEAR_EQUAL], [b for _, b in NEAR_EQUAL])
    want = [reference(pair, a, b) for a, b in NEAR_EQUAL]
    assert rel_err(got, want).max() < 1e-14, (got, want)
    assert (got >= 0).all()


def test_nearly_equal_gammas_beat_torch():
    """The textbook form returns noise (even negative values) for KLs near 1e-13."""
    pair, cases = ("Gamma", "Gamma"), NEAR_EQUAL[3:5]
    pps, qps = [a for a, _ in cases], [b for _, b in cases]
    want = [reference(pair, a, b) for a, b in cases]
    theirs = td.kl_divergence(make("td", "Gamma", pps)[0], make("td", "Gamma", qps)[0])
    assert rel_err(rs_kl(pair, pps, qps), want).max() < 1e-14
    assert rel_err(theirs, want).max() > 1e-3


def test_inverse_gamma_is_gamma():
    pps, qps = _grid(("Gamma", "Gamma"), CORNERS)
    torch.testing.assert_close(
        rs_kl(("InverseGamma", "InverseGamma"), pps, qps),
        rs_kl(("Gamma", "Gamma"), pps, qps),
        rtol=0,
        atol=0,
    )


# --------------------------------------------------------------------------- (b) dispatch
@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_torch_dispatches_to_rsample(pair):
    kr.check_torch_dispatch(FAMILIES, _kl_gamma, pair, *_grid(pair, MODERATE))


@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_broadcasting(pair):
    pps, qps = MODERATE[pair[0]], MODERATE[pair[1]][:2]
    kr.check_broadcasting(FAMILIES, pair, pps, qps)


@pytest.mark.parametrize("pair", INF_PAIRS, ids="-".join)
def test_infinite_where_support_is_not_nested(pair):
    pps, qps = _grid(pair, MODERATE)
    assert torch.isposinf(rs_kl(pair, pps, qps)).all()


def test_uniform_gamma_support_conventions():
    """Finite for ``low ≥ 0`` (``low = 0`` included), ``+inf`` below, as torch."""
    pps = [(0.0, 1.0), (-1e-300, 1.0), (-1.0, 2.0), (1e-300, 1.0)]
    qps = [(2.0, 1.5)] * 4
    kl = rs_kl(("Uniform", "Gamma"), pps, qps)
    want = [reference(("Uniform", "Gamma"), a, b) for a, b in zip(pps, qps)]
    assert torch.isposinf(kl[1:3]).all() and kl[[0, 3]].isfinite().all()
    assert rel_err(kl, want).max() < 1e-14


# --------------------------------------------------------------------------- (c) float32
F32_CORNERS = {
    "Gamma": [(1e-3, 1.0), (1e3, 1e-3), (1.0, 1.0), (1.001, 1.0), (5e5, 5e5), (0.3, 1e15)],
    "Chi2": [(1e-3,), (3.0,), (1e5,)],
    "Exponential": [(1e-15,), (1e15,), (1.0,)],
    "loc_scale": [(0.0, 1e-10), (1e5, 1.0), (0.5, 1.0)],
    "Uniform": [(0.0, 1e-10), (1e5, 1e5 + 1.0), (0.0, 1.0)],
}
F32_CORNERS["InverseGamma"] = F32_CORNERS["Gamma"]
for _name in ("Normal", "Gumbel", "Laplace"):
    F32_CORNERS[_name] = F32_CORNERS["loc_scale"]


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_float32_finite_where_representable(pair):
    got, want, ok = kr.float32_check(FAMILIES, reference, pair, F32_CORNERS)
    assert rel_err(got[ok], [want[i] for i in ok]).max() < 1e-5


# --------------------------------------------------------------------------- (d) gradients
def _kl_from_columns(lib, pair, pps, qps):
    return kr.kl_from_columns(FAMILIES, pair, pps, qps, lib=lib)


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_gradient_matches_torch(pair):
    """rtol 1e-8: torch's gradient in α goes through its ``polygamma(1, ·)``, which errs by up
    to ~2e-10 relative here (ours agrees with mpmath to 1e-13, see the next test)."""
    pps, qps = _grid(pair, MODERATE)
    if pair == ("Uniform", "Gamma"):  # at low = 0, d/d low is −inf (x log x)
        keep = [i for i, a in enumerate(pps) if a[0] > 0]
        pps, qps = [pps[i] for i in keep], [qps[i] for i in keep]
    ours, theirs = kr.gradients_vs_torch(FAMILIES, pair, pps, qps)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def _mp_gradient(pair, pp, qp) -> list[float]:
    """d KL / d (each parameter of p, then q), by mpmath's numerical differentiation at 50
    digits of the closed form."""
    n_p, params = len(pp), [*pp, *qp]
    grads = []
    with mp.workdps(MP_DPS):
        for i in range(len(params)):

            def f(t, i=i):
                full = [mp.mpf(t) if j == i else mp.mpf(float(v)) for j, v in enumerate(params)]
                return REFERENCE[pair](full[:n_p], full[n_p:])

            grads.append(float(mp.diff(f, mp.mpf(float(params[i])))))
    return grads


@pytest.mark.parametrize("pair", SAME_FAMILY, ids="-".join)
def test_gradient_matches_mpmath_near_equality_and_at_corners(pair):
    """Relative 1e-9, or 1e-15 of the size of the terms whose difference a derivative is
    (``α/β`` for ``d/dβ``: near equal means, ``ρ − 1`` keeps only its absolute accuracy)."""
    cases = [
        *NEAR_EQUAL,
        ((1e3, 1e-3), (1e-3, 1.0)),
        ((1e6, 1e6), (9.99, 2.0)),
        ((0.3, 5.0), (12.0, 0.1)),
    ]
    pps, qps = [a for a, _ in cases], [b for _, b in cases]
    kl, cols = _kl_from_columns("rs", pair, pps, qps)
    ours = torch.stack(torch.autograd.grad(kl.sum(), cols), dim=1)
    want = torch.tensor([_mp_gradient(pair, a, b) for a, b in cases], dtype=F64)
    scale = torch.tensor([max(a[0] / a[1], b[0] / b[1], 1.0) for a, b in cases], dtype=F64)
    bound = 1e-9 * want.abs() + 1e-15 * scale[:, None]
    assert ((ours - want).abs() <= bound).all(), (ours - want).abs() / bound


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_gradcheck(pair):
    """Finite differences in every parameter, including at p = q and across the α = 10 switch."""
    pps, qps = _grid(pair, MODERATE)
    if pair in SAME_FAMILY:  # (a fixed step of 1e-7 resolves neither α = 1e-3 nor α = 1e6)
        near = [c for c in NEAR_EQUAL if 0.1 < c[0][0] < 1e5]
        pps, qps = pps + [a for a, _ in near], qps + [b for _, b in near]
    if pair == ("Uniform", "Gamma"):  # stay clear of low = 0, where the KL jumps to inf
        keep = [i for i, a in enumerate(pps) if a[0] > 0]
        pps, qps = [pps[i] for i in keep], [qps[i] for i in keep]
    kr.check_gradcheck(FAMILIES, pair, pps, qps)


@pytest.mark.parametrize("pair", SAME_FAMILY, ids="-".join)
def test_gradient_vanishes_at_equality(pair):
    params = [(0.4, 2.0), (25.0, 3.0)]
    kl, cols = _kl_from_columns("rs", pair, params, params)
    grads = torch.autograd.grad(kl.sum(), cols)
    assert (kl == 0).all()
    for g in grads:
        assert g.isfinite().all() and g.abs().max() < 1e-15
