"""ARM and DisARM against exact gradients by enumeration; DisARM's variance is at most ARM's.

Unbiasedness is checked as in test_score.py: batches of identical independent problems, the
row mean within 5 empirical standard errors of the exact gradient (deterministic seeds).
"""

from __future__ import annotations

import pytest
import torch
import torch.distributions as td
from test_score import (
    BERN_LOGITS,
    F64,
    assert_mean,
    bernoulli_exact,
    bernoulli_rows,
    classes,
    f_bern,
)

import rsample
from rsample.gradients import arm, disarm

ESTIMATORS = [pytest.param(arm, id="arm"), pytest.param(disarm, id="disarm")]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("cls", classes("Bernoulli"))
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("num_samples", [1, 3])
def test_unbiased_joint_three_bits(cls, estimator, num_samples):
    exact = bernoulli_exact(torch.tensor(BERN_LOGITS, dtype=F64))
    estimates = bernoulli_rows(estimator, cls, 20000, 0, num_samples=num_samples)
    assert_mean(estimates, exact)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_unbiased_independent_coordinates(estimator):
    """Per-element f over a batch of coordinates, including near-deterministic ones."""
    logits0 = torch.tensor([-6.0, -0.5, 0.0, 3.0, 8.0], dtype=F64)
    t = 0.45
    p = torch.sigmoid(logits0)
    exact = p * (1 - p) * (1 - 2 * t)  # d/dα [p(1 − t)² + (1 − p) t²]
    logits = logits0.expand(40000, 5).clone().requires_grad_()
    est = estimator(td.Bernoulli(logits=logits), lambda b: (b - t) ** 2, generator=_gen(1))
    (grad,) = torch.autograd.grad(est.surrogate, logits)
    assert_mean(grad, exact)


@pytest.mark.parametrize("theta", [0.02, 0.3, 0.5, 0.7, 0.98])
def test_disarm_variance_at_most_arm_toy(theta):
    """The toy problem f(b) = (b − 0.45)²: both unbiased, DisARM's variance ≤ ARM's.

    In one dimension the two differ only where the pair disagrees (probability
    2·min(θ, 1 − θ)): ARM weighs Δf by |u − 1/2|, uniform on (|θ − 1/2|, 1/2), DisARM by its
    conditional mean (1/2)·max(θ, 1 − θ). So E[ĝ²] differs by the variance of |u − 1/2| on that
    interval: 1/12 against 1/16 at θ = 1/2, about 6 % at θ = 0.3 or 0.7, and only 0.03 % at
    θ = 0.02 or 0.98, below the Monte Carlo noise; there only unbiasedness is checked.
    """
    probs0 = torch.full((40000,), theta, dtype=F64)
    variances = {}
    for estimator in (arm, disarm):
        probs = probs0.clone().requires_grad_()
        est = estimator(td.Bernoulli(probs=probs), lambda b: (b - 0.45) ** 2, generator=_gen(2))
        (grad,) = torch.autograd.grad(est.surrogate, probs)
        assert_mean(grad.unsqueeze(-1), torch.tensor([0.1], dtype=F64))
        variances[estimator.__name__] = grad.var()
    if 0.1 < theta < 0.9:
        assert variances["disarm"] < variances["arm"]


def test_disarm_variance_at_most_arm_joint():
    arm_rows = bernoulli_rows(arm, td.Bernoulli, 20000, 3)
    disarm_rows = bernoulli_rows(disarm, td.Bernoulli, 20000, 3)
    assert bool((disarm_rows.var(0) < arm_rows.var(0)).all())


def test_infinite_logits():
    """Deterministic coordinates (logits ±inf, probs 0 or 1): zero gradient, nothing NaN."""
    for estimator in (arm, disarm):
        logits = torch.tensor([-float("inf"), 0.3, float("inf")], requires_grad=True)
        est = estimator(td.Bernoulli(logits=logits), f_bern, 5, generator=_gen(0))
        assert torch.isfinite(est.surrogate)
        (grad,) = torch.autograd.grad(est.surrogate, logits)
        assert torch.isfinite(grad).all()
        assert grad[0] == 0 and grad[2] == 0
        assert (est.samples[:, 0] == 0).all() and (est.samples[:, 2] == 1).all()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_shapes_value_determinism(estimator):
    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(4, 3).clone().requires_grad_()
    dist = td.Bernoulli(logits=logits)
    state = torch.get_rng_state()
    a = estimator(dist, f_bern, 6, generator=_gen(7))
    b = estimator(dist, f_bern, 6, generator=_gen(7))
    assert torch.equal(torch.get_rng_state(), state)
    assert a.samples.shape == (12, 4, 3)  # the pairs (b_1..b_6, b̃_1..b̃_6)
    assert a.surrogate.shape == () and a.value.shape == (4,) and a.control_loss is None
    torch.testing.assert_close(a.value, f_bern(a.samples).mean(0))
    assert torch.equal(a.samples, b.samples)
    ga, gb = (torch.autograd.grad(e.surrogate, logits)[0] for e in (a, b))
    assert torch.equal(ga, gb)
    # the antithetic pair: b̃ = 1[u > σ(−α)] and b = 1[u < σ(α)] from the same u are each
    # Bernoulli(σ(α)), and they can only both be 0 when σ(α) < 1/2, both 1 when σ(α) > 1/2
    first, second = a.samples[:6], a.samples[6:]
    both_zero = (first == 0) & (second == 0)
    both_one = (first == 1) & (second == 1)
    p = torch.sigmoid(logits.detach())
    assert not (both_zero & (p > 0.5)).any() and not (both_one & (p < 0.5)).any()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_non_differentiable_f_and_independent(estimator):
    """A black-box f of the three bits, with the bits as an Independent's event."""

    def black_box(b):
        return torch.as_tensor((b.sum(-1).numpy() >= 2).astype("float64"))

    logits = torch.tensor(BERN_LOGITS, dtype=F64).expand(20000, 3).clone().requires_grad_()
    for dist in (
        td.Independent(td.Bernoulli(logits=logits), 1),
        rsample.Independent(td.Bernoulli(logits=logits), 1),
    ):
        est = estimator(dist, black_box, 2, generator=_gen(4))
        (grad,) = torch.autograd.grad(est.surrogate, logits)
        assert_mean(grad, bernoulli_exact(logits[0], lambda b: (b.sum(-1) >= 2).to(F64)))


def test_parameters_of_f_get_their_gradient():
    logits = torch.tensor(BERN_LOGITS, dtype=F64, requires_grad=True)
    w = torch.ones(3, dtype=F64, requires_grad=True)
    est = disarm(td.Bernoulli(logits=logits), lambda b: b * w, 100, generator=_gen(0))
    (grad_w,) = torch.autograd.grad(est.surrogate, w)
    torch.testing.assert_close(grad_w, est.samples.mean(0))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_errors(estimator):
    name = estimator.__name__
    logits = torch.zeros(2, 3)
    cat = td.Categorical(logits=logits)
    with pytest.raises(ValueError, match=rf"{name}: dist must be a Bernoulli .* got Categorical"):
        estimator(cat, lambda x: x.float())
    with pytest.raises(ValueError, match=rf"{name}: dist must be a Bernoulli, .* got Normal"):
        estimator(td.Normal(0.0, 1.0), lambda x: x)
    with pytest.raises(ValueError, match=rf"{name}: num_samples must be an integer >= 1, got 0"):
        estimator(td.Bernoulli(logits=logits), lambda x: x, 0)
    with pytest.raises(ValueError, match=rf"{name}: f must return a tensor of .* = \(4, 2, 3\)"):
        estimator(td.Bernoulli(logits=logits), lambda x: x.sum(), 2)
