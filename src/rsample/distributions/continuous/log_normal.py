r"""Log-normal distribution: ``exp(Y)`` for ``Y ~ N(loc, scale²)``.

.. math:: p(x) = \frac{1}{x\sigma\sqrt{2\pi}} \exp\!\Big(-\frac{(\log x-\mu)^2}{2\sigma^2}\Big),
   \quad x > 0

``rsample`` is explicit: :math:`x = \exp(\mu + \sigma\varepsilon)`. The variance uses ``expm1``.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ... import _random
from ...distribution import Distribution
from ...special import log_ndtr, ndtr, ndtri
from .normal import HALF_LOG_2PI, Normal

__all__ = ["LogNormal"]


class LogNormal(Distribution):
    """Log-normal distribution whose logarithm has mean ``loc`` and standard deviation ``scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    rsample_kind = "explicit"

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = self._broadcast(loc=loc, scale=scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def base_dist(self) -> Normal:
        """The Normal of ``log X`` (torch's LogNormal exposes it too)."""
        return Normal(self.loc, self.scale, validate_args=False)

    def _noise(self, sample_shape, generator):
        shape = self._extended_shape(sample_shape)
        return _random.normal(
            shape, dtype=self.loc.dtype, device=self.loc.device, generator=generator
        )

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return torch.addcmul(self.loc, self._noise(sample_shape, generator), self.scale).exp()

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        eps = self._noise(sample_shape, generator)
        y = torch.addcmul(self.loc, eps, self.scale)
        return y.exp(), -0.5 * eps.square() - HALF_LOG_2PI - self.scale.log() - y

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = value.log()
        log_p = -0.5 * ((y - self.loc) / self.scale).square() - HALF_LOG_2PI - self.scale.log() - y
        # where(value <= 0, …), not where(value > 0, …): NaN must stay NaN, not become −inf.
        return torch.where(value <= 0, -math.inf, log_p)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ndtr((value.log() - self.loc) / self.scale)

    def log_cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return log_ndtr((value.log() - self.loc) / self.scale)

    def icdf(self, value):
        self._validate_probability(value)
        return torch.addcmul(self.loc, ndtri(value), self.scale).exp()

    @property
    def mean(self):
        return (self.loc + self.scale.square() / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self):
        s2 = self.scale.square()
        return torch.expm1(s2) * (2 * self.loc + s2).exp()

    def entropy(self):
        return self.loc + 0.5 + HALF_LOG_2PI + self.scale.log()
