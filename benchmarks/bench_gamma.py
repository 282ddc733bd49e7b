"""Gamma, Beta and Dirichlet: rsample + backward of 1M elements (one thread).

The reference is ``torch.distributions`` itself: its Gamma runs at its C++ sampling kernel plus
``_standard_gamma_grad`` (a fitted approximation, ~1e-4 relative error); rsample's implicit
gradient is accurate to ~1e-13 (float64) / ~2e-6 (float32), so the ratio says what that accuracy
costs. The "sampler only" row (``torch._standard_gamma``, no gradient) is the part nobody can
avoid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributions as td

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

N = 1_000_000
K = 10  # Dirichlet categories (N/K draws of K components)


def _step(make: Callable, *params: torch.Tensor) -> Callable[[], None]:
    """``make(*params).rsample().sum().backward()``."""

    def step() -> None:
        make(*params).rsample().sum().backward()

    return step


def _leaf(value: float, shape) -> torch.Tensor:
    return torch.full(shape, value).requires_grad_()


def gamma_case(alpha: float) -> list[Row]:
    concentration, rate = _leaf(alpha, (N,)), _leaf(1.0, (N,))
    impls = {
        "rsample": _step(rsample.Gamma, concentration, rate),
        "torch.distributions": _step(td.Gamma, concentration, rate),
        "sampler only (torch._standard_gamma)": lambda: torch._standard_gamma(
            concentration.detach()
        ),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=1)
    name = f"Gamma(α={alpha:g}) rsample + backward, 1M (1 thread)"
    return make_rows(name, seconds, "torch.distributions", {"rsample": 1.3})


def beta_case(a: float, b: float) -> list[Row]:
    c1, c0 = _leaf(a, (N,)), _leaf(b, (N,))
    both = torch.stack((c1.detach(), c0.detach()))
    impls = {
        "rsample": _step(rsample.Beta, c1, c0),
        "torch.distributions": _step(td.Beta, c1, c0),
        "two gamma draws only": lambda: torch._standard_gamma(both),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=1)
    name = f"Beta({a:g}, {b:g}) rsample + backward, 1M (1 thread)"
    return make_rows(name, seconds, "torch.distributions", {"rsample": 1.0})


def dirichlet_case(alpha: float) -> list[Row]:
    concentration = _leaf(alpha, (N // K, K))
    impls = {
        "rsample": _step(rsample.Dirichlet, concentration),
        "torch.distributions": _step(td.Dirichlet, concentration),
        "gamma draws only": lambda: torch._standard_gamma(concentration.detach()),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=1)
    name = f"Dirichlet(K={K}, α={alpha:g}) rsample + backward, {N // K // 1000}k×{K} (1 thread)"
    return make_rows(name, seconds, "torch.distributions", {"rsample": 1.2})


def run() -> list[Row]:
    """Every Gamma-family case."""
    rows = []
    for alpha in (0.1, 1.0, 10.0):
        rows += gamma_case(alpha)
    rows += beta_case(0.5, 0.5) + beta_case(2.0, 3.0) + beta_case(20.0, 30.0)
    rows += dirichlet_case(0.3) + dirichlet_case(2.0)
    return rows
