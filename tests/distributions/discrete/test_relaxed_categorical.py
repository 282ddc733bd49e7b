"""ExpRelaxedCategorical, RelaxedOneHotCategorical and RelaxedOneHotCategoricalStraightThrough.

References are independent of the implementation:

* the Concrete density written out in mpmath at 50 digits (Maddison et al. 2017, eq. (2):
  ``log Γ(K) + (K−1) log τ + Σ log p_k − (τ+1) Σ log x_k − K log Σ p_k x_k^{−τ}``; the
  ExpConcrete adds ``Σ y_k``), at hard corners;
* expectations ``E[f(X)]`` for K = 3 as 2-D integrals over the Gumbel differences
  ``(D₂, D₃) = (G₂ − G₁, G₃ − G₁)``, whose joint density ``2e^{−d₂−d₃}/(1 + e^{−d₂} + e^{−d₃})³``
  (the bivariate logistic) has the conditional CDF ``P(D₃ ≤ c | d₂) = A²/(A + e^{−c})²``,
  ``A = 1 + e^{−d₂}``: the pair is the image of two uniforms, and the integral over the unit
  square is a product tanh-sinh (double-exponential) rule, which agrees with
  ``scipy.integrate.dblquad`` to 3e-14 (checked when the test was written; dblquad takes ~12 s
  per integral) and with itself at half the step (checked here); derivatives by central finite
  differences;
* K = 2 reduces to the binary Concrete (1-D quadrature of a Logistic density).

Statistical checks use fixed seeds and state their false-failure rates.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import integrate, special, stats

import relaxed_checks
import rsample
from rsample import (
    ExpRelaxedCategorical,
    ExpRelaxedOneHotCategorical,
    RelaxedOneHotCategorical,
    RelaxedOneHotCategoricalStraightThrough,
)
from rsample.distributions.discrete.relaxed_bernoulli import min_temperature
from rsample.testing import (
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
)

F32, F64 = torch.float32, torch.float64
CLASSES = [ExpRelaxedCategorical, RelaxedOneHotCategorical, RelaxedOneHotCategoricalStraightThrough]
TEMPERATURES = [1e-3, 0.1, 1.0, 10.0]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _probs_grid() -> list[list[float]]:
    peaked = np.full(100, 1e-12)
    peaked[0], peaked[1:50] = 0.5, 0.5 / 49
    return [
        [1e-12, 1 - 1e-12],
        [0.5, 0.5],
        [1e-12, 0.5, 0.5],
        [1 - 2e-12, 1e-12, 1e-12],
        [0.2, 0.3, 0.5],
        peaked.tolist(),
        [0.01] * 100,
    ]


GRID = [(tau, p) for tau in TEMPERATURES for p in _probs_grid()]
GRID_IDS = [f"tau{t:g}-K{len(p)}-{i % 7}" for i, (t, p) in enumerate(GRID)]


def _mp_concrete(tau: float, probs, x) -> float:
    """The Concrete log-density at ``x`` (as given, not renormalized), 50 digits."""
    with mpmath.workdps(50):
        p = [mpmath.mpf(v) for v in probs]
        total = sum(p)
        p = [v / total for v in p]
        t, k = mpmath.mpf(tau), len(p)
        xs = [mpmath.mpf(float(v)) for v in x]
        out = mpmath.loggamma(k) + (k - 1) * mpmath.log(t) + sum(mpmath.log(v) for v in p)
        out -= (t + 1) * sum(mpmath.log(v) for v in xs)
        out -= k * mpmath.log(sum(pk * xk ** (-t) for pk, xk in zip(p, xs)))
        return float(out)


def _mp_exp_concrete(tau: float, probs, y) -> float:
    """The ExpConcrete log-density at ``y``: the Concrete at ``e^y`` plus ``Σ y_k``, written in
    ``y`` (``−τ Σ y_k − K log Σ p_k e^{−τ y_k}``), 50 digits."""
    with mpmath.workdps(50):
        p = [mpmath.mpf(v) for v in probs]
        total = sum(p)
        p = [v / total for v in p]
        t, k = mpmath.mpf(tau), len(p)
        ys = [mpmath.mpf(float(v)) for v in y]
        out = mpmath.loggamma(k) + (k - 1) * mpmath.log(t) + sum(mpmath.log(v) for v in p)
        out -= t * sum(ys)
        out -= k * mpmath.log(sum(pk * mpmath.exp(-t * yk) for pk, yk in zip(p, ys)))
        return float(out)


def _both(cls, tau, probs, dtype=F64):
    """The distribution given ``probs`` and given (unnormalized) ``logits = log p + 3``."""
    p = torch.tensor(probs, dtype=dtype)
    t = torch.tensor(tau, dtype=dtype)
    return cls(t, probs=p), cls(t, logits=torch.log(p) + 3)


# --------------------------------------------------------------------------- float64 references
@pytest.mark.parametrize("tau,probs", GRID, ids=GRID_IDS)
def test_relaxed_one_hot_matches_mpmath_concrete(tau, probs):
    k = len(probs)
    by_probs, by_logits = _both(RelaxedOneHotCategorical, tau, probs)
    draws = by_probs.sample((4,), generator=_gen(1))
    vertex = np.full(k, 1e-12 / (k - 1))
    vertex[k // 2] = 1 - 1e-12
    x = torch.cat([draws, torch.full((1, k), 1.0 / k, dtype=F64), torch.from_numpy(vertex[None])])
    want = [_mp_concrete(tau, probs, row) for row in x.tolist()]
    for dist in (by_probs, by_logits):
        assert_close(dist.log_prob(x), want, rtol=1e-10, atol=1e-13, label="log_prob")
    _, lp = by_probs.rsample_and_log_prob((4,), generator=_gen(1))
    resolved = (draws > 1e-300).all(-1)  # draws whose components are not floored at tiny
    want = torch.tensor(want[:4], dtype=F64)
    assert_close(lp[resolved], want[resolved], rtol=1e-10, atol=1e-13, label="joint")


@pytest.mark.parametrize("tau,probs", GRID, ids=GRID_IDS)
def test_exp_relaxed_matches_mpmath_exp_concrete(tau, probs):
    k = len(probs)
    by_probs, by_logits = _both(ExpRelaxedCategorical, tau, probs)
    draws, lp = by_probs.rsample_and_log_prob((4,), generator=_gen(2))
    y = torch.cat([draws, torch.full((1, k), -math.log(k), dtype=F64)])
    want = [_mp_exp_concrete(tau, probs, row) for row in y.tolist()]
    for dist in (by_probs, by_logits):
        assert_close(dist.log_prob(y), want, rtol=1e-10, atol=1e-13, label="log_prob")
    assert_close(lp, want[:4], rtol=1e-10, atol=1e-13, label="rsample_and_log_prob")
    # the draw lies on the log-simplex
    assert_close(torch.logsumexp(draws, -1), 0.0, rtol=0, atol=1e-13, label="logsumexp")


@pytest.mark.parametrize("cls", CLASSES)
def test_float32_is_finite_and_close_to_float64(cls):
    for tau, probs in GRID:
        d32, _ = _both(cls, tau, probs, F32)
        d64 = cls(torch.tensor(tau, dtype=F32).double(), logits=d32._logits.double())
        x, lp = d32.rsample_and_log_prob((50,), generator=_gen(3))
        lp_value = d32.log_prob(x)
        assert torch.isfinite(x).all() and torch.isfinite(lp).all(), (tau, len(probs))
        assert torch.isfinite(lp_value).all(), (tau, len(probs))
        if cls is RelaxedOneHotCategoricalStraightThrough:
            continue
        # float32 rounds the log-values (|log x| up to 87, times τ + 1) and logits (≤ 28)
        log_x = x.double() if cls is ExpRelaxedCategorical else x.double().log()
        scale = ((1 + tau) * log_x.abs() + 30).sum(-1)
        err = (lp_value.double() - d64.log_prob(x.double())).abs()
        assert (err <= 1e-6 * scale).all(), (tau, len(probs), float((err / scale).max()))


# --------------------------------------------------------------------------- torch parity
@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("k", [3, 5])
def test_matches_torch(tau, k):
    logits = torch.linspace(-1.5, 2.0, k, dtype=F64) ** 2 - 1
    t = torch.tensor(tau, dtype=F64)
    pairs = [
        (RelaxedOneHotCategorical, td.RelaxedOneHotCategorical),
        (ExpRelaxedCategorical, td.relaxed_categorical.ExpRelaxedCategorical),
    ]
    for ours, theirs in pairs:
        torch.manual_seed(9)
        x_theirs = theirs(t, logits=logits).rsample((40,))
        torch.manual_seed(9)
        x_ours = ours(t, logits=logits).rsample((40,))
        assert_close(x_ours, x_theirs, rtol=1e-12, atol=1e-15, label=f"{ours.__name__} draw")
        assert_close(
            ours(t, logits=logits).log_prob(x_theirs),
            theirs(t, logits=logits).log_prob(x_theirs),
            rtol=1e-10,
            atol=1e-11,
            label=f"{ours.__name__} log_prob",
        )
        d, ref = ours(t, logits=logits), theirs(t, logits=logits)
        assert_close(d.logits, ref.logits, rtol=1e-14, atol=1e-15, label="logits")
        assert_close(d.probs, ref.probs, rtol=1e-14, label="probs")
        assert d.batch_shape == ref.batch_shape and d.event_shape == ref.event_shape
        assert d.support is ref.support
    assert ExpRelaxedOneHotCategorical is ExpRelaxedCategorical


# --------------------------------------------------------------------------- goodness of fit
def _chi_square_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    """Pearson's test with bins merged (in order of probability) to expected counts ≥ 5."""
    n = counts.sum()
    order = np.argsort(probs)
    obs, exp, acc_o, acc_e = [], [], 0.0, 0.0
    for i in order:
        acc_o, acc_e = acc_o + counts[i], acc_e + n * probs[i]
        if acc_e >= 5:
            obs.append(acc_o)
            exp.append(acc_e)
            acc_o = acc_e = 0.0
    exp[-1] += acc_e
    obs[-1] += acc_o
    return float(stats.chisquare(obs, exp).pvalue)


ARGMAX = [
    ([0.2, 0.3, 0.5], 1e-3),
    ([0.2, 0.3, 0.5], 0.5),
    ([0.2, 0.3, 0.5], 5.0),
    ([1e-3, 0.999], 10.0),
    (np.random.default_rng(0).dirichlet(np.ones(100)).tolist(), 1.0),
]


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("probs,tau", ARGMAX, ids=[f"K{len(p)}-tau{t:g}" for p, t in ARGMAX])
def test_argmax_is_exactly_categorical(probs, tau, dtype):
    """Gumbel-max for every τ: chi-square at false-failure rate 1e-4 per case."""
    n = 20_000
    for cls in CLASSES:
        dist = cls(torch.tensor(tau, dtype=dtype), probs=torch.tensor(probs, dtype=dtype))
        x = dist.sample((n,), generator=_gen(4))
        counts = np.bincount(x.argmax(-1).numpy(), minlength=len(probs))
        assert _chi_square_pvalue(counts, np.asarray(probs)) > 1e-4, cls.__name__
        if cls is RelaxedOneHotCategoricalStraightThrough:
            assert torch.equal(x.sum(-1), torch.ones(n, dtype=dtype))
            assert set(x.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("tau", [1e-3, 0.4, 3.0])
def test_log_ratios_are_logistic(tau, dtype):
    """τ(y_i − y_j) − (ℓ_i − ℓ_j) = G_i − G_j ~ Logistic(0, 1) for any K: KS at rate 1e-4."""
    logits = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=dtype)
    y = ExpRelaxedCategorical(torch.tensor(tau, dtype=dtype), logits=logits).sample(
        (20_000,), generator=_gen(5)
    )
    for i, j in [(0, 1), (2, 3)]:
        diff = tau * (y[:, i].double() - y[:, j].double()) - float(logits[i] - logits[j])
        assert_samples_match(diff, lambda v: torch.sigmoid(v), alpha=1e-4, label=f"{i}-{j}")


@pytest.mark.parametrize("tau,logits", [(0.3, (0.4, -0.2)), (1.0, (0.0, 1.5)), (4.0, (2.0, 0.0))])
def test_k2_marginal_is_relaxed_bernoulli(tau, logits):
    """For K = 2, x₁ is binary Concrete with log-odds ℓ₁ − ℓ₂: KS at rate 1e-4."""
    dist = RelaxedOneHotCategorical(torch.tensor(tau, dtype=F64), logits=torch.tensor(logits))
    x = dist.sample((20_000,), generator=_gen(6))[:, 0]
    delta = logits[0] - logits[1]
    assert_samples_match(
        x, lambda v: torch.from_numpy(special.expit(tau * special.logit(v.numpy()) - delta))
    )


def _k3_marginal_cdf(t: float, logits, tau: float) -> float:
    """P(x₁ ≤ t) for K = 3 by 1-D quadrature over D₂ of P(D₃ ≥ c(D₂) | D₂) (module docstring)."""
    l1, l2, l3 = logits
    log_r = math.log1p(-t) - math.log(t)
    d_star = tau * log_r - (l2 - l1)  # beyond it e^{a₂} ≥ r: x₁ ≤ t whatever D₃ is

    def integrand(d):
        a2 = (l2 - l1 + d) / tau
        c = tau * (log_r + math.log(-math.expm1(a2 - log_r))) - (l3 - l1)
        q_bar = special.expit(-(np.logaddexp(0.0, -d) + c))  # 1 − A/(A + e^{−c})
        return stats.logistic.pdf(d) * q_bar * (2 - q_bar)  # 1 − (A/(A + e^{−c}))²

    below, _ = integrate.quad(integrand, -60.0, d_star, epsabs=1e-13, epsrel=1e-12, limit=200)
    return below + special.expit(-d_star)


@pytest.mark.parametrize("tau", [0.3, 1.0, 3.0])
def test_k3_marginal_matches_quadrature(tau):
    """Empirical CDF of x₁ at 9 points within 5 binomial standard deviations (rate ~5e-6)."""
    logits = (0.3, -0.5, 1.0)
    n = 40_000
    x = RelaxedOneHotCategorical(torch.tensor(tau, dtype=F64), logits=torch.tensor(logits))
    x1 = x.sample((n,), generator=_gen(7))[:, 0].numpy()
    for t in np.quantile(x1, np.linspace(0.1, 0.9, 9)):
        f = _k3_marginal_cdf(float(t), logits, tau)
        assert abs((x1 <= t).mean() - f) <= 5 * math.sqrt(f * (1 - f) / n) + 1 / n, (t, f)


# --------------------------------------------------------------------------- pathwise gradients
def _tanh_sinh(h: float = 0.02, limit: float = 3.2):
    """Nodes z = π sinh t and weights for ∫ g(z) σ'(z) dz (the Logistic law) by the trapezoid
    rule in t: exponentially convergent, and exact in the tails (logit u = z exactly)."""
    t = np.arange(-limit, limit + h / 2, h)
    z = np.pi * np.sinh(t)
    return z, h * np.pi * np.cosh(t) * special.expit(z) * special.expit(-z)


def _k3_expectation(f_np, logits, temperature, h: float = 0.02) -> float:
    """E[f(X)] for K = 3 over (D₂, D₃) = (logit u, log u + log(√v/(1 − √v)))."""
    z, w = _tanh_sinh(h)
    log_u = -np.logaddexp(0.0, -z)  # log σ(z)
    half = 0.5 * log_u[None, :]  # log √v
    d2 = z[:, None]
    d3 = log_u[:, None] + half - np.log(-np.expm1(half))
    l1, l2, l3 = logits
    s = np.stack(np.broadcast_arrays(l1 + 0 * d3, l2 + d2 + 0 * d3, l3 + d3), -1) / temperature
    return float(np.sum(w[:, None] * w[None, :] * f_np(special.softmax(s, axis=-1))))


FUNCTIONS3 = {
    "x1^2": (lambda x: x[..., 0] ** 2, lambda x: x[..., 0] ** 2),
    "sin(3x1 + x2)": (
        lambda x: torch.sin(3 * x[..., 0] + x[..., 1]),
        lambda x: np.sin(3 * x[..., 0] + x[..., 1]),
    ),
    "x1*x3": (lambda x: x[..., 0] * x[..., 2], lambda x: x[..., 0] * x[..., 2]),
}


def test_k3_quadrature_is_converged():
    for tau in (0.4, 1.3):
        for _, f_np in FUNCTIONS3.values():
            a = _k3_expectation(f_np, (0.2, -0.3, 0.5), tau)
            b = _k3_expectation(f_np, (0.2, -0.3, 0.5), tau, h=0.01)
            assert abs(a - b) <= 1e-13
    total = _k3_expectation(lambda x: np.ones(x.shape[:-1]), (0.0, 1.0, 2.0), 0.5)
    assert abs(total - 1) <= 1e-13


def _make_k3(cls=RelaxedOneHotCategorical, name="logits"):
    def make(temperature, a, b, c):
        return cls(temperature.unsqueeze(-1), **{name: torch.stack([a, b, c], -1)})

    return make


K3_POINTS = [
    ("logits", {"temperature": 0.5, "a": 0.2, "b": -0.3, "c": 0.5}),
    ("logits", {"temperature": 1.3, "a": 1.5, "b": 0.0, "c": -1.0}),
    ("probs", {"temperature": 0.8, "a": 0.2, "b": 0.3, "c": 0.5}),
]


@pytest.mark.parametrize("fname", list(FUNCTIONS3))
@pytest.mark.parametrize("name,params", K3_POINTS, ids=["logits-a", "logits-b", "probs"])
def test_k3_pathwise_gradient_matches_quadrature(name, params, fname):
    """Every parameter within 5 Monte Carlo standard errors (false-failure rate ~6e-7 each)."""
    f, f_np = FUNCTIONS3[fname]

    def expectation(temperature, a, b, c):
        logits = (a, b, c) if name == "logits" else tuple(math.log(v) for v in (a, b, c))
        return _k3_expectation(f_np, logits, temperature)

    assert_pathwise_gradient(
        _make_k3(name=name), params, f, expectation, n=100_000, label=f"K=3 {name} {fname}"
    )


def test_exp_relaxed_pathwise_gradient_matches_quadrature():
    def expectation(temperature, a, b, c):
        return _k3_expectation(lambda x: np.tanh(np.log(x[..., 1]) / 4), (a, b, c), temperature)

    params = {"temperature": 0.7, "a": 0.2, "b": -0.3, "c": 0.5}
    f = lambda y: torch.tanh(y[..., 1] / 4)  # noqa: E731
    assert_pathwise_gradient(_make_k3(ExpRelaxedCategorical), params, f, expectation, n=100_000)


def test_k2_pathwise_gradient_matches_binary_quadrature():
    def make(temperature, a, b):
        return RelaxedOneHotCategorical(temperature.unsqueeze(-1), logits=torch.stack([a, b], -1))

    def expectation(temperature, a, b):
        ref = stats.logistic((a - b) / temperature, 1 / temperature)
        value, _ = integrate.quad(
            lambda y: np.sin(3 * special.expit(y)) * ref.pdf(y), -np.inf, np.inf, epsabs=1e-13
        )
        return value

    params = {"temperature": 0.6, "a": 0.3, "b": -0.4}
    assert_pathwise_gradient(make, params, lambda x: torch.sin(3 * x[..., 0]), expectation)


# --------------------------------------------------------------------------- straight-through
def test_straight_through_is_one_hot_forward_and_relaxed_backward():
    for dtype in (F32, F64):
        logits = torch.tensor([[0.3, -1.0, 2.0, 0.1], [1.0, 1.0, 1.0, 1.0]], dtype=dtype)
        logits.requires_grad_()
        tau = torch.tensor(0.7, dtype=dtype, requires_grad=True)
        w = torch.tensor([0.5, -1.0, 2.0, 0.3], dtype=dtype)
        st = RelaxedOneHotCategoricalStraightThrough(tau, logits=logits)
        hard = st.rsample((6,), generator=_gen(8))
        soft = RelaxedOneHotCategorical(tau, logits=logits).rsample((6,), generator=_gen(8))
        assert set(hard.detach().unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(hard.detach().sum(-1), torch.ones(6, 2, dtype=dtype))
        assert torch.equal(hard.detach().argmax(-1), soft.detach().argmax(-1))
        g_hard = torch.autograd.grad((hard * w).sum(), (logits, tau))
        g_soft = torch.autograd.grad((soft * w).sum(), (logits, tau))
        for a, b in zip(g_hard, g_soft):
            assert torch.equal(a, b)
        hard2, lp = st.rsample_and_log_prob((6,), generator=_gen(8))
        _, lp_soft = RelaxedOneHotCategorical(tau, logits=logits).rsample_and_log_prob(
            (6,), generator=_gen(8)
        )
        assert torch.equal(hard2.detach(), hard.detach()) and torch.equal(lp, lp_soft)
        assert not st.sample().requires_grad
    assert RelaxedOneHotCategoricalStraightThrough.rsample_kind == "straight_through"
    assert RelaxedOneHotCategoricalStraightThrough.has_rsample
    for cls in (ExpRelaxedCategorical, RelaxedOneHotCategorical):
        assert cls.rsample_kind == "relaxed" and cls.has_rsample


# --------------------------------------------------------------------------- low temperature
@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("cls", CLASSES)
def test_low_temperature_is_finite(cls, dtype):
    """Draws, log-densities and gradients finite down to min_temperature; every row of the batch
    has its own parameters (the derivative in τ of a draw is ~|ℓ|/τ², and a sum over many rows
    could overflow where each does not)."""
    logits = torch.tensor([-1e4, -30.0, 0.0, 0.5, 3.0, 1e4], dtype=dtype)
    for tau in (1e-3, 1e-6, min_temperature(dtype)):
        leaf_l = logits.expand(32, 6).clone().requires_grad_()
        leaf_t = torch.full((32, 1), tau, dtype=dtype, requires_grad=True)
        dist = cls(leaf_t, logits=leaf_l)
        x, lp = dist.rsample_and_log_prob(generator=_gen(9))
        lp_value = dist.log_prob(x)
        for name, t in [("draw", x), ("rsample_and_log_prob", lp), ("log_prob", lp_value)]:
            assert torch.isfinite(t).all(), (name, tau)
        f = (x[..., 2] + torch.sin(x[..., 3])).sum()
        for loss in (f, lp.sum(), lp_value.sum()):
            grads = torch.autograd.grad(
                loss, (leaf_l, leaf_t), allow_unused=True, retain_graph=True
            )
            for g in grads:
                assert g is None or torch.isfinite(g).all(), (tau, loss)


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_zero_temperature_limit_is_one_hot_categorical(dtype):
    probs = torch.tensor([0.2, 0.3, 0.5], dtype=dtype)
    dist = RelaxedOneHotCategorical(torch.tensor(1e-6, dtype=dtype), probs=probs)
    x, lp = dist.rsample_and_log_prob((20_000,), generator=_gen(10))
    assert (x.max(-1).values > 1 - 1e-4).float().mean() > 0.999  # only near-ties are not
    assert torch.isfinite(lp).all() and (x > 0).all()
    counts = np.bincount(x.argmax(-1).numpy(), minlength=3)
    assert _chi_square_pvalue(counts, probs.double().numpy()) > 1e-4


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_temperature_below_the_floor_or_not_positive_raises(dtype):
    floor = min_temperature(dtype)
    for cls in CLASSES:
        cls(torch.tensor(floor, dtype=dtype), logits=torch.zeros(3, dtype=dtype))
        for bad in (floor / 2, 0.0, -0.5, math.inf, math.nan):
            with pytest.raises(ValueError, match=rf"{cls.__name__}: argument 'temperature'"):
                cls(torch.tensor(bad, dtype=dtype), logits=torch.zeros(3, dtype=dtype))


def test_zero_probabilities_are_never_drawn_and_stay_nan_free():
    probs = torch.tensor([0.0, 0.4, 0.6], dtype=F64, requires_grad=True)
    for cls in CLASSES:
        dist = cls(torch.tensor(0.5, dtype=F64), probs=probs)
        x, lp = dist.rsample_and_log_prob((2000,), generator=_gen(11))
        assert (x.argmax(-1) != 0).all()
        lp_value = dist.log_prob(x)
        assert torch.isfinite(lp).all() and torch.isfinite(lp_value).all()
        (g,) = torch.autograd.grad(x.sum() + lp.sum() + lp_value.sum(), probs, allow_unused=True)
        assert g is None or not torch.isnan(g).any()
        assert torch.isfinite(dist.logits).all()


# --------------------------------------------------------------------------- plumbing
def test_temperature_shapes_follow_torch():
    logits = torch.randn(4, 3, dtype=F64)
    # torch's docstring example: a 1-element temperature is a scalar; the batch is the logits'
    ex = RelaxedOneHotCategorical(torch.tensor([2.2]), torch.tensor([0.1, 0.2, 0.3, 0.4]))
    assert ex.batch_shape == () and ex.sample().shape == (4,)
    per_row = torch.tensor([[0.1], [1.0], [5.0], [20.0]], dtype=F64)
    for cls in CLASSES:
        d = cls(per_row, logits=logits)
        assert d.batch_shape == (4,) and d.temperature.shape == (4,)
        x = d.rsample((2,), generator=_gen(12))
        lp = d.log_prob(x)
        for row in range(4):  # row i behaves like a distribution with scalar temperature i
            single = cls(per_row[row, 0], logits=logits[row])
            assert_close(lp[:, row], single.log_prob(x[:, row]), rtol=1e-13)
        assert cls(0.5, logits=logits).temperature.shape == ()
        wide = cls(torch.full((2, 1, 1), 0.5, dtype=F64), logits=logits)
        assert wide.batch_shape == (2, 4) and wide.sample().shape == (2, 4, 3)
        with pytest.raises(ValueError, match=r"'temperature' must be a scalar or have size 1"):
            cls(torch.ones(4, dtype=F64), logits=logits)
        with pytest.raises(ValueError, match="do not broadcast"):
            cls(torch.ones(3, 1, dtype=F64), logits=logits)
        with pytest.raises(ValueError, match="at least one dimension"):
            cls(0.5, logits=torch.tensor(1.0))


@pytest.mark.parametrize("cls", CLASSES)
def test_shapes_generator_and_rsample_and_log_prob(cls):
    dist = cls(torch.tensor(0.8, dtype=F64), probs=torch.tensor([[0.1, 0.9], [0.5, 0.5]]))
    assert dist.batch_shape == (2,) and dist.event_shape == (2,) and dist.param_shape == (2, 2)
    x = dist.rsample((4, 5), generator=_gen(2))
    assert x.shape == (4, 5, 2, 2) and dist.log_prob(x).shape == (4, 5, 2)
    assert torch.equal(x, dist.sample((4, 5), generator=_gen(2)))
    assert not torch.equal(x, dist.sample((4, 5), generator=_gen(3)))
    x2, lp = dist.rsample_and_log_prob((4, 5), generator=_gen(2))
    assert torch.equal(x2, x) and lp.shape == (4, 5, 2)
    if cls is not RelaxedOneHotCategoricalStraightThrough:
        assert_close(lp, dist.log_prob(x.clone()), rtol=1e-10, atol=1e-10)
    state = torch.get_rng_state()
    dist.sample(generator=_gen(1))
    assert torch.equal(state, torch.get_rng_state())
    assert dist.sample().dtype == F64  # the temperature's dtype wins over float32 probs
    assert isinstance(dist, td.Distribution) and isinstance(dist, rsample.Distribution)


@pytest.mark.parametrize("cls", CLASSES)
def test_expand_is_a_view(cls):
    for name in ("logits", "probs"):
        param = torch.tensor([0.2, 0.3, 0.5], dtype=F64)
        dist = cls(torch.tensor(0.5, dtype=F64), **{name: param})
        big = dist.expand((4, 2))
        assert big.batch_shape == (4, 2) and big.event_shape == (3,)
        assert big.sample().shape == (4, 2, 3)
        assert big._temperature is dist._temperature
        assert big._logits.data_ptr() == dist._logits.data_ptr()
        assert_close(big.probs, dist.probs.expand(4, 2, 3), rtol=1e-15)
        x = dist.sample((4, 2), generator=_gen(0))
        assert_close(big.log_prob(x), dist.log_prob(x), rtol=0)


INVALID = [
    ("probs", [0.5, -0.1, 0.6]),
    ("probs", [0.5, math.nan, 0.5]),
    ("probs", [0.0, 0.0, 0.0]),
    ("logits", [0.0, math.inf, 1.0]),
    ("logits", [0.0, -math.inf, 1.0]),
    ("logits", [math.nan, 0.0, 1.0]),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("name,value", INVALID)
def test_invalid_arguments_raise_value_error_naming_them(cls, name, value):
    t = torch.tensor(0.5, dtype=F64)
    param = torch.tensor(value, dtype=F64)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: argument '{name}'.*found invalid"):
        cls(t, **{name: param})
    with pytest.raises(ValueError, match=rf"{cls.__name__}: exactly one of 'probs' or 'logits'"):
        cls(t)
    with pytest.raises(ValueError, match="got both"):
        cls(t, probs=torch.ones(3) / 3, logits=torch.zeros(3))


def test_out_of_support_values_raise():
    dist = RelaxedOneHotCategorical(torch.tensor(0.5), logits=torch.zeros(3))
    for bad in ([0.5, 0.6, -0.1], [0.2, 0.2, 0.2], [math.nan, 0.5, 0.5]):
        with pytest.raises(ValueError, match="RelaxedOneHotCategorical: argument 'value'"):
            dist.log_prob(torch.tensor(bad))
    with pytest.raises(ValueError, match="trailing shape"):
        dist.log_prob(torch.tensor([0.5, 0.5]))
    exp = ExpRelaxedCategorical(torch.tensor(0.5), logits=torch.zeros(3))
    with pytest.raises(ValueError, match=r"ExpRelaxedCategorical: argument 'value'.*finite"):
        exp.log_prob(torch.tensor([0.0, -math.inf, -1.0]))
    # a one-hot value scores as its floored neighbour, finitely
    assert torch.isfinite(dist.log_prob(torch.tensor([0.0, 1.0, 0.0])))


def test_own_draw_skips_the_support_check_only_while_unmodified():
    dist = RelaxedOneHotCategorical(torch.tensor(0.5), logits=torch.zeros(3))
    x = dist.sample((2,))
    dist.log_prob(x)
    x[0, 0] = -1.0
    with pytest.raises(ValueError, match="argument 'value'"):
        dist.log_prob(x)


def test_float32_draws_with_many_categories_pass_the_simplex_check():
    """softmax, not exp(log_softmax): the sum stays within torch's 1e-6 tolerance."""
    for k in (100, 10_000):
        logits = torch.randn(50, k, generator=_gen(13))
        x = RelaxedOneHotCategorical(torch.tensor(0.5), logits=logits).sample(generator=_gen(14))
        assert td.constraints.simplex.check(x).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_and_copies(cls):
    dist = cls(torch.tensor([[0.4], [2.0]], dtype=F64), probs=torch.tensor([0.2, 0.3, 0.5]))
    relaxed_checks.check_round_trips(dist)


@pytest.mark.parametrize("cls", CLASSES)
def test_torch_compile_fullgraph(cls):
    logits = torch.tensor([[0.3, -1.2, 2.0], [0.0, 0.5, 0.1]])
    relaxed_checks.check_torch_compile_fullgraph(cls, logits, (8, 2))


def test_vmap_of_log_prob():
    t = torch.tensor(0.7, dtype=F64)
    logits = torch.tensor([[0.1, -0.4, 0.0], [2.0, 1.0, -1.0]], dtype=F64)
    x = torch.tensor([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], dtype=F64)

    def log_prob(lg, v):
        return RelaxedOneHotCategorical(t, logits=lg).log_prob(v)

    out = torch.func.vmap(log_prob)(logits, x)
    assert_close(out, RelaxedOneHotCategorical(t, logits=logits).log_prob(x), rtol=1e-14)
