"""REINFORCE (no baseline, moving average, leave-one-out) against exact gradients by enumeration.

Unbiasedness is checked on batches of identical independent problems: each batch row is one
single-call estimate, so the row mean has an empirical standard error, and it must lie within
5 of them of the exact gradient (a false-failure rate of about 6e-7 per coordinate under
normality; the seeds are fixed, so the outcome is deterministic). The helpers here are shared
by test_arm.py and test_relaxed_estimators.py.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.distributions as td
import torch.nn.functional as F

import rsample
from rsample.gradients import Estimate, MovingAverageBaseline, reinforce

F64 = torch.float64
Z = 5.0  # standard errors allowed


# ------------------------------------------------------------------ shared problems
# Bernoulli with three coordinates: 8 outcomes; a joint f of the three bits.
BERN_LOGITS = (0.4, -1.1, 2.0)
W = (1.0, -2.0, 0.5)
T = 0.3


def f_bern(b: torch.Tensor) -> torch.Tensor:
    """Joint objective of the last dimension (3 bits, or their relaxation in [0, 1]^3)."""
    w = torch.tensor(W, dtype=b.dtype)
    return (b @ w - T) ** 2 + 0.5 * b[..., 0] * b[..., 2]


# Categorical with K = 4 and a batch of 2 problems.
CAT_LOGITS = ((0.2, -0.5, 1.0, 0.0), (1.5, -2.0, 0.3, -0.7))
C = ((1.0, -0.5, 2.0, 0.3), (0.0, 1.2, -1.0, 2.5))


def f_cat_index(x: torch.Tensor) -> torch.Tensor:
    """``(n, *batch, 2)`` indices -> ``(n, *batch, 2)``: (c[b, x] − 0.4)²."""
    c = torch.tensor(C, dtype=F64).expand(*x.shape, 4)
    return (c.gather(-1, x.unsqueeze(-1)).squeeze(-1) - 0.4) ** 2


def f_cat_onehot(x: torch.Tensor) -> torch.Tensor:
    """The same objective of one-hot (or relaxed) vectors: ((x · c_b) − 0.4)²."""
    return ((x * torch.tensor(C, dtype=x.dtype)).sum(-1) - 0.4) ** 2


def classes(name: str) -> list:
    """torch's class and rsample's, as pytest params: the estimators accept both."""
    return [
        pytest.param(getattr(td, name), id=f"torch-{name}"),
        pytest.param(getattr(rsample, name), id=f"rsample-{name}"),
    ]


def bernoulli_exact(logits: torch.Tensor, f=f_bern) -> torch.Tensor:
    """∇ E[f(b)] by enumerating the 8 outcomes (autograd of the exact expectation)."""
    logits = logits.detach().clone().requires_grad_()
    outcomes = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)), dtype=F64)
    log_p = (outcomes * F.logsigmoid(logits) + (1 - outcomes) * F.logsigmoid(-logits)).sum(-1)
    (grad,) = torch.autograd.grad((log_p.exp() * f(outcomes)).sum(), logits)
    return grad


def categorical_exact(logits: torch.Tensor) -> torch.Tensor:
    """∇ Σ_b E[f_b(X_b)] by enumerating the 4 categories of each of the 2 problems."""
    logits = logits.detach().clone().requires_grad_()
    values = f_cat_index(torch.arange(4).expand(2, 4).T.contiguous()).T  # (2, 4): f_b(k)
    (grad,) = torch.autograd.grad((torch.softmax(logits, -1) * values).sum(), logits)
    return grad


def bernoulli_rows(estimator, cls, rows: int, seed: int, **options) -> torch.Tensor:
    """``rows`` independent single-call estimates for the 3-bit problem, shape (rows, 3)."""
    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(rows, 3).clone().requires_grad_()
    est = estimator(
        cls(logits=logits), f_bern, generator=torch.Generator().manual_seed(seed), **options
    )
    (grad,) = torch.autograd.grad(est.surrogate, logits)
    return grad


def categorical_rows(estimator, cls, f, rows: int, seed: int, **options) -> torch.Tensor:
    """``rows`` independent estimates for the 2 × K=4 problem, shape (rows, 2, 4)."""
    logits = torch.tensor(CAT_LOGITS, dtype=F64).expand(rows, 2, 4).clone().requires_grad_()
    est = estimator(cls(logits=logits), f, generator=torch.Generator().manual_seed(seed), **options)
    (grad,) = torch.autograd.grad(est.surrogate, logits)
    return grad


def assert_mean(estimates: torch.Tensor, exact: torch.Tensor, z: float = Z) -> None:
    """The mean of the rows of ``estimates`` is within ``z`` standard errors of ``exact``."""
    n = estimates.shape[0]
    mean = estimates.mean(0)
    se = estimates.std(0) / math.sqrt(n)
    err = (mean - exact).abs()
    ok = err <= z * se + 1e-12
    assert bool(ok.all()), f"mean {mean}\nexact {exact}\nerror / se {err / se}"


def assert_unbiased_rows(rows_fn, exact, calls: int = 1) -> torch.Tensor:
    estimates = torch.cat([rows_fn(seed) for seed in range(calls)])
    assert_mean(estimates, exact)
    return estimates


# ------------------------------------------------------------------ unbiasedness
@pytest.mark.parametrize("cls", classes("Bernoulli"))
@pytest.mark.parametrize(
    ("baseline", "num_samples"), [(None, 1), (None, 3), ("loo", 2), ("loo", 5)]
)
def test_bernoulli_unbiased(cls, baseline, num_samples):
    exact = bernoulli_exact(torch.tensor(BERN_LOGITS, dtype=F64))
    assert_unbiased_rows(
        lambda seed: bernoulli_rows(
            reinforce, cls, 20000, seed, num_samples=num_samples, baseline=baseline
        ),
        exact,
    )


@pytest.mark.parametrize("cls", classes("Bernoulli"))
def test_bernoulli_moving_average_unbiased(cls):
    exact = bernoulli_exact(torch.tensor(BERN_LOGITS, dtype=F64))
    baseline = MovingAverageBaseline(decay=0.5)
    estimates = assert_unbiased_rows(
        lambda seed: bernoulli_rows(reinforce, cls, 5000, seed, num_samples=2, baseline=baseline),
        exact,
        calls=4,
    )
    assert baseline.steps == 4
    assert estimates.shape == (20000, 3)


@pytest.mark.parametrize("cls", classes("Categorical"))
@pytest.mark.parametrize("baseline", [None, "loo", "moving"])
def test_categorical_unbiased(cls, baseline):
    exact = categorical_exact(torch.tensor(CAT_LOGITS, dtype=F64))
    if baseline == "moving":
        baseline = MovingAverageBaseline(0.9, per_element=True)
    assert_unbiased_rows(
        lambda seed: categorical_rows(
            reinforce, cls, f_cat_index, 10000, seed, num_samples=2, baseline=baseline
        ),
        exact,
        calls=2,
    )


@pytest.mark.parametrize("cls", classes("OneHotCategorical"))
def test_one_hot_categorical_unbiased(cls):
    exact = categorical_exact(torch.tensor(CAT_LOGITS, dtype=F64))
    assert_unbiased_rows(
        lambda seed: categorical_rows(
            reinforce, cls, f_cat_onehot, 20000, seed, num_samples=3, baseline="loo"
        ),
        exact,
    )


@pytest.mark.parametrize("cls", classes("Bernoulli"))
def test_probs_parameterization(cls):
    """The gradient reaches ``probs`` when the distribution is given probabilities."""
    p0 = torch.sigmoid(torch.tensor(BERN_LOGITS, dtype=F64))
    probs = p0.detach().clone().requires_grad_()
    outcomes = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)), dtype=F64)
    weight = (outcomes * probs + (1 - outcomes) * (1 - probs)).prod(-1)
    (exact,) = torch.autograd.grad((weight * f_bern(outcomes)).sum(), probs)

    rows = p0.expand(20000, 3).clone().requires_grad_()
    est = reinforce(cls(probs=rows), f_bern, 2, baseline="loo", generator=_gen(3))
    (grad,) = torch.autograd.grad(est.surrogate, rows)
    assert_mean(grad, exact)


def test_independent_joint_dims():
    """An Independent's reinterpreted dims are joint: the same estimate as f reducing them."""
    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(50, 3).clone().requires_grad_()
    joint = reinforce(td.Bernoulli(logits=logits), f_bern, 4, generator=_gen(1))
    wrapped = reinforce(
        td.Independent(td.Bernoulli(logits=logits), 1), f_bern, 4, generator=_gen(1)
    )
    ours = reinforce(
        rsample.Independent(td.Bernoulli(logits=logits), 1), f_bern, 4, generator=_gen(1)
    )
    g1, g2, g3 = (torch.autograd.grad(e.surrogate, logits)[0] for e in (joint, wrapped, ours))
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    torch.testing.assert_close(g1, g3, rtol=0, atol=0)
    assert wrapped.value.shape == (50,)
    with pytest.raises(ValueError, match=r"reinforce: f must return .* got \(4, 50, 3\)"):
        reinforce(td.Independent(td.Bernoulli(logits=logits), 1), lambda b: b, 4)


# ------------------------------------------------------------------ variance
def _toy_rows(baseline, num_samples, theta, t, rows=20000, seed=0):
    """Single-call estimates of d/dθ E[(b − t)²], b ~ Bernoulli(θ) (Tucker et al. 2017)."""
    probs = torch.full((rows,), theta, dtype=F64, requires_grad=True)
    est = reinforce(
        td.Bernoulli(probs=probs),
        lambda b: (b - t) ** 2,
        num_samples,
        baseline=baseline,
        generator=_gen(seed),
    )
    (grad,) = torch.autograd.grad(est.surrogate, probs)
    return grad


@pytest.mark.parametrize("theta", [0.1, 0.5, 0.8])
def test_toy_problem_variance_ordering(theta):
    """RLOO and the moving average have lower variance than plain REINFORCE at equal cost."""
    t = 0.45
    exact = 1 - 2 * t  # d/dθ [θ(1 − t)² + (1 − θ) t²]
    plain = _toy_rows(None, 2, theta, t)
    loo = _toy_rows("loo", 2, theta, t)
    moving = MovingAverageBaseline(0.9)
    _toy_rows(moving, 2, theta, t, rows=1000, seed=1)  # warm the average up
    averaged = _toy_rows(moving, 2, theta, t, seed=2)
    for estimates in (plain, loo, averaged):
        assert_mean(estimates.unsqueeze(-1), torch.tensor([exact], dtype=F64))
    # the true gradient is 0.1 while f ≈ 0.2–0.3: a baseline removes most of the variance
    assert loo.var() < 0.5 * plain.var()
    assert averaged.var() < 0.5 * plain.var()


# ------------------------------------------------------------------ contract
@pytest.mark.parametrize("cls", classes("Categorical") + classes("OneHotCategorical"))
def test_shapes_and_value(cls):
    logits = torch.randn(5, 2, 4, dtype=F64, generator=_gen(0), requires_grad=True)
    f = f_cat_onehot if "OneHot" in cls.__name__ else f_cat_index
    est = reinforce(cls(logits=logits), f, 7, generator=_gen(1), baseline="loo")
    assert isinstance(est, Estimate)
    assert est.surrogate.shape == ()
    event = (4,) if "OneHot" in cls.__name__ else ()
    assert est.samples.shape == (7, 5, 2, *event)
    assert not est.samples.requires_grad and not est.value.requires_grad
    torch.testing.assert_close(est.value, f(est.samples).mean(0))
    assert est.control_loss is None
    est.surrogate.backward()
    assert logits.grad.shape == logits.shape and torch.isfinite(logits.grad).all()


def test_generator_determinism():
    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(10, 3).clone().requires_grad_()
    dist = td.Bernoulli(logits=logits)
    state = torch.get_rng_state()
    a = reinforce(dist, f_bern, 6, generator=_gen(5), baseline="loo")
    b = reinforce(dist, f_bern, 6, generator=_gen(5), baseline="loo")
    c = reinforce(dist, f_bern, 6, generator=_gen(6), baseline="loo")
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is not touched
    assert torch.equal(a.samples, b.samples) and not torch.equal(a.samples, c.samples)
    ga, gb = (torch.autograd.grad(e.surrogate, logits)[0] for e in (a, b))
    assert torch.equal(ga, gb)


def test_non_differentiable_f():
    """f may be a black box: Python/numpy code, rounding, a step function."""

    def black_box(b):
        counts = b.sum(-1).numpy()
        return torch.as_tensor((counts >= 2).astype("float64"))

    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(20000, 3).clone().requires_grad_()
    est = reinforce(td.Bernoulli(logits=logits), black_box, 2, baseline="loo", generator=_gen(0))
    (grad,) = torch.autograd.grad(est.surrogate, logits)
    assert_mean(grad, bernoulli_exact(logits[0], lambda b: (b.sum(-1) >= 2).to(F64)))


def test_parameters_of_f_get_their_gradient():
    """The surrogate also carries f's own pathwise gradient: d/dw E[w·b] = E[b] = p."""
    logits = torch.tensor(BERN_LOGITS, dtype=F64).requires_grad_()
    w = torch.ones(3, dtype=F64, requires_grad=True)
    est = reinforce(td.Bernoulli(logits=logits), lambda b: b * w, 20000, generator=_gen(0))
    (grad_w,) = torch.autograd.grad(est.surrogate, w)
    torch.testing.assert_close(grad_w, est.samples.mean(0))
    torch.testing.assert_close(grad_w, torch.sigmoid(logits.detach()), atol=0.02, rtol=0)


def test_moving_average_state():
    baseline = MovingAverageBaseline(decay=0.8)
    assert baseline.value == 0.0
    baseline.update(torch.tensor([[1.0, 3.0]]))
    torch.testing.assert_close(baseline.value, torch.tensor(2.0))  # bias-corrected
    baseline.update(torch.tensor([[5.0, 5.0]]))
    # m = 0.8·0.4 + 0.2·5 = 1.32, corrected by 1 − 0.64
    torch.testing.assert_close(baseline.value, torch.tensor(1.32 / 0.36))
    baseline.reset()
    assert baseline.value == 0.0 and baseline.steps == 0
    per = MovingAverageBaseline(0.5, per_element=True)
    per.update(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    torch.testing.assert_close(per.value, torch.tensor([2.0, 3.0]))
    with pytest.raises(ValueError, match="batch shape of f changed"):
        per.update(torch.zeros(2, 3))
    assert "decay=0.5" in repr(per)


def test_first_moving_average_call_uses_no_baseline():
    logits = torch.zeros(3, dtype=F64, requires_grad=True)
    a = reinforce(td.Bernoulli(logits=logits), f_bern, 4, generator=_gen(2))
    b = reinforce(
        td.Bernoulli(logits=logits), f_bern, 4, generator=_gen(2), baseline=MovingAverageBaseline()
    )
    ga, gb = (torch.autograd.grad(e.surrogate, logits)[0] for e in (a, b))
    assert torch.equal(ga, gb)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_samples": 0}, r"reinforce: num_samples must be an integer >= 1, got 0"),
        ({"num_samples": 2.5}, r"reinforce: num_samples must be an integer >= 1, got 2.5"),
        ({"num_samples": True}, r"reinforce: num_samples .* got True"),
        (
            {"num_samples": 1, "baseline": "loo"},
            r"reinforce: num_samples must be an integer >= 2 for baseline='loo', got 1",
        ),
        ({"baseline": "mean"}, r"reinforce: baseline must be None, 'loo' or a Moving.*'mean'"),
        ({"generator": 3}, r"reinforce: generator must be a torch.Generator or None, got int"),
    ],
)
def test_errors(kwargs, match):
    dist = td.Bernoulli(logits=torch.zeros(3))
    with pytest.raises(ValueError, match=match):
        reinforce(dist, lambda b: b, **kwargs)


def test_error_wrong_distribution():
    with pytest.raises(ValueError, match=r"reinforce: dist must be a Bernoulli, .* got Normal"):
        reinforce(td.Normal(0.0, 1.0), lambda x: x, 2)
    with pytest.raises(ValueError, match=r"got Binomial"):
        reinforce(td.Binomial(3, torch.tensor(0.5)), lambda x: x, 2)


def test_error_f_shape():
    dist = td.Categorical(logits=torch.zeros(5, 4))
    with pytest.raises(
        ValueError, match=r"f must return a tensor of shape .* \(3, 5\).*got \(3, 1\)"
    ):
        reinforce(dist, lambda x: x[:, :1].float(), 3)
    with pytest.raises(ValueError, match=r"got \(5,\)"):
        reinforce(dist, lambda x: x[0].float(), 3)
    with pytest.raises(ValueError, match="f must return a tensor, got float"):
        reinforce(dist, lambda x: 1.0, 3)


@pytest.mark.parametrize("decay", [-0.1, 1.0, float("nan"), "0.5"])
def test_error_decay(decay):
    with pytest.raises(ValueError, match=r"MovingAverageBaseline: decay must be a number in"):
        MovingAverageBaseline(decay)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
