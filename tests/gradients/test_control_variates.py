"""REBAR and RELAX (rsample.gradients.control_variates).

Unbiasedness is checked against exact gradients by enumeration: each test runs ``R``
independent copies of a small problem as one batch (one estimate per copy, read from the
gradient of a ``(R, ...)`` logits leaf) and requires every component of the Monte Carlo mean to
lie within ``Z`` empirical standard errors of the exact gradient. With fixed seeds the tests are
deterministic; at Z = 5 a correct estimator would fail one component with probability ~6e-7.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.distributions as td
from scipy import stats
from torch import nn

import rsample
from rsample.gradients import RebarControl, RelaxControl, rebar, relax
from rsample.gradients.control_variates import (
    _base_noise,
    _conditional_noise,
    _hard,
    _relaxed_noise,
)
from rsample.gradients.score import reinforce

F64 = torch.float64
Z = 5.0
R = 20000


# --------------------------------------------------------------------------- problems
BERN_LOGITS = torch.tensor([0.3, -1.2, 0.8], dtype=F64)
BERN_W = torch.tensor([1.0, -2.0, 0.5], dtype=F64)


def bern_f(x):
    """A joint nonlinear function of 3 bits, differentiable on relaxed inputs: (..., 3) → (...)."""
    return torch.sin(x @ BERN_W) + x[..., 0] * x[..., 1] - x[..., 2] ** 2


def bern_f_hard(x):
    """Non-differentiable: a table lookup through ``round`` (f only ever sees 0/1 here)."""
    code = (x.round() * torch.tensor([1.0, 2.0, 4.0], dtype=x.dtype)).sum(-1).long()
    table = torch.tensor([0.3, -1.0, 2.0, 0.1, 0.7, -0.4, 1.5, 0.0], dtype=x.dtype)
    return table[code]


def bern_exact(f):
    lg = BERN_LOGITS.clone().requires_grad_()
    outcomes = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=F64)
    log_p = outcomes * nn.functional.logsigmoid(lg) + (1 - outcomes) * nn.functional.logsigmoid(-lg)
    (grad,) = torch.autograd.grad((log_p.sum(-1).exp() * f(outcomes)).sum(), lg)
    return grad


CAT_LOGITS = torch.tensor([[0.5, -1.0, 0.2, 1.1], [-0.3, 0.0, 2.0, -2.5]], dtype=F64)
CAT_V = torch.tensor([[1.0, -0.5, 2.0, 0.3], [0.2, 1.5, -1.0, 0.8]], dtype=F64)


def cat_f(x):
    """Per batch row, a nonlinear function of a one-hot (or relaxed) K=4 vector.

    (..., 2, 4) → (..., 2)
    """
    s = (x * CAT_V).sum(-1)
    return s**2 + torch.sin(3 * s)


def cat_f_index(x):
    """``cat_f`` for a Categorical's index samples (what RELAX passes without a REBAR term)."""
    return cat_f(nn.functional.one_hot(x, 4).to(F64))


def cat_exact(f):
    lg = CAT_LOGITS.clone().requires_grad_()
    eye = torch.eye(4, dtype=F64).unsqueeze(1).expand(4, 2, 4)  # outcome k for both rows
    values = f(eye)  # (4, 2)
    (grad,) = torch.autograd.grad((torch.softmax(lg, -1) * values.T).sum(), lg)
    return grad


class Elementwise(nn.Module):
    """A small MLP applied to each scalar of its input (for elementwise Bernoulli problems)."""

    def __init__(self, hidden=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x.unsqueeze(-1)).squeeze(-1)


def mlp(d_in, hidden=16):
    """Last-dim MLP returning (..., 1): the estimators drop the trailing size-1 dimension."""
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, 1)).double()


def replicate_grad(estimator, make_dist, base_logits, f, num_samples=1, seed=0, **kw):
    """Per-copy gradient estimates, shape (R, *base_logits.shape)."""
    logits = base_logits.expand(R, *base_logits.shape).clone().requires_grad_()
    gen = torch.Generator().manual_seed(seed)
    est = estimator(make_dist(logits), f, num_samples, generator=gen, **kw)
    est.surrogate.backward()
    return logits.grad


def assert_unbiased(grads, exact):
    mean = grads.mean(0)
    se = grads.std(0) / math.sqrt(grads.shape[0])
    assert torch.all(se > 0)
    z = (mean - exact) / se
    assert torch.all(z.abs() < Z), f"mean {mean}, exact {exact}, z {z}"


def train(estimator, control, make_dist, base_logits, f, steps, batch=256, lr=0.05, seed=1):
    """Adam on control_loss (the variance) for ``steps`` steps; only the control is updated."""
    opt = torch.optim.Adam(control.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        logits = base_logits.expand(batch, *base_logits.shape).clone().requires_grad_()
        est = estimator(make_dist(logits), f, 1, generator=gen, control=control)
        opt.zero_grad()
        est.control_loss.backward(inputs=list(control.parameters()))
        opt.step()
    return control


# both libraries' classes, built from logits or probs (the gradient reaches either)
BERNOULLI = {
    "torch-logits": lambda lg: td.Bernoulli(logits=lg),
    "torch-probs": lambda lg: td.Bernoulli(probs=torch.sigmoid(lg)),
    "rsample-logits": lambda lg: rsample.Bernoulli(logits=lg),
    "rsample-probs": lambda lg: rsample.Bernoulli(probs=torch.sigmoid(lg)),
}
CATEGORICAL = {
    "torch-Categorical": lambda lg: td.Categorical(logits=lg),
    "torch-OneHot": lambda lg: td.OneHotCategorical(logits=lg),
    "rsample-Categorical": lambda lg: rsample.Categorical(probs=torch.softmax(lg, -1)),
    "rsample-OneHot": lambda lg: rsample.OneHotCategorical(logits=lg),
}


def bern_relax_control():
    torch.manual_seed(0)
    return RelaxControl(mlp(3))


def cat_relax_control():
    torch.manual_seed(0)
    return RelaxControl(mlp(4))


# --------------------------------------------------------------------------- unbiasedness
@pytest.mark.parametrize(
    "kind, num_samples",
    [("torch-logits", 1), ("torch-probs", 3), ("rsample-logits", 3), ("rsample-probs", 1)],
)
def test_rebar_unbiased_bernoulli(kind, num_samples):
    control = RebarControl(log_temperature=-0.5, eta=1.3).double()
    grads = replicate_grad(
        rebar, BERNOULLI[kind], BERN_LOGITS, bern_f, num_samples, seed=num_samples, control=control
    )
    assert_unbiased(grads, bern_exact(bern_f))


@pytest.mark.parametrize(
    "kind, f",
    [("torch-logits", bern_f), ("rsample-probs", bern_f_hard)],
    ids=["smooth", "non_differentiable"],
)
def test_relax_unbiased_bernoulli(kind, f):
    make = BERNOULLI[kind]
    grads = replicate_grad(relax, make, BERN_LOGITS, f, control=bern_relax_control())
    assert_unbiased(grads, bern_exact(f))


def test_relax_with_rebar_term_unbiased_bernoulli():
    torch.manual_seed(0)
    control = RelaxControl(mlp(3), log_temperature=0.3, eta=0.7)
    make = BERNOULLI["rsample-logits"]
    grads = replicate_grad(relax, make, BERN_LOGITS, bern_f, 2, seed=4, control=control)
    assert_unbiased(grads, bern_exact(bern_f))


@pytest.mark.parametrize("kind", ["torch-Categorical", "rsample-OneHot"])
def test_rebar_unbiased_categorical(kind):
    control = RebarControl(log_temperature=-0.7, eta=0.8).double()
    grads = replicate_grad(rebar, CATEGORICAL[kind], CAT_LOGITS, cat_f, 2, seed=7, control=control)
    assert_unbiased(grads, cat_exact(cat_f))


@pytest.mark.parametrize("kind", ["rsample-Categorical", "torch-OneHot"])
def test_relax_unbiased_categorical(kind):
    """RELAX passes a Categorical's indices to f (no REBAR term), a OneHot's one-hot vectors."""
    f = cat_f_index if kind.endswith("Categorical") else cat_f
    control = cat_relax_control()
    grads = replicate_grad(relax, CATEGORICAL[kind], CAT_LOGITS, f, seed=8, control=control)
    assert_unbiased(grads, cat_exact(cat_f))


def test_unbiased_at_trained_controls():
    """After tuning (which moves the controls far from their start) the mean is unchanged."""
    make = BERNOULLI["rsample-logits"]
    bern = train(rebar, RebarControl().double(), make, BERN_LOGITS, bern_f, 60, lr=0.1)
    assert abs(bern.eta.item() - 1.0) > 0.2
    grads = replicate_grad(rebar, make, BERN_LOGITS, bern_f, seed=11, control=bern)
    assert_unbiased(grads, bern_exact(bern_f))

    make = CATEGORICAL["torch-Categorical"]
    net = train(relax, cat_relax_control(), make, CAT_LOGITS, cat_f_index, 60, lr=0.02)
    grads = replicate_grad(relax, make, CAT_LOGITS, cat_f_index, seed=12, control=net)
    assert_unbiased(grads, cat_exact(cat_f))

    make = CATEGORICAL["rsample-OneHot"]
    cat = train(rebar, RebarControl().double(), make, CAT_LOGITS, cat_f, 60, lr=0.1)
    grads = replicate_grad(rebar, make, CAT_LOGITS, cat_f, seed=13, control=cat)
    assert_unbiased(grads, cat_exact(cat_f))


# --------------------------------------------------------------------------- variance tuning
def test_control_loss_reduces_variance():
    """Tucker et al.'s toy problem f(b) = (b − t)², θ = 0.3, t = 0.45: variance per estimate
    of dE/dθ (θ-parameterized Bernoulli) before and after 300 Adam steps on control_loss."""
    t, theta = 0.45, 0.3

    def f(x):
        return (x - t) ** 2

    def variance(estimator, **kw):
        p = torch.full((R,), theta, dtype=F64, requires_grad=True)
        est = estimator(
            td.Bernoulli(probs=p), f, 1, generator=torch.Generator().manual_seed(5), **kw
        )
        est.surrogate.backward()
        assert abs(p.grad.mean().item() - (1 - 2 * t)) < Z * p.grad.std().item() / math.sqrt(R)
        return p.grad.var().item()

    v_reinforce = variance(reinforce)
    logits = torch.logit(torch.tensor([theta], dtype=F64))
    make = BERNOULLI["torch-logits"]

    rebar_control = RebarControl(log_temperature=0.0, eta=-0.5).double()
    v0 = variance(rebar, control=rebar_control)
    train(rebar, rebar_control, make, logits, lambda x: f(x).squeeze(-1), 300, lr=0.1)
    v1 = variance(rebar, control=rebar_control)
    assert v1 < 0.8 * v0 and v1 < 0.8 * v_reinforce, (v0, v1, v_reinforce)

    torch.manual_seed(0)
    relax_control = RelaxControl(Elementwise().double())
    v0 = variance(relax, control=relax_control)
    train(relax, relax_control, make, logits, lambda x: f(x).squeeze(-1), 300, lr=0.05)
    v1 = variance(relax, control=relax_control)
    assert v1 < 0.1 * v0 and v1 < 0.1 * v_reinforce, (v0, v1, v_reinforce)


# --------------------------------------------------------------------------- conditional noise
def test_bernoulli_conditional_noise_law():
    """H(z̃) = b always; z̃ | b is z | H(z) = b; the mixture over b is the logistic law of z."""
    alpha = torch.tensor([-2.0, 0.3, 3.0], dtype=F64)
    gen = torch.Generator().manual_seed(21)
    n = 20000
    u = _base_noise("bernoulli", torch.rand(n, 3, generator=gen, dtype=F64), alpha)
    v = _base_noise("bernoulli", torch.rand(n, 3, generator=gen, dtype=F64), alpha)
    hard, _, _ = _hard("bernoulli", alpha, u)
    zt = _conditional_noise("bernoulli", alpha, v, hard)
    assert torch.equal((zt > 0).to(F64), hard)
    assert torch.equal(hard, (_relaxed_noise("bernoulli", alpha, u) > 0).to(F64))
    for j, a in enumerate(alpha.tolist()):
        theta = 1 / (1 + math.exp(-a))
        sample = zt[:, j].numpy()
        assert stats.kstest(sample, lambda x, a=a: stats.logistic.cdf(x - a)).pvalue > 1e-3
        ones = zt[hard[:, j] == 1, j].numpy()
        zeros = zt[hard[:, j] == 0, j].numpy()

        def upper(x, a=a, theta=theta):
            return (stats.logistic.cdf(x - a) - (1 - theta)) / theta

        def lower(x, a=a, theta=theta):
            return stats.logistic.cdf(x - a) / (1 - theta)

        assert stats.kstest(ones, upper).pvalue > 1e-3
        assert stats.kstest(zeros, lower).pvalue > 1e-3


def test_categorical_conditional_noise_law():
    """argmax z̃ = b; each coordinate of the mixture over b is Gumbel(log θ_k), as z is."""
    logits = torch.tensor([1.0, -0.5, 0.2, -3.0], dtype=F64)
    log_theta = torch.log_softmax(logits, -1)
    gen = torch.Generator().manual_seed(22)
    n = 20000
    u = _base_noise("categorical", torch.rand(n, 4, generator=gen, dtype=F64), logits)
    v = _base_noise("categorical", torch.rand(n, 4, generator=gen, dtype=F64), logits)
    hard, index, _ = _hard("categorical", logits, u)
    zt = _conditional_noise("categorical", logits, v, hard)
    assert torch.equal(zt.argmax(-1), index)
    assert torch.equal(_relaxed_noise("categorical", logits, u).argmax(-1), index)
    for k in range(4):
        loc = log_theta[k].item()
        assert stats.kstest(zt[:, k].numpy(), stats.gumbel_r(loc=loc).cdf).pvalue > 1e-3
    # the maximum is a Gumbel at logsumexp log θ = 0, independent of the category
    top = zt.max(-1).values
    assert stats.kstest(top.numpy(), stats.gumbel_r.cdf).pvalue > 1e-3
    for k in range(3):
        assert stats.kstest(top[index == k].numpy(), stats.gumbel_r.cdf).pvalue > 1e-3


def test_float32_extreme_logits_finite():
    """Large |logits| in float32: conditional noise and the estimate stay finite."""
    logits = torch.tensor([-30.0, -5.0, 0.0, 5.0, 30.0]).requires_grad_()
    est = rebar(
        td.Bernoulli(logits=logits),
        lambda x: (x - 0.45) ** 2,
        64,
        generator=torch.Generator().manual_seed(0),
    )
    est.surrogate.backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(est.control_loss)
    cat = torch.tensor([[20.0, -20.0, 0.0], [0.0, 0.0, -40.0]]).requires_grad_()
    est = rebar(
        td.OneHotCategorical(logits=cat),
        lambda x: (x[..., 0] - 0.3) ** 2,
        64,
        generator=torch.Generator().manual_seed(0),
    )
    est.surrogate.backward()
    assert torch.isfinite(cat.grad).all()


def test_infinite_logits():
    """Probabilities of exactly 0 or 1 (logits ±inf): finite estimates, zero where the draw is
    certain, and finite control-loss gradients (∂/∂λ must not be 0·inf)."""
    for dist, f in (
        (td.Bernoulli(logits=torch.tensor([math.inf, -math.inf, 0.5])), lambda x: (x - 0.3) ** 2),
        (
            td.OneHotCategorical(
                logits=torch.tensor([[0.0, 1.0, -math.inf], [2.0, -math.inf, -math.inf]])
            ),
            lambda x: (x[..., 0] - 0.3) ** 2 + x[..., 1],
        ),
    ):
        logits = dist.logits.detach().requires_grad_()
        dist = type(dist)(logits=logits)
        control = RebarControl()
        est = rebar(dist, f, 8, control=control, generator=torch.Generator().manual_seed(0))
        est.control_loss.backward(inputs=list(control.parameters()))
        est.surrogate.backward()
        assert torch.isfinite(control.eta.grad) and torch.isfinite(control.log_temperature.grad)
        grad = logits.grad
        assert torch.isfinite(grad).all()
        certain = grad[:2] if grad.dim() == 1 else grad[1]
        assert torch.equal(certain, torch.zeros_like(certain))


# --------------------------------------------------------------------------- API
def test_shapes_values_and_samples():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, generator=gen, dtype=F64)
    est = rebar(td.Bernoulli(logits=logits), lambda x: x**2, 5, generator=gen)
    assert est.samples.shape == (5, 2, 3) and est.value.shape == (2, 3)
    assert torch.equal(est.value, est.samples.mean(0))  # x² = x on {0, 1}
    assert est.surrogate.dim() == 0 and est.control_loss.dim() == 0
    # a joint f over the last batch dim; Independent looks through to the same
    est = rebar(td.Independent(td.Bernoulli(logits=logits), 1), lambda x: x.sum(-1), 4)
    assert est.samples.shape == (4, 2, 3) and est.value.shape == (2,)
    # Categorical: samples are indices, f gets one-hot; OneHotCategorical: one-hot samples
    cat = torch.randn(2, 5, dtype=F64)
    seen = []

    def f(x):
        seen.append(x.shape)
        return x[..., 0]

    est = rebar(td.Categorical(logits=cat), f, 3)
    assert est.samples.shape == (3, 2) and est.samples.dtype == torch.int64
    assert seen == [(3, 2, 5)] * 3 and est.value.shape == (2,)
    est = relax(
        td.Categorical(logits=cat), lambda x: (x == 1).to(F64), 3, control=RelaxControl(mlp(5))
    )
    assert est.samples.shape == (3, 2) and est.value.shape == (2,)
    est = relax(
        td.OneHotCategorical(logits=cat), lambda x: x[..., 1], 3, control=RelaxControl(mlp(5))
    )
    assert est.samples.shape == (3, 2, 5)
    assert torch.equal(est.value, est.samples[..., 1].mean(0))


def test_generator_determinism():
    logits = torch.tensor([0.2, -0.7, 1.5], dtype=F64, requires_grad=True)

    def run(seed):
        logits.grad = None
        gen = torch.Generator().manual_seed(seed)
        est = rebar(td.Bernoulli(logits=logits), bern_f_smooth_elementwise, 4, generator=gen)
        est.surrogate.backward()
        return est.samples, logits.grad.clone(), est.control_loss.detach()

    a, b, c = run(3), run(3), run(4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])


def bern_f_smooth_elementwise(x):
    return (x - 0.45) ** 2 + torch.sin(2 * x)


def test_gradient_reaches_model_and_not_from_control_loss():
    """The surrogate reaches the network producing the logits and f's own parameters (with
    ∇f(b)); control_loss.backward(inputs=control params) touches nothing else."""
    torch.manual_seed(0)
    model = nn.Linear(2, 3).double()
    scale = torch.tensor(1.5, dtype=F64, requires_grad=True)
    control = RebarControl().double()
    x = torch.randn(4, 2, dtype=F64)

    def f(b):
        return scale * (b - 0.3) ** 2

    est = rebar(
        td.Bernoulli(logits=model(x)),
        f,
        2,
        control=control,
        generator=torch.Generator().manual_seed(1),
    )
    est.control_loss.backward(inputs=list(control.parameters()))
    assert model.weight.grad is None and scale.grad is None
    assert control.eta.grad is not None and control.log_temperature.grad is not None
    est.surrogate.backward()
    assert model.weight.grad is not None and torch.isfinite(model.weight.grad).all()
    expected = ((est.samples - 0.3) ** 2).sum() / 2  # ∇_scale of Σ_batch mean f(b)
    torch.testing.assert_close(scale.grad, expected)


def test_frozen_controls_and_no_graph():
    """Without trainable controls the control loss is a detached number; the estimate is the
    same as with trainable ones at the same values."""
    logits = torch.tensor([0.2, -0.7], dtype=F64, requires_grad=True)
    grads = []
    for requires_grad in (False, True):
        logits.grad = None
        control = RebarControl(eta=0.9, requires_grad=requires_grad).double()
        est = rebar(
            td.Bernoulli(logits=logits),
            bern_f_smooth_elementwise,
            8,
            control=control,
            generator=torch.Generator().manual_seed(2),
        )
        assert est.control_loss.requires_grad == requires_grad
        est.surrogate.backward()
        grads.append(logits.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_errors():
    d = td.Bernoulli(logits=torch.zeros(3))
    ctrl = RelaxControl(Elementwise())
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=rf"rebar: num_samples .*{bad!r}"):
            rebar(d, lambda x: x, bad)
        with pytest.raises(ValueError, match=r"relax: num_samples"):
            relax(d, lambda x: x, bad, control=ctrl)
    with pytest.raises(ValueError, match=r"rebar: dist must be a Bernoulli.*Normal"):
        rebar(td.Normal(0.0, 1.0), lambda x: x)
    with pytest.raises(ValueError, match=r"relax: dist must be a Bernoulli.*Poisson"):
        relax(td.Poisson(1.0), lambda x: x, control=ctrl)
    with pytest.raises(ValueError, match="rebar: control must be a RebarControl, got RelaxControl"):
        rebar(d, lambda x: x, control=ctrl)
    with pytest.raises(ValueError, match="relax: control must be a RelaxControl, got NoneType"):
        relax(d, lambda x: x, control=None)
    with pytest.raises(ValueError, match=r"rebar: f must return .*\(2, 3\).*got \(2, 4\)"):
        rebar(d, lambda x: torch.zeros(2, 4), 2)
    with pytest.raises(ValueError, match="rebar: f on relaxed inputs carries no gradient"):
        rebar(d, lambda x: x.detach().round(), 2)
    scale = torch.tensor(2.0, requires_grad=True)  # differentiable in a parameter, not in x
    with pytest.raises(ValueError, match="rebar: f on relaxed inputs carries no gradient"):
        rebar(d, lambda x: scale * x.detach().round(), 2)
    with pytest.raises(ValueError, match=r"relax: control\.net carries no gradient"):
        relax(d, lambda x: x, 2, control=RelaxControl(lambda x: x.detach() ** 2))
    with pytest.raises(ValueError, match=r"relax: the control must return .*\(2, 3\).*\(2, 3, 2\)"):
        relax(d, lambda x: x, 2, control=RelaxControl(lambda x: torch.stack([x, x], -1)))
    with pytest.raises(ValueError, match=r"relax: generator must be a torch\.Generator"):
        relax(d, lambda x: x, control=ctrl, generator=0)
    with pytest.raises(ValueError, match="RelaxControl: give a surrogate 'net'"):
        RelaxControl()
    with pytest.raises(ValueError, match="RelaxControl: net must be callable, got int"):
        RelaxControl(3)
    with pytest.raises(ValueError, match="RebarControl: eta must be finite, got nan"):
        RebarControl(eta=float("nan"))
    with pytest.raises(ValueError, match="RelaxControl: log_temperature must be finite, got inf"):
        RelaxControl(Elementwise(), log_temperature=math.inf)
