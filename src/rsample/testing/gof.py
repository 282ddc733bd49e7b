"""Goodness-of-fit tests for samplers, with stated false-failure rates.

Self-contained (no scipy): the Kolmogorov–Smirnov statistic and its p-value from the asymptotic
Kolmogorov distribution with Stephens' (1970) finite-sample correction,
``P(D_n > d) ≈ Q_KS((√n + 0.12 + 0.11/√n)·d)``, accurate to a few percent for n ≥ 5 — ample for
thresholds of 1e-3 or smaller.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["assert_samples_match", "kolmogorov_pvalue", "ks_statistic"]


def ks_statistic(
    samples: torch.Tensor, cdf: Callable[[torch.Tensor], torch.Tensor], *, rounded: bool = False
) -> float:
    """``sup |F_n(x) − F(x)|`` for a 1-D sample, evaluated at the order statistics.

    With ``rounded=True`` the reference is the distribution of ``F`` rounded to the samples'
    dtype: its CDF just below and at a representable ``x`` is ``F`` at the midpoints to the
    neighbouring values, so atoms created by rounding (``tanh`` saturating at ±1 in float32, a
    location too large for the scale) are compared as atoms. The test stays conservative.
    """
    x = samples.detach().flatten().sort().values
    n = x.numel()
    if rounded:
        up = torch.nextafter(x, torch.full_like(x, math.inf))
        down = torch.nextafter(x, torch.full_like(x, -math.inf))
        x64 = x.double()
        right = cdf(x64 + (up.double() - x64) / 2).double()
        left = cdf(x64 - (x64 - down.double()) / 2).double()
    else:
        right = left = cdf(x.double()).double()
    i = torch.arange(1, n + 1, dtype=torch.float64, device=x.device)
    return float(torch.maximum(i / n - right, left - (i - 1) / n).max())


def kolmogorov_pvalue(d: float, n: int) -> float:
    """``P(D_n ≥ d)`` under the null: ``2 Σ_k (−1)^{k−1} exp(−2k²λ²)`` at Stephens' λ."""
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    if lam < 0.3:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return min(1.0, max(0.0, 2 * total))


def assert_samples_match(
    samples: torch.Tensor,
    cdf: Callable[[torch.Tensor], torch.Tensor],
    *,
    alpha: float = 1e-4,
    label: str = "samples",
    rounded: bool = False,
) -> float:
    """Kolmogorov–Smirnov test of ``samples`` (1-D, i.i.d.) against ``cdf``.

    Fails with probability ``alpha`` when the sampler is correct; with a fixed seed the outcome is
    deterministic. ``rounded``: compare with ``cdf`` rounded to the samples' dtype (see
    :func:`ks_statistic`). Returns the p-value.
    """
    d = ks_statistic(samples, cdf, rounded=rounded)
    p = kolmogorov_pvalue(d, samples.numel())
    if p < alpha:
        raise AssertionError(
            f"{label}: Kolmogorov–Smirnov test rejects (D = {d:.4g}, n = {samples.numel()}, "
            f"p = {p:.3g} < alpha = {alpha:g})"
        )
    return p
