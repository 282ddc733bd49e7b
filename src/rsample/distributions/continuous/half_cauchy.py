r"""Half-Cauchy distribution: ``|Y|`` for ``Y ~ Cauchy(0, scale)``.

.. math:: p(x) = \frac{2}{\pi\gamma\,[1 + (x/\gamma)^2]}, \quad x \ge 0

``rsample`` is explicit: :math:`x = \gamma|z|`, ``z`` standard Cauchy. The inverse CDF is
``γ·tan(πp/2)`` below the median and ``γ·cot(π(1−p)/2)`` above it, accurate at both ends.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from .cauchy import log1p_square, log_cauchy_kernel

__all__ = ["HalfCauchy"]

LOG_2_OVER_PI = math.log(2 / math.pi)


class HalfCauchy(Distribution):
    """Half-Cauchy distribution with scale ``scale``; its mean and variance are infinite."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    rsample_kind = "explicit"

    def __init__(self, scale, validate_args=None):
        (self.scale,) = self._broadcast(scale=scale)
        super().__init__(self.scale.shape, validate_args=validate_args)

    def _noise(self, sample_shape, generator):
        z = torch.empty(
            self._extended_shape(sample_shape), dtype=self.scale.dtype, device=self.scale.device
        )
        return z.cauchy_(generator=generator).abs_()

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._noise(sample_shape, generator) * self.scale

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        z = self._noise(sample_shape, generator)
        return z * self.scale, LOG_2_OVER_PI - self.scale.log() - log1p_square(z)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_p = LOG_2_OVER_PI + log_cauchy_kernel(value, self.scale)  # value/scale may overflow
        return torch.where(value < 0, -math.inf, log_p)  # NaN stays NaN

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 / math.pi * torch.atan(value.clamp_min(0) / self.scale)

    def icdf(self, value):
        self._validate_probability(value)
        # tan(πp/2) below the median, cot(π(1−p)/2) above it: each argument stays exact.
        lower = value < 0.5
        half_angle = 0.5 * math.pi * torch.where(lower, value, 1 - value)
        t = torch.tan(half_angle)
        return self.scale * torch.where(lower, t, t.reciprocal())

    @property
    def mean(self):
        return torch.full_like(self.scale, math.inf)

    @property
    def mode(self):
        return torch.zeros_like(self.scale)

    @property
    def variance(self):
        return torch.full_like(self.scale, math.inf)

    def entropy(self):
        return math.log(2 * math.pi) + self.scale.log()
