"""rsample.Truncated: methods against scipy (truncnorm, and a hand-built truncation of scipy's
frozen families with survival-side formulas in the upper tail), goodness of fit, pathwise
gradients in the base parameters and the bounds against quadrature, float32, bad input, shapes,
pickling, torch.compile and the compiled (surrogate) gradient path.

Truncated is in ``DEDICATED_TESTS``: its table of cases (one scipy family truncated by hand
each) does not fit the generic one; its moments, computed by quadrature, are checked here
against mpmath's adaptive quadrature in ``x``. Statistical tests use fixed seeds:
Kolmogorov–Smirnov at alpha = 1e-4, gradient checks at 5 Monte Carlo standard errors
(false-failure rate about 6e-7 each).
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import integrate, stats

import rsample as D
from rsample import Truncated
from rsample.testing import (
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
    round_trips,
)

F64, F32 = torch.float64, torch.float32
INF = math.inf


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class TruncRef:
    """A scipy frozen distribution truncated by hand: ``pdf/Z`` with ``Z`` from the CDF, or from
    the survival function where the interval lies above the median (as scipy's ``sf`` is
    accurate there and ``cdf(b) − cdf(a)`` cancels)."""

    def __init__(self, frozen, low: float, high: float):
        lo, hi = frozen.support()
        self.f, self.a, self.b = frozen, max(low, lo), min(high, hi)
        self.Fa, self.Sa, self.Sb = frozen.cdf(self.a), frozen.sf(self.a), frozen.sf(self.b)
        self.upper = self.Sa < self.Fa
        self.Z = (self.Sa - self.Sb) if self.upper else (frozen.cdf(self.b) - self.Fa)

    def support(self):
        return self.a, self.b

    def logpdf(self, x):
        return self.f.logpdf(x) - np.log(self.Z)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        x = np.clip(x, self.a, self.b)
        if self.upper:
            return (self.Sa - self.f.sf(x)) / self.Z
        return (self.f.cdf(x) - self.Fa) / self.Z

    def ppf(self, p):
        p = np.asarray(p, float)
        if self.upper:
            return self.f.isf(self.Sb + (1 - p) * self.Z)
        return self.f.ppf(self.Fa + p * self.Z)


def _t(v, dtype=F64):
    return torch.tensor(v, dtype=dtype)


# (name, base factory taking a dtype, scipy frozen base, low, high)
CASES = [
    ("normal-center", lambda dt: D.Normal(_t(0.3, dt), _t(1.5, dt)), stats.norm(0.3, 1.5), -1, 2),
    ("normal-upper-tail", lambda dt: D.Normal(_t(0.0, dt), _t(1.0, dt)), stats.norm(), 8, 9),
    ("normal-lower-tail", lambda dt: D.Normal(_t(0.0, dt), _t(1.0, dt)), stats.norm(), -9, -8),
    (
        "normal-half-inf",
        lambda dt: D.Normal(_t(2.0, dt), _t(0.5, dt)),
        stats.norm(2, 0.5),
        2.5,
        INF,
    ),
    ("normal-far", lambda dt: D.Normal(_t(0.0, dt), _t(1.0, dt)), stats.norm(), 30, 31),
    ("gamma-upper-tail", lambda dt: D.Gamma(_t(2.0, dt), _t(1.0, dt)), stats.gamma(2), 60, 70),
    ("gamma-center", lambda dt: D.Gamma(_t(2.0, dt), _t(1.0, dt)), stats.gamma(2), 0.5, 3),
    (
        "gamma-small-shape-at-0",
        lambda dt: D.Gamma(_t(0.3, dt), _t(2.0, dt)),
        stats.gamma(0.3, scale=0.5),
        0,
        0.1,
    ),
    (
        "gamma-low-below-support",
        lambda dt: D.Gamma(_t(2.0, dt), _t(1.0, dt)),
        stats.gamma(2),
        -1,
        1,
    ),
    ("gamma-inf", lambda dt: D.Gamma(_t(5.0, dt), _t(1.0, dt)), stats.gamma(5), 10, INF),
    ("beta-center", lambda dt: D.Beta(_t(2.0, dt), _t(3.0, dt)), stats.beta(2, 3), 0.1, 0.6),
    ("beta-at-1", lambda dt: D.Beta(_t(0.5, dt), _t(0.5, dt)), stats.beta(0.5, 0.5), 0.99, 1),
    ("beta-upper", lambda dt: D.Beta(_t(2.0, dt), _t(5.0, dt)), stats.beta(2, 5), 0.95, 0.99),
    (
        "studentt-upper",
        lambda dt: D.StudentT(_t(3.0, dt), _t(0.0, dt), _t(1.0, dt)),
        stats.t(3),
        5,
        50,
    ),
    (
        "studentt-lower-inf",
        lambda dt: D.StudentT(_t(1.5, dt), _t(0.0, dt), _t(2.0, dt)),
        stats.t(1.5, 0, 2),
        -INF,
        -20,
    ),
    ("laplace-upper", lambda dt: D.Laplace(_t(0.0, dt), _t(1.0, dt)), stats.laplace(), 10, 12),
    ("laplace-kink", lambda dt: D.Laplace(_t(0.0, dt), _t(1.0, dt)), stats.laplace(), -1, 1),
    ("cauchy-upper", lambda dt: D.Cauchy(_t(0.0, dt), _t(1.0, dt)), stats.cauchy(), 100, 1e4),
    ("exponential-upper", lambda dt: D.Exponential(_t(2.0, dt)), stats.expon(scale=0.5), 5, 6),
    ("logistic-upper", lambda dt: D.Logistic(_t(0.0, dt), _t(1.0, dt)), stats.logistic(), 20, 25),
    ("gumbel-upper", lambda dt: D.Gumbel(_t(0.0, dt), _t(1.0, dt)), stats.gumbel_r(), 5, 8),
]
IDS = [c[0] for c in CASES]
PROBS = np.array([1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999])


def _n_draws(name: str) -> int:
    """Draws per KS test: the Beta and Student t quantiles (iterative incomplete-beta
    inverses, 50–250 µs each) get fewer; inversion of exact uniforms needs no more to fail."""
    return 1500 if name.startswith(("beta", "studentt")) else 10_000


def _build(case, dtype=F64, **kwargs):
    _, make, _, low, high = case
    return Truncated(make(dtype), low, high, **kwargs)


# --------------------------------------------------------------------------- methods
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_methods_match_scipy_float64(case):
    name, _, frozen, low, high = case
    dist, ref = _build(case), TruncRef(frozen, low, high)
    x_np = ref.ppf(PROBS)
    x = torch.tensor(x_np)
    assert_close(dist.log_prob(x), ref.logpdf(x_np), rtol=1e-10, atol=1e-10, label=f"{name} lp")
    assert_close(dist.cdf(x), ref.cdf(x_np), rtol=1e-10, label=f"{name} cdf")
    iqr = float(ref.ppf(0.75) - ref.ppf(0.25))
    assert_close(dist.icdf(torch.tensor(PROBS)), x_np, rtol=1e-10, atol=1e-10 * iqr, label=name)
    assert float(dist.cdf(_t(ref.a))) == 0 and float(dist.cdf(_t(ref.b))) == 1


@pytest.mark.parametrize("low,high", [(-1.0, 2.0), (8.0, 9.0), (-INF, -3.0), (1.0, INF)])
def test_normal_matches_scipy_truncnorm(low, high):
    dist = Truncated(D.Normal(_t(0.0), _t(1.0)), low, high)
    ref = stats.truncnorm(low, high)
    x_np = ref.ppf(PROBS)
    x = torch.tensor(x_np)
    assert_close(dist.log_prob(x), ref.logpdf(x_np), rtol=1e-10, atol=1e-10, label="logpdf")
    assert_close(dist.cdf(x), ref.cdf(x_np), rtol=1e-10, label="cdf")
    assert_close(dist.icdf(torch.tensor(PROBS)), x_np, rtol=1e-10, label="icdf")


@pytest.mark.parametrize("low,high", [(8.0, 9.0), (-1.0, 2.0), (37.0, 38.0)])
def test_normal_cdf_near_the_bound_against_mpmath(low, high):
    """Close to the near bound the CDF is a difference of two close tail logs; its relative
    error is about eps·|log F(a)|/(log F(x) − log F(a)) (scipy's truncnorm has the same)."""
    dist = Truncated(D.Normal(_t(0.0), _t(1.0)), low, high)
    upper = low > 0
    with mpmath.workdps(60):

        def side(x):
            x = mpmath.mpf(x)
            return mpmath.ncdf(-x) if upper else mpmath.ncdf(x)

        g_a, g_b = side(low), side(high)
        for delta in (1e-9, 1e-6, 1e-3, 0.3):
            x = low + delta
            exact = float((g_a - side(x)) / (g_a - g_b) if upper else (side(x) - g_a) / (g_b - g_a))
            log_gap = abs(float(mpmath.log(side(x)) - mpmath.log(g_a)))
            tol = 1e-12 + 8 * 2.2e-16 * (abs(float(mpmath.log(g_a))) + 1) / log_gap
            got = float(dist.cdf(_t(x)))
            assert abs(got - exact) <= tol * exact, (x, got, exact, tol)
            lp = float(mpmath.log(mpmath.npdf(x) / abs(g_a - g_b)))
            assert abs(float(dist.log_prob(_t(x))) - lp) <= 1e-12 * (1 + abs(lp))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_samples_goodness_of_fit(case):
    name, _, frozen, low, high = case
    dist, ref = _build(case), TruncRef(frozen, low, high)
    x = dist.sample((_n_draws(name),), generator=_gen(2024))
    assert ((x >= ref.a) & (x <= ref.b)).all()
    assert_samples_match(x, lambda v: torch.as_tensor(ref.cdf(v.numpy())), label=name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_is_finite_and_in_bounds(case):
    name, _, frozen, low, high = case
    dist = _build(case, F32)
    if name == "normal-far":  # 30σ: beyond float32's resolution of tail probabilities
        with pytest.raises(ValueError, match=r"Truncated.*resolve"):
            dist.sample()
        dist = _build(case, F32, validate_args=False)
    x = dist.sample((_n_draws(name) // 5,), generator=_gen(1))
    assert x.dtype == F32 and torch.isfinite(x).all()
    ref = TruncRef(frozen, low, high)
    assert ((x >= np.float32(ref.a)) & (x <= np.float32(ref.b))).all()
    assert torch.isfinite(dist.log_prob(x)).all(), name
    assert torch.isfinite(dist.cdf(x)).all()
    assert torch.isfinite(dist.icdf(torch.tensor([1e-6, 0.5, 0.999], dtype=F32))).all()


def test_mixed_sides_in_one_batch_match_separate_distributions():
    """A batch whose elements take different sides (fixed-shape path) agrees with each alone."""
    low, high = _t([-1.0, 8.0, -INF]), _t([2.0, 9.0, -8.5])
    dist = Truncated(D.Normal(_t(0.0), _t(1.0)), low, high)
    x = dist.sample((500,), generator=_gen(0))
    p = torch.rand(500, 3, generator=_gen(1), dtype=F64)
    for i in range(3):
        alone = Truncated(D.Normal(_t(0.0), _t(1.0)), low[i], high[i])
        assert_close(dist.log_prob(x)[:, i], alone.log_prob(x[:, i]), rtol=1e-15, label="lp")
        assert_close(dist.cdf(x)[:, i], alone.cdf(x[:, i]), rtol=1e-15, label="cdf")
        assert_close(dist.icdf(p)[:, i], alone.icdf(p[:, i]), rtol=1e-15, label="icdf")


@pytest.mark.parametrize("dtype,low", [(F64, 40.0), (F32, 12.0)])
def test_unresolvable_tail_mass_refuses_to_sample(dtype, low):
    """Both bounds so far in the tail that the dtype cannot resolve the probabilities sampling
    inverts: a ValueError under validation; log_prob and cdf stay accurate (mpmath)."""
    dist = Truncated(D.Normal(_t(0.0, dtype), _t(1.0, dtype)), low, low + 1)
    with pytest.raises(ValueError, match=r"Truncated.*resolve"):
        dist.rsample()
    x = low + 0.25
    with mpmath.workdps(50):
        s_a, s_b, s_x = (mpmath.ncdf(-mpmath.mpf(v)) for v in (low, low + 1, x))
        lp = float(mpmath.log(mpmath.npdf(x) / (s_a - s_b)))
        cdf = float((s_a - s_x) / (s_a - s_b))
    tol = 1e-12 if dtype == F64 else 1e-5
    assert abs(float(dist.log_prob(_t(x, dtype))) - lp) <= tol * (1 + abs(lp))
    assert abs(float(dist.cdf(_t(x, dtype))) - cdf) <= tol * cdf
    quiet = Truncated(D.Normal(_t(0.0, dtype), _t(1.0, dtype)), low, low + 1, validate_args=False)
    drawn = quiet.sample((10,))
    assert ((drawn >= low) & (drawn <= low + 1)).all()


def test_validation_off_scores_outside_as_impossible():
    dist = Truncated(D.Gamma(_t(2.0), _t(1.0)), 1.0, 3.0, validate_args=False)
    x = _t([0.5, 1.0, 2.0, 3.0, 4.0])
    lp, cdf = dist.log_prob(x), dist.cdf(x)
    assert lp[0] == -INF and lp[-1] == -INF and torch.isfinite(lp[1:-1]).all()
    assert cdf[0] == 0 and cdf[-1] == 1


def test_torch_base_works_like_rsample_base():
    ours = Truncated(D.Normal(_t(0.5), _t(2.0)), -1.0, 3.0)
    theirs = Truncated(td.Normal(_t(0.5), _t(2.0)), -1.0, 3.0)
    x = ours.sample((100,), generator=_gen(3))
    assert_close(theirs.log_prob(x), ours.log_prob(x), rtol=1e-13, label="lp")
    assert_close(theirs.cdf(x), ours.cdf(x), rtol=1e-12, label="cdf")
    loc = torch.tensor(0.5, dtype=F64, requires_grad=True)
    y = Truncated(td.Normal(loc, _t(2.0)), -1.0, 3.0).rsample((10,))
    y.sum().backward()
    assert loc.grad is not None and torch.isfinite(loc.grad)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: D.TanhNormal(p, _t(0.5), -2.0, 3.0),  # bounds kept as Python numbers
        lambda p: D.ContinuousBernoulli(logits=p, lims=(0.4, 0.6)),
        lambda p: D.Chi2(3 * p),  # a parameter that is a property
        lambda p: td.ContinuousBernoulli(probs=p / 2),
    ],
    ids=["TanhNormal", "ContinuousBernoulli", "Chi2", "torch-ContinuousBernoulli"],
)
def test_bases_with_configuration_are_rebuilt_faithfully(make):
    """The base is rebuilt from its parameters (for the implicit gradient and unvalidated
    scoring); its other constructor arguments must come along."""
    p = torch.tensor(0.7, dtype=F64, requires_grad=True)
    base = make(p)
    dist = Truncated(base, 0.25, 0.75)
    x = _t([0.3, 0.5, 0.7])
    expected = base.log_prob(x) - torch.log(base.cdf(_t(0.75)) - base.cdf(_t(0.25)))
    assert_close(dist.log_prob(x), expected, rtol=1e-12, atol=1e-12, label="log_prob")
    (grad,) = torch.autograd.grad(dist.rsample((50,), generator=_gen(0)).sum(), p)
    assert torch.isfinite(grad) and grad != 0


# --------------------------------------------------------------------------- gradients
def _gl(n: int):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return nodes, weights


def _expectation(frozen_of, f_np, pieces):
    """``E[f(X)]`` under ``frozen_of`` truncated to the union of ``pieces`` (a partition of
    [low, high] at the density's kinks), as ∫f·p/∫p by 200-point Gauss–Legendre per piece."""
    nodes, weights = _gl(200)

    def integral(fn):
        total = 0.0
        for a, b in pieces:
            x = 0.5 * (b - a) * nodes + 0.5 * (a + b)
            total += 0.5 * (b - a) * np.sum(weights * fn(x))
        return total

    pdf = frozen_of.pdf
    return integral(lambda x: f_np(x) * pdf(x)) / integral(pdf)


def _normal_make(loc, scale, low, high):
    return Truncated(D.Normal(loc, scale), low, high)


def _gamma_make(concentration, rate, low, high):
    return Truncated(D.Gamma(concentration, rate), low, high)


def _beta_make(concentration1, concentration0, low, high):
    return Truncated(D.Beta(concentration1, concentration0), low, high)


def _student_make(df, loc, scale, low, high):
    return Truncated(D.StudentT(df, loc, scale), low, high)


def _laplace_make(loc, scale, low, high):
    return Truncated(D.Laplace(loc, scale), low, high)


GRAD_CASES = [
    ("normal", _normal_make, lambda p: stats.norm(p["loc"], p["scale"]),
     {"loc": 0.3, "scale": 1.5, "low": -1.0, "high": 2.0}, np.tanh, torch.tanh),
    ("normal-upper", _normal_make, lambda p: stats.norm(p["loc"], p["scale"]),
     {"loc": 0.0, "scale": 1.0, "low": 2.0, "high": 3.0}, np.sin, torch.sin),
    ("gamma", _gamma_make, lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
     {"concentration": 2.0, "rate": 1.0, "low": 0.5, "high": 3.0}, np.sin, torch.sin),
    ("gamma-upper", _gamma_make, lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
     {"concentration": 2.0, "rate": 1.5, "low": 6.0, "high": 8.0}, np.tanh, torch.tanh),
    ("beta", _beta_make, lambda p: stats.beta(p["concentration1"], p["concentration0"]),
     {"concentration1": 2.0, "concentration0": 3.0, "low": 0.1, "high": 0.6},
     lambda x: x**2, lambda x: x**2),
    ("studentt", _student_make, lambda p: stats.t(p["df"], p["loc"], p["scale"]),
     {"df": 3.0, "loc": 0.0, "scale": 1.0, "low": 1.0, "high": 4.0}, np.tanh, torch.tanh),
    ("laplace-kink", _laplace_make, lambda p: stats.laplace(p["loc"], p["scale"]),
     {"loc": 0.2, "scale": 0.7, "low": -1.0, "high": 1.5}, np.sin, torch.sin),
]  # fmt: skip


@pytest.mark.parametrize("name,make,frozen,params,f_np,f_torch", GRAD_CASES,
                         ids=[c[0] for c in GRAD_CASES])  # fmt: skip
def test_pathwise_gradient_matches_quadrature(name, make, frozen, params, f_np, f_torch):
    """d/dθ E[f(X)] for every base parameter and both bounds (quadrature + finite differences).

    Fewer draws where the base's quantile and CDF derivatives are iterative incomplete-beta
    evaluations (about 1 ms per draw with per-draw parameters); the tolerance is in Monte Carlo
    standard errors, so the check keeps its false-failure rate."""
    n = {"beta": 1000, "studentt": 1000, "gamma": 20_000}.get(name.split("-")[0], 40_000)

    def expectation(**p):
        kinks = [p["loc"]] if name.startswith("laplace") else []
        cuts = sorted({p["low"], p["high"], *(k for k in kinks if p["low"] < k < p["high"])})
        return _expectation(frozen(p), f_np, list(itertools.pairwise(cuts)))

    assert_pathwise_gradient(
        make, params, f_torch, expectation, n=n, seed=11, label=f"Truncated {name}"
    )


def test_gradient_with_an_infinite_bound_matches_quadrature():
    def expectation(loc, scale, low, high):
        ref = stats.norm(loc, scale)
        z = ref.sf(low)
        value = integrate.quad(lambda x: np.tanh(x) * ref.pdf(x), low, INF, epsabs=1e-14)[0]
        return value / z

    def make(loc, scale, low):
        return Truncated(D.Normal(loc, scale), low, INF)

    assert_pathwise_gradient(
        make,
        {"loc": 0.0, "scale": 1.2, "low": 1.0},
        torch.tanh,
        lambda loc, scale, low: expectation(loc, scale, low, INF),
        n=40_000,
        seed=3,
        label="Truncated normal [1, inf)",
    )


def test_compiled_gradient_path_matches_the_implicit_engine(monkeypatch):
    """Under torch.compile the gradient comes from an in-graph surrogate, and the shapes are
    fixed (both sides evaluated); run that path eagerly and compare with the engine's."""
    params = {
        "loc": torch.tensor([0.3, 0.0], dtype=F64, requires_grad=True),
        "scale": torch.tensor([1.5, 1.0], dtype=F64, requires_grad=True),
        "low": torch.tensor([-1.0, 8.0], dtype=F64, requires_grad=True),
        "high": torch.tensor([2.0, 9.0], dtype=F64, requires_grad=True),
    }

    def grads():
        x = _normal_make(**params).rsample((300,), generator=_gen(4))
        return x, torch.autograd.grad(torch.sin(x).sum(), list(params.values()))

    x1, eager = grads()
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    x2, surrogate = grads()
    monkeypatch.undo()
    assert torch.equal(x1, x2)
    for a, b in zip(eager, surrogate):
        assert_close(b, a, rtol=1e-10, atol=1e-12, label="surrogate")


def test_torch_compile_fullgraph():
    torch._dynamo.reset()

    def step(loc, scale, low, high):
        dist = Truncated(D.Normal(loc, scale), low, high)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    values = [torch.full((3,), v, requires_grad=True) for v in (0.3, 1.5, -1.0, 2.0)]
    x, lp = compiled(*values)
    assert x.shape == (8, 3) and torch.isfinite(lp).all()
    lp.sum().backward()
    assert all(v.grad is not None and torch.isfinite(v.grad).all() for v in values)


def test_double_backward_is_refused():
    loc = torch.tensor(0.0, dtype=F64, requires_grad=True)
    scale = torch.tensor(1.0, dtype=F64, requires_grad=True)
    x = Truncated(D.Normal(loc, scale), -1.0, 1.0).rsample((5,))
    g, _ = torch.autograd.grad(x.sum(), [loc, scale], create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        g.backward()


# --------------------------------------------------------------------------- API
def test_shapes_graph_generator_expand_and_pickle():
    loc = torch.zeros(3, dtype=F64, requires_grad=True)
    low = torch.full((4, 1), -0.5, dtype=F64, requires_grad=True)
    dist = Truncated(D.Normal(loc, 1.0), low, 2.0)
    assert dist.batch_shape == (4, 3) and dist.event_shape == ()
    assert dist.has_rsample and Truncated.rsample_kind == "implicit"
    drawn = dist.sample((5, 2))
    assert drawn.shape == (5, 2, 4, 3) and drawn.grad_fn is None
    assert dist.log_prob(drawn).shape == (5, 2, 4, 3)
    x = dist.rsample((5,))
    assert x.shape == (5, 4, 3) and x.requires_grad
    g_loc, g_low = torch.autograd.grad(x.sum(), [loc, low])
    assert g_loc.shape == (3,) and g_low.shape == (4, 1)
    assert torch.isfinite(g_loc).all() and torch.isfinite(g_low).all()
    g1, g2 = _gen(3), _gen(3)
    assert torch.equal(dist.sample((7,), generator=g1), dist.sample((7,), generator=g2))
    x1, lp = dist.rsample_and_log_prob((100,), generator=_gen(5))
    assert_close(lp, dist.log_prob(x1.clone()), rtol=1e-13, label="joint")

    small = Truncated(D.Gamma(_t(2.0), _t(1.0)), 1.0, 3.0)
    big = small.expand((6, 2))
    assert big.batch_shape == (6, 2) and type(big) is Truncated
    y = big.sample(generator=_gen(0))
    assert_close(big.log_prob(y), small.log_prob(y), rtol=0, label="expand")
    assert big.low.data_ptr() == small.low.data_ptr()

    z = small.sample((3,)).clone()
    for clone in round_trips(small):
        assert type(clone) is Truncated
        assert torch.equal(clone.log_prob(z), small.log_prob(z))
    assert "Truncated(Gamma" in repr(small)


def _gamma_density(shape: str, rate: str):
    a, r = mpmath.mpf(shape), mpmath.mpf(rate)
    return lambda x: r**a * x ** (a - 1) * mpmath.exp(-r * x) / mpmath.gamma(a)


# Densities singular at a bound, where scipy's double-precision values put the reference
# quadrature off by ~1e-9: written in mpmath, with breakpoints graded towards the singularity.
_MPMATH_DENSITY = {
    "gamma-small-shape-at-0": (_gamma_density("0.3", "2"), [0, 1e-30, 1e-10, 1e-3, 0.1]),
}


def _reference_moments(name, frozen, low: float, high: float) -> tuple[float, float, float]:
    """Mean, variance and entropy of the truncation by mpmath's adaptive quadrature of the
    density in ``x`` (split at the median), independent of the quantile-space rule under
    test."""
    ref = TruncRef(frozen, low, high)
    median = float(frozen.median())
    edges = [ref.a, *([median] if ref.a < median < ref.b else []), ref.b]
    with mpmath.workdps(30):  # node positions near a singular end need the digits
        if name in _MPMATH_DENSITY:
            density, edges = _MPMATH_DENSITY[name]
            z = mpmath.quad(density, edges)
            pdf = lambda x: density(x) / z  # noqa: E731
            log_pdf = lambda x: mpmath.log(pdf(x))  # noqa: E731
        else:
            pdf = lambda x: ref.pdf(float(x))  # noqa: E731
            log_pdf = lambda x: float(ref.logpdf(float(x)))  # noqa: E731
        mean = mpmath.quad(lambda x: x * pdf(x), edges)
        variance = mpmath.quad(lambda x: (x - mean) ** 2 * pdf(x), edges)
        entropy = -mpmath.quad(lambda x: log_pdf(x) * pdf(x), edges)
    return float(mean), float(variance), float(entropy)


# The cases whose variance is infinite (a Student t with 1.5 degrees of freedom over an
# unbounded lower tail): checked in test_heavy_tails_give_infinite_moments.
_INFINITE_VARIANCE = {"studentt-lower-inf"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moments_match_quadrature(case):
    name, _, frozen, low, high = case
    dist = _build(case)
    mean, variance, entropy = _reference_moments(name, frozen, low, high)
    sd = math.sqrt(variance) if name not in _INFINITE_VARIANCE else 1.0
    assert_close(dist.mean, mean, rtol=1e-10, atol=1e-10 * sd, label=f"{name} mean")
    if name not in _INFINITE_VARIANCE:
        assert_close(dist.variance, variance, rtol=1e-10, label=f"{name} variance")
    assert_close(dist.entropy(), entropy, rtol=1e-10, atol=1e-10, label=f"{name} entropy")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moments_float32_are_finite(case):
    dist = _build(case, F32)
    if bool(dist._deep):  # 30 σ out: beyond what float32 inversion resolves
        with pytest.raises(ValueError, match="inversion can resolve"):
            dist.mean  # noqa: B018
        return
    values = [dist.mean, dist.entropy(), dist.mode]
    if case[0] not in _INFINITE_VARIANCE:
        values.append(dist.variance)
    for value in values:
        assert value.dtype == F32 and bool(torch.isfinite(value).all()), case[0]
    assert_close(dist.mean, _build(case).mean, rtol=1e-4, atol=1e-4, label=case[0])


def test_heavy_tails_give_infinite_moments():
    cauchy = D.Cauchy(_t(0.0), _t(1.0))
    right = Truncated(cauchy, 0.0, INF)
    assert float(right.mean) == INF and float(right.variance) == INF
    assert math.isfinite(float(right.entropy()))
    left = Truncated(cauchy, -INF, 3.0)
    assert float(left.mean) == -INF and float(left.variance) == INF
    assert math.isnan(float(Truncated(cauchy, -INF, INF).mean))  # the base's own value
    bounded = Truncated(cauchy, -1e3, 1e3)
    assert math.isfinite(float(bounded.variance))
    student = Truncated(D.StudentT(_t(1.5), _t(0.0), _t(2.0)), -INF, -20.0)
    assert math.isfinite(float(student.mean)) and float(student.variance) == INF


def test_mode_is_the_highest_density_point():
    cases = [
        (D.Normal(_t(0.3), _t(1.5)), -1.0, 2.0, 0.3),  # inside
        (D.Normal(_t(0.0), _t(1.0)), 8.0, 9.0, 8.0),  # the nearer bound
        (D.Gamma(_t(3.0), _t(1.0)), 5.0, 9.0, 5.0),
        (D.Beta(_t(0.5), _t(0.5)), 0.2, 0.9, 0.9),  # U-shaped: the bound nearer an edge
        (D.Beta(_t(0.5), _t(0.5)), 0.05, 0.9, 0.05),
        (D.Laplace(_t(1.0), _t(1.0)), -INF, 0.5, 0.5),
    ]
    for base, low, high, expected in cases:
        assert float(Truncated(base, low, high).mode) == pytest.approx(expected, rel=1e-15)


def test_moments_are_differentiable():
    """The moments' gradients in a base parameter and a bound against central differences."""

    def moments(loc, high):
        dist = Truncated(D.Normal(loc, _t(1.0)), -0.5, high)
        return torch.stack([dist.mean, dist.variance, dist.entropy()])

    loc, high = _t(0.3).requires_grad_(), _t(1.7).requires_grad_()
    jac = torch.autograd.functional.jacobian(moments, (loc, high))
    h = 1e-6
    for k, (dl, dh) in enumerate([(h, 0.0), (0.0, h)]):
        plus = moments(_t(0.3 + dl), _t(1.7 + dh))
        minus = moments(_t(0.3 - dl), _t(1.7 - dh))
        assert_close(jac[k], (plus - minus) / (2 * h), rtol=1e-6, atol=1e-8, label=str(k))


def test_moments_refuse_an_unresolvable_tail_mass():
    dist = Truncated(D.Normal(_t(0.0), _t(1.0)), -40.0, -39.0)
    assert math.isfinite(float(dist.log_prob(_t(-39.5))))
    with pytest.raises(ValueError, match="Truncated"):
        dist.mean  # noqa: B018


@pytest.mark.parametrize(
    "low,high,arg",
    [(1.0, 1.0, "high"), (2.0, 1.0, "high"), (math.nan, 1.0, "low"), (0.0, math.nan, "high")],
)
def test_bad_bounds_raise(low, high, arg):
    with pytest.raises(ValueError, match=rf"Truncated.*'{arg}'"):
        Truncated(D.Normal(0.0, 1.0), torch.tensor([0.0, low]), torch.tensor([1.0, high]))
    Truncated(D.Normal(0.0, 1.0), low, high, validate_args=False)


def test_interval_outside_the_support_raises():
    with pytest.raises(ValueError, match=r"Truncated.*support"):
        Truncated(D.Gamma(2.0, 1.0), -3.0, -1.0)
    with pytest.raises(ValueError, match=r"Truncated.*support"):
        Truncated(D.Beta(2.0, 1.0), 1.0, 2.0)


def test_unsupported_bases_raise():
    with pytest.raises(ValueError, match="univariate"):
        Truncated(D.Dirichlet(torch.ones(3)), 0.0, 1.0)
    with pytest.raises(ValueError, match="has no cdf"):
        Truncated(td.VonMises(0.0, 1.0), -1.0, 1.0)
    with pytest.raises(ValueError, match="has no icdf"):
        Truncated(td.Gamma(2.0, 1.0), 0.5, 3.0)  # torch's Gamma has a cdf, no icdf
    with pytest.raises(ValueError, match="continuous"):
        Truncated(td.Poisson(3.0), 1.0, 5.0)
    with pytest.raises(TypeError, match="arg_constraints"):
        Truncated(D.TransformedDistribution(D.Normal(0.0, 1.0), []), -1.0, 1.0)
    with pytest.raises(TypeError, match="distribution"):
        Truncated(3.0, 0.0, 1.0)


def test_out_of_support_values_raise():
    dist = Truncated(D.Normal(0.0, 1.0), -1.0, 1.0)
    for bad in (-1.5, 1.5, math.nan):
        with pytest.raises(ValueError, match="Truncated"):
            dist.log_prob(torch.tensor([0.0, bad]))
    with pytest.raises(ValueError, match="value"):
        dist.icdf(torch.tensor([0.5, 1.5]))
    x = dist.rsample((4,), generator=_gen(1))
    with torch.no_grad():
        x[0] = 5.0  # an in-place change: the draw is checked again
    with pytest.raises(ValueError, match="Truncated"):
        dist.log_prob(x)


# --------------------------------------------------------------------------- the tail protocol
def _mp_t_sf(df, x):
    """P(T > x) for Student's t: ½ I_{ν/(ν+x²)}(ν/2, ½) for x > 0 (DLMF 8.17.7)."""
    df, x = mpmath.mpf(df), mpmath.mpf(x)
    half = mpmath.betainc(df / 2, 0.5, 0, df / (df + x * x), regularized=True) / 2
    return half if x > 0 else 1 - half


# (rsample family, mpmath survival function S(x), mpmath density, points in both tails)
TAIL_FAMILIES = [
    (D.Normal(_t(0.5), _t(2.0)), lambda x: mpmath.ncdf(-(x - 0.5) / 2),
     lambda x: mpmath.npdf(x, 0.5, 2), [-60.0, -3.0, 0.7, 9.0, 70.0]),
    (D.Laplace(_t(0.5), _t(2.0)), lambda x: mpmath.exp(-(x - 0.5) / 2) / 2 if x > 0.5
     else 1 - mpmath.exp((x - 0.5) / 2) / 2, lambda x: mpmath.exp(-abs(x - 0.5) / 2) / 4,
     [-900.0, -3.0, 0.7, 9.0, 900.0]),
    (D.Logistic(_t(0.5), _t(2.0)), lambda x: 1 / (1 + mpmath.exp((x - 0.5) / 2)),
     lambda x: mpmath.exp(-(x - 0.5) / 2) / (2 * (1 + mpmath.exp(-(x - 0.5) / 2)) ** 2),
     [-900.0, -45.0, 0.7, 45.0, 900.0]),
    (D.Cauchy(_t(0.5), _t(2.0)), lambda x: mpmath.atan2(1, (x - 0.5) / 2) / mpmath.pi,
     lambda x: 2 / (mpmath.pi * (4 + (x - 0.5) ** 2)), [-1e12, -3.0, 0.7, 9.0, 1e12]),
    (D.Gumbel(_t(0.5), _t(2.0)), lambda x: -mpmath.expm1(-mpmath.exp(-(x - 0.5) / 2)),
     lambda x: mpmath.exp(-(x - 0.5) / 2 - mpmath.exp(-(x - 0.5) / 2)) / 2,
     [-4.0, -1.0, 0.7, 9.0, 120.0]),
    (D.Exponential(_t(2.0)), lambda x: mpmath.exp(-2 * x), lambda x: 2 * mpmath.exp(-2 * x),
     [1e-20, 1e-5, 0.7, 9.0, 300.0]),
    (D.Gamma(_t(2.5), _t(0.5)),
     lambda x: mpmath.gammainc(2.5, 0.5 * x, mpmath.inf, regularized=True),
     lambda x: mpmath.mpf(0.5) ** 2.5 * x**1.5 * mpmath.exp(-0.5 * x) / mpmath.gamma(2.5),
     [1e-30, 0.01, 3.0, 40.0, 900.0]),
    (D.Beta(_t(2.5), _t(0.7)),
     lambda x: mpmath.betainc(2.5, 0.7, x, 1, regularized=True),
     lambda x: x**1.5 * (1 - x) ** -0.3 / mpmath.beta(2.5, 0.7),
     [1e-30, 0.01, 0.5, 0.999, 1 - 1e-12]),
    (D.StudentT(_t(3.0), _t(0.5), _t(2.0)), lambda x: _mp_t_sf(3, (x - 0.5) / 2),
     lambda x: mpmath.gamma(2) / (mpmath.sqrt(3 * mpmath.pi) * mpmath.gamma(1.5) * 2)
     * (1 + ((x - 0.5) / 2) ** 2 / 3) ** -2, [-1e8, -3.0, 0.7, 9.0, 1e8]),
]  # fmt: skip


@pytest.mark.parametrize("dist,sf,pdf,points", TAIL_FAMILIES,
                         ids=[type(f[0]).__name__ for f in TAIL_FAMILIES])  # fmt: skip
def test_families_log_cdf_log_sf_and_isf_against_mpmath(dist, sf, pdf, points):
    """The tail protocol Truncated relies on, where it is implemented: log F and log S with full
    relative accuracy in both tails, and the inverse survival function for tiny q."""
    x = _t(points)
    with mpmath.workdps(50):
        log_s = [float(mpmath.log(sf(mpmath.mpf(v)))) for v in points]
        log_f = [float(mpmath.log(1 - sf(mpmath.mpf(v)))) for v in points]
    # Relative accuracy on the small side; near log 1 = 0 an absolute one (all Truncated needs).
    assert_close(dist.log_survival_function(x), log_s, rtol=1e-12, atol=1e-15, label="log S")
    assert_close(dist.log_cdf(x), log_f, rtol=1e-12, atol=1e-15, label="log F")
    for q in (1e-300, 1e-30, 1e-8, 0.3):
        xq = float(dist._isf(_t(q)))
        with mpmath.workdps(50):
            s = sf(mpmath.mpf(xq))
            if s == 0:  # the root is beyond the last float below the support's end (Beta, 1)
                assert sf(mpmath.mpf(np.nextafter(xq, -np.inf))) >= q
                continue
            # a relative error e in x moves S by e·|x|·p(x): the residual's tolerance
            cond = 1 + float(abs(xq) * pdf(mpmath.mpf(xq)) / s)
            assert abs(float(s / q) - 1) <= 1e-13 * cond, (type(dist).__name__, q, xq)
