"""Analytic KL divergences between the discrete families (``discrete/_kl_discrete.py``).

References, independent of the code under test: the defining sums evaluated by mpmath at 50
digits on the exact float inputs (closed forms for the two-point and geometric cases, the
enumerated sum for binomials of different sizes and for categoricals) — including nearly equal
distributions, where the textbook forms cancel in floating point — and
``torch.distributions.kl_divergence`` on torch's own distributions on a moderate grid.
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch
import torch.distributions as td

import rsample
from rsample import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from rsample.testing import assert_close

F64, F32 = torch.float64, torch.float32
INF = math.inf
mp.mp.dps = 50


def _t(*values, dtype=F64):
    return torch.tensor(values, dtype=dtype)


def _binary(prob=None, logit=None):
    """(p, q, log p, log q) at 50 digits from an exact float probability or logit."""
    if logit is not None:
        ell = mp.mpf(logit)
        return (
            1 / (1 + mp.exp(-ell)),
            1 / (1 + mp.exp(ell)),
            -mp.log1p(mp.exp(-ell)),
            -mp.log1p(mp.exp(ell)),
        )
    p = mp.mpf(prob)
    log_p = mp.log(p) if p > 0 else -mp.inf
    log_q = mp.log1p(-p) if p < 1 else -mp.inf
    return p, (1 - p if p >= 0.5 else mp.exp(log_q)), log_p, log_q


def _term(w, log_a, log_b):
    """w·(log a − log b) with 0·anything = 0 and +inf where b has no mass."""
    if w == 0:
        return mp.mpf(0)
    if log_b == -mp.inf:
        return mp.inf
    return w * (log_a - log_b)


def _mp_bernoulli(a, b):
    (p, q, lp, lq), (_, _, lp2, lq2) = a, b
    return _term(p, lp, lp2) + _term(q, lq, lq2)


def _float(x):
    return INF if x == mp.inf else float(x)


# --------------------------------------------------------------------------- Bernoulli
BERNOULLI_PROBS = [
    (0.3, 0.3 + 1e-9),
    (1e-12, 2e-12),
    (0.5, 1 - 1e-12),
    (1 - 1e-12, 1 - 2e-12),
    (0.0, 0.5),
    (1.0, 1.0),
    (0.7, 0.0),
    (0.2, 0.2),
    (1e-300, 0.5),
    (0.999, 0.001),
]
BERNOULLI_LOGITS = [(30.0, 30.0 + 1e-7), (-30.0, 30.0), (0.0, 1e-10), (-700.0, -690.0), (5.0, -5.0)]


def test_bernoulli_probs_match_mpmath():
    a, b = zip(*BERNOULLI_PROBS)
    ref = [_float(_mp_bernoulli(_binary(x), _binary(y))) for x, y in BERNOULLI_PROBS]
    got = rsample.kl_divergence(Bernoulli(_t(*a)), Bernoulli(_t(*b)))
    assert_close(got, ref, rtol=1e-12)


def test_bernoulli_logits_match_mpmath():
    a, b = zip(*BERNOULLI_LOGITS)
    ref = [_float(_mp_bernoulli(_binary(logit=x), _binary(logit=y))) for x, y in BERNOULLI_LOGITS]
    got = rsample.kl_divergence(Bernoulli(logits=_t(*a)), Bernoulli(logits=_t(*b)))
    assert_close(got, ref, rtol=1e-10)
    mixed = rsample.kl_divergence(Bernoulli(logits=_t(*a)), Bernoulli(probs=torch.sigmoid(_t(*b))))
    assert_close(mixed[2:], ref[2:], rtol=1e-6)  # probs of 1 − 1e-13 cannot carry ±30 exactly


# --------------------------------------------------------------------------- Binomial
def _mp_binomial(n1, p1, n2, p2):
    if n1 > n2:
        return mp.inf
    (p, q, lp, lq), (_, _, lp2, lq2) = _binary(p1), _binary(p2)
    total = mp.mpf(0)
    for k in range(int(n1) + 1):
        if (p == 0 and k > 0) or (q == 0 and k < n1):
            continue
        a = (k * lp if k else 0) + ((n1 - k) * lq if k < n1 else 0)
        log_p1 = mp.loggamma(n1 + 1) - mp.loggamma(k + 1) - mp.loggamma(n1 - k + 1) + a
        if (lp2 == -mp.inf and k > 0) or (lq2 == -mp.inf and k < n2):
            return mp.inf
        b = (k * lp2 if k else 0) + (n2 - k) * lq2
        log_p2 = mp.loggamma(n2 + 1) - mp.loggamma(k + 1) - mp.loggamma(n2 - k + 1) + b
        total += mp.exp(log_p1) * (log_p1 - log_p2)
    return total


BINOMIAL = [
    (10.0, 0.3, 10.0, 0.3 + 1e-9),
    (10.0, 0.3, 10.0, 0.6),
    (0.0, 0.5, 3.0, 0.2),
    (5.0, 0.3, 12.0, 0.4),
    (3.0, 1e-12, 40.0, 0.5),
    (7.0, 0.5, 5.0, 0.5),
    (60.0, 0.9, 200.0, 0.2),
    (4.0, 0.5, 4.0, 1.0),
]


def test_binomial_matches_mpmath_including_different_counts():
    cols = list(zip(*BINOMIAL))
    ref = [_float(_mp_binomial(*case)) for case in BINOMIAL]
    p = Binomial(_t(*cols[0]), _t(*cols[1]))
    q = Binomial(_t(*cols[2]), _t(*cols[3]))
    assert_close(rsample.kl_divergence(p, q), ref, rtol=1e-10)
    # torch: inf for n_p > n_q, NotImplementedError for n_p < n_q (computed here)
    with pytest.raises(NotImplementedError):
        td.kl_divergence(td.Binomial(_t(5.0), _t(0.3)), td.Binomial(_t(12.0), _t(0.4)))


def test_binomial_large_counts_nearly_equal():
    p, q = Binomial(_t(1e6), _t(0.3)), Binomial(_t(1e6), _t(0.3 + 1e-9))
    ref = 1e6 * _mp_bernoulli(_binary(0.3), _binary(0.3 + 1e-9))
    assert_close(rsample.kl_divergence(p, q), float(ref), rtol=1e-10)


# --------------------------------------------------------------------------- categorical
def _mp_log_probs(kind, values):
    if kind == "logits":
        xs = [mp.mpf(v) for v in values]
        lse = mp.log(mp.fsum(mp.exp(x) for x in xs if x != -mp.inf))
        return [x - lse if x != -mp.inf else -mp.inf for x in xs]
    total = mp.fsum(mp.mpf(v) for v in values)
    return [mp.log(mp.mpf(v) / total) if v > 0 else -mp.inf for v in values]


def _mp_categorical(kind_p, vp, kind_q, vq):
    lp, lq = _mp_log_probs(kind_p, vp), _mp_log_probs(kind_q, vq)
    total = mp.mpf(0)
    for a, b in zip(lp, lq):
        if a == -mp.inf:
            continue
        if b == -mp.inf:
            return mp.inf
        total += mp.exp(a) * (a - b)
    return total


def _perturbed(n, eps, seed):
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.randn(n, generator=g, dtype=F64)
    return x.tolist(), (x + eps * torch.randn(n, generator=g, dtype=F64)).tolist()


CATEGORICAL = [
    ("logits", [0.0, 1.0, 2.0], "logits", [1e-9, 1.0, 2.0 - 1e-9]),
    ("logits", [30.0, -30.0], "logits", [30.0, -29.0]),
    ("logits", [0.0, -INF, 1.0], "logits", [0.5, 0.0, -INF]),
    ("logits", [0.0, -INF, 1.0], "logits", [0.5, -INF, 0.2]),
    ("probs", [0.2, 0.3, 0.5], "probs", [0.2 + 1e-10, 0.3, 0.5 - 1e-10]),
    ("probs", [1 - 1e-12, 1e-12, 0.0], "probs", [0.5, 0.25, 0.25]),
    ("probs", [1.0, 2.0, 7.0], "logits", [0.0, 1.0, 2.0]),
    ("logits", *_perturbed(1000, 1e-6, 0)[:1], "logits", _perturbed(1000, 1e-6, 0)[1]),
    ("logits", *_perturbed(50, 3.0, 1)[:1], "logits", _perturbed(50, 3.0, 1)[1]),
]


@pytest.mark.parametrize(("kp", "vp", "kq", "vq"), CATEGORICAL, ids=range(len(CATEGORICAL)))
def test_categorical_matches_mpmath(kp, vp, kq, vq):
    ref = _float(_mp_categorical(kp, vp, kq, vq))
    p = Categorical(**{kp: torch.tensor(vp, dtype=F64)})
    q = Categorical(**{kq: torch.tensor(vq, dtype=F64)})
    assert_close(rsample.kl_divergence(p, q), ref, rtol=1e-10)
    oh_p = OneHotCategorical(**{kp: torch.tensor(vp, dtype=F64)})
    oh_q = OneHotCategorical(**{kq: torch.tensor(vq, dtype=F64)})
    assert_close(rsample.kl_divergence(oh_p, oh_q), ref, rtol=1e-10)


# --------------------------------------------------------------------------- Geometric
def _mp_geometric(a, b):
    (p, q, lp, lq), (_, _, lp2, lq2) = a, b
    if q == 0:
        return -lp2
    if lq2 == -mp.inf:
        return mp.inf
    return (lp - lp2) + (q / p) * (lq - lq2)


GEOMETRIC = [
    (0.3, 0.3 + 1e-10),
    (1e-12, 2e-12),
    (1.0, 0.5),
    (0.5, 1.0),
    (0.9, 0.1),
    (0.1, 0.9),
    (1e-300, 1e-299),
]


def test_geometric_matches_mpmath():
    a, b = zip(*GEOMETRIC)
    ref = [_float(_mp_geometric(_binary(x), _binary(y))) for x, y in GEOMETRIC]
    assert_close(rsample.kl_divergence(Geometric(_t(*a)), Geometric(_t(*b))), ref, rtol=1e-10)
    la, lb = _t(-30.0, 0.0, 4.0, 2.0), _t(-30.0 + 1e-8, 1e-9, -4.0, 2.5)
    ref = [
        _float(_mp_geometric(_binary(logit=x), _binary(logit=y)))
        for x, y in zip(la.tolist(), lb.tolist())
    ]
    got = rsample.kl_divergence(Geometric(logits=la), Geometric(logits=lb))
    assert_close(got, ref, rtol=1e-10)


# --------------------------------------------------------------------------- Poisson
def _mp_poisson(a, b):
    a, b = mp.mpf(a), mp.mpf(b)
    if a == 0:
        return b
    if b == 0:
        return mp.inf
    return a * mp.log(a / b) - a + b


POISSON = [(3.0, 3.0 + 1e-9), (0.0, 2.0), (2.0, 0.0), (1e8, 1e8 + 1), (1e-8, 1.0), (7.0, 0.1)]


def test_poisson_matches_mpmath():
    a, b = zip(*POISSON)
    ref = [_float(_mp_poisson(x, y)) for x, y in POISSON]
    assert_close(rsample.kl_divergence(Poisson(_t(*a)), Poisson(_t(*b))), ref, rtol=1e-10)


def test_bernoulli_poisson_and_the_infinite_pairs():
    probs, rates = _t(0.0, 0.3, 1.0, 1e-9, 0.5), _t(2.0, 0.3, 1.0, 1e-9, 0.0)
    ref = []
    for p, lam in zip(probs.tolist(), rates.tolist()):
        p_, q_, lp, lq = _binary(p)
        lam = mp.mpf(lam)
        log_p0 = -lam
        log_p1 = mp.log(lam) - lam if lam > 0 else -mp.inf
        ref.append(_float(_term(p_, lp, log_p1) + _term(q_, lq, log_p0)))
    got = rsample.kl_divergence(Bernoulli(probs), Poisson(rates))
    assert_close(got, ref, rtol=1e-10)
    # Poisson‖Bernoulli, Poisson‖Binomial: +inf, except a point mass at 0 (torch: inf)
    got = rsample.kl_divergence(Poisson(_t(0.0, 1.0)), Bernoulli(_t(0.3, 0.3)))
    assert_close(got, [-math.log1p(-0.3), INF], rtol=1e-14)
    got = rsample.kl_divergence(Poisson(_t(0.0, 1.0)), Binomial(_t(4.0, 4.0), _t(0.3, 0.3)))
    assert_close(got, [-4 * math.log1p(-0.3), INF], rtol=1e-14)


# --------------------------------------------------------------------------- torch
def test_agrees_with_torch_on_a_moderate_grid():
    g = torch.Generator().manual_seed(3)
    p1 = torch.rand(20, generator=g, dtype=F64) * 0.98 + 0.01
    p2 = torch.rand(20, generator=g, dtype=F64) * 0.98 + 0.01
    pairs = [
        (Bernoulli(p1), Bernoulli(p2), td.Bernoulli(p1), td.Bernoulli(p2)),
        (Binomial(7.0, p1), Binomial(7.0, p2), td.Binomial(7.0, p1), td.Binomial(7.0, p2)),
        (Geometric(p1), Geometric(p2), td.Geometric(p1), td.Geometric(p2)),
        (Poisson(10 * p1), Poisson(10 * p2), td.Poisson(10 * p1), td.Poisson(10 * p2)),
        (Bernoulli(p1), Poisson(p2), td.Bernoulli(p1), td.Poisson(p2)),
        (Poisson(p1), Bernoulli(p2), td.Poisson(p1), td.Bernoulli(p2)),
        (Poisson(p1), Binomial(3.0, p2), td.Poisson(p1), td.Binomial(3.0, p2)),
    ]
    logits = torch.randn(4, 6, generator=g, dtype=F64)
    logits2 = torch.randn(4, 6, generator=g, dtype=F64)
    for cls, tcls in ((Categorical, td.Categorical), (OneHotCategorical, td.OneHotCategorical)):
        pairs.append(
            (cls(logits=logits), cls(logits=logits2), tcls(logits=logits), tcls(logits=logits2))
        )
    for a, b, ta, tb in pairs:
        ours = rsample.kl_divergence(a, b)
        assert_close(ours, td.kl_divergence(ta, tb), rtol=1e-10, label=type(a).__name__)
        # registered for torch's dispatcher too
        assert_close(td.kl_divergence(a, b), ours, rtol=0, label="torch dispatch")


def test_float32_is_finite_and_close():
    p1, p2 = _t(1e-6, 0.3, 0.999, dtype=F32), _t(2e-6, 0.30001, 0.5, dtype=F32)
    for a, b in [
        (Bernoulli(p1), Bernoulli(p2)),
        (Geometric(p1), Geometric(p2)),
        (Binomial(50.0, p1), Binomial(80.0, p2)),
        (Poisson(p1 * 1e4), Poisson(p2 * 1e4)),
    ]:
        kl32 = rsample.kl_divergence(a, b)
        kl64 = rsample.kl_divergence(_double(a), _double(b))
        assert torch.isfinite(kl32).all(), type(a).__name__
        assert_close(kl32, kl64, rtol=2e-3, atol=1e-9, label=type(a).__name__)


def _double(d):
    if isinstance(d, Binomial):
        return Binomial(d.total_count.double(), d.probs.double())
    if isinstance(d, Poisson):
        return Poisson(d.rate.double())
    return type(d)(d.probs.double())


def test_nearly_equal_bernoulli_gradient_is_finite_and_small():
    logits = _t(0.3, -2.0, 25.0).requires_grad_()
    kl = rsample.kl_divergence(Bernoulli(logits=logits), Bernoulli(logits=logits.detach() + 1e-7))
    (g,) = torch.autograd.grad(kl.sum(), logits)
    p = torch.sigmoid(logits.detach())
    assert_close(g, -p * (1 - p) * 1e-7, rtol=1e-5)  # d/dℓ of pq δ²/2 at δ = −1e-7
