"""Finite-difference slopes of the log-gamma sampling path, for Beta and Dirichlet tests.

``gamma.log_standard_gamma_rsample(α, shape, generator=g)`` draws G' ~ Gamma(α', 1) with
α' = α + 1 below 1 and α otherwise, then (unless no α is below 1 and the tensors are on the CPU)
E ~ Exp(1), and returns log G = log G' − E/α below 1 (G_α = G_{α+1} U^{1/α}, Marsaglia & Tsang
2000). :func:`log_gamma_slopes` replays those draws from the same generator and differentiates
the path by finite differences of the gamma quantile at a fixed CDF level u = P(α', G'),
independently of the implicit gradient: d log G/dα = d log G'/dα' (+ E/α² where boosted).
"""

from __future__ import annotations

import torch

from rsample.distributions.continuous.gamma import standard_gamma_rsample
from rsample.special import gammainc, gammaincinv


def log_gamma_slopes(alpha: torch.Tensor, shape, generator: torch.Generator) -> torch.Tensor:
    """``d log G/dα`` of the draws ``log_standard_gamma_rsample(alpha, shape)`` makes next from
    ``generator`` (float64 CPU ``alpha``; Richardson-extrapolated central differences)."""
    small = alpha < 1
    boosted = (alpha + small.to(alpha.dtype)).expand(shape)
    with torch.no_grad():
        g_prime = standard_gamma_rsample(boosted, shape, generator=generator)
        e = torch.empty(shape, dtype=alpha.dtype)
        if small.any():
            e.exponential_(generator=generator)
    u = gammainc(boosted, g_prime)

    def diff(step):
        up, down = gammaincinv(boosted + step, u).log(), gammaincinv(boosted - step, u).log()
        return (up - down) / (2 * step)

    h = 1e-3 * boosted
    slope = (4 * diff(h / 2) - diff(h)) / 3  # Richardson: O(h⁴)
    return slope + torch.where(small, e / alpha.square(), 0.0)
