"""Generic checks that every distribution in ``examples.EXAMPLES`` must pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rsample as D
from examples import EXAMPLES, Example
from rsample.testing import (
    DEFAULT_TEST_FUNCTIONS,
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
    check_against_reference,
    quadrature_expectation,
    round_trips,
)

F64 = torch.float64


def _ids(cases):
    return [f"{e.name}-{i}" for i, (e, *_rest) in enumerate(cases)]


GRID = [(e, p) for e in EXAMPLES for p in e.grid]


def _float32_resolves(example: Example, params: dict) -> bool:
    """Whether float32 can represent the spread of the distribution at its location: false for
    e.g. loc = −2e5, scale = 1e-5, where every float32 draw rounds to the same value."""
    ref = example.reference(**params, **example.fixed)
    spread = float(ref.ppf(0.75) - ref.ppf(0.25))
    return spread > 1e-4 * max(abs(float(ref.ppf(0.5))), spread)


F32_GRID = [(e, p) for e, p in GRID if _float32_resolves(e, p)]
GRAD = [(e, p, f) for e in EXAMPLES for p in e.grad_points for f in DEFAULT_TEST_FUNCTIONS]
INVALID = [(e, p, arg) for e in EXAMPLES for p, arg in e.invalid]


def _dist(example: Example, params: dict, dtype=F64, **kwargs):
    tensors = {k: torch.tensor(v, dtype=dtype) for k, v in params.items()}
    return example.build(**tensors, **kwargs)


def test_has_examples():
    public = {
        getattr(D, name)
        for name in D.__all__
        if isinstance(getattr(D, name), type) and issubclass(getattr(D, name), D.Distribution)
    }
    public.discard(D.Distribution)
    covered = {e.cls for e in EXAMPLES} | DEDICATED_TESTS
    missing = sorted(c.__name__ for c in public - covered)
    assert not missing, f"distributions without a reference example: {missing}"


# Families whose structure (events, wrapped bases) the univariate table cannot express; each has
# its own scipy-referenced test module mirroring the package.
DEDICATED_TESTS: set = {
    getattr(D, name)
    for name in (
        "MultivariateNormal",
        "LowRankMultivariateNormal",
        "Wishart",
        "LogisticNormal",
        "Dirichlet",
        "LKJCholesky",
        "VonMisesFisher",
        "PowerSpherical",
        "HypersphericalUniform",
        "Independent",
        "TransformedDistribution",
        "Truncated",
        "MixtureSameFamily",
        # discrete families: tests/discrete_checks.py and tests/distributions/discrete/
        "Bernoulli",
        "Binomial",
        "Categorical",
        "Geometric",
        "Multinomial",
        "NegativeBinomial",
        "OneHotCategorical",
        "OneHotCategoricalStraightThrough",
        "Poisson",
        # relaxations: tests/distributions/discrete/test_relaxed_{bernoulli,categorical}.py
        "LogitRelaxedBernoulli",
        "RelaxedBernoulli",
        "RelaxedBernoulliStraightThrough",
        "ExpRelaxedCategorical",
        "RelaxedOneHotCategorical",
        "RelaxedOneHotCategoricalStraightThrough",
    )
    if hasattr(D, name)
}


@pytest.mark.parametrize("example,params", GRID, ids=_ids(GRID))
def test_methods_match_scipy_float64(example, params):
    dist = _dist(example, params)
    check_against_reference(dist, example.reference(**params, **example.fixed), rtol=1e-10)
    if example.mode is not None:
        assert_close(dist.mode, example.mode(**params), rtol=1e-12, atol=1e-300, label="mode")


@pytest.mark.parametrize("example,params", F32_GRID, ids=_ids(F32_GRID))
def test_float32_is_finite_where_representable(example, params):
    dist = _dist(example, params, dtype=torch.float32)
    ref = example.reference(**params, **example.fixed)
    probs = np.array([1e-6, 1e-3, 0.3, 0.5, 0.9, 0.999])
    x64 = np.asarray(ref.ppf(probs), dtype=float)
    x = torch.tensor(x64, dtype=torch.float32)
    # Where the true log-density at the float32 value is finite (not at 0 for Gamma(α < 1)).
    inside = torch.tensor(np.isfinite(ref.logpdf(x.double().numpy())))
    for name, value in (
        ("log_prob", dist.log_prob(x)[inside]),
        ("cdf", dist.cdf(x)),
        ("icdf", dist.icdf(torch.tensor(probs, dtype=torch.float32))),
        ("entropy", dist.entropy()),
    ):
        assert torch.isfinite(value).all(), f"{example.name} float32 {name} not finite: {value}"
    samples = dist.rsample((2000,), generator=torch.Generator().manual_seed(1))
    assert torch.isfinite(samples).all() and torch.isfinite(dist.log_prob(samples)).all()


def _assert_matches_reference(x, ref, dtype, label, *, rounded):
    """KS test of the draws ``x`` against the scipy ``ref``, as the sampler can realize it.

    On a support starting at 0, draws too small for the dtype are floored (as documented for
    tiny Gamma shapes: half the mass of Gamma(1e-3) lies below 1e-308, and a Gamma draw is
    floored at the smallest normal number before dividing by the rate). Ties at the minimum
    reveal such a floor; the share of draws there is checked against ``F(floor)`` (binomial,
    5 SD). On a support ending at 1 (Beta), draws are kept below 1 the same way (at the largest
    float below 1, as torch does): ties at the maximum are checked against the mass the dtype
    rounds to that value or above. The draws strictly between are compared with ``F``
    renormalized to that range.
    """
    n, p0, p1 = x.numel(), 0.0, 0.0
    low, high = ref.support()

    def check_atom(k: int, p: float) -> None:
        assert abs(k - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1, (label, k, n * p)

    inner = torch.ones_like(x, dtype=torch.bool)
    if low == 0 and int((x == x.min()).sum()) > 1:
        floor = x.min()
        p0 = float(ref.cdf(float(floor)))
        check_atom(int((x == floor).sum()), p0)
        inner &= x > floor
    if high == 1 and int((x == x.max()).sum()) > 1:
        ceiling = x.max()
        edge = float(ceiling)
        if rounded:  # everything that rounds to the ceiling or above
            below = float(torch.nextafter(ceiling, torch.tensor(-math.inf, dtype=x.dtype)))
            edge = (below + edge) / 2
        p1 = float(ref.sf(edge)) if hasattr(ref, "sf") else 1.0 - float(ref.cdf(edge))
        check_atom(int((x == ceiling).sum()), p1)
        inner &= x < ceiling
    x = x[inner]

    # Angles: the reference's CDF of the draws as the sampler reduces them (into [−π, π)).
    ref_cdf = getattr(ref, "draw_cdf", ref.cdf)

    def cdf(v):
        return torch.as_tensor((ref_cdf(v.double().numpy()) - p0) / (1 - p0 - p1)).clamp(0, 1)

    assert_samples_match(x, cdf, alpha=1e-4, label=label, rounded=rounded)


@pytest.mark.parametrize("example,params", GRID, ids=_ids(GRID))
def test_samples_goodness_of_fit(example, params, dtype=F64):
    """Kolmogorov–Smirnov at alpha = 1e-4 per case with a fixed seed (see testing.gof)."""
    dist = _dist(example, params, dtype=dtype)
    ref = example.reference(**params, **example.fixed)
    x = dist.sample((20_000,), generator=torch.Generator().manual_seed(2024))
    _assert_matches_reference(x, ref, dtype, repr(dist), rounded=False)


@pytest.mark.parametrize("example,params", GRID, ids=_ids(GRID))
def test_float32_samples_match_the_rounded_distribution(example, params):
    """float32 draws follow the reference rounded to float32 (atoms at saturated bounds, e.g.
    tanh(u) = ±1, and collapsed spreads such as loc = −2e5, scale = 1e-5, included)."""
    dist = _dist(example, params, dtype=torch.float32)
    # The reference takes the parameters as float32 holds them: Uniform(1e3, 1e3 + 1e-3) is
    # 2 % narrower in float32, a property of the inputs, not of the sampler.
    ref = example.reference(**{k: float(np.float32(v)) for k, v in params.items()}, **example.fixed)
    x = dist.sample((20_000,), generator=torch.Generator().manual_seed(2025))
    _assert_matches_reference(x, ref, torch.float32, repr(dist), rounded=True)


@pytest.mark.parametrize(
    "example,params,fname", GRAD, ids=[f"{e.name}-{p}-{f}" for e, p, f in GRAD]
)
def test_pathwise_gradient_matches_quadrature(example, params, fname):
    f_torch, f_np = DEFAULT_TEST_FUNCTIONS[fname]
    if getattr(example.reference(**params, **example.fixed), "period", None):
        # Angles (draws reduced modulo 2π): the pathwise gradient is that of E[f(X)] for f
        # continuous on the circle, so test f(sin x + cos x); quadrature covers one period.
        f_torch = (lambda f: lambda x: f(torch.sin(x) + torch.cos(x)))(f_torch)
        f_np = (lambda f: lambda x: f(np.sin(x) + np.cos(x)))(f_np)

    def expectation(**p):
        return quadrature_expectation(f_np, example.reference(**p, **example.fixed))

    assert_pathwise_gradient(
        example.build,
        params,
        f_torch,
        expectation,
        n=100_000,
        seed=11,
        label=f"{example.name} E[{fname}]",
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_shapes_graph_and_generator(example):
    params = example.grad_points[0]
    leaves = {k: torch.full((4, 3), v, dtype=F64, requires_grad=True) for k, v in params.items()}
    dist = example.build(**leaves)
    assert dist.batch_shape == (4, 3)
    drawn = dist.sample((5, 2))
    assert drawn.shape == (5, 2, 4, 3) and not drawn.requires_grad and drawn.grad_fn is None
    assert dist.log_prob(drawn).shape == (5, 2, 4, 3)
    x = dist.rsample((5,))
    assert x.shape == (5, 4, 3) and x.requires_grad
    grads = torch.autograd.grad(x.sum(), list(leaves.values()))
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(dist.sample((7,), generator=g1), dist.sample((7,), generator=g2))
    assert torch.equal(dist.rsample(generator=g1), dist.rsample(generator=g2))
    assert dist.has_rsample and type(dist).rsample_kind in ("explicit", "implicit")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_rsample_and_log_prob_agrees_with_log_prob(example):
    dist = _dist(example, example.grad_points[0])
    x1, lp = dist.rsample_and_log_prob((1000,), generator=torch.Generator().manual_seed(5))
    x2 = dist.rsample((1000,), generator=torch.Generator().manual_seed(5))
    assert torch.equal(x1, x2)
    # log_prob(x) re-derives the noise from x; both are exact up to float64 rounding.
    assert_close(
        lp, dist.log_prob(x1), rtol=1e-9, atol=1e-9, label=f"{example.name} rsample_and_log_prob"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_expand_is_a_view(example):
    dist = _dist(example, example.grad_points[0])
    big = dist.expand((6, 2))
    assert big.batch_shape == (6, 2) and type(big) is type(dist)
    # A copy: a distribution's own latest draw may be scored from its noise (TanhNormal).
    x = big.sample(generator=torch.Generator().manual_seed(0)).clone()
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")
    for name in type(dist).arg_constraints:
        value = big.__dict__.get(name)  # stored parameters (not derived ones like Chi2.df)
        if isinstance(value, torch.Tensor):
            assert value.data_ptr() == getattr(dist, name).data_ptr(), f"{name} was copied"


@pytest.mark.parametrize(
    "example,params,arg", INVALID, ids=[f"{e.name}-{a}-{p}" for e, p, a in INVALID]
)
def test_invalid_parameters_raise_value_error(example, params, arg):
    with pytest.raises(ValueError) as info:
        _dist(example, params)
    message = str(info.value)
    assert example.name in message and f"'{arg}'" in message
    # Python numbers and validate_args=False: no error at construction.
    example.build(**params, validate_args=False)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_out_of_support_values_raise(example):
    dist = _dist(example, example.grad_points[0])
    lo, hi = example.reference(**example.grad_points[0], **example.fixed).support()
    bad = [math.nan]

    def outside(v: float) -> bool:  # a reference's window may lie inside the support (angles)
        return not bool(dist.support.check(torch.tensor(v, dtype=F64)))

    if math.isfinite(lo) and outside(lo - 1.0):
        bad.append(lo - 1.0)
    if math.isfinite(hi) and outside(hi + 1.0):
        bad.append(hi + 1.0)
    for value in bad:
        with pytest.raises(ValueError, match=example.name):
            dist.log_prob(torch.tensor([0.5 * (max(lo, -1) + min(hi, 1)), value], dtype=F64))
    with pytest.raises(ValueError, match="value"):
        dist.icdf(torch.tensor([0.5, 1.5], dtype=F64))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_own_draw_skips_the_support_check_only_while_unmodified(example):
    dist = _dist(example, example.grad_points[0])
    x = dist.rsample((4,), generator=torch.Generator().manual_seed(1))
    assert_close(dist.log_prob(x), dist.log_prob(x.clone()), rtol=1e-12, label="own draw")
    with torch.no_grad():
        x.view(-1)[0] = math.nan  # an in-place change bumps the version: the check is back
    with pytest.raises(ValueError, match=example.name):
        dist.log_prob(x)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_pickle_and_deepcopy(example):
    dist = _dist(example, example.grad_points[0])
    x = dist.sample((3,)).clone()  # not the latest draw: scored from the value, by all
    for clone in round_trips(dist):
        assert type(clone) is type(dist)
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_torch_compile_fullgraph(example):
    torch._dynamo.reset()  # each example recompiles `step`; stay clear of the recompile limit
    params = example.grad_points[0]

    def step(*values):
        dist = example.build(**dict(zip(params, values)))
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    values = [torch.full((3,), v, requires_grad=True) for v in params.values()]
    x, lp = compiled(*values)
    assert x.shape == (8, 3) and torch.isfinite(lp).all()
    lp.sum().backward()
    assert all(v.grad is not None for v in values)
