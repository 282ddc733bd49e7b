r"""Normal (Gaussian) distribution.

.. math:: p(x) = \frac{1}{\sigma\sqrt{2\pi}} \exp\!\Big(-\frac{(x-\mu)^2}{2\sigma^2}\Big),
    \quad x \in \mathbb{R}

``rsample`` is explicit: :math:`x = \mu + \sigma\varepsilon`, :math:`\varepsilon \sim N(0, 1)`.
CDFs use ``ndtr``/``log_ndtr`` (accurate in the lower tail; ``0.5·(1 + erf)`` is not).
"""

from __future__ import annotations

import math

import torch

from ... import _random
from ..._scalars import const
from ...special import log_ndtr, ndtr, ndtri
from ._loc_scale import LocationScale

__all__ = ["Normal"]

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_FUSED_MIN_NUMEL = 1 << 14


class Normal(LocationScale):
    """Normal distribution ``N(loc, scale²)`` (drop-in for ``torch.distributions.Normal``)."""

    _std_variance = 1.0
    _std_entropy = 0.5 + HALF_LOG_2PI

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        if self.loc.dim() == 0 and self.loc.is_cpu and not self._needs_graph():
            shape = self._extended_shape(sample_shape)
            if shape.numel() >= _FUSED_MIN_NUMEL:
                # Scalar host parameters, no graph: the RNG kernel applies loc and scale in its
                # own pass (bit-identical to loc + scale·randn for these sizes).
                x = torch.empty(shape, dtype=self.loc.dtype)
                return x.normal_(float(self.loc), float(self.scale), generator=generator)
        return super().rsample(sample_shape, generator=generator)

    def _std_noise(self, shape, generator):
        return _random.normal(
            shape, dtype=self.loc.dtype, device=self.loc.device, generator=generator
        )

    def _std_log_prob(self, z):
        return -0.5 * z.square() - HALF_LOG_2PI

    def _log_prob_of_std(self, z):
        # −½z² − log σ − ½log 2π as one fused multiply-add (fewer ops forward and backward).
        log_norm = const(-HALF_LOG_2PI, z.dtype) - self.scale.log()
        return torch.addcmul(log_norm, z, z, value=-0.5)

    def _std_cdf(self, z):
        return ndtr(z)

    def _std_icdf(self, p):
        return ndtri(p)

    def log_cdf(self, value: torch.Tensor) -> torch.Tensor:
        """``log P(X ≤ value)``, accurate far into the lower tail."""
        if self._validate_args:
            self._validate_sample(value)
        return log_ndtr((value - self.loc) / self.scale)

    def log_survival_function(self, value: torch.Tensor) -> torch.Tensor:
        """``log P(X > value)``, accurate far into the upper tail."""
        if self._validate_args:
            self._validate_sample(value)
        return log_ndtr((self.loc - value) / self.scale)

    def _isf(self, q: torch.Tensor) -> torch.Tensor:
        """Inverse survival function ``x`` with ``P(X > x) = q``, by symmetry (exact for tiny q)."""
        return torch.addcmul(self.loc, ndtri(q), self.scale, value=-1)

    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    @property
    def stddev(self) -> torch.Tensor:
        return self.scale

    @property
    def variance(self) -> torch.Tensor:
        return self.scale.square()
