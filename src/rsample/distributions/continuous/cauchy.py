r"""Cauchy distribution.

.. math:: p(x) = \frac{1}{\pi\gamma\,[1 + ((x-x_0)/\gamma)^2]}

``rsample`` is explicit: :math:`x = x_0 + \gamma z` with :math:`z = \tan(\pi(u - 1/2))`. The CDF is
written as ``atan2(1, −z)/π`` and the inverse CDF as ``∓cot(πp)`` so that neither cancels in the
tails; ``log1p(z²)`` switches to ``2 log|z| + log1p(z⁻²)`` before ``z²`` overflows.
"""

from __future__ import annotations

import math

import torch

from ._loc_scale import LocationScale

__all__ = ["Cauchy", "log1p_square"]


def log1p_square(z: torch.Tensor) -> torch.Tensor:
    """``log(1 + z²)`` without overflow of ``z²`` (float32 overflows at ``|z| ≈ 1.8e19``)."""
    a = z.abs()
    big = a > 1
    safe = torch.where(big, a, torch.ones_like(a))
    return torch.where(
        big, 2 * safe.log() + torch.log1p(safe.reciprocal().square()), torch.log1p(a.square())
    )


class Cauchy(LocationScale):
    """Cauchy distribution with median ``loc`` and half-width ``scale``; no mean or variance."""

    _std_mean = math.nan
    _std_variance = math.inf
    _std_entropy = math.log(4 * math.pi)

    def _std_noise(self, shape, generator):
        z = torch.empty(shape, dtype=self.loc.dtype, device=self.loc.device)
        return z.cauchy_(generator=generator)

    def _std_log_prob(self, z):
        return -math.log(math.pi) - log1p_square(z)

    def _std_cdf(self, z):
        return torch.atan2(torch.ones_like(z), -z) / math.pi

    def _std_icdf(self, p):
        lower = p < 0.5
        tail = torch.where(lower, p, 1 - p)
        return torch.where(lower, -1, 1) / torch.tan(math.pi * tail)

    @property
    def mean(self) -> torch.Tensor:
        return torch.full_like(self.loc, math.nan)

    @property
    def variance(self) -> torch.Tensor:
        return torch.full_like(self.loc, math.inf)

    @property
    def stddev(self) -> torch.Tensor:
        return torch.full_like(self.loc, math.inf)
