r"""Half-normal distribution: ``|Y|`` for ``Y ~ N(0, scale²)``.

.. math:: p(x) = \frac{\sqrt{2}}{\sigma\sqrt{\pi}} e^{-x^2/(2\sigma^2)}, \quad x \ge 0

``rsample`` is explicit: :math:`x = \sigma|\varepsilon|`. The CDF is ``erf(x/(σ√2))`` (not
``2Φ − 1``, which cancels near 0) and the inverse CDF ``σ√2·erfinv(p)``.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ... import _random
from ...distribution import Distribution
from .normal import HALF_LOG_2PI

__all__ = ["HalfNormal"]

LOG_2 = math.log(2.0)


class HalfNormal(Distribution):
    """Half-normal distribution with scale ``scale``."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    rsample_kind = "explicit"

    def __init__(self, scale, validate_args=None):
        (self.scale,) = self._broadcast(scale=scale)
        super().__init__(self.scale.shape, validate_args=validate_args)

    def _noise(self, sample_shape, generator):
        shape = self._extended_shape(sample_shape)
        return _random.normal(
            shape, dtype=self.scale.dtype, device=self.scale.device, generator=generator
        )

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._noise(sample_shape, generator).abs() * self.scale

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        eps = self._noise(sample_shape, generator)
        return eps.abs() * self.scale, LOG_2 - HALF_LOG_2PI - 0.5 * eps.square() - self.scale.log()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = value / self.scale
        log_p = LOG_2 - HALF_LOG_2PI - 0.5 * z.square() - self.scale.log()
        return torch.where(value < 0, -math.inf, log_p)  # NaN stays NaN

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return torch.erf(value.clamp_min(0) / (self.scale * math.sqrt(2)))

    def icdf(self, value):
        self._validate_probability(value)
        return math.sqrt(2) * torch.erfinv(value) * self.scale

    @property
    def mean(self):
        return math.sqrt(2 / math.pi) * self.scale

    @property
    def mode(self):
        return torch.zeros_like(self.scale)

    @property
    def variance(self):
        return (1 - 2 / math.pi) * self.scale.square()

    def entropy(self):
        return 0.5 * math.log(math.pi * math.e / 2) + self.scale.log()
