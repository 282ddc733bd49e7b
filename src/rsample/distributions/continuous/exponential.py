r"""Exponential distribution.

.. math:: p(x) = \lambda e^{-\lambda x}, \quad x \ge 0

``rsample`` is explicit: :math:`x = E/\lambda` with :math:`E \sim \mathrm{Exp}(1)`. The CDF is
``−expm1(−λx)`` and the inverse CDF ``−log1p(−p)/λ``, both exact near 0.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution

__all__ = ["Exponential"]


class Exponential(Distribution):
    """Exponential distribution with rate ``rate`` (mean ``1/rate``)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    rsample_kind = "explicit"

    def __init__(self, rate, validate_args=None):
        (self.rate,) = self._broadcast(rate=rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def _noise(self, sample_shape, generator):
        e = torch.empty(
            self._extended_shape(sample_shape), dtype=self.rate.dtype, device=self.rate.device
        )
        return e.exponential_(generator=generator)

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._noise(sample_shape, generator) / self.rate

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        e = self._noise(sample_shape, generator)
        return e / self.rate, self.rate.log() - e

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # NaN stays NaN
        return torch.where(value < 0, -math.inf, self.rate.log() - self.rate * value)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -torch.expm1(-self.rate * value.clamp_min(0))

    def icdf(self, value):
        self._validate_probability(value)
        return -torch.log1p(-value) / self.rate

    def log_cdf(self, value):
        """``log(1 − e^{−λx})``: ``expm1`` below ``λx = log 2``, ``log1p`` above (Mächler 2012)."""
        if self._validate_args:
            self._validate_sample(value)
        y = self.rate * value.clamp_min(0)
        small = y < math.log(2.0)
        return torch.where(
            small,
            torch.log(-torch.expm1(-y.clamp(max=math.log(2.0)))),
            torch.log1p(-torch.exp(-y.clamp(min=math.log(2.0)))),
        )

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -self.rate * value.clamp_min(0)

    def _isf(self, q):
        """Inverse survival function ``−log(q)/λ`` (exact for tiny q)."""
        return -torch.log(q) / self.rate

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return torch.zeros_like(self.rate)

    @property
    def variance(self):
        return self.rate.pow(-2)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    def entropy(self):
        return 1.0 - self.rate.log()
