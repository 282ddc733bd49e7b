"""``check_distribution``: validate a univariate distribution with one call.

Runs the checks rsample applies to its own families: shapes, ``sample`` vs ``rsample``,
generator determinism, methods against a float64 reference, a goodness-of-fit test of samples,
and pathwise gradients of several ``E[f(X)]`` against quadrature plus finite differences.
The reference is any object with scipy's frozen-distribution interface (``logpdf``, ``cdf``,
``ppf``, ``pdf``, ``mean``, ``var``, ``entropy``, ``support``); scipy is needed for quadrature.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from .gof import assert_samples_match
from .gradients import assert_pathwise_gradient
from .reference import assert_close

__all__ = [
    "DEFAULT_TEST_FUNCTIONS",
    "METHODS",
    "check_against_reference",
    "check_distribution",
    "quadrature_expectation",
]

METHODS = ("log_prob", "cdf", "icdf", "mean", "variance", "entropy")

# Bounded smooth test functions (finite gradients for heavy tails too), as (torch, numpy) pairs.
DEFAULT_TEST_FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (torch.tanh, np.tanh),
    "sin": (torch.sin, np.sin),
    "gauss_bump": (
        lambda x: torch.exp(-0.5 * (x - 0.5) ** 2),
        lambda x: np.exp(-0.5 * (x - 0.5) ** 2),
    ),
}

PROBABILITIES = np.array([1e-12, 1e-6, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999, 1 - 1e-6])


def quadrature_expectation(f_np: Callable, reference) -> float:
    """``E[f(X)]`` by adaptive quadrature of ``f · pdf``, split at reference quantiles."""
    from scipy import integrate

    lo, hi = reference.support()
    cuts = [lo, *reference.ppf([1e-4, 0.05, 0.5, 0.95, 1 - 1e-4]), hi]
    cuts = sorted(set(float(c) for c in cuts))
    total = 0.0
    for a, b in itertools.pairwise(cuts):
        value, _ = integrate.quad(
            lambda x: f_np(x) * reference.pdf(x), a, b, limit=400, epsabs=1e-13, epsrel=1e-12
        )
        total += value
    return total


def check_distribution(
    make_dist: Callable[..., torch.distributions.Distribution],
    params: Mapping[str, float],
    reference: Callable[..., object] | None = None,
    *,
    test_functions: Mapping[str, tuple[Callable, Callable]] = DEFAULT_TEST_FUNCTIONS,
    rtol: float = 1e-10,
    n_gof: int = 20_000,
    n_grad: int = 100_000,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
) -> None:
    """Validate ``make_dist(**params)`` (scalar float parameters) against ``reference(**params)``.

    Raises ``AssertionError`` naming the first failed check. With a reference, compares
    ``methods`` (default ``log_prob``, ``cdf``, ``icdf``, ``mean``, ``variance``, ``entropy``)
    in float64 to ``rtol``,
    runs a Kolmogorov–Smirnov test (false-failure rate 1e-4) and, when the distribution has
    ``rsample``, checks the pathwise gradient of ``E[f(X)]`` for each test function and parameter.
    """
    as64 = {k: torch.tensor(float(v), dtype=torch.float64) for k, v in params.items()}
    dist = make_dist(**as64)
    _check_shapes_and_graph(make_dist, params)
    if reference is None:
        return
    ref = reference(**params)
    check_against_reference(dist, ref, rtol=rtol, methods=methods)
    samples = dist.sample((n_gof,), generator=torch.Generator().manual_seed(seed))
    assert_samples_match(samples, lambda x: torch.as_tensor(ref.cdf(x.numpy())), label=repr(dist))
    if dist.has_rsample:
        for name, (f_torch, f_np) in test_functions.items():

            def expectation(f_np=f_np, **p):
                return quadrature_expectation(f_np, reference(**p))

            assert_pathwise_gradient(
                make_dist, params, f_torch, expectation, n=n_grad, seed=seed, label=f"E[{name}(X)]"
            )


def _check_shapes_and_graph(make_dist, params) -> None:
    batch = {
        k: torch.full((3,), float(v), dtype=torch.float64, requires_grad=True)
        for k, v in params.items()
    }
    dist = make_dist(**batch)
    expected = torch.Size((2, 3)) + dist.event_shape
    drawn = dist.sample((2,))
    assert drawn.shape == expected, f"sample shape {tuple(drawn.shape)} != {tuple(expected)}"
    assert not drawn.requires_grad, "sample() must not require grad"
    assert dist.log_prob(drawn).shape == torch.Size((2, 3)), "log_prob shape"
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(dist.sample((4,), generator=g1), dist.sample((4,), generator=g2)), (
        "generator"
    )
    if dist.has_rsample:
        x = dist.rsample((2,))
        assert x.shape == expected and x.requires_grad, "rsample() must keep the graph"
        grads = torch.autograd.grad(x.sum(), list(batch.values()), allow_unused=True)
        for name, g in zip(batch, grads):
            assert g is not None, f"rsample() is not connected to '{name}'"


def check_against_reference(
    dist, ref, *, rtol: float = 1e-10, probabilities=PROBABILITIES, methods=METHODS
) -> None:
    """Compare ``methods`` (default: all of ``METHODS``) of ``dist`` with the scipy ``ref``.

    Values are the reference quantiles at ``probabilities`` (far tails included). Tolerances:
    ``log_prob`` and ``entropy`` absolute ``rtol`` plus relative ``rtol`` (an absolute error in
    a log-density is a relative error in the density); ``cdf`` relative; ``icdf`` and ``mean``
    relative plus ``rtol``·IQR absolute (for values that cross zero).
    """
    label = repr(dist)
    dtype = torch.float64
    probabilities = np.asarray(probabilities, dtype=float)
    x_np = np.asarray(ref.ppf(probabilities), dtype=float)
    with np.errstate(all="ignore"):
        keep = np.isfinite(x_np) & ~np.isnan(np.asarray(ref.logpdf(x_np), dtype=float))
    x = torch.as_tensor(x_np[keep], dtype=dtype)
    p = torch.as_tensor(probabilities[keep], dtype=dtype)
    spread = float(ref.ppf(0.75) - ref.ppf(0.25))
    checks = {
        "log_prob": lambda: (dist.log_prob(x), ref.logpdf(x_np[keep]), rtol),
        "cdf": lambda: (dist.cdf(x), ref.cdf(x_np[keep]), 0.0),
        "icdf": lambda: (dist.icdf(p), x_np[keep], rtol * spread),
        "mean": lambda: (dist.mean, ref.mean(), rtol * spread),
        "variance": lambda: (dist.variance, ref.var(), 0.0),
        "entropy": lambda: (dist.entropy(), ref.entropy(), rtol),
    }
    for method in methods:
        actual, expected, atol = checks[method]()
        assert_close(actual, expected, rtol=rtol, atol=atol, label=f"{label}.{method}")
