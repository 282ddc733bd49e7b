"""LogitRelaxedBernoulli, RelaxedBernoulli and RelaxedBernoulliStraightThrough.

References are independent of the implementation: the logit-space density is
``scipy.stats.logistic(ℓ/τ, 1/τ)``, the density on (0, 1) follows by the change of variables
``x = σ(y)`` evaluated in mpmath at 50 digits, expectations ``E[f(X)]`` are 1-D adaptive
quadratures of the Logistic density with central finite differences for their derivatives.
Statistical checks use fixed seeds; their false-failure rates are stated where they are made.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import special, stats

import relaxed_checks
import rsample
from rsample import LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedBernoulliStraightThrough
from rsample.distributions.discrete.relaxed_bernoulli import min_temperature
from rsample.testing import (
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
    quadrature_expectation,
)

F32, F64 = torch.float32, torch.float64
CLASSES = [LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedBernoulliStraightThrough]
TEMPERATURES = [1e-3, 0.1, 1.0, 10.0]
PROBS = [1e-12, 0.5, 1 - 1e-12]
LOGITS = [-30.0, 0.0, 3.0, 30.0]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _points():
    """(temperature, parameterization, value, logit) over the hard corners."""
    for tau in TEMPERATURES:
        for p in PROBS:
            yield tau, "probs", p, _logit(p)
        for logit in LOGITS:
            yield tau, "logits", logit, logit


POINTS = list(_points())
IDS = [f"tau{t:g}-{n}{v:g}" for t, n, v, _ in POINTS]
QUANTILES = np.array([1e-12, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6, 1 - 1e-12])


def _build(cls, tau, name, value, dtype=F64, **kwargs):
    return cls(torch.tensor(tau, dtype=dtype), **{name: torch.tensor(value, dtype=dtype)}, **kwargs)


def _mp_relaxed_log_prob(tau: float, logit: float, x: float) -> float:
    """log p_X(x) = log Logistic(ℓ/τ, 1/τ)(logit x) − log x − log(1 − x), at 50 digits."""
    with mpmath.workdps(50):
        t, x = mpmath.mpf(tau), mpmath.mpf(x)
        y = mpmath.log(x) - mpmath.log1p(-x)
        z = t * y - mpmath.mpf(logit)
        log_logistic = mpmath.log(t) - z - 2 * mpmath.log1p(mpmath.exp(-z))
        return float(log_logistic - mpmath.log(x) - mpmath.log1p(-x))


# --------------------------------------------------------------------------- float64 references
@pytest.mark.parametrize("tau,name,value,logit", POINTS, ids=IDS)
def test_logit_relaxed_matches_scipy_logistic(tau, name, value, logit):
    dist = _build(LogitRelaxedBernoulli, tau, name, value)
    ref = stats.logistic(logit / tau, 1 / tau)
    y = np.concatenate([ref.ppf(QUANTILES), [logit / tau - 1e4 / tau, logit / tau + 1e4 / tau]])
    yt = torch.tensor(y, dtype=F64)
    assert_close(dist.log_prob(yt), ref.logpdf(y), rtol=1e-10, atol=1e-13, label="log_prob")
    assert_close(dist.cdf(yt), ref.cdf(y), rtol=1e-10, atol=1e-300, label="cdf")
    q = torch.tensor(QUANTILES, dtype=F64)
    assert_close(dist.icdf(q), ref.ppf(QUANTILES), rtol=1e-10, atol=1e-9 / tau, label="icdf")
    assert_close(dist.mean, ref.mean(), rtol=1e-12, atol=1e-300, label="mean")
    assert_close(dist.mode, ref.mean(), rtol=1e-12, atol=1e-300, label="mode")
    assert_close(dist.variance, ref.var(), rtol=1e-12, label="variance")
    assert_close(dist.entropy(), ref.entropy(), rtol=1e-12, atol=1e-14, label="entropy")
    assert_close(dist.logits, logit, rtol=1e-15, label="logits")


@pytest.mark.parametrize("tau,name,value,logit", POINTS, ids=IDS)
def test_relaxed_matches_change_of_variables(tau, name, value, logit):
    dist = _build(RelaxedBernoulli, tau, name, value)
    ref = stats.logistic(logit / tau, 1 / tau)
    x = special.expit(ref.ppf(QUANTILES))
    x = x[(x > 0) & (x < 1)]  # float64 values strictly inside (0, 1)
    x = np.concatenate([x, [1e-300, 1e-17, 0.25, 1 - 2**-52]])
    want = [_mp_relaxed_log_prob(tau, logit, v) for v in x]
    xt = torch.tensor(x, dtype=F64)
    assert_close(dist.log_prob(xt), want, rtol=1e-10, atol=1e-12, label="log_prob")
    with mpmath.workdps(50):
        cdf = [
            float(mpmath.mpf(1) / (1 + mpmath.exp(logit - tau * mpmath.log(v / (1 - v)))))
            for v in map(mpmath.mpf, x)
        ]
        q = [1e-6, 0.3, 0.5, 0.9]
        icdf = [
            float(1 / (1 + mpmath.exp(-(logit + mpmath.log(v / (1 - v))) / tau)))
            for v in map(mpmath.mpf, q)
        ]
    assert_close(dist.cdf(xt), cdf, rtol=1e-10, atol=1e-300, label="cdf")
    assert_close(dist.icdf(torch.tensor(q, dtype=F64)), icdf, rtol=1e-12, label="icdf")


def test_relaxed_log_prob_at_the_end_points_is_that_of_the_clamped_neighbours():
    for dtype in (F32, F64):
        finfo = torch.finfo(dtype)
        for tau in (0.1, 1.0, 3.0):
            dist = _build(RelaxedBernoulli, tau, "logits", 0.7, dtype)
            ends = dist.log_prob(torch.tensor([0.0, 1.0], dtype=dtype))
            inner = dist.log_prob(torch.tensor([finfo.tiny, 1 - finfo.eps / 2], dtype=dtype))
            assert torch.equal(ends, inner) and torch.isfinite(ends).all()


@pytest.mark.parametrize("cls", [LogitRelaxedBernoulli, RelaxedBernoulli])
def test_float32_is_finite_and_close_to_float64(cls):
    for tau, name, value, _ in POINTS:
        d32 = _build(cls, tau, name, value, F32)
        # float64 with the same (float32) parameters: probs 1 − 1e-12 is 1 in float32
        d64 = cls(torch.tensor(tau, dtype=F32).double(), logits=d32.logits.double())
        x = d32.sample((400,), generator=_gen(1))
        assert torch.isfinite(x).all()
        lp32 = d32.log_prob(x)
        lp64 = d64.log_prob(x.double())
        assert torch.isfinite(lp32).all(), (tau, name, value)
        # float32 rounding of τ·y − ℓ: relative 1e-7 of |τy| + |ℓ| (|ℓ| ≤ 30, τ|y| ≤ 60).
        scale = lp64.abs() + 10
        assert ((lp32.double() - lp64).abs() <= 3e-5 * scale).all(), (tau, name, value)


# --------------------------------------------------------------------------- torch parity
MODERATE = [(0.3, 0.2), (1.0, 0.5), (2.5, 0.9), (0.7, 0.03)]


@pytest.mark.parametrize("tau,p", MODERATE)
def test_matches_torch(tau, p):
    t = torch.tensor(tau, dtype=F64)
    probs = torch.tensor([p, 1 - p, 0.5], dtype=F64)
    for ours, theirs in [
        (LogitRelaxedBernoulli, td.relaxed_bernoulli.LogitRelaxedBernoulli),
        (RelaxedBernoulli, td.RelaxedBernoulli),
    ]:
        torch.manual_seed(7)
        x_theirs = theirs(t, probs=probs).rsample((50,))
        torch.manual_seed(7)
        x_ours = ours(t, probs=probs).rsample((50,))
        # Same uniforms; torch clamps them to [eps, 1 − eps], rsample to [eps/4, 1 − eps/2].
        assert_close(x_ours, x_theirs, rtol=1e-12, atol=1e-15, label=f"{ours.__name__} draw")
        assert_close(
            ours(t, probs=probs).log_prob(x_theirs),
            theirs(t, probs=probs).log_prob(x_theirs),
            rtol=1e-10,
            atol=1e-12,
            label=f"{ours.__name__} log_prob",
        )
    d = RelaxedBernoulli(t, logits=probs)
    assert torch.equal(d.logits, probs) and torch.equal(d.probs, torch.sigmoid(probs))
    assert d.support is td.constraints.unit_interval
    assert LogitRelaxedBernoulli(t, logits=probs).support is td.constraints.real


# --------------------------------------------------------------------------- goodness of fit
GOF = [(1e-3, 0.3), (0.1, -2.0), (1.0, 0.0), (2.0, 4.0), (10.0, -1.0)]


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("tau,logit", GOF)
def test_logit_sample_is_logistic(tau, logit, dtype):
    """KS test at false-failure rate 1e-4 per case (fixed seeds: deterministic)."""
    dist = _build(LogitRelaxedBernoulli, tau, "logits", logit, dtype)
    y = dist.sample((20_000,), generator=_gen(11))
    ref = stats.logistic(logit / tau, 1 / tau)
    assert_samples_match(y, lambda v: torch.from_numpy(ref.cdf(v.numpy())), alpha=1e-4)


@pytest.mark.parametrize("tau,logit", [(0.1, -2.0), (1.0, 0.5), (3.0, 2.0)])
def test_relaxed_sample_matches_its_cdf(tau, logit):
    dist = _build(RelaxedBernoulli, tau, "logits", logit)
    x = dist.sample((20_000,), generator=_gen(12))
    ref = stats.logistic(logit / tau, 1 / tau)
    assert_samples_match(x, lambda v: torch.from_numpy(ref.cdf(special.logit(v.numpy()))))


@pytest.mark.parametrize("tau", [1e-6, 1e-3, 0.5, 5.0])
@pytest.mark.parametrize("p", [0.02, 0.5, 0.9])
def test_straight_through_value_is_bernoulli_for_every_temperature(tau, p):
    """P(Y > 0) = σ(ℓ) exactly; binomial count within 5 standard deviations (rate ~6e-7)."""
    n = 40_000
    dist = _build(RelaxedBernoulliStraightThrough, tau, "probs", p)
    h = dist.sample((n,), generator=_gen(13))
    assert set(h.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(h.sum()) - n * p) <= 5 * math.sqrt(n * p * (1 - p))


# --------------------------------------------------------------------------- pathwise gradients
FUNCTIONS = {
    "x^2": (lambda x: x * x, lambda x: x * x),
    "sin3x": (lambda x: torch.sin(3 * x), lambda x: np.sin(3 * x)),
}


def _expectation(f_np, temperature, logits=None, probs=None) -> float:
    """E[f(σ(Y))], Y ~ Logistic(ℓ/τ, 1/τ), by adaptive quadrature split at quantiles."""
    logit = logits if logits is not None else _logit(probs)
    ref = stats.logistic(logit / temperature, 1 / temperature)
    return quadrature_expectation(lambda y: f_np(special.expit(y)), ref)


GRAD_POINTS = [
    {"temperature": 0.3, "logits": 0.4},
    {"temperature": 1.0, "logits": -1.5},
    {"temperature": 2.5, "probs": 0.8},
    {"temperature": 0.6, "probs": 0.1},
]


@pytest.mark.parametrize("fname", list(FUNCTIONS))
@pytest.mark.parametrize(
    "params", GRAD_POINTS, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items())
)
def test_pathwise_gradient_matches_quadrature(params, fname):
    """Per parameter: MC mean of the pathwise gradient within 5 standard errors (rate ~6e-7)."""
    f, f_np = FUNCTIONS[fname]
    assert_pathwise_gradient(
        RelaxedBernoulli,
        params,
        f,
        lambda **p: _expectation(f_np, **p),
        n=100_000,
        label=f"RelaxedBernoulli {fname}",
    )


@pytest.mark.parametrize("params", GRAD_POINTS[:2], ids=["a", "b"])
def test_logit_pathwise_gradient_matches_quadrature(params):
    def expectation(temperature, logits):
        return quadrature_expectation(
            np.tanh, stats.logistic(logits / temperature, 1 / temperature)
        )

    assert_pathwise_gradient(LogitRelaxedBernoulli, params, torch.tanh, expectation, n=100_000)


# --------------------------------------------------------------------------- straight-through
def test_straight_through_is_hard_forward_and_relaxed_backward():
    for dtype in (F32, F64):
        logits = torch.linspace(-3, 3, 7, dtype=dtype).requires_grad_()
        tau = torch.tensor(0.7, dtype=dtype, requires_grad=True)
        w = torch.linspace(-1, 2, 7, dtype=dtype)
        st = RelaxedBernoulliStraightThrough(tau, logits=logits)
        h = st.rsample((5,), generator=_gen(3))
        soft = RelaxedBernoulli(tau, logits=logits).rsample((5,), generator=_gen(3))
        assert set(h.detach().unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(h.detach(), (soft.detach() > 0.5).to(dtype))
        g_st = torch.autograd.grad((h * w).sum(), (logits, tau))
        g_soft = torch.autograd.grad((soft * w).sum(), (logits, tau))
        for a, b in zip(g_st, g_soft):
            assert torch.equal(a, b)
        h2, lp = st.rsample_and_log_prob((5,), generator=_gen(3))
        _, lp_soft = RelaxedBernoulli(tau, logits=logits).rsample_and_log_prob(
            (5,), generator=_gen(3)
        )
        assert torch.equal(h2.detach(), h.detach()) and torch.equal(lp, lp_soft)
    assert RelaxedBernoulliStraightThrough.rsample_kind == "straight_through"
    assert RelaxedBernoulliStraightThrough.has_rsample
    assert RelaxedBernoulli.rsample_kind == "relaxed" and RelaxedBernoulli.has_rsample
    assert LogitRelaxedBernoulli.rsample_kind == "relaxed"
    assert not st.sample().requires_grad


# --------------------------------------------------------------------------- low temperature
@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("cls", CLASSES)
def test_low_temperature_is_finite(cls, dtype):
    """Draws, both log-densities and their gradients are finite down to min_temperature, for
    logits up to 1e4 in magnitude. Every draw has its own parameters (a batch): a sum of many
    per-draw derivatives of size ~|ℓ|/τ² could overflow where each one does not."""
    logits = torch.tensor([-1e4, -30.0, -2.0, 0.0, 0.5, 3.0, 30.0, 1e4], dtype=dtype)
    for tau in (1e-3, 1e-6, min_temperature(dtype)):
        leaf_l = logits.expand(64, 8).clone().requires_grad_()
        leaf_t = torch.full((64, 8), tau, dtype=dtype, requires_grad=True)
        dist = cls(leaf_t, logits=leaf_l)
        x, lp = dist.rsample_and_log_prob(generator=_gen(5))
        lp_value = dist.log_prob(x)
        for name, t in [("draw", x), ("rsample_and_log_prob", lp), ("log_prob", lp_value)]:
            assert torch.isfinite(t).all(), (name, tau)
        for loss in (x.sum(), torch.sin(x).sum(), lp.sum(), lp_value.sum()):
            grads = torch.autograd.grad(
                loss, (leaf_l, leaf_t), allow_unused=True, retain_graph=True
            )
            for g in grads:
                assert g is None or torch.isfinite(g).all(), (tau, loss)


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_zero_temperature_limit_is_bernoulli(dtype):
    """As τ → 0 the draws approach {0, 1} with P(1) = σ(ℓ); log-densities stay exact."""
    dist = _build(RelaxedBernoulli, 1e-6, "logits", 0.8, dtype)
    x, lp = dist.rsample_and_log_prob((20_000,), generator=_gen(6))
    near = torch.minimum(x, 1 - x) < 1e-4
    assert near.float().mean() > 0.99  # P(|Y| < 9.2) ≈ 2.3e-6/τ·... ≈ 3e-6
    p = torch.sigmoid(torch.tensor(0.8)).item()
    assert abs(float((x > 0.5).double().mean()) - p) < 5 * math.sqrt(p * (1 - p) / 20_000)
    assert torch.isfinite(lp).all()
    # the exact density at the draw, from its logit, vs the change of variables in mpmath
    y = LogitRelaxedBernoulli(dist.temperature, logits=dist.logits).sample((5,), generator=_gen(6))
    _, lp5 = dist.rsample_and_log_prob((5,), generator=_gen(6))
    if dtype == F64:
        with mpmath.workdps(50):
            want = []
            for v in y.tolist():
                v = mpmath.mpf(v)
                z = mpmath.mpf(1e-6) * v - mpmath.mpf(0.8)
                log_sig = -mpmath.log1p(mpmath.exp(-v)) - mpmath.log1p(mpmath.exp(v))
                want.append(
                    float(mpmath.log(1e-6) - z - 2 * mpmath.log1p(mpmath.exp(-z)) - log_sig)
                )
        assert_close(lp5, want, rtol=1e-9, label="exact log-density at τ = 1e-6")


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_temperature_below_the_floor_or_not_positive_raises(dtype):
    floor = min_temperature(dtype)
    assert floor == pytest.approx({F32: 1.3878e-17, F64: 1.9100e-152}[dtype], rel=1e-4)
    for cls in CLASSES:
        cls(torch.tensor(floor, dtype=dtype), logits=torch.zeros(2, dtype=dtype))
        for bad in (floor / 2, 0.0, -1.0, math.inf, math.nan):
            with pytest.raises(ValueError, match=rf"{cls.__name__}.*'temperature'"):
                cls(torch.tensor(bad, dtype=dtype), logits=torch.zeros(2, dtype=dtype))


# --------------------------------------------------------------------------- plumbing
@pytest.mark.parametrize("cls", CLASSES)
def test_shapes_generator_and_rsample_and_log_prob(cls):
    t = torch.tensor([[0.5], [2.0]], dtype=F64)
    probs = torch.tensor([0.1, 0.5, 0.9], dtype=F64)
    dist = cls(t, probs=probs)
    assert dist.batch_shape == (2, 3) and dist.event_shape == ()
    assert dist.param_shape == (2, 3) and dist.temperature.shape == (2, 1)
    x = dist.rsample((4, 5), generator=_gen(2))
    assert x.shape == (4, 5, 2, 3) and dist.log_prob(x).shape == (4, 5, 2, 3)
    assert torch.equal(x, dist.sample((4, 5), generator=_gen(2)))
    assert not torch.equal(x, dist.sample((4, 5), generator=_gen(3)))
    x2, lp = dist.rsample_and_log_prob((4, 5), generator=_gen(2))
    assert torch.equal(x2, x)
    if cls is not RelaxedBernoulliStraightThrough:
        inside = (x > 1e-300) & (x < 1 - 1e-15) if cls is RelaxedBernoulli else x == x
        assert_close(lp[inside], dist.log_prob(x.clone())[inside], rtol=1e-10, atol=1e-10)
    state = torch.get_rng_state()
    dist.sample(generator=_gen(1))
    assert torch.equal(state, torch.get_rng_state())
    scalar = cls(0.5, probs=0.3)
    assert scalar.batch_shape == () and scalar.sample().shape == ()
    assert scalar.temperature.dtype == torch.get_default_dtype()
    assert cls(torch.tensor(0.5, dtype=F64), logits=1.0).sample().dtype == F64
    # torch's docstring example: a 1-element temperature with 4 probabilities
    ex = cls(torch.tensor([2.2]), torch.tensor([0.1, 0.2, 0.3, 0.99]))
    assert ex.batch_shape == (4,) and ex.sample().shape == (4,)


@pytest.mark.parametrize("cls", CLASSES)
def test_expand_is_a_view_and_samples_alike(cls):
    dist = cls(torch.tensor(0.5, dtype=F64), logits=torch.tensor([0.3, -1.0], dtype=F64))
    big = dist.expand((3, 2))
    assert big.batch_shape == (3, 2) and big.logits.shape == (3, 2)
    assert big.logits.data_ptr() == dist.logits.data_ptr()
    assert big.temperature is dist.temperature
    assert big.sample().shape == (3, 2)
    assert_close(big.probs, torch.sigmoid(dist.logits).expand(3, 2), rtol=0)
    via_probs = cls(torch.tensor(0.5, dtype=F64), probs=torch.tensor([0.3, 0.6], dtype=F64))
    assert via_probs.expand((4, 2)).log_prob(torch.full((4, 2), 0.5, dtype=F64)).shape == (4, 2)


INVALID = [
    ({"temperature": 0.5, "probs": 1.5}, "probs"),
    ({"temperature": 0.5, "probs": -0.1}, "probs"),
    ({"temperature": 0.5, "probs": math.nan}, "probs"),
    ({"temperature": 0.5, "logits": math.inf}, "logits"),
    ({"temperature": 0.5, "logits": math.nan}, "logits"),
    ({"temperature": 0.0, "logits": 0.0}, "temperature"),
    ({"temperature": -2.0, "probs": 0.5}, "temperature"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("params,arg", INVALID)
def test_invalid_arguments_raise_value_error_naming_them(cls, params, arg):
    tensors = {k: torch.tensor([0.5, v], dtype=F64) for k, v in params.items()}
    with pytest.raises(ValueError, match=rf"{cls.__name__}: argument '{arg}'.*found invalid"):
        cls(**tensors)
    cls(**tensors, validate_args=False)  # unchecked when asked


@pytest.mark.parametrize("cls", CLASSES)
def test_both_or_neither_parameterization_and_bad_shapes_raise(cls):
    t = torch.tensor(0.5)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: exactly one of 'probs' or 'logits'"):
        cls(t)
    with pytest.raises(ValueError, match="got both"):
        cls(t, probs=torch.tensor(0.5), logits=torch.tensor(0.0))
    with pytest.raises(ValueError, match="do not broadcast"):
        cls(torch.ones(3), logits=torch.zeros(2))


def test_out_of_support_values_raise():
    dist = RelaxedBernoulli(torch.tensor(0.5), logits=torch.tensor(0.0))
    for bad in (1.5, -0.2, math.nan):
        with pytest.raises(ValueError, match="RelaxedBernoulli: argument 'value'"):
            dist.log_prob(torch.tensor(bad))
    with pytest.raises(ValueError, match="LogitRelaxedBernoulli: argument 'value'"):
        LogitRelaxedBernoulli(torch.tensor(0.5), logits=torch.tensor(0.0)).log_prob(
            torch.tensor(math.nan)
        )
    inf = LogitRelaxedBernoulli(torch.tensor(0.5), logits=torch.tensor(0.0)).log_prob(
        torch.tensor([-math.inf, math.inf])
    )
    assert torch.equal(inf, torch.full((2,), -math.inf))


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_and_copies(cls):
    dist = cls(torch.tensor(0.4, dtype=F64), probs=torch.tensor([0.2, 0.7], dtype=F64))
    relaxed_checks.check_round_trips(dist)


@pytest.mark.parametrize("cls", CLASSES)
def test_torch_compile_fullgraph(cls):
    relaxed_checks.check_torch_compile_fullgraph(cls, torch.tensor([0.3, -1.2, 2.0]), (8, 3))


def test_vmap_of_log_prob():
    t = torch.tensor(0.7, dtype=F64)
    logits = torch.tensor([[0.1, -0.4], [2.0, 1.0], [-3.0, 0.5]], dtype=F64)
    x = torch.tensor([[0.2, 0.9], [0.5, 0.4], [0.99, 0.01]], dtype=F64)

    def log_prob(lg, v):
        return RelaxedBernoulli(t, logits=lg).log_prob(v)

    out = torch.func.vmap(log_prob)(logits, x)
    assert_close(out, RelaxedBernoulli(t, logits=logits).log_prob(x), rtol=1e-14)
    assert isinstance(RelaxedBernoulli(t, logits=logits), td.Distribution)
    assert isinstance(RelaxedBernoulli(t, logits=logits), rsample.Distribution)
