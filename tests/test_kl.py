"""Analytic KL divergences of the univariate families (``rsample/distributions/continuous/_kl.py``).

References, all in float64 and independent of the code under test:

* quadrature of :math:`\\int p \\log(p/q)` with scipy's ``quad`` and scipy.stats log-densities;
* the textbook closed forms evaluated by mpmath at 50 digits on the exact float inputs — this is
  the reference at the hard corners (tiny/huge scales, far locations, nearly equal
  distributions), where the textbook forms cancel in floating point;
* ``torch.distributions.kl_divergence`` on torch's own distributions, on a moderate grid.
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath as mp
import pytest
import torch
import torch.distributions as td
from scipy import integrate, stats

import kl_reference as kr
import rsample
from rsample.distributions.continuous import _kl

F64, F32 = torch.float64, torch.float32
INF = math.inf
MP_DPS = 50

# --------------------------------------------------------------------------- families
# name -> (rsample class, torch class, scipy frozen factory); parameters as positional tuples.
FAMILIES = {
    "Normal": (rsample.Normal, td.Normal, lambda m, s: stats.norm(m, s)),
    "Laplace": (rsample.Laplace, td.Laplace, lambda m, s: stats.laplace(m, s)),
    "Cauchy": (rsample.Cauchy, td.Cauchy, lambda m, s: stats.cauchy(m, s)),
    "Gumbel": (rsample.Gumbel, td.Gumbel, lambda m, s: stats.gumbel_r(m, s)),
    "HalfNormal": (rsample.HalfNormal, td.HalfNormal, lambda s: stats.halfnorm(0, s)),
    "HalfCauchy": (rsample.HalfCauchy, td.HalfCauchy, lambda s: stats.halfcauchy(0, s)),
    "Exponential": (rsample.Exponential, td.Exponential, lambda r: stats.expon(0, 1 / r)),
    "Uniform": (rsample.Uniform, td.Uniform, lambda a, b: stats.uniform(a, b - a)),
    "LogNormal": (rsample.LogNormal, td.LogNormal, lambda m, s: stats.lognorm(s, 0, math.exp(m))),
    "TanhNormal": (rsample.TanhNormal, None, None),
}


make = functools.partial(kr.make_batch, FAMILIES)


# --------------------------------------------------------------------------- mpmath closed forms
_m = kr.mp_args


def _nn(p, q):
    (m1, s1), (m2, s2) = _m(p), _m(q)
    return mp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - mp.mpf(1) / 2


def _ll(p, q):
    (m1, b1), (m2, b2) = _m(p), _m(q)
    a = abs(m1 - m2)
    return mp.log(b2 / b1) + a / b2 + (b1 / b2) * mp.exp(-a / b1) - 1


def _ee(p, q):
    (l1,), (l2,) = _m(p), _m(q)
    return mp.log(l1 / l2) + l2 / l1 - 1


def _gg(p, q):
    (m1, b1), (m2, b2) = _m(p), _m(q)
    r, d = b1 / b2, (m1 - m2) / b2
    return -mp.log(r) + d + mp.euler * r + mp.exp(-d) * mp.gamma(1 + r) - 1 - mp.euler


def _hnhn(p, q):
    return _nn((0.0, *p), (0.0, *q))


def _uu(p, q):
    (a1, b1), (a2, b2) = _m(p), _m(q)
    if a2 > a1 or b2 < b1:
        return mp.inf
    return mp.log((b2 - a2) / (b1 - a1))


def _cc(p, q):
    (m1, s1), (m2, s2) = _m(p), _m(q)
    return mp.log(((s1 + s2) ** 2 + (m1 - m2) ** 2) / (4 * s1 * s2))


def _hchc(p, q):
    return _cc((0.0, *p), (0.0, *q))


def _eg(p, q):
    (lam,), (m, b) = _m(p), _m(q)
    s = lam * b
    return mp.log(s) - 1 + 1 / s - m / b + mp.exp(m / b) * s / (s + 1)


def _en(p, q):
    (lam,), (m, s) = _m(p), _m(q)
    half_log = mp.log(2 * mp.pi * s**2) / 2
    return mp.log(lam) - 1 + half_log + (2 / lam**2 - 2 * m / lam + m**2) / (2 * s**2)


def _gn(p, q):
    (m1, b), (m2, s) = _m(p), _m(q)
    g = mp.euler
    second = (mp.pi**2 * b**2 / 6 + (m1 + g * b - m2) ** 2) / (2 * s**2)
    return mp.log(s / b) + mp.log(2 * mp.pi) / 2 - 1 - g + second


def _ln(p, q):
    (m1, b), (m2, s) = _m(p), _m(q)
    return (
        -mp.log(2 * b) - 1 + mp.log(2 * mp.pi * s**2) / 2 + (2 * b**2 + (m1 - m2) ** 2) / (2 * s**2)
    )


def _ng(p, q):
    (m1, s), (m2, b) = _m(p), _m(q)
    d = (m1 - m2) / b
    entropy = mp.log(s) + mp.log(2 * mp.pi) / 2 + mp.mpf(1) / 2
    return -entropy + mp.log(b) + d + mp.exp(-d + s**2 / (2 * b**2))


def _nl(p, q):
    (m1, s), (m2, b) = _m(p), _m(q)
    dl = m1 - m2
    e_abs = s * mp.sqrt(2 / mp.pi) * mp.exp(-(dl**2) / (2 * s**2)) + dl * mp.erf(
        dl / (s * mp.sqrt(2))
    )
    entropy = mp.log(s) + mp.log(2 * mp.pi) / 2 + mp.mpf(1) / 2
    return -entropy + mp.log(2 * b) + e_abs / b


def _ue(p, q):
    (a, b), (lam,) = _m(p), _m(q)
    if a < 0:
        return mp.inf
    return -mp.log(b - a) - mp.log(lam) + lam * (a + b) / 2


def _ug(p, q):
    (a, b), (m, beta) = _m(p), _m(q)
    w = b - a
    # e^{-(a-m)/β} − e^{-(b-m)/β}, with the difference taken by expm1: at 50 digits it cancels.
    tail = (beta / w) * mp.exp(-(a - m) / beta) * -mp.expm1(-w / beta)
    return -mp.log(w) + mp.log(beta) + ((a + b) / 2 - m) / beta + tail


def _un(p, q):
    (a, b), (m, s) = _m(p), _m(q)
    w = b - a
    return (
        -mp.log(w)
        + mp.log(2 * mp.pi * s**2) / 2
        + (w**2 / 12 + ((a + b) / 2 - m) ** 2) / (2 * s**2)
    )


_inf = kr.infinite


# (p family, q family) -> mpmath reference; every pair rsample registers among these families.
REFERENCE = {
    ("Normal", "Normal"): _nn,
    ("Laplace", "Laplace"): _ll,
    ("Exponential", "Exponential"): _ee,
    ("Gumbel", "Gumbel"): _gg,
    ("HalfNormal", "HalfNormal"): _hnhn,
    ("Uniform", "Uniform"): _uu,
    ("Cauchy", "Cauchy"): _cc,
    ("LogNormal", "LogNormal"): _nn,
    ("HalfCauchy", "HalfCauchy"): _hchc,
    ("TanhNormal", "TanhNormal"): _nn,
    ("Exponential", "Uniform"): _inf,
    ("Exponential", "Gumbel"): _eg,
    ("Exponential", "Normal"): _en,
    ("Gumbel", "Uniform"): _inf,
    ("Gumbel", "Exponential"): _inf,
    ("Gumbel", "Normal"): _gn,
    ("Laplace", "Uniform"): _inf,
    ("Laplace", "Exponential"): _inf,
    ("Laplace", "Normal"): _ln,
    ("Normal", "Uniform"): _inf,
    ("Normal", "Exponential"): _inf,
    ("Normal", "Gumbel"): _ng,
    ("Normal", "Laplace"): _nl,
    ("Uniform", "Exponential"): _ue,
    ("Uniform", "Gumbel"): _ug,
    ("Uniform", "Normal"): _un,
}
PAIRS, FINITE_PAIRS, INF_PAIRS = kr.split_pairs(REFERENCE)
TORCH_PAIRS = [pq for pq in PAIRS if pq[0] != "TanhNormal"]  # torch has every other one


reference = functools.partial(kr.mp_reference, REFERENCE, MP_DPS)


# --------------------------------------------------------------------------- parameter grids
MODERATE = {
    "loc_scale": [(0.0, 1.0), (-1.3, 0.4), (2.1, 3.0)],
    "scale": [(1.0,), (0.4,), (3.0,)],
    "Uniform": [(0.2, 1.0), (-1.0, 2.0), (0.5, 4.0)],
}
for _name in ("Normal", "Laplace", "Cauchy", "Gumbel", "LogNormal", "TanhNormal"):
    MODERATE[_name] = MODERATE["loc_scale"]
for _name in ("HalfNormal", "HalfCauchy", "Exponential"):
    MODERATE[_name] = MODERATE["scale"]

# Tiny and huge scales, far-apart and large locations.
CORNERS = {
    "loc_scale": [
        (0.0, 1e-150),
        (0.0, 1e150),
        (1e10, 1.0),
        (-1e10, 1e-3),
        (3.0, 1e-6),
        (-2.0, 1e6),
        (1e8 + 1.0, 2.0),
        (1e8, 1.5),
    ],
    "scale": [(1e-150,), (1e150,), (1e-6,), (1e6,), (1.0,), (1.0 + 2**-40,)],
    "Uniform": [(0.0, 1e-150), (0.0, 1e150), (1e10, 1e10 + 1.0), (-1e10, 1e10), (3.0, 3.0 + 1e-6)],
}
for _name in ("Normal", "Laplace", "Cauchy", "Gumbel", "LogNormal", "TanhNormal"):
    CORNERS[_name] = CORNERS["loc_scale"]
for _name in ("HalfNormal", "HalfCauchy", "Exponential"):
    CORNERS[_name] = CORNERS["scale"]


def near_equal(family) -> list[tuple[tuple, tuple]]:
    """Pairs of nearly equal parameters, KL from 0 to ~1e-16: the textbook forms cancel here."""
    if family == "Uniform":
        return [((0.0, 1.0), (0.0, 1.0 + 1e-8)), ((-2.0, 3.0), (-2.0 - 1e-9, 3.0 + 1e-10))]
    if family in ("HalfNormal", "HalfCauchy", "Exponential"):
        return [((1.0,), (1.0 + 1e-8,)), ((3.0,), (3.0 * (1 - 1e-12),)), ((2.0,), (2.0,))]
    return [
        ((0.0, 1.0), (0.0, 1.0 + 1e-8)),
        ((0.0, 1.0), (1e-8, 1.0)),
        ((5.0, 2.0), (5.0 + 3e-9, 2.0 * (1 - 1e-9))),
        ((-1.0, 0.5), (-1.0, 0.5 * (1 + 1e-12))),
        ((0.3, 1.0), (0.3, 1.0 + 0.15)),  # the Gumbel series near its switch point
        ((0.0, 1.0), (0.0, 1.0)),
    ]


rs_kl = functools.partial(kr.rs_kl, FAMILIES)
rel_err, _grid = kr.rel_err, kr.grid


# --------------------------------------------------------------------------- (a) references
def _unchecked(frozen):
    """``(logpdf, ppf, isf)`` of a scipy.stats frozen distribution without per-call argument
    checking (100+ µs per scalar call otherwise). Callers stay inside the support."""
    dist = frozen.dist
    shapes, loc, scale = dist._parse_args(*frozen.args, **frozen.kwds)
    log_scale = math.log(scale)
    return (
        lambda x: dist._logpdf((x - loc) / scale, *shapes) - log_scale,
        lambda u: dist._ppf(u, *shapes) * scale + loc,
        lambda u: dist._isf(u, *shapes) * scale + loc,
    )


def _quad_kl(pair, pp, qp) -> float:
    """``∫ p log(p/q) dx = ∫₀¹ (log p − log q)(F_p⁻¹(u)) du``, each half from its own tail.

    The quantile substitution puts the integral on a finite interval with at most mild endpoint
    singularities, and keeps ``x`` inside the support of ``p`` (hence of ``q``); ``isf`` keeps
    the upper tail accurate. The kink of a Laplace ``q`` is a breakpoint.
    """
    sp, sq = FAMILIES[pair[0]][2](*pp), FAMILIES[pair[1]][2](*qp)
    (logp, ppf, isf), (logq, _, _) = _unchecked(sp), _unchecked(sq)
    kink = float(sp.cdf(sq.median()))
    total = 0.0
    for quantile, u_kink in ((ppf, kink), (isf, 1 - kink)):
        edges = [0.0, u_kink, 0.5] if 1e-12 < u_kink < 0.5 else [0.0, 0.5]

        def f(u, quantile=quantile):
            x = quantile(u)
            return logp(x) - logq(x)

        for a, b in itertools.pairwise(edges):
            total += integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-10, limit=100)[0]
    return total


QUAD_PAIRS = [pq for pq in FINITE_PAIRS if pq[0] != "TanhNormal"]


@pytest.mark.parametrize("pair", QUAD_PAIRS, ids="-".join)
def test_matches_quadrature_and_mpmath(pair):
    pps, qps = _grid(pair, MODERATE)
    got = rs_kl(pair, pps, qps)
    want = [reference(pair, a, b) for a, b in zip(pps, qps)]
    # 2e-14: e.g. Normal‖Gumbel is e^y with y ≈ 20 here, so one ulp of y is 3.5e-15 of the KL.
    assert rel_err(got, want).max() < 2e-14
    # Quadrature is reliable where the integrand is not dominated by its far tail.
    finite = [i for i, w in enumerate(want) if w < 1e3]
    assert finite
    quad = [_quad_kl(pair, pps[i], qps[i]) for i in finite]
    torch.testing.assert_close(got[finite], torch.tensor(quad, dtype=F64), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("pair", TORCH_PAIRS, ids="-".join)
def test_matches_torch(pair):
    kr.check_matches_torch(FAMILIES, pair, *_grid(pair, MODERATE), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_hard_corners_match_mpmath(pair):
    kr.check_reference(FAMILIES, reference, pair, *_grid(pair, CORNERS), rtol=1e-14)


SAME_FAMILY = [pq for pq in FINITE_PAIRS if pq[0] == pq[1]]


@pytest.mark.parametrize("pair", SAME_FAMILY, ids="-".join)
def test_nearly_equal_distributions_keep_relative_accuracy(pair):
    cases = near_equal(pair[0])
    got = rs_kl(pair, [a for a, _ in cases], [b for _, b in cases])
    want = [reference(pair, a, b) for a, b in cases]
    assert rel_err(got, want).max() < 1e-14
    assert (got >= 0).all()


_GOLDEN = (math.sqrt(5) - 1) / 2
_K_UG = 1.9150080481545  # Uniform‖Gumbel: coth k = 2/k
# Where a cross-family KL is smallest, its textbook form cancels most (terms of size 1).
MINIMA = {
    ("Exponential", "Normal"): ((1.0,), (1.0, 1.0)),
    ("Exponential", "Gumbel"): ((_GOLDEN,), (math.log1p(1 / _GOLDEN), 1.0)),
    ("Gumbel", "Normal"): (
        (0.0, math.sqrt(6) / math.pi),
        (0.5772156649015329 * math.sqrt(6) / math.pi, 1.0),
    ),
    ("Laplace", "Normal"): ((0.5, math.sqrt(0.5)), (0.5, 1.0)),
    ("Normal", "Gumbel"): ((0.5, 1.0), (0.0, 1.0)),
    ("Normal", "Laplace"): ((0.0, math.sqrt(math.pi / 2)), (0.0, 1.0)),
    ("Uniform", "Exponential"): ((0.0, 1.0), (2.0,)),
    ("Uniform", "Gumbel"): (
        (-_K_UG, _K_UG),
        (-math.log(math.sinh(_K_UG) / _K_UG), 1.0),
    ),
    ("Uniform", "Normal"): ((-math.sqrt(3), math.sqrt(3)), (0.0, 1.0)),
}


@pytest.mark.parametrize("pair", list(MINIMA), ids="-".join)
def test_cross_family_minima_match_mpmath(pair):
    pp, qp = MINIMA[pair]
    got = rs_kl(pair, [pp], [qp])
    assert rel_err(got, [reference(pair, pp, qp)]).max() < 2e-15


def test_nearly_equal_normals_beat_torch():
    """KL ≈ 1e-16 … 1e-24: torch's textbook form ``½(r² + d² − 1 − log r²)`` returns noise."""
    pair, cases = ("Normal", "Normal"), near_equal("Normal")[:4]
    pps, qps = [a for a, _ in cases], [b for _, b in cases]
    want = [reference(pair, a, b) for a, b in cases]
    ours = rel_err(rs_kl(pair, pps, qps), want).max()
    theirs = rel_err(
        td.kl_divergence(make("td", "Normal", pps)[0], make("td", "Normal", qps)[0]), want
    )
    assert ours < 1e-14 and theirs.max() > 0.5


# --------------------------------------------------------------------------- (b) dispatch
@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_torch_dispatches_to_rsample(pair):
    kr.check_torch_dispatch(FAMILIES, _kl, pair, *_grid(pair, MODERATE))


def test_wrappers_are_registered():
    loc, scale = torch.randn(3, 2, dtype=F64), torch.rand(3, 2, dtype=F64) + 0.5
    base_p, base_q = rsample.Normal(loc, scale), rsample.Normal(loc.flip(0), scale.flip(1))
    p, q = rsample.Independent(base_p, 1), rsample.Independent(base_q, 1)
    torch.testing.assert_close(
        td.kl_divergence(p, q), rsample.kl_divergence(base_p, base_q).sum(-1)
    )
    exp = rsample.ExpTransform()
    tp = rsample.TransformedDistribution(base_p, exp)
    tq = rsample.TransformedDistribution(base_q, exp)
    torch.testing.assert_close(td.kl_divergence(tp, tq), rsample.kl_divergence(base_p, base_q))


# --------------------------------------------------------------------------- (c) broadcasting
@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_broadcasting(pair):
    pps, qps = MODERATE[pair[0]], MODERATE[pair[1]][:2]
    kl = kr.check_broadcasting(FAMILIES, pair, pps, qps)
    if pair[0] != "TanhNormal":  # torch gives the same shape (for finite KLs)
        tp = FAMILIES[pair[0]][1](*(torch.tensor(c, dtype=F64).reshape(3, 1) for c in zip(*pps)))
        tq = FAMILIES[pair[1]][1](*(torch.tensor(c, dtype=F64) for c in zip(*qps)))
        if pair not in INF_PAIRS and pair != ("Uniform", "Exponential"):
            assert td.kl_divergence(tp, tq).shape == kl.shape


def test_python_number_parameters_broadcast():
    kl = rsample.kl_divergence(rsample.Normal(0.0, 1.0), rsample.Normal(torch.zeros(4), 2.0))
    assert kl.shape == (4,)


# --------------------------------------------------------------------------- (d) supports
@pytest.mark.parametrize("pair", INF_PAIRS, ids="-".join)
def test_infinite_where_support_is_not_nested(pair):
    pps, qps = _grid(pair, MODERATE)
    kl = rs_kl(pair, pps, qps)
    assert torch.isposinf(kl).all()


def test_uniform_support_conventions():
    # Nested: finite; q.low > p.low or q.high < p.high: inf (equal endpoints are nested).
    pps = [(0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]
    qps = [(0.0, 1.0), (-1.0, 2.0), (0.1, 2.0), (-1.0, 0.9)]
    kl = rs_kl(("Uniform", "Uniform"), pps, qps)
    assert kl[0] == 0 and kl[1] == pytest.approx(math.log(3)) and torch.isposinf(kl[2:]).all()
    kl = rs_kl(("Uniform", "Exponential"), [(0.0, 1.0), (-1e-300, 1.0)], [(2.0,), (2.0,)])
    assert math.isfinite(kl[0]) and torch.isposinf(kl[1])


def test_tanh_normal_bounds():
    loc, scale = torch.tensor([0.1, -0.3], dtype=F64), torch.tensor([1.0, 0.2], dtype=F64)
    p = rsample.TanhNormal(loc, scale, -2.0, 3.0)
    q = rsample.TanhNormal(loc.flip(0), scale.flip(0), -2.0, 3.0)
    expected = rsample.kl_divergence(
        rsample.Normal(loc, scale), rsample.Normal(loc.flip(0), 1 * scale.flip(0))
    )
    torch.testing.assert_close(rsample.kl_divergence(p, q), expected, rtol=0, atol=0)
    wider = rsample.TanhNormal(loc, scale, -3.0, 3.0)
    assert torch.isposinf(rsample.kl_divergence(wider, q)).all()
    with pytest.raises(NotImplementedError):
        rsample.kl_divergence(q, wider)
    # Tensor bounds: elementwise.
    lows = torch.tensor([-2.0, -3.0], dtype=F64)
    pt = rsample.TanhNormal(loc, scale, lows, torch.tensor([3.0, 3.0], dtype=F64))
    kl = rsample.kl_divergence(pt, q)
    assert kl[0] == expected[0] and torch.isposinf(kl[1])


# --------------------------------------------------------------------------- (e) float32
F32_CORNERS = {
    "loc_scale": [
        (0.0, 1e-20),
        (0.0, 1e20),
        (1e5, 1.0),
        (-3.0, 1e-3),
        (0.5, 1.0),
        (0.5, 1.0 + 1e-3),
    ],
    "scale": [(1e-20,), (1e20,), (1e-3,), (1.0,), (1.0 + 1e-3,)],
    "Uniform": [(0.0, 1e-20), (0.0, 1e20), (1e5, 1e5 + 1.0), (-1e5, 1e5), (0.0, 1.0)],
}
for _name in ("Normal", "Laplace", "Cauchy", "Gumbel", "LogNormal", "TanhNormal"):
    F32_CORNERS[_name] = F32_CORNERS["loc_scale"]
for _name in ("HalfNormal", "HalfCauchy", "Exponential"):
    F32_CORNERS[_name] = F32_CORNERS["scale"]


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_float32_finite_where_representable(pair):
    got, want, ok = kr.float32_check(FAMILIES, reference, pair, F32_CORNERS)
    # Measured ≤ 2e-7, KLs from 1e-6 to 5e15 included.
    assert rel_err(got[ok], [want[i] for i in ok]).max() < 1e-6


# --------------------------------------------------------------------------- (f) gradients
_kl_from_columns = functools.partial(kr.kl_from_columns, FAMILIES)


@pytest.mark.parametrize("pair", [pq for pq in TORCH_PAIRS if pq not in INF_PAIRS], ids="-".join)
def test_gradient_matches_torch(pair):
    pps, qps = _grid(pair, MODERATE)
    ours, theirs = kr.gradients_vs_torch(FAMILIES, pair, pps, qps, keep=torch.isfinite)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def _grad_points(pair):
    """Moderate points, nearly equal ones (series branches) and exact equality."""
    pps, qps = _grid(pair, MODERATE)
    if pair[0] == pair[1]:
        cases = near_equal(pair[0])
        pps, qps = pps + [a for a, _ in cases], qps + [b for _, b in cases]
    return pps, qps


@pytest.mark.parametrize("pair", FINITE_PAIRS, ids="-".join)
def test_gradcheck(pair):
    """Finite differences of every parameter, including at p = q and near the series switches."""
    pps, qps = _grad_points(pair)
    kl, _ = _kl_from_columns(pair, pps, qps)
    keep = [i for i in range(len(pps)) if kl[i].isfinite()]
    # Stay clear of the support edges of a Uniform p, where the KL jumps to inf.
    if pair == ("Uniform", "Uniform"):
        keep = [i for i in keep if qps[i][0] + 1e-6 < pps[i][0] and pps[i][1] + 1e-6 < qps[i][1]]
    if pair == ("Uniform", "Exponential"):
        keep = [i for i in keep if pps[i][0] > 0]
    pps, qps = [pps[i] for i in keep], [qps[i] for i in keep]
    kr.check_gradcheck(FAMILIES, pair, pps, qps)


@pytest.mark.parametrize("pair", [pq for pq in SAME_FAMILY if pq[0] != "Uniform"], ids="-".join)
def test_gradient_vanishes_at_equality(pair):
    params = MODERATE[pair[0]][1:2]
    kl, cols = _kl_from_columns(pair, params, params)
    grads = torch.autograd.grad(kl.sum(), cols)
    assert kl.item() == 0
    for g in grads:
        assert g.isfinite().all() and g.abs().max() < 1e-15
