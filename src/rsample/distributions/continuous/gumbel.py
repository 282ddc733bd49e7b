r"""Gumbel (type-I extreme value, maximum) distribution.

.. math:: p(x) = \frac{1}{\beta} e^{-(z + e^{-z})}, \quad z = (x - \mu)/\beta

``rsample`` is explicit: :math:`x = \mu - \beta \log E` with :math:`E \sim \mathrm{Exp}(1)`.
"""

from __future__ import annotations

import math

import torch

from ._loc_scale import LocationScale

__all__ = ["Gumbel"]

EULER_GAMMA = 0.57721566490153286061


class Gumbel(LocationScale):
    """Gumbel distribution with location ``loc`` and scale ``scale``."""

    _std_mean = EULER_GAMMA
    _std_variance = math.pi**2 / 6
    _std_entropy = 1 + EULER_GAMMA

    def _std_noise(self, shape, generator):
        e = torch.empty(shape, dtype=self.loc.dtype, device=self.loc.device)
        e.exponential_(generator=generator)
        return -e.clamp_min_(torch.finfo(e.dtype).tiny).log()

    def _std_log_prob(self, z):
        # At z = −∞ (x = −∞, or (x − μ)/β overflowing) z + e^{−z} is −∞ + ∞ = NaN; at the most
        # negative finite z it is +∞, the right limit, so clamp there.
        z = z.clamp_min(torch.finfo(z.dtype).min)
        return -(z + torch.exp(-z))

    def _std_cdf(self, z):
        return torch.exp(-torch.exp(-z))

    def _std_icdf(self, p):
        return -torch.log(-torch.log(p))

    def log_cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -torch.exp(-(value - self.loc) / self.scale)

    def log_survival_function(self, value: torch.Tensor) -> torch.Tensor:
        """``log(1 − exp(−e^{−z}))`` via ``expm1``: accurate far into the upper tail."""
        if self._validate_args:
            self._validate_sample(value)
        return torch.log(-torch.expm1(-torch.exp(-(value - self.loc) / self.scale)))

    def _isf(self, q: torch.Tensor) -> torch.Tensor:
        """Inverse survival function ``μ − β log(−log1p(−q))`` (exact for tiny q)."""
        return torch.addcmul(self.loc, torch.log(-torch.log1p(-q)), self.scale, value=-1)
