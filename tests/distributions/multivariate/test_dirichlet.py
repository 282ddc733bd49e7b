"""rsample.Dirichlet: everything the generic suite checks for the univariate families.

Dirichlet is in ``DEDICATED_TESTS`` (the univariate reference table cannot express an event
dimension), so this module covers it: methods against scipy.stats.dirichlet (float64, rtol 1e-10)
over a grid with hard corners, agreement with torch.distributions.Dirichlet, float32 finiteness,
goodness of fit of marginals and of a ratio statistic, pathwise gradients against closed-form
moments, ``rsample_and_log_prob``, shapes, generators, ``expand``, validation, pickling,
``torch.compile`` and ``torch.func.vmap``.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import special, stats

import rsample
from gamma_paths import log_gamma_slopes
from rsample import Dirichlet
from rsample.testing import (
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
    round_trips,
)

F64, F32 = torch.float64, torch.float32
TINY64 = torch.finfo(F64).tiny


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- the grid
# Concentrations 1e-3, 0.5, 1, 7, 1e4 mixed, for K = 2, 3, 10.
GRID = [
    (1e-3, 1e-3),
    (0.5, 1e4),
    (1.0, 1.0),
    (7.0, 1e-3),
    (1e4, 1e4),
    (1e-3, 0.5, 7.0),
    (1.0, 1e4, 1e-3),
    (7.0, 7.0, 7.0),
    (0.5, 0.5, 0.5),
    (1e-3, 0.5, 1.0, 7.0, 1e4, 1e-3, 0.5, 1.0, 7.0, 1e4),
    (0.5,) * 10,
    (1e4,) * 9 + (1e-3,),
]


def _values(alpha: tuple) -> list[np.ndarray]:
    """Points on the simplex: the mean, near each of two vertices, and one near an edge."""
    k = len(alpha)
    a = np.array(alpha)
    out = [a / a.sum(), np.full(k, 1.0 / k)]
    for vertex in (0, k - 1):
        x = np.full(k, 1e-12 / (k - 1))
        x[vertex] = 1 - 1e-12
        out.append(x)
    x = np.full(k, 1e-300)
    x[0], x[1] = 0.25, 0.75 - (k - 2) * 1e-300
    out.append(x)
    return out


def _mp_log_prob(alpha, x) -> float:
    with mpmath.workdps(60):
        a = [mpmath.mpf(v) for v in alpha]
        xs = [mpmath.mpf(float(v)) for v in x]
        a0 = sum(a)
        out = mpmath.loggamma(a0) - sum(mpmath.loggamma(v) for v in a)
        return float(out + sum((ai - 1) * mpmath.log(xi) for ai, xi in zip(a, xs)))


@pytest.mark.parametrize("alpha", GRID, ids=[f"K{len(a)}-{i}" for i, a in enumerate(GRID)])
def test_methods_match_scipy_float64(alpha):
    a = np.array(alpha)
    dist = Dirichlet(torch.tensor(a, dtype=F64))
    for x in _values(alpha):
        got = dist.log_prob(torch.tensor(x, dtype=F64))
        # scipy forms log B(α) from lgammas of 1e4 (terms ~1e5): where its result is small it
        # keeps ~1e-12 of it; mpmath at 60 digits decides those.
        want = stats.dirichlet.logpdf(x, a)
        mp_want = _mp_log_prob(alpha, x)
        assert abs(want - mp_want) <= 1e-10 * abs(mp_want) + 1e-9
        assert_close(got, mp_want, rtol=1e-12, atol=1e-12, label=f"log_prob at {x}")
        assert_close(got, want, rtol=1e-10, atol=1e-9, label=f"log_prob vs scipy at {x}")
    assert_close(dist.mean, stats.dirichlet.mean(a), rtol=1e-12, label="mean")
    assert_close(dist.variance, stats.dirichlet.var(a), rtol=1e-12, label="variance")
    assert_close(dist.entropy(), _mp_entropy(alpha), rtol=1e-10, atol=1e-10, label="entropy")
    if max(alpha) < 1e3:  # scipy's entropy cancels like its log B(α) (see above)
        assert_close(dist.entropy(), stats.dirichlet.entropy(a), rtol=1e-10, label="entropy")
    assert_close(dist.mode, _mode(a), rtol=1e-12, atol=1e-300, label="mode")


def _mp_entropy(alpha) -> float:
    with mpmath.workdps(60):
        a = [mpmath.mpf(v) for v in alpha]
        a0, k = sum(a), len(a)
        log_b = sum(mpmath.loggamma(v) for v in a) - mpmath.loggamma(a0)
        out = log_b + (a0 - k) * mpmath.digamma(a0)
        return float(out - sum((v - 1) * mpmath.digamma(v) for v in a))


def _mode(a: np.ndarray) -> np.ndarray:
    """``(α − 1)₊ / Σ(α − 1)₊``; the first vertex when every α < 1 (torch's convention, from
    the argmax of a row of NaNs); NaN where the positive parts are all 0 otherwise."""
    if (a < 1).all():
        out = np.zeros_like(a)
        out[0] = 1.0
        return out
    excess = np.clip(a - 1, 0, None)
    with np.errstate(invalid="ignore"):
        return excess / excess.sum()


def test_mode_follows_torch():
    alpha = torch.tensor(
        [[0.5, 0.3, 0.9], [2.0, 3.0, 0.5], [0.2, 5.0, 0.1], [1e4, 1e4, 1.0]], dtype=F64
    )
    torch.testing.assert_close(Dirichlet(alpha).mode, td.Dirichlet(alpha).mode)
    assert torch.isnan(Dirichlet(torch.ones(3, dtype=F64)).mode).all()  # every point a mode


MODERATE = [(2.0, 3.0), (0.7, 1.5, 4.0), (1.2, 0.8, 3.3, 0.5, 2.0)]


@pytest.mark.parametrize("alpha", MODERATE)
def test_matches_torch(alpha):
    conc = torch.tensor(alpha, dtype=F64)
    ours, theirs = Dirichlet(conc), td.Dirichlet(conc)
    x = _points(conc, 20)
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.entropy(), theirs.entropy(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.mean, theirs.mean, rtol=1e-14, atol=0)
    torch.testing.assert_close(ours.variance, theirs.variance, rtol=1e-14, atol=0)
    torch.testing.assert_close(ours.mode, theirs.mode, rtol=1e-14, atol=0)
    assert ours.batch_shape == theirs.batch_shape and ours.event_shape == theirs.event_shape
    assert isinstance(ours, td.Distribution) and ours.support is theirs.support


def _points(conc: torch.Tensor, n: int) -> torch.Tensor:
    """Fixed interior points of the simplex."""
    u = torch.rand(n, conc.shape[-1], dtype=conc.dtype, generator=_gen(9)) + 0.05
    return u / u.sum(-1, keepdim=True)


# --------------------------------------------------------------------------- float32
TINY_GRID = [(1e-3, 1e-3), (1e-6, 0.5, 2.0), (1e-6,) * 10, (1e-3, 1e4), (1e-6, 1e-6, 1e4)]


@pytest.mark.parametrize("alpha", TINY_GRID)
def test_float32_is_finite(alpha):
    """Tiny concentrations: draws far below the smallest float32 are floored at it (documented),
    so log_prob of the draws stays finite; nothing is NaN."""
    dist = Dirichlet(torch.tensor(alpha, dtype=F32))
    assert torch.isfinite(dist.entropy()).all()
    k = len(alpha)
    for x in _values(tuple(alpha)):
        x32 = torch.tensor(np.maximum(x, np.float32(torch.finfo(F32).tiny)), dtype=F32)
        x32 = x32 / x32.sum()
        assert torch.isfinite(dist.log_prob(x32)), x32
    for draw in (dist.rsample, dist.sample):
        x = draw((2000,), generator=_gen(1))
        assert x.dtype == F32 and x.shape == (2000, k)
        assert torch.isfinite(x).all() and (x >= torch.finfo(F32).tiny).all() and (x <= 1).all()
        assert torch.isfinite(dist.log_prob(x)).all()
        assert torch.isfinite(dist.log_prob(x.clone())).all()  # with the support check
    x, lp = dist.rsample_and_log_prob((2000,), generator=_gen(2))
    assert torch.isfinite(x).all() and torch.isfinite(lp).all()


def test_float32_gradients_are_finite_at_tiny_concentrations():
    conc = torch.tensor([1e-3, 1e-6, 0.5], dtype=F32, requires_grad=True)
    x = Dirichlet(conc).rsample((500,), generator=_gen(3))
    (grad,) = torch.autograd.grad((x * torch.tensor([1.0, 2.0, 3.0])).sum(), conc)
    assert torch.isfinite(grad).all()


# --------------------------------------------------------------------------- goodness of fit
def _beta_cdf_with_floor(x: torch.Tensor, a: float, b: float, label: str, floor=None) -> None:
    """KS of ``x`` against Beta(a, b), as the sampler realizes it: components below the
    smallest normal number are floored there (the share of draws at or below ``floor`` is
    checked against ``F(floor)``, binomial, 5 SD), the rest compared with ``F`` renormalized
    above the floor."""
    ref = stats.beta(a, b)
    n = x.numel()
    floor = torch.finfo(x.dtype).tiny if floor is None else floor
    at_floor = x <= floor
    p0 = float(ref.cdf(floor))
    k = int(at_floor.sum())
    assert abs(k - n * p0) <= 5 * math.sqrt(n * p0 * (1 - p0)) + 1, (label, k, n * p0)
    inner = x[~at_floor]

    def cdf(v):
        return torch.as_tensor((ref.cdf(v.double().numpy()) - p0) / (1 - p0)).clamp(0, 1)

    assert_samples_match(inner, cdf, alpha=1e-4, label=label)


GOF = [(2.0, 3.0), (0.3, 0.5, 4.0), (1e-3, 0.5, 7.0), (7.0, 1e4, 0.5), (0.5,) * 10]


@pytest.mark.parametrize("alpha", GOF)
def test_marginals_match_beta(alpha):
    """Each x_k ~ Beta(α_k, α₀ − α_k); Kolmogorov–Smirnov at alpha = 1e-4, fixed seed."""
    a = np.array(alpha)
    x = Dirichlet(torch.tensor(a, dtype=F64)).sample((20_000,), generator=_gen(2024))
    assert_close(x.sum(-1), 1.0, rtol=4e-16 * len(alpha), label="sums")
    for k in range(len(alpha)):
        _beta_cdf_with_floor(x[:, k], a[k], a.sum() - a[k], f"x_{k} of Dirichlet{alpha}")


@pytest.mark.parametrize("alpha", [(0.7, 2.5, 1.0), (1e-3, 0.5, 3.0), (30.0, 0.2, 5.0)])
def test_ratio_statistic(alpha):
    """x₁/(x₁ + x₂) ~ Beta(α₁, α₂) (aggregation property). Where x₁ was floored, the ratio is
    ~tiny/x₂: values up to 1e-290 are counted together against F(1e-290)."""
    x = Dirichlet(torch.tensor(alpha, dtype=F64)).sample((20_000,), generator=_gen(77))
    r = x[:, 0] / (x[:, 0] + x[:, 1])
    _beta_cdf_with_floor(r, alpha[0], alpha[1], f"ratio of {alpha}", floor=1e-290)


# --------------------------------------------------------------------------- pathwise gradients
def _closed_forms(k: int):
    """f(x) → E[f(X)] as a function of α (a tuple), for i = 0 and j = k − 1."""
    i, j = 0, k - 1

    def e_x(a):
        return a[i] / sum(a)

    def e_xx(a):
        a0 = sum(a)
        return a[i] * a[j] / (a0 * (a0 + 1))

    def e_x2(a):
        a0 = sum(a)
        return a[i] * (a[i] + 1) / (a0 * (a0 + 1))

    def e_log(a):
        return float(special.digamma(a[j]) - special.digamma(sum(a)))

    return {
        "x_i": (lambda x: x[..., i], e_x),
        "x_i*x_j": (lambda x: x[..., i] * x[..., j], e_xx),
        "x_i^2": (lambda x: x[..., i].square(), e_x2),
        "log x_j": (lambda x: x[..., j].log(), e_log),
    }


GRAD_POINTS = [(0.7, 2.0, 3.5), (2.5, 0.4), (0.3, 1.5, 0.9, 4.0)]
GRAD_CASES = [(a, f) for a in GRAD_POINTS for f in _closed_forms(len(a))]


@pytest.mark.parametrize("alpha,fname", GRAD_CASES, ids=[f"{a}-{f}" for a, f in GRAD_CASES])
def test_pathwise_gradient_matches_closed_form(alpha, fname):
    """d/dα_k E[f(X)] for every k: the mean of per-draw pathwise gradients (each draw has its
    own α) within 5 standard errors of the central difference of the closed form."""
    k = len(alpha)
    f, expectation = _closed_forms(k)[fname]
    names = [f"a{m}" for m in range(k)]

    def make(**p):
        return Dirichlet(torch.stack([p[n] for n in names], dim=-1))

    def exact(**p):
        return expectation(tuple(p[n] for n in names))

    assert_pathwise_gradient(
        make,
        dict(zip(names, alpha)),
        f,
        exact,
        n=50_000,
        seed=11,
        label=f"Dirichlet{alpha} E[{fname}]",
    )


@pytest.mark.parametrize("alpha", [(0.4, 1.7, 3.0), (2.5, 0.05), (1e-3, 0.6, 7.0, 1.0)])
def test_jacobian_is_the_exact_derivative_along_the_noise(alpha):
    """dx_i/dα_k = x_i(δ_ik − x_k) d log G_k/dα_k per draw, with the slopes from finite
    differences of the gamma quantile (relative error ≤ 1e-6, float64)."""
    conc = torch.tensor(alpha, dtype=F64)
    n, k = 400, len(alpha)
    leaves = conc.expand(n, k).clone().requires_grad_()
    x = Dirichlet(leaves).rsample(generator=_gen(5))
    slopes = log_gamma_slopes(conc, (n, k), _gen(5))
    xd = x.detach()
    for i in range(k):
        (row,) = torch.autograd.grad(x[:, i].sum(), leaves, retain_graph=True)
        delta = torch.zeros(k, dtype=F64)
        delta[i] = 1
        want = xd[:, i : i + 1] * (delta - xd) * slopes
        assert_close(row, want, rtol=1e-6, atol=1e-300, label=f"d x_{i}/d alpha")


# --------------------------------------------------------------------------- rsample_and_log_prob
@pytest.mark.parametrize("alpha", [(0.7, 2.0, 3.5), (1e-3, 0.5, 7.0), (1e4, 1e4)])
def test_rsample_and_log_prob(alpha):
    dist = Dirichlet(torch.tensor(alpha, dtype=F64))
    x1, lp = dist.rsample_and_log_prob((1000,), generator=_gen(5))
    x2 = dist.rsample((1000,), generator=_gen(5))
    assert torch.equal(x1, x2)
    floored = (x1 == TINY64).any(-1)  # scored from the exact log-softmax, not the floor
    assert_close(lp[~floored], dist.log_prob(x1.clone())[~floored], rtol=1e-9, atol=1e-9)
    assert torch.isfinite(lp).all()


# --------------------------------------------------------------------------- shapes, generators
def test_shapes_graph_and_generator():
    conc = torch.full((4, 3, 5), 1.5, dtype=F64, requires_grad=True)
    dist = Dirichlet(conc)
    assert dist.batch_shape == (4, 3) and dist.event_shape == (5,)
    drawn = dist.sample((6, 2))
    assert drawn.shape == (6, 2, 4, 3, 5) and not drawn.requires_grad and drawn.grad_fn is None
    assert dist.log_prob(drawn).shape == (6, 2, 4, 3)
    assert dist.entropy().shape == (4, 3) and dist.mean.shape == (4, 3, 5)
    x = dist.rsample((7,))
    assert x.shape == (7, 4, 3, 5) and x.requires_grad
    (g,) = torch.autograd.grad((x * torch.arange(5.0, dtype=F64)).sum(), conc)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    g1, g2 = _gen(3), _gen(3)
    assert torch.equal(dist.sample((7,), generator=g1), dist.sample((7,), generator=g2))
    assert torch.equal(dist.rsample(generator=g1), dist.rsample(generator=g2))
    assert not torch.equal(dist.sample(generator=_gen(3)), dist.sample(generator=_gen(4)))
    assert dist.has_rsample and Dirichlet.rsample_kind == "implicit"
    # log_prob broadcasts a value over the batch, and a batch of values over a single Dirichlet
    assert dist.log_prob(torch.full((5,), 0.2, dtype=F64)).shape == (4, 3)
    single = Dirichlet(torch.tensor([1.0, 2.0, 3.0], dtype=F64))
    assert single.log_prob(_points(single.concentration, 8)).shape == (8,)


def test_expand_is_a_view():
    dist = Dirichlet(torch.tensor([0.7, 2.0, 3.5], dtype=F64))
    big = dist.expand((6, 2))
    assert big.batch_shape == (6, 2) and big.event_shape == (3,) and type(big) is Dirichlet
    assert big.concentration.data_ptr() == dist.concentration.data_ptr()
    x = big.sample(generator=_gen(0)).clone()
    assert x.shape == (6, 2, 3)
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "conc",
    [[1.0, 0.0], [1.0, -2.0], [math.nan, 1.0], [1.0, math.inf], [[1.0, 2.0], [3.0, -1e-300]]],
)
def test_invalid_parameters_raise_value_error(conc):
    with pytest.raises(ValueError) as info:
        Dirichlet(torch.tensor(conc, dtype=F64))
    message = str(info.value)
    assert "Dirichlet" in message and "'concentration'" in message
    Dirichlet(torch.tensor(conc, dtype=F64), validate_args=False)  # no error, no sync


def test_zero_dim_concentration_raises():
    with pytest.raises(ValueError, match=r"Dirichlet.*concentration"):
        Dirichlet(torch.tensor(2.0, dtype=F64))
    with pytest.raises(ValueError, match=r"Dirichlet.*concentration"):
        Dirichlet(2.0)


@pytest.mark.parametrize(
    "value",
    [[0.5, 0.6, 0.1], [1.2, -0.1, -0.1], [math.nan, 0.5, 0.5], [0.3, 0.3, 0.3]],
)
def test_out_of_support_values_raise(value):
    dist = Dirichlet(torch.tensor([0.7, 2.0, 3.5], dtype=F64))
    with pytest.raises(ValueError, match="Dirichlet"):
        dist.log_prob(torch.tensor(value, dtype=F64))
    unchecked = Dirichlet(torch.tensor([0.7, 2.0, 3.5], dtype=F64), validate_args=False)
    unchecked.log_prob(torch.tensor(value, dtype=F64))  # no check


def test_wrong_event_shape_raises():
    dist = Dirichlet(torch.tensor([0.7, 2.0, 3.5], dtype=F64))
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.tensor([0.5, 0.5], dtype=F64))


def test_own_draw_skips_the_support_check_only_while_unmodified():
    dist = Dirichlet(torch.tensor([0.7, 2.0, 3.5], dtype=F64))
    x = dist.rsample((4,), generator=_gen(1))
    assert_close(dist.log_prob(x), dist.log_prob(x.clone()), rtol=1e-12, label="own draw")
    with torch.no_grad():
        x[0, 0] = 2.0
    with pytest.raises(ValueError, match="Dirichlet"):
        dist.log_prob(x)


# --------------------------------------------------------------------------- interop
def test_pickle_and_deepcopy():
    dist = Dirichlet(torch.tensor([[0.7, 2.0, 3.5], [1.0, 1.0, 1.0]], dtype=F64))
    x = dist.sample((3,)).clone()
    for clone in round_trips(dist):
        assert type(clone) is Dirichlet and clone.event_shape == (3,)
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


def test_torch_compile_fullgraph():
    torch._dynamo.reset()

    def step(conc):
        dist = Dirichlet(conc)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    conc = torch.tensor([[0.7, 2.0, 3.5], [1.5, 0.3, 1.0]], requires_grad=True)
    x, lp = compiled(conc)
    assert x.shape == (8, 2, 3) and lp.shape == (8, 2) and torch.isfinite(lp).all()
    lp.sum().backward()
    assert conc.grad is not None and torch.isfinite(conc.grad).all()


def test_vmap_of_log_prob():
    conc = torch.tensor([[0.7, 2.0, 3.5], [1.5, 0.3, 1.0], [4.0, 4.0, 4.0]], dtype=F64)
    x = _points(conc, 3)

    def log_prob(c, v):
        return Dirichlet(c, validate_args=False).log_prob(v)

    batched = torch.func.vmap(log_prob)(conc, x)
    torch.testing.assert_close(batched, Dirichlet(conc).log_prob(x), rtol=1e-14, atol=0)


def test_kl_and_torch_interop():
    conc = torch.tensor([0.7, 2.0, 3.5], dtype=F64)
    other = torch.tensor([1.0, 1.0, 2.0], dtype=F64)
    ours = td.kl_divergence(Dirichlet(conc), Dirichlet(other))
    torch.testing.assert_close(ours, td.kl_divergence(td.Dirichlet(conc), td.Dirichlet(other)))
    assert rsample.kl_divergence(Dirichlet(conc), Dirichlet(conc)) == 0


@pytest.mark.parametrize("k", [2, 3, 10])
def test_sums_to_one_and_event_values(k):
    alpha = torch.tensor(list(itertools.islice(itertools.cycle([0.5, 3.0, 1e-3]), k)), dtype=F64)
    x = Dirichlet(alpha).sample((500,), generator=_gen(k))
    assert (x >= TINY64).all() and (x <= 1).all()
    assert_close(x.sum(-1), 1.0, rtol=2e-15 * k, label="sum")
