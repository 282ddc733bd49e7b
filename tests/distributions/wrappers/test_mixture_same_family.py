"""rsample.MixtureSameFamily: methods vs scipy and torch, sampling, and its implicit gradients.

MixtureSameFamily is in ``DEDICATED_TESTS`` (its parameters are two distributions), so this
module covers what the generic suite would: log_prob, cdf, mean and variance against scipy
mixtures (float64, rtol 1e-10, tails included) and against torch; Kolmogorov–Smirnov tests of
draws (false-failure rate 1e-4 each, fixed seeds); pathwise gradients of E[f(X)] against
quadrature plus finite differences (univariate) and closed forms (Independent, d = 2, 3), with
tolerances of 5 Monte Carlo standard errors; per-draw gradients against an exact dense solve
of the implicit equations, float64 and float32, tails included; float32 finiteness with
components 40σ apart and logits ±30; shapes, expand, pickling, generators, validation, double
backward and ``torch.compile``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import special, stats
from torch.distributions import constraints

import rsample
from rsample import Beta, Gamma, Independent, MixtureSameFamily, Normal
from rsample.special import ndtr
from rsample.testing import (
    assert_close,
    assert_samples_match,
    quadrature_expectation,
    round_trips,
)

F64, F32 = torch.float64, torch.float32


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _cat(logits) -> td.Categorical:
    return td.Categorical(logits=logits)


# --------------------------------------------------------------------------- scipy references
# family: (rsample class, scipy frozen component from (p1, p2), parameter names, grid of cases)
FAMILIES = {
    "normal": (
        Normal,
        lambda a, b: stats.norm(a, b),
        ("loc", "scale"),
        [([-1.0, 0.5, 2.0], [0.7, 1.0, 1.5]), ([0.0, 40.0], [1.0, 1.0]), ([3.0], [1e-3])],
    ),
    "gamma": (
        Gamma,
        lambda a, b: stats.gamma(a, scale=1 / b),
        ("concentration", "rate"),
        [([0.5, 2.0, 5.0], [1.0, 2.0, 0.5]), ([1e-2, 30.0], [1.0, 3.0])],
    ),
    "beta": (
        Beta,
        lambda a, b: stats.beta(a, b),
        ("concentration1", "concentration0"),
        [([0.5, 2.0, 5.0], [2.0, 2.0, 1.0]), ([0.1, 40.0], [0.1, 3.0])],
    ),
}
CASES = [
    (family, p1, p2, logits)
    for family, (_, _, _, grid) in FAMILIES.items()
    for p1, p2 in grid
    for logits in ([0.0] * len(p1), [float(i * i) - 1.5 for i in range(len(p1))])
]


def _mixture(family, p1, p2, logits, dtype=F64):
    cls, _, names, _ = FAMILIES[family]
    comp = cls(**{names[0]: torch.tensor(p1, dtype=dtype), names[1]: torch.tensor(p2, dtype=dtype)})
    return MixtureSameFamily(_cat(torch.tensor(logits, dtype=dtype)), comp)


def _reference(family, p1, p2, logits):
    """(weights, frozen scipy components)."""
    weights = special.softmax(np.array(logits))
    return weights, [FAMILIES[family][1](a, b) for a, b in zip(p1, p2)]


def _points(comps) -> np.ndarray:
    probs = [1e-12, 1e-6, 1e-3, 0.3, 0.5, 0.7, 0.999, 1 - 1e-6]
    x = np.concatenate([c.ppf(probs) for c in comps])
    return np.unique(x[np.isfinite(x)])


@pytest.mark.parametrize("family,p1,p2,logits", CASES)
def test_methods_match_scipy_float64(family, p1, p2, logits):
    dist = _mixture(family, p1, p2, logits)
    weights, comps = _reference(family, p1, p2, logits)
    x_np = _points(comps)
    with np.errstate(all="ignore"):
        log_pdf = special.logsumexp(
            np.log(weights)[:, None] + np.stack([c.logpdf(x_np) for c in comps]), axis=0
        )
    x_np, log_pdf = x_np[np.isfinite(log_pdf)], log_pdf[np.isfinite(log_pdf)]
    cdf = (weights[:, None] * np.stack([c.cdf(x_np) for c in comps])).sum(0)
    x = torch.as_tensor(x_np, dtype=F64)
    log_p = dist.log_prob(x)
    assert_close(log_p, log_pdf, rtol=1e-10, atol=1e-10, label="log_prob")
    assert_close(dist.cdf(x), cdf, rtol=1e-10, atol=1e-300, label="cdf")
    means = np.array([c.mean() for c in comps])
    mean = (weights * means).sum()
    var = (weights * (np.array([c.var() for c in comps]) + (means - mean) ** 2)).sum()
    assert_close(dist.mean, mean, rtol=1e-12, atol=1e-12 * np.abs(means).max(), label="mean")
    assert_close(dist.variance, var, rtol=1e-10, label="variance")


@pytest.mark.parametrize("family,p1,p2,logits", CASES)
def test_float32_finite(family, p1, p2, logits):
    """Finite float32 log_prob and cdf wherever the true values (at the float32 points) are."""
    dist = _mixture(family, p1, p2, logits, dtype=F32)
    weights, comps = _reference(family, p1, p2, logits)
    x = torch.as_tensor(_points(comps), dtype=F32)
    x_np = x.double().numpy()
    with np.errstate(all="ignore"):
        log_pdf = special.logsumexp(
            np.log(weights)[:, None] + np.stack([c.logpdf(x_np) for c in comps]), axis=0
        )
    keep = torch.as_tensor(np.isfinite(log_pdf))
    assert keep.sum() >= len(x) // 2
    assert torch.isfinite(dist.log_prob(x[keep])).all()
    assert torch.isfinite(dist.cdf(x)).all()
    assert torch.isfinite(dist.mean) and torch.isfinite(dist.variance)


@pytest.mark.parametrize("family,p1,p2,logits", CASES[::2])
def test_samples_match_the_mixture(family, p1, p2, logits):
    weights, comps = _reference(family, p1, p2, logits)
    dist = _mixture(family, p1, p2, logits)

    def cdf(x):
        return torch.as_tensor(sum(w * c.cdf(x.numpy()) for w, c in zip(weights, comps)))

    assert_samples_match(dist.sample((20_000,), generator=_gen(1)), cdf, label=family)
    # The same draws come out of rsample, with a graph.
    leaf = torch.tensor(logits, dtype=F64, requires_grad=True)
    cls, _, names, _ = FAMILIES[family]
    comp = cls(**{names[0]: torch.tensor(p1, dtype=F64), names[1]: torch.tensor(p2, dtype=F64)})
    x = MixtureSameFamily(_cat(leaf), comp).rsample((500,), generator=_gen(1))
    assert x.requires_grad
    assert torch.equal(x.detach(), dist.sample((500,), generator=_gen(1)))


def test_matches_torch():
    g = _gen(0)
    logits = torch.randn(2, 3, 4, dtype=F64, generator=g)
    loc = torch.randn(2, 3, 4, dtype=F64, generator=g)
    scale = torch.rand(2, 3, 4, dtype=F64, generator=g) + 0.5
    for mix_logits in (logits, logits[0, 0]):  # batched and shared weights
        ours = MixtureSameFamily(_cat(mix_logits), Normal(loc, scale))
        ref = td.MixtureSameFamily(_cat(mix_logits), td.Normal(loc, scale))
        assert ours.batch_shape == ref.batch_shape and ours.event_shape == ref.event_shape
        x = ours.sample((5,), generator=g)  # torch's sample fails for shared weights here
        torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(ours.cdf(x), ref.cdf(x), rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(ours.mean, ref.mean, rtol=1e-14, atol=1e-14)
        torch.testing.assert_close(ours.variance, ref.variance, rtol=1e-13, atol=1e-14)
    loc3 = torch.randn(3, 4, 2, dtype=F64, generator=g)
    ours = MixtureSameFamily(_cat(logits[0]), Independent(Normal(loc3, 0.7), 1))
    ref = td.MixtureSameFamily(_cat(logits[0]), td.Independent(td.Normal(loc3, 0.7), 1))
    x = ref.sample((5,))
    assert ours.event_shape == (2,) and ours.batch_shape == (3,)
    torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(ours.mean, ref.mean, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(ours.variance, ref.variance, rtol=1e-13, atol=1e-14)
    # probs-parameterized weights
    probs = torch.tensor([0.2, 0.0, 0.5, 0.3], dtype=F64)
    ours = MixtureSameFamily(td.Categorical(probs=probs), Normal(loc[0, 0], scale[0, 0]))
    ref = td.MixtureSameFamily(td.Categorical(probs=probs), td.Normal(loc[0, 0], scale[0, 0]))
    x = torch.linspace(-4, 4, 9, dtype=F64)
    torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(ours.cdf(x), ref.cdf(x), rtol=1e-13, atol=1e-13)


# --------------------------------------------------------------------------- pathwise gradients
def _flat(names, p1, p2, logits) -> dict[str, float]:
    params = {f"logits{k}": v for k, v in enumerate(logits)}
    params |= {f"{names[0]}{k}": v for k, v in enumerate(p1)}
    params |= {f"{names[1]}{k}": v for k, v in enumerate(p2)}
    return params


def _unflat(params: dict[str, float], name: str, k: int) -> list[float]:
    return [params[f"{name}{i}"] for i in range(k)]


GRAD_FUNCTIONS = {
    "sin": (torch.sin, np.sin),
    "tanh": (lambda x: torch.tanh(x - 1), lambda x: np.tanh(x - 1)),
    "square": (torch.square, np.square),
}
# (family, p1, p2, logits, test functions, draws): the Gamma and Beta CDFs' parameter
# derivatives cost 5-100 µs per element, so those cases take fewer draws (wider, still exact,
# 5-standard-error bands).
GRAD_CASES = [
    (
        "normal",
        [-1.0, 0.5, 2.0],
        [0.7, 1.0, 1.5],
        [0.3, -0.2, 0.1],
        ("sin", "tanh", "square"),
        100_000,
    ),
    ("gamma", [1.5, 2.0, 5.0], [1.0, 2.0, 1.5], [0.0, 0.5, -0.5], ("sin", "tanh"), 30_000),
    ("beta", [0.5, 2.0, 5.0], [2.0, 2.0, 1.0], [0.2, -0.3, 0.0], ("sin", "square"), 4_000),
]


@pytest.mark.parametrize("family,p1,p2,logits,fns,n", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_pathwise_gradient_univariate(family, p1, p2, logits, fns, n):
    """d/dθ E[f(X)] for the logits and every component parameter: Monte Carlo with per-draw
    parameter copies (so the standard error is measured) against central differences of
    E[f(X)] = Σ_k π_k ∫ f p_k by quadrature; |error| ≤ 5 standard errors.

    Each draw depends on its own parameter copies only, so one backward pass of ``x.sum()``
    gives every draw's dx/dθ, and the chain rule f'(x)·dx/dθ serves each test function.
    """
    cls, frozen, names, _ = FAMILIES[family]
    num = len(p1)
    base = _flat(names, p1, p2, logits)
    leaves = {
        name: torch.tensor(v, dtype=F64).expand(n, num).clone().requires_grad_()
        for name, v in (("logits", logits), (names[0], p1), (names[1], p2))
    }
    comp = cls(**{names[0]: leaves[names[0]], names[1]: leaves[names[1]]})
    x = MixtureSameFamily(_cat(leaves["logits"]), comp).rsample(generator=_gen(7))
    dx = dict(zip(leaves, torch.autograd.grad(x.sum(), list(leaves.values()))))
    for fname in fns:
        f_torch, f_np = GRAD_FUNCTIONS[fname]

        @functools.cache
        def component_expectation(a, b, f_np=f_np):
            return quadrature_expectation(f_np, frozen(a, b))

        def expectation(**p):
            w = special.softmax(_unflat(p, "logits", num))
            a, b = _unflat(p, names[0], num), _unflat(p, names[1], num)
            return sum(wk * component_expectation(ak, bk) for wk, ak, bk in zip(w, a, b))

        point = x.detach().requires_grad_()
        (slope,) = torch.autograd.grad(f_torch(point).sum(), point)
        failures = []
        for group, jac in dx.items():
            per_draw = slope.unsqueeze(-1) * jac
            mean, se = per_draw.mean(0), per_draw.std(0) / math.sqrt(n)
            for k in range(num):
                exact = _central_difference(expectation, base, f"{group}{k}")
                if not abs(float(mean[k]) - exact) <= 5 * float(se[k]) + 1e-9:
                    failures.append(
                        f"{group}[{k}]: {float(mean[k]):.6g} ± {float(se[k]):.2g} vs {exact:.6g}"
                    )
        assert not failures, f"{family}, E[{fname}(X)]: " + "; ".join(failures)


def _central_difference(fn, params: dict[str, float], name: str, rel_step: float = 1e-5):
    """Plain central difference (error ~1e-10 here, far below the Monte Carlo error)."""
    h = rel_step * max(1.0, abs(params[name]))
    up = fn(**{**params, name: params[name] + h})
    down = fn(**{**params, name: params[name] - h})
    return (up - down) / (2 * h)


def _normal_cos_moment(loc, scale):
    """E[cos X] = cos(μ) exp(−σ²/2), E[sin X] = sin(μ) exp(−σ²/2)."""
    damp = torch.exp(-0.5 * scale**2)
    return torch.cos(loc) * damp, torch.sin(loc) * damp


def _gamma_cos_moment(alpha, rate):
    """E[cos X] = (1 + 1/β²)^(−α/2) cos(α·atan(1/β)) for X ~ Gamma(α, β)."""
    return (1 + rate**-2) ** (-alpha / 2) * torch.cos(alpha * torch.atan(1 / rate))


FACTORIZED_CASES = {
    # name: (family, d, f, closed-form E[f] from (π, p1, p2) with p of shape (K, d))
    "normal-d2-product": (
        "normal",
        2,
        lambda x: torch.cos(x).prod(-1),
        lambda w, m, s: (w * _normal_cos_moment(m, s)[0].prod(-1)).sum(),
    ),
    "normal-d3-separable": (
        "normal",
        3,
        lambda x: (torch.sin(x) * torch.tensor([1.0, -2.0, 0.5], dtype=F64)).sum(-1),
        lambda w, m, s: (
            w * (_normal_cos_moment(m, s)[1] * torch.tensor([1.0, -2.0, 0.5], dtype=F64)).sum(-1)
        ).sum(),
    ),
    "normal-d3-cross": (
        "normal",
        3,
        lambda x: x[..., 0] * x[..., 1] + x[..., 2] ** 2,
        lambda w, m, s: (w * (m[:, 0] * m[:, 1] + m[:, 2] ** 2 + s[:, 2] ** 2)).sum(),
    ),
    "gamma-d2-product": (
        "gamma",
        2,
        lambda x: torch.cos(x).prod(-1),
        lambda w, a, b: (w * _gamma_cos_moment(a, b).prod(-1)).sum(),
    ),
    "gamma-d3-cross": (
        "gamma",
        3,
        lambda x: x[..., 0] * x[..., 2] - x[..., 1],
        lambda w, a, b: (w * (a[:, 0] / b[:, 0] * a[:, 2] / b[:, 2] - a[:, 1] / b[:, 1])).sum(),
    ),
}
FACTORIZED_PARAMS = {
    "normal": (
        [[-1.0, 0.5, 0.0], [0.5, -0.5, 1.0], [1.5, 1.0, -0.5]],
        [[0.8, 1.0, 0.6], [1.2, 0.7, 1.0], [0.9, 1.1, 1.3]],
    ),
    "gamma": (
        [[2.0, 3.0, 1.5], [4.0, 1.5, 2.5], [1.2, 5.0, 3.0]],
        [[2.0, 1.5, 1.0], [3.0, 1.0, 2.0], [1.0, 2.5, 1.5]],
    ),
}


@pytest.mark.parametrize("name", sorted(FACTORIZED_CASES))
def test_pathwise_gradient_factorized(name):
    """Independent components, d = 2, 3: gradients of E[f(X)] against the closed form's."""
    family, d, f, closed_form = FACTORIZED_CASES[name]
    cls, _, names, _ = FAMILIES[family]
    n = 100_000 if family == "normal" else 20_000
    p1 = torch.tensor(FACTORIZED_PARAMS[family][0], dtype=F64)[:, :d]
    p2 = torch.tensor(FACTORIZED_PARAMS[family][1], dtype=F64)[:, :d]
    logits = torch.tensor([0.2, -0.4, 0.1], dtype=F64)
    exact_leaves = [t.clone().requires_grad_() for t in (logits, p1, p2)]
    value = closed_form(torch.softmax(exact_leaves[0], -1), *exact_leaves[1:])
    exact = torch.autograd.grad(value, exact_leaves)
    leaves = [t.expand(n, *t.shape).clone().requires_grad_() for t in (logits, p1, p2)]
    comp = Independent(cls(**{names[0]: leaves[1], names[1]: leaves[2]}), 1)
    x = MixtureSameFamily(_cat(leaves[0]), comp).rsample(generator=_gen(3))
    assert x.shape == (n, d)
    f(x).sum().backward()
    for label, leaf, ref in zip(("logits", *names), leaves, exact):
        mean, se = leaf.grad.mean(0), leaf.grad.std(0) / math.sqrt(n)
        bad = (mean - ref).abs() > 5 * se + 1e-9
        assert not bad.any(), f"{name} d/d{label}: {mean[bad]} ± {se[bad]} vs {ref[bad]}"


# --------------------------------------------------------------------------- per-draw exactness
def _normal_mixture_leaves(dtype, logits, loc, scale):
    return [torch.tensor(v, dtype=dtype, requires_grad=True) for v in (logits, loc, scale)]


def _univariate_reference(x, logits, loc, scale):
    """dx/dθ = −(∂F/∂θ)/p from closed forms in float64: ∂F/∂logit_j = π_j (F_j − F), written
    π_j (S − S_j) above the median (no cancellation), ∂F/∂μ_k = −π_k φ_k/σ_k and
    ∂F/∂σ_k = −π_k φ_k z_k/σ_k."""
    x = x.double().unsqueeze(-1)
    logits, loc, scale = (torch.as_tensor(v, dtype=F64) for v in (logits, loc, scale))
    w = torch.softmax(logits, -1)
    z = (x - loc) / scale
    log_pk = -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - scale.log()
    log_p = torch.logsumexp(w.log() + log_pk, -1, keepdim=True)
    ratio = torch.exp(w.log() + log_pk - log_p)  # π_k p_k / p
    cdf, surv = ndtr(z), ndtr(-z)  # erfc-based: accurate in both tails
    lower = w * (cdf - (w * cdf).sum(-1, keepdim=True))
    upper = w * ((w * surv).sum(-1, keepdim=True) - surv)
    d_f = torch.where((w * cdf).sum(-1, keepdim=True) < 0.5, lower, upper)
    return -d_f / torch.exp(log_p), ratio, ratio * z


@pytest.mark.parametrize("dtype", [F64, F32])
def test_univariate_gradient_per_draw_in_the_tails(dtype):
    """Per-draw dx/dθ at points from 12σ below to 8.5σ above every component, against float64
    closed forms: float64 to 1e-12, float32 to 1e-5, relative to the draw's gradient scale."""
    params = ([0.3, -1.0, 0.7], [-2.0, 0.0, 3.0], [1.0, 0.5, 2.0])
    logits, loc, scale = _normal_mixture_leaves(dtype, *params)
    dist = MixtureSameFamily(_cat(logits), Normal(loc, scale))
    points = torch.tensor([-14.0, -8.0, -2.5, 0.3, 1.5, 6.0, 12.0, 20.0], dtype=dtype)
    expected = _univariate_reference(points, *params)
    rtol = 1e-12 if dtype == F64 else 1e-5
    for i in range(len(points)):
        x = dist._implicit_univariate(points[i : i + 1].clone())
        grads = torch.autograd.grad(x.sum(), (logits, loc, scale), retain_graph=True)
        size = max(float(ref[i].abs().max()) for ref in expected)  # the gradient's scale
        for label, got, ref in zip(("logits", "loc", "scale"), grads, expected):
            ref = ref[i]
            assert torch.isfinite(got).all()
            err = float((got.double() - ref).abs().max()) / size
            assert err <= rtol, f"x={float(points[i])} d/d{label}: {got} vs {ref} ({err:.2g})"


def _conditional_cdfs(x, logits, loc, scale):
    """F_j(x_j | x_<j) for Independent(Normal) components, plain torch ops (the reference)."""
    z = (x - loc) / scale
    log_pk = -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - scale.log()  # (K, D)
    prefix = torch.cat([torch.zeros_like(log_pk[:, :1]), log_pk[:, :-1].cumsum(-1)], -1)
    log_a = torch.log_softmax(logits, -1).unsqueeze(-1) + prefix
    w = torch.softmax(log_a, 0)
    return (w * ndtr(z)).sum(0)


FACTOR_POINTS = {
    "overlapping": (
        [0.2, -0.5, 0.4],
        [[-1.0, 0.5, 0.0], [0.5, -0.5, 1.0], [1.5, 1.0, -0.5]],
        [[0.8, 1.0, 0.6], [1.2, 0.7, 1.0], [0.9, 1.1, 1.3]],
    ),
    "far-apart": (
        [0.0, 2.0, -1.0],
        [[0.0, 0.0, 0.0], [40.0, -40.0, 40.0], [4.0, 3.0, -2.0]],
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [2.0, 1.5, 1.0]],
    ),
}


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("case", sorted(FACTOR_POINTS))
def test_factorized_gradient_per_draw_matches_dense_solve(case, dtype):
    """dx/dθ = −(∂F/∂x)⁻¹ ∂F/∂θ with both Jacobians of the conditional-CDF map by autograd in
    float64, at drawn points: float64 to 1e-12, float32 to 1e-5, relative to the scale of the
    draw's gradient (entries far below that scale, e.g. 1e-66 where components are 40σ apart,
    carry absolute, not relative, accuracy: a conditional weight within 1e-66 of 1 is 1 in
    floating point, in the reference as here)."""
    params = FACTOR_POINTS[case]
    leaves = _normal_mixture_leaves(dtype, *params)
    dist = MixtureSameFamily(_cat(leaves[0]), Independent(Normal(leaves[1], leaves[2]), 1))
    xs = dist.rsample((12,), generator=_gen(11))
    ref_params = [torch.tensor(v, dtype=F64) for v in params]
    rtol = 1e-12 if dtype == F64 else 1e-5
    for i in range(xs.shape[0]):
        x0 = xs[i].detach().double()
        jac_x = torch.autograd.functional.jacobian(lambda v: _conditional_cdfs(v, *ref_params), x0)
        jac_p = torch.autograd.functional.jacobian(
            lambda *p, x0=x0: _conditional_cdfs(x0, *p), tuple(ref_params)
        )
        for j in range(xs.shape[1]):
            got = torch.autograd.grad(xs[i, j], leaves, retain_graph=True)
            refs = [
                -torch.linalg.solve(jac_x, jp.reshape(jp.shape[0], -1))[j].reshape(g.shape)
                for g, jp in zip(got, jac_p)
            ]
            size = max(float(ref.abs().max()) for ref in refs)  # the gradient's scale
            for label, g, ref in zip(("logits", "loc", "scale"), got, refs):
                assert torch.isfinite(g).all()
                err = float((g.double() - ref).abs().max()) / size
                assert err <= rtol, f"draw {i}, x_{j}, d/d{label}: err {err:.2g}"


# --------------------------------------------------------------------------- float32 extremes
@pytest.mark.parametrize("logits", [[0.0, 0.0], [30.0, -30.0], [-30.0, 30.0]])
def test_float32_no_nan_far_apart_and_degenerate_weights(logits):
    for event in (False, True):
        lg = torch.tensor(logits, requires_grad=True)
        if event:
            loc = torch.tensor([[0.0, 0.0, 0.0], [40.0, -40.0, 40.0]], requires_grad=True)
            comp = Independent(Normal(loc, torch.ones(2, 3)), 1)
        else:
            loc = torch.tensor([0.0, 40.0], requires_grad=True)
            comp = Normal(loc, torch.ones(2))
        dist = MixtureSameFamily(_cat(lg), comp)
        x = dist.rsample((20_000,), generator=_gen(5))
        log_p = dist.log_prob(x)
        assert torch.isfinite(x).all() and torch.isfinite(log_p).all()
        (torch.sin(x).sum() + log_p.sum()).backward()
        assert torch.isfinite(lg.grad).all() and torch.isfinite(loc.grad).all()
        assert torch.isfinite(dist.cdf(x[:100]) if not event else log_p).all()


def _far_apart_torch_normal_gradients():
    torch.manual_seed(0)  # torch's Normal takes no generator
    loc = torch.tensor([0.0, 40.0], requires_grad=True)
    logits = torch.zeros(2, requires_grad=True)
    x = MixtureSameFamily(_cat(logits), td.Normal(loc, 1.0)).rsample((2_000,))
    torch.sin(x).sum().backward()
    return x.detach(), logits.grad, loc.grad


def test_saturated_component_cdf_gives_no_nan(monkeypatch):
    """torch's Normal has no log_cdf and its cdf is 0 at −40σ: log(0) = −inf, whose backward
    is 0/0. Those entries are re-evaluated at the mean and masked, on the CPU only when
    present; the fixed-shape path (taken on accelerators and under torch.compile) always does
    it and must give the same gradients."""
    x, *grads = _far_apart_torch_normal_gradients()
    assert all(torch.isfinite(g).all() for g in grads)
    import rsample.distributions.wrappers.mixture_same_family as module

    monkeypatch.setattr(module, "host_reads_free", lambda t: False)
    x_fixed, *grads_fixed = _far_apart_torch_normal_gradients()
    assert torch.equal(x, x_fixed)
    for g, h in zip(grads, grads_fixed):
        torch.testing.assert_close(g, h, rtol=1e-6, atol=1e-6)


EXTREME_SHAPES = {
    "gamma": ([0.3, 1.0, 50.0], [1.0, 3.0, 0.5]),
    "beta": ([1e-2, 1.0, 50.0], [1.0, 1e-2, 3.0]),
    "gamma-floored": ([1e-2, 1.0, 50.0], [1.0, 3.0, 0.5]),
}


@pytest.mark.parametrize(
    "case",
    [
        "gamma",
        "beta",
        "gamma-floored",
    ],
)
def test_float32_no_nan_extreme_shapes(case):
    """Concentrations 1e-2 to 50 and logits ±30 in float32: finite draws and gradients."""
    family = case.split("-")[0]
    cls, _, names, _ = FAMILIES[family]
    p1, p2 = (torch.tensor(v, requires_grad=True) for v in EXTREME_SHAPES[case])
    lg = torch.tensor([30.0, -30.0, 0.0], requires_grad=True)
    dist = MixtureSameFamily(_cat(lg), cls(**{names[0]: p1, names[1]: p2}))
    x = dist.rsample((4_000 if family == "gamma" else 1_000,), generator=_gen(2))
    torch.tanh(x).sum().backward()
    for t in (x, lg.grad, p1.grad, p2.grad):
        assert torch.isfinite(t).all()


# --------------------------------------------------------------------------- structure
def _normal_mixture(batch=(2, 3), num=4, dtype=F64, event=None):
    g = _gen(0)
    shape = batch + (num,) + ((event,) if event else ())
    loc = torch.randn(shape, dtype=dtype, generator=g)
    scale = torch.rand(shape, dtype=dtype, generator=g) + 0.5
    logits = torch.randn((*batch, num), dtype=dtype, generator=g)
    comp = Normal(loc, scale)
    return MixtureSameFamily(_cat(logits), Independent(comp, 1) if event else comp)


@pytest.mark.parametrize("event", [None, 3])
def test_shapes(event):
    dist = _normal_mixture(event=event)
    e = (event,) if event else ()
    assert dist.batch_shape == (2, 3) and dist.event_shape == e
    for draw in (dist.sample, dist.rsample):
        assert draw().shape == (2, 3, *e)
        assert draw((4, 5)).shape == (4, 5, 2, 3, *e)
    x = dist.sample((4,))
    assert dist.log_prob(x).shape == (4, 2, 3)
    assert dist.mean.shape == dist.variance.shape == (2, 3, *e)
    # shared weights, component batch broadcast against the mixture's
    shared = MixtureSameFamily(_cat(torch.zeros(4)), dist.component_distribution)
    assert shared.sample((7,)).shape == (7, 2, 3, *e)
    wide = MixtureSameFamily(_cat(torch.zeros(5, 1, 1, 4, dtype=F64)), dist.component_distribution)
    assert wide.batch_shape == (5, 2, 3) and wide.rsample((2,)).shape == (2, 5, 2, 3, *e)


def test_rsample_connects_every_parameter_and_sample_does_not():
    logits = torch.zeros(3, requires_grad=True)
    loc = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    scale = torch.ones(3, requires_grad=True)
    for comp in (Normal(loc, scale), td.Normal(loc, scale)):  # rsample's and torch's
        dist = MixtureSameFamily(_cat(logits), comp)
        assert dist.has_rsample and dist.rsample_kind == "implicit"
        assert not dist.sample((3,)).requires_grad
        grads = torch.autograd.grad(dist.rsample((3,)).sum(), (logits, loc, scale))
        assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    probs = torch.tensor([0.2, 0.5, 0.3], requires_grad=True)
    dist = MixtureSameFamily(td.Categorical(probs=probs), Normal(loc, scale))
    (g,) = torch.autograd.grad(dist.rsample((10,)).sum(), probs)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert MixtureSameFamily.rsample_kind is None  # class level


def test_probs_and_logits_give_the_same_gradient():
    """Through probs = softmax(logits) the chain rule must reproduce the logits gradient."""
    logits = torch.tensor([0.3, -0.7, 1.1], dtype=F64, requires_grad=True)
    probs = torch.softmax(logits.detach(), -1).requires_grad_()
    loc, scale = torch.tensor([-1.0, 0.5, 2.0], dtype=F64), torch.tensor([0.7, 1.0, 1.5], dtype=F64)
    x1 = MixtureSameFamily(_cat(logits), Normal(loc, scale)).rsample((50,), generator=_gen(4))
    x2 = MixtureSameFamily(td.Categorical(probs=probs), Normal(loc, scale)).rsample(
        (50,), generator=_gen(4)
    )
    torch.testing.assert_close(x1, x2, rtol=0, atol=0)
    (g_logits,) = torch.autograd.grad(torch.sin(x1).sum(), logits)
    (g_probs,) = torch.autograd.grad(torch.sin(x2).sum(), probs)
    p = probs.detach()
    chained = p * (g_probs - (p * g_probs).sum())  # d/dlogits of g(softmax(logits))
    torch.testing.assert_close(chained, g_logits, rtol=1e-10, atol=1e-12)


def test_marginals_and_coupling_of_factorized_draws():
    """Each coordinate's marginal, and x_0 + x_1 (which tests that one component is drawn for
    every coordinate): Kolmogorov–Smirnov against the exact mixture CDFs."""
    logits = torch.tensor([0.0, 0.7, -0.5], dtype=F64)
    loc = torch.tensor([[-2.0, 1.0], [0.5, -1.0], [2.0, 2.0]], dtype=F64)
    scale = torch.tensor([[0.5, 1.0], [1.0, 0.4], [0.8, 0.8]], dtype=F64)
    dist = MixtureSameFamily(_cat(logits), Independent(Normal(loc, scale), 1))
    x = dist.sample((20_000,), generator=_gen(9))
    w = torch.softmax(logits, -1)

    def mix_cdf(mu, sigma):
        return lambda v: (w * torch.special.ndtr((v.unsqueeze(-1) - mu) / sigma)).sum(-1)

    for j in range(2):
        assert_samples_match(x[:, j], mix_cdf(loc[:, j], scale[:, j]), label=f"x_{j}")
    total = mix_cdf(loc.sum(-1), scale.square().sum(-1).sqrt())
    assert_samples_match(x.sum(-1), total, label="x_0 + x_1")


def test_component_selection_frequencies():
    """Near-point components: the draw reveals the component; chi-square of the counts (the
    gathered-parameter path, and torch components through the draw-all-and-gather path)."""
    probs = torch.tensor([0.1, 0.0, 0.25, 0.65], dtype=F64)
    loc = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=F64)
    n = 40_000
    for comp in (Normal(loc, 1e-6), td.Normal(loc, 1e-6)):
        dist = MixtureSameFamily(td.Categorical(probs=probs), comp)
        torch.manual_seed(3)
        kwargs = {"generator": _gen(3)} if isinstance(comp, rsample.Distribution) else {}
        k = dist.sample((n,), **kwargs).round().long()
        counts = torch.bincount(k, minlength=4).double()
        assert counts[1] == 0  # a zero weight is never drawn
        keep = probs > 0
        expected = n * probs[keep]
        chi2 = float(((counts[keep] - expected) ** 2 / expected).sum())
        assert stats.chi2.sf(chi2, df=int(keep.sum()) - 1) > 1e-4


def test_generator_determinism():
    dist = _normal_mixture(event=2)
    a = dist.sample((6,), generator=_gen(3))
    assert torch.equal(a, dist.sample((6,), generator=_gen(3)))
    assert torch.equal(a, dist.rsample((6,), generator=_gen(3)))
    assert not torch.equal(a, dist.sample((6,), generator=_gen(4)))
    with pytest.raises(TypeError, match="generator"):
        MixtureSameFamily(_cat(torch.zeros(2)), td.Normal(torch.zeros(2), 1.0)).sample(
            generator=_gen(0)
        )


def test_rsample_and_log_prob():
    dist = _normal_mixture()
    x, log_p = dist.rsample_and_log_prob((5,), generator=_gen(2))
    torch.testing.assert_close(x, dist.rsample((5,), generator=_gen(2)), rtol=0, atol=0)
    torch.testing.assert_close(log_p, dist.log_prob(x), rtol=1e-14, atol=1e-14)


def test_expand_shares_memory():
    dist = _normal_mixture(batch=(3,), event=2)
    big = dist.expand((4, 3))
    assert type(big) is MixtureSameFamily and big.batch_shape == (4, 3)
    assert big.event_shape == (2,) and big.has_rsample
    comp = big.component_distribution.base_dist
    assert comp.loc.data_ptr() == dist.component_distribution.base_dist.loc.data_ptr()
    x = big.sample(generator=_gen(0))
    torch.testing.assert_close(big.log_prob(x), dist.log_prob(x))
    assert big.rsample((2,)).shape == (2, 4, 3, 2)


def test_pickle_and_deepcopy():
    dist = _normal_mixture()
    x = dist.sample((3,), generator=_gen(0))
    for clone in round_trips(dist):
        assert type(clone) is MixtureSameFamily and clone.batch_shape == dist.batch_shape
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))
    assert repr(dist).startswith("MixtureSameFamily(")


def test_support_and_validation():
    dist = _normal_mixture()
    assert dist.support is constraints.real
    gam = MixtureSameFamily(_cat(torch.zeros(2)), Gamma(torch.ones(2), 1.0))
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*value"):
        gam.log_prob(torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="MixtureSameFamily"):
        gam.cdf(torch.tensor(-2.0))
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*event shape"):
        _normal_mixture(event=3).log_prob(torch.zeros(2, 3, 4))
    uniform = MixtureSameFamily(
        _cat(torch.zeros(2)), rsample.Uniform(torch.zeros(2), torch.tensor([1.0, 2.0]))
    )
    assert isinstance(uniform.support, constraints.MixtureSameFamilyConstraint)
    assert uniform.support.check(torch.tensor([0.5, 1.5])).tolist() == [True, False]


def test_bad_arguments():
    comp = Normal(torch.zeros(2, 3), 1.0)
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*batch_shape"):
        MixtureSameFamily(_cat(torch.zeros(4, 3)), comp)  # (4,) against (2,)
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*categories"):
        MixtureSameFamily(_cat(torch.zeros(4)), comp)
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*Categorical"):
        MixtureSameFamily(td.Bernoulli(torch.tensor(0.3)), comp)
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*Distribution"):
        MixtureSameFamily(_cat(torch.zeros(3)), torch.zeros(3))
    with pytest.raises(ValueError, match=r"MixtureSameFamily.*batch dimension"):
        MixtureSameFamily(_cat(torch.zeros(1)), Normal(torch.tensor(0.0), 1.0))


def test_components_without_cdf_have_no_rsample():
    g = _gen(1)
    a = torch.randn(3, 2, 2, generator=g)
    cov = a @ a.mT + torch.eye(2)
    mvn = rsample.MultivariateNormal(torch.randn(3, 2, generator=g), cov)
    dist = MixtureSameFamily(_cat(torch.zeros(3)), mvn)
    assert not dist.has_rsample and dist.rsample_kind is None
    assert dist.sample((4,), generator=_gen(0)).shape == (4, 2)
    with pytest.raises(NotImplementedError, match=r"MixtureSameFamily.rsample"):
        dist.rsample()
    with pytest.raises(NotImplementedError):
        Independent(Normal(torch.zeros(3), 1.0), 1).cdf(torch.zeros(3))  # hence no cdf here
    poisson = MixtureSameFamily(_cat(torch.zeros(2)), td.Poisson(torch.tensor([1.0, 20.0])))
    assert not poisson.has_rsample
    assert poisson.sample((5,)).shape == (5,)


@pytest.mark.parametrize("event", [None, 2])
def test_double_backward_is_refused(event):
    loc = torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=F64, requires_grad=True)
    comp = Independent(Normal(loc, 1.0), 1) if event else Normal(loc[:, 0], 1.0)
    x = MixtureSameFamily(_cat(torch.zeros(2, dtype=F64)), comp).rsample((3,))
    (g,) = torch.autograd.grad(x.square().sum(), loc, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        g.sum().backward()


@pytest.mark.parametrize("event", [None, 2])
def test_torch_compile_fullgraph(event):
    torch._dynamo.reset()

    def step(logits, loc, scale):
        comp = Normal(loc, scale)
        comp = Independent(comp, 1) if event else comp
        dist = MixtureSameFamily(td.Categorical(logits=logits, validate_args=False), comp)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    shape = (3, 4) + ((event,) if event else ())
    params = [torch.zeros(3, 4), torch.randn(shape, generator=_gen(0)), torch.ones(shape)]
    params = [p.requires_grad_() for p in params]
    x, log_p = compiled(*params)
    assert x.shape == (8, 3, *shape[2:]) and torch.isfinite(log_p).all()
    (x.sum() + log_p.sum()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)


def test_vmap_of_log_prob():
    g = _gen(2)
    logits, loc = (
        torch.randn(3, 4, dtype=F64, generator=g),
        torch.randn(3, 4, dtype=F64, generator=g),
    )
    x = torch.randn(3, dtype=F64, generator=g)

    def log_prob(lg, m, v):
        mix = td.Categorical(logits=lg, validate_args=False)
        return MixtureSameFamily(mix, Normal(m, 1.0), validate_args=False).log_prob(v)

    batched = torch.func.vmap(log_prob)(logits, loc, x)
    expected = MixtureSameFamily(_cat(logits), Normal(loc, 1.0)).log_prob(x)
    torch.testing.assert_close(batched, expected, rtol=1e-14, atol=0)
