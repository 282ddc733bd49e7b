"""TruncatedNormal checks the reference table cannot express.

* Accuracy at more hard corners than the table holds (narrow intervals far out, one-sided
  truncations 1e3 σ out, ...) against the 60-digit mpmath reference of ``examples_truncated``.
* float32 draws up to ±30 σ: never NaN, inf or outside the bounds (1e5 draws per case), with
  finite log-densities and gradients.
* Per-draw derivatives: a draw is ``icdf(u)`` for its uniform ``u``; its autograd derivatives
  match central differences of ``icdf`` at fixed ``u``, for every parameter.
* The fixed-shape path (CUDA, ``torch.compile``, ``vmap``: no host reads) draws the same values
  and gradients as the CPU path.
* The tail-bias comparison of the issue: on [4, 6] (standardized) in float32, the naive inverse
  CDF ``Φ⁻¹(Φ(α) + u(Φ(β) − Φ(α)))`` collapses to a few hundred values and is biased;
  rsample's draws are not.
* Bad input, half precision, second derivatives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rsample as D
from examples import examples_for
from rsample.distributions.continuous import truncated_normal as tn_module
from rsample.testing import assert_close, check_against_reference

F32, F64 = torch.float32, torch.float64
INF = math.inf
TruncatedNormalRef = examples_for(D.TruncatedNormal)[0].reference  # 60-digit mpmath


def _dist(loc, scale, low, high, dtype=F64, **kwargs):
    t = [torch.tensor(float(v), dtype=dtype) for v in (loc, scale, low, high)]
    return D.TruncatedNormal(*t, **kwargs)


# ---------------------------------------------------------------------------------------------
# accuracy at more corners (the table has the bulk, [8, 9], [−40, −39], [30, ∞), (−∞, −30],
# [±1e-3], [1, 1.001], untruncated, one-sided, large loc and scale)
# ---------------------------------------------------------------------------------------------

CORNERS = [
    (0.0, 1.0, -40.0, -39.999),  # narrow and far out
    (0.0, 1.0, 39.0, 40.0),
    (0.0, 1.0, 10.0, 10.001),
    (0.0, 1.0, 0.0, 1e-6),  # very narrow, at the mean
    (0.0, 1.0, 2.0, 30.0),
    (0.0, 1.0, 5.0, INF),
    (0.0, 1.0, -5.1, -4.2),
    (0.0, 1.0, 4.9, 5.5),
    (0.0, 1.0, -0.2, 0.05),
    (0.0, 1.0, -8.0, -7.95),
    (0.0, 1.0, 1e3, INF),  # one-sided, 1e3 σ out
    (5.0, 2e-3, -INF, 4.0),  # the same, below, in x units
    (0.0, 1.0, -10.0, 10.0),
    (1e6, 1.0, 1e6 + 3.0, 1e6 + 3.5),  # a location far from 0
]


@pytest.mark.parametrize("params", CORNERS, ids=[str(c) for c in CORNERS])
def test_methods_match_mpmath_at_more_corners(params):
    """log_prob, cdf, icdf, mean, variance, entropy to 1e-10 (relative, as the table)."""
    ref = TruncatedNormalRef(*params)
    check_against_reference(_dist(*params), ref, rtol=1e-10)


def test_far_one_sided_moments_keep_their_digits():
    """[1e4, ∞): mean 1e4 + 1e-4, variance ≈ 1e-8 (1/κ²): a formula 1 + αφ/Z − E² would
    cancel sixteen digits; the continued fraction loses none."""
    dist = _dist(0.0, 1.0, 1e4, INF)
    k = 1e4
    # Asymptotics of the inverse Mills ratio: E = κ + 1/κ − 2/κ³ + …, Var = 1/κ² − 6/κ⁴ + …
    assert_close(dist.mean, k + 1 / k - 2 / k**3, rtol=1e-15, label="mean")
    assert_close(dist.variance, 1 / k**2 - 6 / k**4, rtol=1e-7, label="variance")
    assert_close(dist.variance, TruncatedNormalRef(0.0, 1.0, 1e4, INF).var(), rtol=1e-12)
    entropy = TruncatedNormalRef(0.0, 1.0, 1e4, INF).entropy()
    assert_close(dist.entropy(), entropy, rtol=1e-12, atol=1e-12, label="entropy")


# ---------------------------------------------------------------------------------------------
# float32 draws up to ±30 σ
# ---------------------------------------------------------------------------------------------

FLOAT32_BOUNDS = [
    (-30.0, -29.0),
    (29.0, 30.0),
    (-30.0, 30.0),
    (-INF, -30.0),
    (30.0, INF),
    (-30.0, -10.0),
    (10.0, 30.0),
    (0.0, 30.0),
    (-1e-3, 1e-3),
    (4.0, 6.0),
    (-12.0, -11.0),
    (9.0, 9.5),
]


@pytest.mark.parametrize("bounds", FLOAT32_BOUNDS, ids=[str(b) for b in FLOAT32_BOUNDS])
def test_float32_draws_stay_finite_and_inside(bounds):
    low, high = bounds
    n = 100_000
    loc = torch.full((4,), 0.5)
    scale = torch.full((4,), 2.0)
    params = [loc, scale, torch.full((4,), 0.5 + 2 * low), torch.full((4,), 0.5 + 2 * high)]
    leaves = [p.clone().requires_grad_() for p in params]
    dist = D.TruncatedNormal(*leaves)
    x = dist.rsample((n // 4,), generator=torch.Generator().manual_seed(7))
    assert x.dtype == F32
    assert torch.isfinite(x).all()
    assert ((x >= params[2]) & (x <= params[3])).all()
    grads = torch.autograd.grad(x.sum(), leaves)
    assert all(torch.isfinite(g).all() for g in grads)
    lp = dist.log_prob(x.detach().clone())
    assert torch.isfinite(lp).all()
    # The draws follow the distribution: their mean, in units of its standard deviation.
    mean, std = float(dist.mean[0]), float(dist.stddev[0])
    assert abs(float(x.double().mean()) - mean) / std < 5 / math.sqrt(n)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_one_sided_extremes_never_give_nan(dtype):
    """The fuzz tests draw finite bounds only; here one-sided and untruncated distributions at
    the fuzzed extremes (scales 1e∓20, locations ±1e15, the bound on either side of the mean):
    draws inside, no NaN in draws, gradients, log-densities, CDF, quantiles or entropy."""
    rows = []
    for loc in (-1e15, -3.0, 0.0, 1e15):
        for scale in (1e-20, 1e-3, 1.0, 1e20):
            for bound in (-1e15, -1.0, 0.0, 2.0, 1e15):
                rows += [(loc, scale, -INF, bound), (loc, scale, bound, INF)]
    rows.append((0.5, 2.0, -INF, INF))
    leaves = [torch.tensor([r[i] for r in rows], dtype=dtype).requires_grad_() for i in range(4)]
    dist = D.TruncatedNormal(*leaves)
    x = dist.rsample((3,), generator=torch.Generator().manual_seed(0))
    low, high = leaves[2].detach(), leaves[3].detach()
    assert not x.isnan().any() and ((x >= low) & (x <= high)).all()
    for g in torch.autograd.grad(x.sum(), leaves):
        assert not g.isnan().any()
    lp = dist.log_prob(x.detach().clone())
    assert not lp.isnan().any() and not (lp == INF).any()
    with torch.no_grad():
        c = dist.cdf(x.detach())
        assert ((c >= 0) & (c <= 1)).all()
        q = torch.tensor([0.0, 1e-30, 0.5, 1 - 2**-20, 1.0], dtype=dtype).unsqueeze(-1)
        icdf = dist.icdf(q)
        assert not icdf.isnan().any() and ((icdf >= low) & (icdf <= high)).all()
        assert (icdf[1:] >= icdf[:-1]).all()
        assert torch.isfinite(dist.entropy()).all()


# ---------------------------------------------------------------------------------------------
# per-draw derivatives
# ---------------------------------------------------------------------------------------------

DERIVATIVE_CASES = [
    (0.3, 1.5, -1.0, 2.0),
    (0.0, 1.0, -INF, 0.25),
    (1.0, 0.5, 5.0, 5.5),  # [8, 9]
    (0.0, 1.0, -40.0, -39.0),  # offset form
    (-3.0, 0.1, 0.0, INF),  # [30, ∞)
    (0.0, 1.0, -1e-3, 1e-3),  # narrow, centred: the reflection switches at loc = 0
    (0.0, 1.0, 1.0, 1.001),
    (0.5, 2.0, -3.0, -1.0),
]


def _uniforms(shape, seed, dtype=F64):
    """The noise ``rsample`` draws from ``seed`` (rand, floored at ε/4)."""
    u = torch.rand(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    return u.clamp_min(torch.finfo(dtype).eps / 4)


@pytest.mark.parametrize("case", DERIVATIVE_CASES, ids=[str(c) for c in DERIVATIVE_CASES])
def test_draw_derivatives_match_finite_differences_of_icdf(case):
    n, seed = 400, 3
    leaves = [torch.full((n,), float(v), dtype=F64, requires_grad=True) for v in case]
    x = D.TruncatedNormal(*leaves).rsample(generator=torch.Generator().manual_seed(seed))
    u = _uniforms((n,), seed)
    with torch.no_grad():  # the draw is icdf(u): the sampler's fast inversion agrees
        q = D.TruncatedNormal(*[t.detach() for t in leaves]).icdf(u)
    spread = float(q.max() - q.min())
    assert_close(x, q, rtol=1e-12, atol=1e-12 * spread, label="draw vs icdf(u)")
    grads = torch.autograd.grad(x.sum(), leaves)
    for i, value in enumerate(case):
        if math.isinf(value):
            assert (grads[i] == 0).all()
            continue
        width = case[3] - case[2]
        h = 1e-5 * min(max(1.0, abs(value)), width if math.isfinite(width) else INF)

        def icdf_at(delta, i=i):
            p = [float(v) for v in case]
            p[i] += delta
            with torch.no_grad():
                return D.TruncatedNormal(*[torch.full((n,), v, dtype=F64) for v in p]).icdf(u)

        fd = (icdf_at(h) - icdf_at(-h)) / (2 * h)
        assert_close(grads[i], fd, rtol=1e-5, atol=1e-7, label=f"{case} d/d param {i}")


def test_sample_dims_and_batch_draws_get_the_same_gradients():
    """Scalar parameters with 5000 draws (gradients summed over the draws, per batch element
    factors applied after the sum) equal 5000 one-draw batch elements, summed."""
    for case in DERIVATIVE_CASES[:5]:
        scalars = [torch.tensor(float(v), dtype=F64, requires_grad=True) for v in case]
        x1 = D.TruncatedNormal(*scalars).rsample(
            (5000,), generator=torch.Generator().manual_seed(1)
        )
        weights = torch.linspace(0, 1, 5000, dtype=F64)
        g1 = torch.autograd.grad((x1 * weights).sum(), scalars)
        batch = [torch.full((5000,), float(v), dtype=F64, requires_grad=True) for v in case]
        x2 = D.TruncatedNormal(*batch).rsample(generator=torch.Generator().manual_seed(1))
        g2 = torch.autograd.grad((x2 * weights).sum(), batch)
        assert torch.equal(x1, x2)
        for a, b in zip(g1, g2):
            assert_close(a, b.sum(), rtol=1e-9, atol=1e-9 * float(b.abs().sum()), label=str(case))


def test_draws_are_continuous_across_the_reflection():
    """The reflection switches at loc = (low + high)/2; a draw at fixed noise does not jump."""
    g = torch.Generator()
    below = _dist(-1e-9, 1.0, -1.0, 1.0).sample((1000,), generator=g.manual_seed(0))
    above = _dist(1e-9, 1.0, -1.0, 1.0).sample((1000,), generator=g.manual_seed(0))
    assert (below - above).abs().max() < 1e-8


def test_second_derivatives_of_draws_are_refused():
    loc = torch.tensor(0.3, dtype=F64, requires_grad=True)
    x = D.TruncatedNormal(loc, 1.0, -1.0, 2.0).rsample((3,))
    (g,) = torch.autograd.grad(x.sum(), loc, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiable once"):
        g.backward()


def test_log_prob_has_second_derivatives():
    params = [torch.tensor(v, dtype=F64, requires_grad=True) for v in (0.3, 1.5, -1.0, 2.0)]
    x = torch.tensor([0.1, 1.9], dtype=F64)
    assert torch.autograd.gradgradcheck(lambda *p: D.TruncatedNormal(*p).log_prob(x), params)


# ---------------------------------------------------------------------------------------------
# the fixed-shape path
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_fixed_shape_path_matches_the_cpu_path(monkeypatch, dtype):
    """Mixed batches (direct and offset draws, reflected or not) give the same draws and
    gradients with host reads (masked offset draws) and without (both forms, ``where``)."""
    loc = torch.tensor([0.0, 0.0, 2.0, -3.0, 0.3, 0.0], dtype=dtype)
    scale = torch.tensor([1.0, 1.0, 1.0, 0.1, 1.5, 1.0], dtype=dtype)
    low = torch.tensor([-1.0, -40.0, -INF, 0.0, -INF, -1e-3], dtype=dtype)
    high = torch.tensor([2.0, -39.0, -28.0, INF, INF, 1e-3], dtype=dtype)

    def run():
        leaves = [t.clone().requires_grad_() for t in (loc, scale, low, high)]
        dist = D.TruncatedNormal(*leaves)
        x = dist.rsample((50,), generator=torch.Generator().manual_seed(5))
        grads = torch.autograd.grad(x.sum(), leaves)
        q = torch.tensor([1e-12, 0.3, 0.999], dtype=dtype).unsqueeze(-1)
        return x.detach(), grads, dist.icdf(q), dist.entropy(), dist.log_prob(x.detach())

    eager = run()
    monkeypatch.setattr(tn_module, "host_reads_free", lambda t: False)
    fixed = run()
    tol = 1e-12 if dtype == F64 else 1e-5
    for a, b in zip(eager, fixed):
        for s, t in zip(*(v if isinstance(v, tuple) else (v,) for v in (a, b))):
            assert_close(s, t, rtol=tol, atol=tol, label="fixed-shape path")


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize(
    "loc,low,high,bulk",
    [
        ([0.3, -0.9, 2.5, -2.5], -1.0, 1.0, True),  # inside, near a bound, above, below
        ([0.0, 1.0], -2.0, 5.0, True),
        ([0.0, 0.0], -1.0, INF, False),  # an infinite bound: the tail-exact path
        ([0.0, 0.0], 4.0, 6.0, False),  # out in the tail: the tail-exact path
        ([0.0, 0.0], -1e-3, 1e-3, False),  # narrow: the tail-exact path
    ],
)
def test_rsample_and_log_prob_matches_log_prob_with_gradients(loc, low, high, bulk, dtype):
    """The bulk shortcut of ``rsample_and_log_prob`` gives log_prob's values and parameter
    gradients (through the draw too), and the other cases take log_prob itself."""
    loc_t = torch.tensor(loc, dtype=dtype)
    scale_t = torch.linspace(0.2, 2.0, len(loc), dtype=dtype)

    def run(joint: bool, shape=(40,)):
        # per-element bounds as leaves too: their gradients come from the same closed forms
        lows, highs = (torch.full_like(loc_t, v) for v in (low, high))
        leaves = [t.clone().requires_grad_() for t in (loc_t, scale_t, lows, highs)]
        dist = D.TruncatedNormal(*leaves)
        gen = torch.Generator().manual_seed(3)
        if joint:
            x, lp = dist.rsample_and_log_prob(shape, generator=gen)
        else:
            x = dist.rsample(shape, generator=gen)
            lp = dist.log_prob(x)
        weights = torch.linspace(-1.0, 2.0, x.numel(), dtype=dtype).reshape(x.shape)
        loss = (lp * weights + x).sum()  # unequal weights: log Z's gradient is not cancelled
        return (lp.detach(), *torch.autograd.grad(loss, leaves, allow_unused=True))

    bounds = (torch.tensor(low, dtype=dtype), torch.tensor(high, dtype=dtype))
    # the shortcut is taken iff the parameters are eligible and the intervals in the bulk
    draw = tn_module._ScoredDraw.forward(loc_t, scale_t, *bounds, torch.full_like(loc_t, 0.5))
    a, b, p_lo, mass = draw[3], draw[4], draw[7], draw[8]
    eligible = tn_module._bulk_eligible(loc_t, scale_t, *bounds)
    assert (eligible and tn_module._in_bulk(a, b, p_lo, mass)) == bulk
    tol = 1e-12 if dtype == F64 else 2e-5
    for shape in ((40,), ()):  # several draws per batch element, and one
        for a, b in zip(run(True, shape), run(False, shape)):
            assert_close(a, b, rtol=tol, atol=tol, label="rsample_and_log_prob")


# ---------------------------------------------------------------------------------------------
# tail bias of the naive inverse CDF
# ---------------------------------------------------------------------------------------------


def _naive_draws(alpha, beta, n, seed, dtype):
    a, b = torch.tensor(alpha, dtype=dtype), torch.tensor(beta, dtype=dtype)
    u = torch.rand(n, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    p_a, p_b = torch.special.ndtr(a), torch.special.ndtr(b)
    return torch.special.ndtri(p_a + u * (p_b - p_a))


def test_tail_bias_on_four_to_six_sigma():
    """200k float32 draws on [4, 6]: rsample's mean error is within Monte Carlo noise, its
    draws stay inside and are as distinct as exact draws rounded to float32 (the float32 grid
    itself makes ~10 % of them collide near 4). The naive inverse CDF rounds Φ(4) = 0.99997 and
    Φ(6) to float32: its draws take a few hundred values, never exceed 5.3 and some are ±inf or
    outside the interval (measured: 533 values, 199 inf, 391 outside)."""
    n, alpha, beta = 200_000, 4.0, 6.0
    ref = TruncatedNormalRef(0.0, 1.0, alpha, beta)
    mean, sd = ref.mean(), math.sqrt(ref.var())
    gen = torch.Generator()
    ours = _dist(0.0, 1.0, alpha, beta, dtype=F32).sample((n,), generator=gen.manual_seed(0))
    exact = _dist(0.0, 1.0, alpha, beta).sample((n,), generator=gen.manual_seed(1))
    naive = _naive_draws(alpha, beta, n, 0, F32)
    assert ((ours >= alpha) & (ours <= beta)).all()
    assert abs(float(ours.double().mean()) - mean) / sd < 5 / math.sqrt(n)
    assert len(np.unique(ours.numpy())) > 0.97 * len(np.unique(exact.float().numpy()))
    assert float(ours.max()) > 5.3  # the tail beyond the naive sampler's reach is drawn
    # What the comparison documents (benchmarks/bench_truncated_normal.py prints the numbers).
    inside = torch.isfinite(naive) & (naive >= alpha) & (naive <= beta)
    assert len(np.unique(naive.numpy())) < 1000 and not inside.all()
    assert float(naive[torch.isfinite(naive)].max()) < 5.3


# ---------------------------------------------------------------------------------------------
# bad input, dtypes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("low,high", [(1.0, 1.0), (2.0, 1.0), (INF, INF), (-INF, -INF)])
def test_low_not_below_high_raises_naming_both(low, high):
    with pytest.raises(ValueError) as info:
        _dist(0.0, 1.0, low, high)
    message = str(info.value)
    assert message.startswith("TruncatedNormal:") and "'high - low'" in message
    assert "positive" in message


def test_bounds_given_as_numbers_are_checked_once_and_named():
    with pytest.raises(ValueError, match="TruncatedNormal: argument 'high - low'"):
        D.TruncatedNormal(torch.zeros(1000), torch.ones(1000), 1.0, 0.5)
    with pytest.raises(ValueError, match=r"TruncatedNormal: argument 'low'.*nan"):
        D.TruncatedNormal(torch.zeros(3), torch.ones(3), math.nan, 0.5)
    D.TruncatedNormal(torch.zeros(3), torch.ones(3), 1.0, 0.5, validate_args=False)


def test_support_mode_and_half_precision():
    dist = D.TruncatedNormal(torch.tensor([0.0, 5.0, -5.0]), 1.0, -1.0, 2.0)
    assert torch.equal(dist.mode, torch.tensor([0.0, 2.0, -1.0]))
    assert dist.support.check(torch.tensor([-1.0, 2.0, 0.0])).all()
    half = D.TruncatedNormal(torch.tensor([0.0], dtype=torch.float16), 1.0, -1.0, 2.0)
    x = half.sample((100,), generator=torch.Generator().manual_seed(0))
    assert x.dtype == torch.float16 and ((x >= -1) & (x <= 2)).all()
    assert torch.isfinite(half.log_prob(x)).all() and torch.isfinite(half.entropy()).all()
