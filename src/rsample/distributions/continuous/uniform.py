r"""Continuous uniform distribution on ``[low, high)``.

.. math:: p(x) = \frac{1}{b - a}, \quad a \le x < b

``rsample`` is explicit: :math:`x = a + (b - a)\,u`, :math:`u \sim U[0, 1)`.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ... import _random, _validation
from ...distribution import Distribution

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform distribution on ``[low, high)``; ``low < high`` is checked."""

    arg_constraints = {
        "low": constraints.dependent(is_discrete=False, event_dim=0),
        "high": constraints.dependent(is_discrete=False, event_dim=0),
    }
    rsample_kind = "explicit"

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = self._broadcast(low=low, high=high)
        super().__init__(self.low.shape, validate_args=validate_args)

    def _validate_parameters(self):
        name = type(self).__name__
        _validation.check(name, "low", constraints.real, self.low, finite=True)
        _validation.check(name, "high", constraints.real, self.high, finite=True)
        _validation.check(
            name, "high - low", constraints.positive, self.high - self.low, finite=False
        )

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        shape = self._extended_shape(sample_shape)
        u = _random.uniform(
            shape, dtype=self.low.dtype, device=self.low.device, generator=generator
        )
        return torch.addcmul(self.low, u, self.high - self.low)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        x = self.rsample(sample_shape, generator=generator)
        return x, (-(self.high - self.low).log()).expand_as(x)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        outside = (value < self.low) | (value >= self.high)
        # NaN is neither inside nor outside; the ``value·0`` term carries it through (not −inf).
        return torch.where(outside, -math.inf, value * 0 - (self.high - self.low).log())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value):
        self._validate_probability(value)
        x = torch.addcmul(self.low, value, self.high - self.low)
        return torch.minimum(x, self.high)  # low + 1·(high − low) can round above high

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def mode(self):
        return torch.full_like(self.low, math.nan)

    @property
    def variance(self):
        return (self.high - self.low).square() / 12

    @property
    def stddev(self):
        return (self.high - self.low) / 12**0.5

    def entropy(self):
        return (self.high - self.low).log()
