"""rsample.Multinomial against 40-digit mpmath references (explicit arrays), scipy, torch and
the shared checks.

Entropy references: a sum over every outcome in mpmath for small ``n``; for large ``n`` the
decomposition :math:`H = -\\log n! + nH_{\\mathrm{cat}} + \\sum_j E[\\log x_j!]` over the
binomial marginals, in mpmath at 40 digits (it cancels ~ :math:`n\\log n`, which 40 digits
absorb) — a different formula from the library's saddle-point one.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import discrete_checks as dc
from rsample import Multinomial
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32
INF = math.inf

CASES = [
    (10, "probs", [0.2, 0.3, 0.5]),
    (1, "probs", [1 - 1e-12, 1e-12]),
    (5, "probs", [1.0, 0.0, 0.0]),
    (0, "probs", [0.4, 0.6]),
    (7, "logits", [30.0, -30.0, 0.0]),
    (6, "logits", [0.0, -INF, 1.0, 2.0]),
    (40_000, "probs", [0.2, 0.3, 0.5]),
    (1_000_000, "probs", [0.25, 0.75]),
]


def _mp_log_probs(kind, values):
    with mp.workdps(dc.MP_DPS):
        if kind == "logits":
            xs = [mp.mpf(v) for v in values]
            lse = mp.log(mp.fsum(mp.exp(x) for x in xs if x != -mp.inf))
            return [x - lse if x != -mp.inf else -mp.inf for x in xs]
        total = mp.fsum(mp.mpf(v) for v in values)
        return [mp.log(mp.mpf(v) / total) if v > 0 else -mp.inf for v in values]


def _mp_log_pmf(x, log_probs):
    n = sum(x)
    out = mp.loggamma(n + 1)
    for xj, lp in zip(x, log_probs):
        out -= mp.loggamma(xj + 1)
        if xj > 0:
            out += xj * lp
    return out


def _mp_entropy(n, log_probs):
    k = len(log_probs)
    probs = [mp.exp(lp) if lp != -mp.inf else mp.mpf(0) for lp in log_probs]
    if n <= 12:
        total = mp.mpf(0)
        for x in itertools.product(range(n + 1), repeat=k):
            if sum(x) == n:
                lp = _mp_log_pmf(x, log_probs)
                if lp != -mp.inf:
                    total -= mp.exp(lp) * lp
        return total
    h_cat = -mp.fsum(p * lp for p, lp in zip(probs, log_probs) if p > 0)
    out = -mp.loggamma(n + 1) + n * h_cat
    for p in probs:
        if p == 0:
            continue
        q = 1 - p

        def log_at(j, p=p, q=q):
            return (
                mp.loggamma(n + 1)
                - mp.loggamma(j + 1)
                - mp.loggamma(n - j + 1)
                + (j * mp.log(p) + (n - j) * mp.log(q))
            )

        out += dc.mp_lattice_sum(
            log_at,
            lambda j, p=p, q=q: (n - j) / mp.mpf(j + 1) * p / q,
            int(n * p),
            0,
            n,
            fn=lambda j, lp: mp.loggamma(j + 1),
        )
    return out


def _values(n, k, log_probs):
    probs = np.array([float(mp.exp(lp)) if lp != -mp.inf else 0.0 for lp in log_probs])
    mean = np.floor(n * probs)
    mean[np.argmax(probs)] += n - mean.sum()
    rows = [mean]
    if n > 0:
        tail = mean.copy()
        j = int(np.argmax(probs))
        shift = int(min(tail[j], max(1, 6 * math.sqrt(n * probs[j] * (1 - probs[j])))))
        other = int(np.argmax(np.where(np.arange(k) == j, -1, probs)))
        tail[j] -= shift
        tail[other] += shift
        rows.append(tail)
        corner = np.zeros(k)
        corner[int(np.argmax(probs))] = n
        rows.append(corner)
    return np.array(rows)


@pytest.mark.parametrize(("n", "kind", "values"), CASES)
def test_matches_mpmath_float64(n, kind, values):
    log_probs = _mp_log_probs(kind, values)
    d = Multinomial(n, **{kind: torch.tensor(values, dtype=F64)})
    x = _values(n, len(values), log_probs)
    with mp.workdps(dc.MP_DPS):
        ref_lp = [dc.finite_float(_mp_log_pmf([int(v) for v in row], log_probs)) for row in x]
        ref_h = float(_mp_entropy(n, log_probs))
        probs = [mp.exp(lp) if lp != -mp.inf else mp.mpf(0) for lp in log_probs]
        ref_var = [float(n * p * (1 - p)) for p in probs]
    assert_close(d.log_prob(dc.t64(x)), ref_lp, rtol=1e-10, label="log_prob")
    assert_close(d.entropy(), ref_h, rtol=1e-10, atol=1e-300, label="entropy")
    assert_close(d.mean, [float(n * p) for p in probs], rtol=1e-12, label="mean")
    assert_close(d.variance, ref_var, rtol=1e-10, label="variance")


def test_matches_scipy_and_torch_on_a_moderate_grid():
    probs = torch.tensor([[0.1, 0.2, 0.7], [0.25, 0.25, 0.5]], dtype=F64)
    x = torch.tensor([[1.0, 2.0, 9.0], [3.0, 3.0, 6.0]], dtype=F64)
    ours, theirs = Multinomial(12, probs=probs), td.Multinomial(12, probs=probs)
    frozen = stats.multinomial(12, probs.numpy())
    assert_close(ours.log_prob(x), frozen.logpmf(x.numpy()), rtol=1e-12)
    assert_close(ours.entropy(), frozen.entropy(), rtol=1e-12)
    assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-12)
    # torch evaluates lgamma(n + 1) of an integer tensor, in float32: 2e-7 off
    assert_close(ours.entropy(), theirs.entropy(), rtol=1e-6)
    assert_close(ours.mean, theirs.mean, rtol=1e-14)
    assert_close(ours.variance, theirs.variance, rtol=1e-14)
    # torch's convention: the count comes from the value, whose sum may be below total_count
    small = torch.tensor([1.0, 0.0, 2.0], dtype=F64)
    assert_close(ours.log_prob(small), theirs.log_prob(small), rtol=1e-12)
    assert ours.event_shape == theirs.event_shape and ours.batch_shape == theirs.batch_shape


def test_mode_is_the_most_likely_vector_by_enumeration():
    """Every count vector is scored (independently of the apportionment the mode uses); the
    mode's log-probability equals the largest (ties allowed), zero probabilities included."""
    g = dc.gen(11)
    for trial in range(120):
        k = 2 + trial % 3
        n = trial % 9
        probs = torch.rand(k, generator=g, dtype=F64) ** 3
        if trial % 4 == 0:
            probs[trial % k] = 0.0
        d = Multinomial(n, probs=probs)
        mode = d.mode
        assert mode.sum() == n and bool((mode >= 0).all())
        outcomes = [x for x in itertools.product(range(n + 1), repeat=k) if sum(x) == n]
        best = d.log_prob(torch.tensor(outcomes, dtype=F64)).max()
        assert_close(d.log_prob(mode), best, rtol=1e-13, atol=1e-13, label=f"{n}, {probs}")


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("n", [1, 37, 1_000_000])
def test_mode_large_counts_is_locally_optimal(n, dtype):
    """For large ``n`` (no enumeration): moving one count from any category to any other never
    raises the log-probability (sufficient, as log P is a separable concave function), checked
    in float64 on a batch of sharp and flat rows, with masked categories."""
    logits = 3 * torch.randn(6, 40, generator=dc.gen(n), dtype=F64)
    logits[0, :5] = -INF
    d = Multinomial(n, logits=logits.to(dtype))
    mode = d.mode
    assert mode.dtype == dtype and mode.shape == (6, 40)
    assert bool((mode.sum(-1) == n).all()) and bool((mode[0, :5] == 0).all())
    log_p, x = d.logits.double(), mode.double()
    add = log_p - torch.log1p(x)  # log P changes by add_j − remove_i moving a count i → j
    remove = torch.where(x > 0, log_p - torch.log(x), INF)
    assert float((add.amax(-1) - remove.amin(-1)).max()) <= 1e-12


def test_float32_is_finite_where_representable():
    probs = torch.tensor([1e-6, 0.3, 0.7 - 1e-6])
    for n in (3, 10_000, 1_000_000):
        d32, d64 = Multinomial(n, probs=probs), Multinomial(n, probs=probs.double())
        x = d64.sample(generator=dc.gen(n))
        lp32, lp64 = d32.log_prob(x.float()), d64.log_prob(x)
        dc.assert_finite_where(lp32, lp64, "log_prob")
        assert_close(lp32, lp64, rtol=1e-4, atol=1e-5)
        assert_close(d32.entropy(), d64.entropy(), rtol=1e-4, label="entropy")


@pytest.mark.parametrize(("n", "method"), [(3, "inversion"), (20_000, "binomials")])
def test_samples_chi_square(n, method):
    probs = torch.tensor([[0.2, 0.5, 0.3, 0.0], [0.05, 0.05, 0.1, 0.8]], dtype=F64)
    d = Multinomial(n, probs=probs)
    draws = d.sample((6000,), generator=dc.gen(0))
    assert (draws.sum(-1) == n).all() and (draws[:, 0, 3] == 0).all()
    for b in range(2):
        for j in range(3):
            p = probs[b, j].item()
            x = draws[:, b, j].numpy()
            support = np.arange(
                max(0, int(n * p - 8 * math.sqrt(n * p))), int(n * p + 8 * math.sqrt(n * p) + 5)
            )
            dc.assert_chi_square(x, stats.binom(n, p).pmf, support, label=f"{method} {b} {j}")
    if n == 3:  # the joint law: every outcome of the first row
        outcomes = [x for x in itertools.product(range(4), repeat=3) if sum(x) == 3]
        pmf = stats.multinomial(3, probs[0, :3].numpy()).pmf
        codes = (draws[:, 0, 0] * 16 + draws[:, 0, 1] * 4 + draws[:, 0, 2]).numpy()
        table = {a * 16 + b * 4 + c: pmf([a, b, c]) for a, b, c in outcomes}
        support = np.array(sorted(table))
        dc.assert_chi_square(codes, lambda ks: np.array([table[k] for k in ks]), support)


def test_shapes_generator_expand_pickle():
    logits = torch.randn(2, 1, 4, generator=dc.gen(3), requires_grad=True)
    for n in (5, 1000):
        d = Multinomial(n, logits=logits)
        x = dc.assert_shapes(d)
        dc.assert_generator_determinism(d)
        dc.assert_expand(d, (3,))
        dc.assert_round_trips(Multinomial(n, logits=logits.detach()), x)
    assert not d.has_rsample


def test_log_prob_gradient_is_exact():
    logits = torch.tensor([0.3, -1.0, 2.0], dtype=F64, requires_grad=True)
    x = torch.tensor([3000.0, 500.0, 20000.0], dtype=F64)
    (g,) = torch.autograd.grad(Multinomial(23500, logits=logits).log_prob(x).sum(), logits)
    expected = x - x.sum() * torch.softmax(logits.detach(), -1)
    assert_close(g, expected, rtol=1e-9, atol=1e-9)


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"Multinomial: argument 'total_count'.*-1"):
        Multinomial(-1, probs=torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"Multinomial: argument 'total_count'.*Python int"):
        Multinomial(2.5, probs=torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"Multinomial: argument 'probs'.*nonnegative"):
        Multinomial(3, probs=torch.tensor([0.5, -0.5]))
    with pytest.raises(ValueError, match=r"Multinomial: argument 'logits'.*largest logit"):
        Multinomial(3, logits=torch.tensor([0.0, INF]))
    d = Multinomial(4, probs=torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"Multinomial: argument 'value'.*Multinomial"):
        d.log_prob(torch.tensor([4.0, 1.0]))  # more than total_count
    with pytest.raises(ValueError, match=r"Multinomial: argument 'value'.*Integer.*1.5"):
        d.log_prob(torch.tensor([1.5, 2.5]))
    with pytest.raises(ValueError, match=r"Multinomial: argument 'value'"):
        d.log_prob(torch.tensor([-1.0, 5.0]))


def test_torch_compile_fullgraph():
    def step(x, v):
        d = Multinomial(5, logits=x)
        return d.log_prob(v), d.entropy(), d.sample((2,))

    dc.assert_compiles(step, torch.tensor([[0.1, 0.2, 0.7]]), torch.tensor([[1.0, 2.0, 2.0]]))
