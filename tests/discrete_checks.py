"""Shared reference machinery and checks for the discrete families
(``tests/distributions/discrete/test_*.py``).

Importable by plain name (``import discrete_checks``), like ``kl_reference``: ``tests/`` is on
``sys.path`` once ``tests/conftest.py`` is loaded.

References are independent of the code under test:

* log-pmfs from the textbook ``loggamma`` formulas in mpmath (40 digits) on the exact float
  inputs;
* entropies (and other expectations) by :func:`mp_lattice_sum`: the pmf walked outwards from the
  mode by its ratio recurrence in mpmath until the terms are negligible;
* CDFs, means and variances from scipy.stats where scipy is accurate.

Checks (each a plain function raising ``AssertionError``): method values against references
(:func:`assert_methods`), a chi-square goodness-of-fit test with merged bins
(:func:`assert_chi_square`), generator determinism, shapes and ``sample()`` without grad, cheap
``expand``, pickling, ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import torch
from scipy import stats

from rsample.testing import assert_close, round_trips

F64, F32 = torch.float64, torch.float32
MP_DPS = 40


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def t64(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=F64)


# --------------------------------------------------------------------------- mpmath references
def mp_profile(log_pmf_at, ratio, mode: int, low: int, high, drop: float = 60.0, cover=()):
    """``(ks, pmf, log_pmf)``: the pmf in mpmath on the integers around ``mode``, walked outwards
    by its ratio recurrence ``ratio(k) = P(k+1)/P(k)`` (one ``log`` per step) from
    :math:`\\log P(\\text{mode})` = ``log_pmf_at(mode)``, in each direction until
    :math:`\\log P` has dropped by ``drop`` below its largest value (the neglected tail is then
    below :math:`e^{-60}` times a geometric factor), or at ``low``/``high``; past every point of
    ``cover`` below the mode (for lower-tail CDFs there), and then by ``drop`` below the value
    at the last one (unless that is below :math:`e^{-1000}`, where the CDF underflows)."""
    with mp.workdps(MP_DPS):
        lp0 = log_pmf_at(mode)
        ks, lps = [mode], [lp0]
        for direction in (1, -1):
            k, lp, top = mode, lp0, lp0
            # cover points below the mode (lower-tail CDFs) only: above it 1 − tail rounds to 1
            far = [c for c in cover if c < mode] if direction == -1 else []
            last = min(far) if far else mode
            while True:
                if direction == 1 and high is not None and k >= high:
                    break
                if direction == -1 and k <= low:
                    break
                r = ratio(k) if direction == 1 else ratio(k - 1)
                if r == 0:
                    break
                lp = lp + mp.log(r) if direction == 1 else lp - mp.log(r)
                k += direction
                ks.append(k)
                lps.append(lp)
                if (k - last) * direction < 0 and lp > top - 1000:
                    continue  # not yet past the points to cover (nor below e^{-1000})
                top = lp if k == last else max(top, lp) if last == mode else top
                if (k - last) * direction < 0:
                    break  # a cover point below e^{-1000}: its CDF underflows
                if lp < top - drop:
                    break
        order = sorted(range(len(ks)), key=ks.__getitem__)
        ks = [ks[i] for i in order]
        lps = [lps[i] for i in order]
        return ks, [mp.exp(x) for x in lps], lps


def mp_lattice_sum(log_pmf_at, ratio, mode: int, low: int, high, fn=None):
    """:math:`\\sum_k P(k) g(k)` over :func:`mp_profile`, ``g = fn(k, log P(k))``
    (default :math:`-\\log P`: the entropy)."""
    fn = fn or (lambda k, lp: -lp)
    ks, pmf, lps = mp_profile(log_pmf_at, ratio, mode, low, high)
    with mp.workdps(MP_DPS):
        return mp.fsum(p * fn(k, lp) for k, p, lp in zip(ks, pmf, lps) if p > 0)


def mp_cdfs(profile, values, low: int, high) -> list:
    """:math:`P(X \\le k)` for each ``k`` in ``values`` from a :func:`mp_profile`: the lower
    tail summed directly below the mode, one minus the upper tail above (each accurate in its
    own tail)."""
    ks, pmf, _ = profile
    mode = ks[max(range(len(pmf)), key=pmf.__getitem__)]
    out = []
    with mp.workdps(MP_DPS):
        for v in values:
            if v < low:
                out.append(mp.mpf(0))
            elif high is not None and v >= high:
                out.append(mp.mpf(1))
            elif v <= mode:
                out.append(mp.fsum(p for k, p in zip(ks, pmf) if k <= v))
            else:
                out.append(1 - mp.fsum(p for k, p in zip(ks, pmf) if k > v))
    return out


def mp_args(*values):
    """Exact mpmath copies of float inputs."""
    return [mp.mpf(float(v)) for v in values]


# --------------------------------------------------------------------------- comparisons
def assert_methods(dist, reference: dict, *, rtol: float = 1e-10, atol: float = 0.0, label=""):
    """``reference``: ``{method: expected}``; methods are ``"mean"``-style properties or
    ``("log_prob", value)``-style ``(name, argument)`` calls."""
    for key, expected in reference.items():
        if isinstance(key, tuple):
            name, arg = key
            actual = getattr(dist, name)(arg)
        else:
            name = key
            attr = getattr(dist, key)
            actual = attr() if callable(attr) else attr
        assert_close(actual, expected, rtol=rtol, atol=atol, label=f"{label} {name}")


def assert_finite_where(actual: torch.Tensor, reference, label: str = "") -> None:
    """``actual`` is finite wherever ``reference`` (float64) lies inside float32's range."""
    ref = np.asarray(reference, dtype=float)
    fmax = float(torch.finfo(F32).max)
    representable = np.isfinite(ref) & (np.abs(ref) < fmax / 4)
    got = actual.detach().double().cpu().numpy()
    bad = representable & ~np.isfinite(got)
    assert not bad.any(), f"{label}: non-finite float32 results {got[bad]} (true {ref[bad]})"


# --------------------------------------------------------------------------- goodness of fit
def chi_square_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """Chi-square p-value after merging neighbouring bins (in support order) until every
    expected count is at least 5; ``expected`` sums to the number of draws (its last bin takes
    the remaining tail mass)."""
    obs_bins, exp_bins = [], []
    o_acc = e_acc = 0.0
    for o, e in zip(observed, expected):
        o_acc += o
        e_acc += e
        if e_acc >= 5:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc > 0 or o_acc > 0:
        if exp_bins:
            obs_bins[-1] += o_acc
            exp_bins[-1] += e_acc
        else:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
    if len(exp_bins) < 2:
        assert obs_bins[0] == exp_bins[0] or abs(obs_bins[0] - exp_bins[0]) < 1e-6 * exp_bins[0]
        return 1.0
    return float(stats.chisquare(np.array(obs_bins), np.array(exp_bins)).pvalue)


def assert_chi_square(draws, pmf, support: np.ndarray, *, alpha: float = 1e-4, label: str = ""):
    """Chi-square test of 1-D integer ``draws`` against ``pmf`` on ``support`` (sorted integers;
    the mass outside it is lumped into the last bin). Fails with probability ``alpha`` under
    the null; deterministic for a fixed seed."""
    x = np.asarray(draws, dtype=np.float64).ravel()
    n = x.size
    assert np.all(x == np.round(x)), f"{label}: non-integer draws"
    assert np.all((x >= support[0]) | (support[0] == -np.inf)), f"{label}: draws below support"
    probs = np.asarray(pmf(support), dtype=float)
    expected = n * probs
    expected[-1] += n * max(0.0, 1 - probs.sum())
    observed = np.array([np.sum(x == k) for k in support], dtype=float)
    observed[-1] += np.sum(x > support[-1])
    p = chi_square_pvalue(observed, expected)
    assert p > alpha, f"{label}: chi-square test rejects (p = {p:.3g} < {alpha:g})"
    return p


# --------------------------------------------------------------------------- behaviour
def assert_generator_determinism(dist, shape=(7,)) -> None:
    """Same generator state → same draw; the global RNG untouched with a generator, and
    reproducible from ``torch.manual_seed`` without one."""
    state = torch.get_rng_state()
    a = dist.sample(shape, generator=gen(3))
    assert torch.equal(a, dist.sample(shape, generator=gen(3)))
    assert torch.equal(torch.get_rng_state(), state), "a generator draw used the global RNG"
    torch.manual_seed(11)
    b = dist.sample(shape)
    torch.manual_seed(11)
    assert torch.equal(b, dist.sample(shape))


def assert_shapes(dist, sample_shape=(3, 2)) -> torch.Tensor:
    """Sample shape ``sample_shape + batch + event``, no grad, and ``log_prob`` of it."""
    x = dist.sample(torch.Size(sample_shape), generator=gen(0))
    expected = torch.Size(sample_shape) + dist.batch_shape + dist.event_shape
    assert x.shape == expected, (x.shape, expected)
    assert not x.requires_grad and x.grad_fn is None
    lp = dist.log_prob(x)
    assert lp.shape == torch.Size(sample_shape) + dist.batch_shape
    assert torch.isfinite(lp).all(), "the log-probability of a draw is not finite"
    assert dist.sample().shape == dist.batch_shape + dist.event_shape
    return x


def assert_expand(dist, new_batch=(4,)) -> None:
    """``expand`` gives views (no copies), the right shapes, and the same answers."""
    batch = torch.Size(new_batch) + dist.batch_shape
    e = dist.expand(batch)
    params = [t for t in vars(e).values() if isinstance(t, torch.Tensor) and t.numel() > 1]
    assert e.batch_shape == batch and e.event_shape == dist.event_shape
    assert type(e) is type(dist)
    x = e.sample(generator=gen(1))
    assert x.shape == batch + dist.event_shape
    torch.testing.assert_close(e.log_prob(x), dist.log_prob(x))
    torch.testing.assert_close(e.entropy(), dist.entropy().expand(batch), equal_nan=True)
    own = {t.untyped_storage().data_ptr() for t in vars(dist).values() if torch.is_tensor(t)}
    for t in params:  # the tensors expand made, not those computed lazily since
        assert t.untyped_storage().data_ptr() in own, "expand copied a parameter"


def assert_round_trips(dist, value) -> None:
    expected = dist.log_prob(value)
    for copy in round_trips(dist):
        assert type(copy) is type(dist)
        torch.testing.assert_close(copy.log_prob(value), expected)
        assert copy.batch_shape == dist.batch_shape and copy.event_shape == dist.event_shape


def assert_compiles(fn, *args, atol=1e-6, rtol=1e-5) -> None:
    """``torch.compile(fn, fullgraph=True)`` traces ``fn`` in one graph (any graph break fails)
    and agrees with eager. ``fn`` returns ``(deterministic outputs..., draw)``: the last output,
    a sample, is compared by shape and dtype only."""
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    got, expected = compiled(*args), fn(*args)
    for g, e in zip(got[:-1], expected[:-1]):
        torch.testing.assert_close(g, e, atol=atol, rtol=rtol, equal_nan=True)
    assert got[-1].shape == expected[-1].shape and got[-1].dtype == expected[-1].dtype


def finite_float(x) -> float:
    """mpmath value → float, ``-inf`` for −∞."""
    return float(x) if x != -mp.inf else -math.inf
