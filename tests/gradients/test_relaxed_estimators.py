"""Gumbel-softmax, straight-through Gumbel and Gumbel-Rao against what they estimate.

They are biased for ∇E[f(D)], so each is checked against its own target:

* Gumbel-softmax: the gradient of the relaxed objective E[f(softmax((ℓ + G)/τ))]. Bernoulli
  (binary Concrete): exactly, by Gauss–Legendre quadrature over the logistic noise (one
  dimension per coordinate, f chosen so the expectation factorizes into 1-D integrals).
  Categorical: an independent Monte Carlo reference with the softmax Jacobian written out.
* Straight-through: E[∂f/∂x(D) · ∂y/∂ℓ]. Bernoulli: exactly, by enumerating the 8 outcomes
  and integrating σ'((ℓ + L)/τ)/τ over the side of −ℓ that gives each bit. Categorical: an
  independent Monte Carlo reference.
* Gumbel-Rao: the same expectation as straight-through (it is its Rao-Blackwellization), with
  a lower variance.

Means must agree within 5 combined empirical standard errors (fixed seeds: deterministic).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats
from test_score import (
    BERN_LOGITS,
    CAT_LOGITS,
    F64,
    C,
    T,
    W,
    Z,
    assert_mean,
    bernoulli_rows,
    categorical_rows,
    classes,
    f_bern,
    f_cat_onehot,
)

import rsample
from rsample.gradients import gumbel_rao, gumbel_softmax, straight_through_gumbel
from rsample.gradients._problem import _Problem
from rsample.gradients.relaxed import _conditional_noise

TAU = 0.5
ESTIMATORS = [
    pytest.param(gumbel_softmax, id="gumbel_softmax"),
    pytest.param(straight_through_gumbel, id="straight_through"),
    pytest.param(gumbel_rao, id="gumbel_rao"),
]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ references
def logistic_rule(lo: float, hi: float, shift: torch.Tensor, width: float = 0.125, n: int = 16):
    """Nodes x on [lo, hi] and weights including the logistic density of x − shift.

    Composite Gauss–Legendre with panels of ``width``; ``shift`` (shape (d,)) gives one row of
    weights per coordinate. The density decays like e^{−|x|}, so ±60 loses < 1e-24.
    """
    nodes, weights = np.polynomial.legendre.leggauss(n)
    edges = np.arange(lo, hi + width / 2, width)
    a, b = edges[:-1, None], edges[1:, None]
    x = torch.tensor(((b - a) / 2 * nodes + (a + b) / 2).ravel(), dtype=F64)
    w = torch.tensor(((b - a) / 2 * weights).ravel(), dtype=F64)
    d = x - shift[:, None]
    return x, w * torch.sigmoid(d) * torch.sigmoid(-d)


def relaxed_bernoulli_gradient(tau: float) -> torch.Tensor:
    """∇ E[f_bern(σ((ℓ + L)/τ))] by quadrature (exact to ~1e-12)."""
    logits = torch.tensor(BERN_LOGITS, dtype=F64, requires_grad=True)
    x, w = logistic_rule(-60.0, 60.0, logits)  # x = ℓ + L, the density carries ℓ
    y = torch.sigmoid(x / tau)
    m, s = (w * y).sum(-1), (w * y * y).sum(-1)  # E[y_i], E[y_i²]
    assert torch.allclose(w.sum(-1), torch.ones(3, dtype=F64), atol=1e-13, rtol=0)
    wt = torch.tensor(W, dtype=F64)
    lin = (wt * m).sum()
    # E[(w·y − t)² + y_0 y_2 / 2] with independent coordinates: only E[y_i²] is not m_i²
    objective = lin**2 + (wt**2 * (s - m**2)).sum() - 2 * T * lin + T**2 + 0.5 * m[0] * m[2]
    (grad,) = torch.autograd.grad(objective, logits)
    return grad


def straight_through_bernoulli_expectation(tau: float) -> torch.Tensor:
    """E[∂f/∂x_i(D) · σ'((ℓ_i + L_i)/τ)/τ] by enumeration of D and quadrature over L_i."""
    logits = torch.tensor(BERN_LOGITS, dtype=F64)
    jac = []  # m_i(d) = E[1[D_i = d] σ'(x/τ)/τ], x = ℓ_i + L_i, D_i = 1[x > 0]
    for lo, hi in ((-60.0, 0.0), (0.0, 60.0)):
        x, w = logistic_rule(lo, hi, logits)
        s = torch.sigmoid(x / tau)
        jac.append((w * s * (1 - s) / tau).sum(-1))
    m = torch.stack(jac, -1)  # (3, 2)
    outcomes = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)), dtype=F64)
    points = outcomes.clone().requires_grad_()
    (df,) = torch.autograd.grad(f_bern(points).sum(), points)  # ∂f/∂x at each vertex
    p = torch.sigmoid(logits)
    prob = outcomes * p + (1 - outcomes) * (1 - p)  # (8, 3)
    expectation = torch.zeros(3, dtype=F64)
    for i in range(3):
        others = torch.cat((prob[:, :i], prob[:, i + 1 :]), -1).prod(-1)
        expectation[i] = (others * df[:, i] * m[i, outcomes[:, i].long()]).sum()
    return expectation


@functools.lru_cache(maxsize=4)
def categorical_reference(tau: float, hard: bool, n: int = 200000, seed: int = 99):
    """Per-draw gradients of the relaxed (``hard=False``) or straight-through objective for
    the 2 × K=4 problem, shape (n, 2, 4), written without autograd: with
    y = softmax(z/τ), ∂y/∂ℓ = (diag y − y yᵀ)/τ and ∂f/∂x = 2((x·c) − 0.4) c."""
    logits = torch.tensor(CAT_LOGITS, dtype=F64)
    g = torch.empty(n, 2, 4, dtype=F64).exponential_(generator=_gen(seed)).log().neg()
    z = logits + g
    y = torch.softmax(z / tau, -1)
    x = torch.nn.functional.one_hot(z.argmax(-1), 4).to(F64) if hard else y
    c = torch.tensor(C, dtype=F64)
    df = 2 * ((x * c).sum(-1, keepdim=True) - 0.4) * c
    return (y * df - y * (y * df).sum(-1, keepdim=True)) / tau


def assert_same_mean(a: torch.Tensor, b: torch.Tensor, z: float = Z) -> None:
    """Two independent samples of estimates have equal means within ``z`` combined SEs."""
    se = torch.sqrt(a.var(0) / a.shape[0] + b.var(0) / b.shape[0])
    err = (a.mean(0) - b.mean(0)).abs()
    assert bool((err <= z * se + 1e-12).all()), f"{a.mean(0)}\n{b.mean(0)}\n{err / se}"


# ------------------------------------------------------------------ Bernoulli: exact targets
def test_bernoulli_references_are_distinct():
    """The targets differ from each other and from the true gradient (the bias is real)."""
    from test_score import bernoulli_exact

    exact = bernoulli_exact(torch.tensor(BERN_LOGITS, dtype=F64))
    relaxed = relaxed_bernoulli_gradient(TAU)
    st = straight_through_bernoulli_expectation(TAU)
    assert (relaxed - exact).abs().max() > 0.02 and (st - exact).abs().max() > 0.02
    assert (relaxed - st).abs().max() > 0.02
    # as τ → 0 the relaxed objective's gradient tends to the exact one (f is smooth)
    assert (relaxed_bernoulli_gradient(0.02) - exact).abs().max() < 0.01


@pytest.mark.parametrize("cls", classes("Bernoulli"))
@pytest.mark.parametrize("tau", [TAU, 2.0])
def test_bernoulli_gumbel_softmax_matches_relaxed_gradient(cls, tau):
    estimates = bernoulli_rows(gumbel_softmax, cls, 40000, 0, temperature=tau)
    assert_mean(estimates, relaxed_bernoulli_gradient(tau))


@pytest.mark.parametrize("cls", classes("Bernoulli"))
def test_bernoulli_straight_through_and_gumbel_rao(cls):
    target = straight_through_bernoulli_expectation(TAU)
    st = bernoulli_rows(straight_through_gumbel, cls, 40000, 1, temperature=TAU)
    gr = bernoulli_rows(gumbel_rao, cls, 40000, 2, temperature=TAU, num_rao=10)
    gr1 = bernoulli_rows(gumbel_rao, cls, 40000, 3, temperature=TAU, num_rao=1)
    for estimates in (st, gr, gr1):
        assert_mean(estimates, target)
    assert bool((gr.var(0) < 0.8 * st.var(0)).all()), (gr.var(0), st.var(0))
    # with one conditional draw Gumbel-Rao is straight-through with the noise redrawn: same law
    assert bool((gr1.var(0) < 1.1 * st.var(0)).all() and (gr1.var(0) > 0.9 * st.var(0)).all())


# ------------------------------------------------------------------ categorical
@pytest.mark.parametrize("cls", classes("Categorical") + classes("OneHotCategorical"))
def test_categorical_gumbel_softmax_matches_relaxed_gradient(cls):
    estimates = categorical_rows(gumbel_softmax, cls, f_cat_onehot, 40000, 0, temperature=TAU)
    assert_same_mean(estimates, categorical_reference(TAU, hard=False))


@pytest.mark.parametrize("cls", classes("Categorical") + classes("OneHotCategorical"))
def test_categorical_straight_through_and_gumbel_rao(cls):
    reference = categorical_reference(TAU, hard=True)
    st = categorical_rows(straight_through_gumbel, cls, f_cat_onehot, 40000, 1, temperature=TAU)
    gr = categorical_rows(gumbel_rao, cls, f_cat_onehot, 40000, 2, temperature=TAU, num_rao=10)
    assert_same_mean(st, reference)
    assert_same_mean(gr, reference)
    assert bool((gr.var(0) < 0.8 * st.var(0)).all()), (gr.var(0), st.var(0))


# ------------------------------------------------------------------ conditional noise
def test_bernoulli_conditional_noise_law():
    """L | D is logistic truncated to D's side of −ℓ; mixed over D ~ Bernoulli(σ(ℓ)) it is
    the unconditional logistic (KS test, p > 1e-3 at fixed seeds)."""
    logits = torch.tensor([-3.0, -0.2, 0.0, 1.5, 4.0], dtype=F64)
    problem = _Problem("test", td.Bernoulli(logits=logits))
    hard = (torch.rand(20000, 5, dtype=F64, generator=_gen(0)) < torch.sigmoid(logits)).to(F64)
    noise = _conditional_noise(problem, hard, 2, _gen(1))
    assert noise.shape == (2, 20000, 5) and torch.isfinite(noise).all()
    assert torch.equal((logits + noise > 0).to(F64), hard.expand_as(noise))
    for i in range(5):
        assert stats.kstest(noise[0, :, i].numpy(), stats.logistic.cdf).pvalue > 1e-3


def test_categorical_conditional_noise_law():
    """argmax(ℓ + G) = D always, and mixed over D ~ softmax(ℓ) each G_k is standard Gumbel."""
    logits = torch.tensor(CAT_LOGITS, dtype=F64)
    problem = _Problem("test", td.OneHotCategorical(logits=logits))
    index = logits + -torch.empty(20000, 2, 4, dtype=F64).exponential_(generator=_gen(0)).log()
    hard = problem.one_hot(index.argmax(-1))
    noise = _conditional_noise(problem, hard, 2, _gen(1))
    assert noise.shape == (2, 20000, 2, 4) and torch.isfinite(noise).all()
    assert torch.equal(problem.one_hot((problem.logits + noise).argmax(-1)), hard.expand_as(noise))
    for b, k in itertools.product(range(2), range(4)):
        assert stats.kstest(noise[1, :, b, k].numpy(), stats.gumbel_r.cdf).pvalue > 1e-3


def test_impossible_categories():
    """Categories of probability 0 (logits −inf) are never drawn and give no NaN."""
    logits = torch.tensor([[0.5, -float("inf"), 0.0, -1.0]], requires_grad=True)
    for estimator in (gumbel_softmax, straight_through_gumbel, gumbel_rao):
        est = estimator(
            td.OneHotCategorical(logits=logits),
            lambda x: (x * torch.tensor([1.0, 5.0, -2.0, 3.0])).sum(-1) ** 2,
            50,
            temperature=0.3,
            generator=_gen(0),
        )
        assert (est.samples[..., 1] == 0).all()
        (grad,) = torch.autograd.grad(est.surrogate, logits)
        assert torch.isfinite(grad).all() and grad[0, 1] == 0


# ------------------------------------------------------------------ numerics and contract
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("tau", [1e-3, 1e-30])
def test_low_temperature_finite(estimator, dtype, tau):
    bern = torch.tensor([-float("inf"), -20.0, 0.3, 20.0, float("inf")], dtype=dtype)
    cat = torch.tensor([[30.0, -30.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]], dtype=dtype)
    for dist_cls, logits, f in (
        (td.Bernoulli, bern, lambda x: (x - 0.3) ** 2),
        (td.OneHotCategorical, cat, lambda x: (x * torch.arange(4, dtype=dtype)).sum(-1) ** 2),
    ):
        leaf = logits.clone().requires_grad_()
        est = estimator(dist_cls(logits=leaf), f, 64, temperature=tau, generator=_gen(0))
        (grad,) = torch.autograd.grad(est.surrogate, leaf)
        assert torch.isfinite(est.surrogate) and torch.isfinite(grad).all()
        assert torch.isfinite(est.samples).all() and torch.isfinite(est.value).all()


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("cls", classes("Bernoulli") + classes("Categorical"))
def test_shapes_value_determinism(estimator, cls):
    is_bern = "Bernoulli" in cls.__name__
    shape = (5, 2) if is_bern else (5, 2, 4)
    logits = torch.randn(shape, dtype=F64, generator=_gen(0), requires_grad=True)
    if is_bern:
        f = lambda x: (x - 0.3) ** 2  # noqa: E731
    else:
        f = lambda x: ((x * torch.arange(4.0, dtype=F64)).sum(-1) - 1.0) ** 2  # noqa: E731
    state = torch.get_rng_state()
    a = estimator(cls(logits=logits), f, 7, temperature=0.7, generator=_gen(3))
    b = estimator(cls(logits=logits), f, 7, temperature=0.7, generator=_gen(3))
    assert torch.equal(torch.get_rng_state(), state)
    assert a.samples.shape == (7, *shape) and a.value.shape == (5, 2) and a.surrogate.shape == ()
    assert not a.samples.requires_grad and a.control_loss is None
    torch.testing.assert_close(a.value, f(a.samples).mean(0))  # samples = what f received
    if estimator is gumbel_softmax:
        assert ((a.samples > 0) & (a.samples < 1)).any()  # relaxed values
    else:
        assert ((a.samples == 0) | (a.samples == 1)).all()  # genuine discrete draws
    if not is_bern:
        torch.testing.assert_close(a.samples.sum(-1), torch.ones(7, 5, 2, dtype=F64))
    assert torch.equal(a.samples, b.samples)
    ga, gb = (torch.autograd.grad(e.surrogate, logits)[0] for e in (a, b))
    assert torch.equal(ga, gb) and torch.isfinite(ga).all()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_tensor_temperature(estimator):
    """A temperature tensor broadcasting to the batch acts per batch element."""
    logits = torch.randn(2, 4, generator=_gen(0), requires_grad=True)
    cls = rsample.OneHotCategorical
    f = lambda x: (x * torch.arange(4.0)).sum(-1) ** 2  # noqa: E731
    tau = torch.tensor([0.5, 2.0], requires_grad=True)
    est = estimator(cls(logits=logits), f, 3, temperature=tau, generator=_gen(1))
    ref = estimator(cls(logits=logits), f, 3, temperature=0.5, generator=_gen(1))
    g, g_tau = torch.autograd.grad(est.surrogate, (logits, tau))
    (g_ref,) = torch.autograd.grad(ref.surrogate, logits)
    torch.testing.assert_close(g[0], g_ref[0])
    assert torch.isfinite(g_tau).all()
    scalar = estimator(cls(logits=logits), f, 3, temperature=torch.tensor(0.5), generator=_gen(1))
    torch.testing.assert_close(torch.autograd.grad(scalar.surrogate, logits)[0], g_ref)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_errors(estimator):
    name = estimator.__name__
    dist = td.Bernoulli(logits=torch.zeros(3))
    f = lambda x: x  # noqa: E731
    for bad in (0.0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match=rf"{name}: temperature must be a positive finite"):
            estimator(dist, f, temperature=bad)
    with pytest.raises(
        ValueError, match=rf"{name}: argument 'temperature' must satisfy .*positive"
    ):
        estimator(dist, f, temperature=torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=rf"{name}: temperature of shape \(2,\) must broadcast"):
        estimator(dist, f, temperature=torch.ones(2))
    with pytest.raises(ValueError, match=rf"{name}: num_samples must be an integer >= 1, got 0"):
        estimator(dist, f, 0, temperature=1.0)
    with pytest.raises(ValueError, match=rf"{name}: dist must be a Bernoulli, .* got Normal"):
        estimator(td.Normal(0.0, 1.0), f, temperature=1.0)
    with pytest.raises(TypeError):
        estimator(dist, f)  # the temperature is required: it sets the bias
    if estimator is gumbel_rao:
        for bad in (0, 1.5, True):
            with pytest.raises(ValueError, match=rf"gumbel_rao: num_rao must be .* got {bad}"):
                gumbel_rao(dist, f, temperature=1.0, num_rao=bad)


def test_relaxed_objective_value():
    """gumbel_softmax's value estimates the relaxed objective E[f(y)], here by quadrature."""
    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(100000, 3)
    est = gumbel_softmax(td.Bernoulli(logits=logits), f_bern, temperature=TAU, generator=_gen(5))
    x, w = logistic_rule(-60.0, 60.0, torch.tensor(BERN_LOGITS, dtype=F64))
    y = torch.sigmoid(x / TAU)
    m, s = (w * y).sum(-1), (w * y * y).sum(-1)
    wt = torch.tensor(W, dtype=F64)
    lin = (wt * m).sum()
    exact = lin**2 + (wt**2 * (s - m**2)).sum() - 2 * T * lin + T**2 + 0.5 * m[0] * m[2]
    values = f_bern(est.samples[0])
    assert abs(values.mean() - exact) < Z * values.std() / math.sqrt(values.numel())
