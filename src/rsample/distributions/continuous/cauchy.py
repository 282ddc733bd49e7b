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

__all__ = ["Cauchy", "log1p_square", "log_cauchy_kernel"]


def log1p_square(z: torch.Tensor) -> torch.Tensor:
    """``log(1 + z²)`` without overflow of ``z²`` (float32 overflows at ``|z| ≈ 1.8e19``)."""
    a = z.abs()
    # Each branch sees only arguments it is chosen for (the double-where trick): otherwise the
    # backward of the unchosen ``a.square()`` computes 0·2a = 0·∞ = NaN once 2a overflows.
    big, safe_big, safe_small = a > 1, a.clamp_min(1), a.clamp_max(1)
    return torch.where(
        big,
        2 * safe_big.log() + torch.log1p(safe_big.reciprocal().square()),
        torch.log1p(safe_small.square()),
    )


def log_cauchy_kernel(d: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    r"""``log(s / (s² + d²)) = −log s − log1p((d/s)²)`` without forming ``d/s`` where ``|d| > s``.

    ``d/s`` overflows to ∞ once ``|d| > s·max`` (float32 ``Cauchy(0, 1e-20)`` at ``x = 1e19``)
    though the heavy-tailed density is still representable (``log p ≈ −140``); for ``|d| > s``
    the form ``log s − 2 log|d| − log1p((s/d)²)`` cannot overflow, is as accurate (both carry an
    error of about ``|log s|·eps``) and has NaN-free gradients at ``d = ±∞``.
    """
    a = d.abs()
    big = a > scale
    log_s = scale.log()
    hi, lo = torch.where(big, a, scale), torch.where(big, scale, a)  # double where, as above
    return torch.where(
        big,
        log_s - 2 * hi.log() - torch.log1p((scale / hi).square()),
        -log_s - torch.log1p((lo / scale).square()),
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

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        # Not through z = (x − loc)/scale, which can overflow where log p is finite.
        if self._validate_args:
            self._validate_sample(value)
        return log_cauchy_kernel(value - self.loc, self.scale) - math.log(math.pi)

    def _std_cdf(self, z):
        return torch.atan2(torch.ones_like(z), -z) / math.pi

    def _std_icdf(self, p):
        lower = p < 0.5
        tail = torch.where(lower, p, 1 - p)
        return torch.where(lower, -1, 1) / torch.tan(math.pi * tail)

    def log_cdf(self, value: torch.Tensor) -> torch.Tensor:
        """``log P(X ≤ value)``, accurate in both tails."""
        if self._validate_args:
            self._validate_sample(value)
        return _log_std_cdf((value - self.loc) / self.scale)

    def log_survival_function(self, value: torch.Tensor) -> torch.Tensor:
        """``log P(X > value)``, accurate in both tails."""
        if self._validate_args:
            self._validate_sample(value)
        return _log_std_cdf((self.loc - value) / self.scale)

    def _isf(self, q: torch.Tensor) -> torch.Tensor:
        """Inverse survival function, by symmetry (exact for tiny q)."""
        return torch.addcmul(self.loc, self._std_icdf(q), self.scale, value=-1)

    @property
    def mean(self) -> torch.Tensor:
        return torch.full_like(self.loc, math.nan)

    @property
    def variance(self) -> torch.Tensor:
        return torch.full_like(self.loc, math.inf)

    @property
    def stddev(self) -> torch.Tensor:
        return torch.full_like(self.loc, math.inf)


def _log_std_cdf(z: torch.Tensor) -> torch.Tensor:
    """``log(atan2(1, −z)/π)`` below the median, ``log1p(−atan2(1, z)/π)`` above it; each
    branch sees only its own half line (no NaN in the gradient of the other)."""
    one = torch.ones_like(z)
    below = torch.log(torch.atan2(one, -z.clamp(max=0)) / math.pi)
    above = torch.log1p(-torch.atan2(one, z.clamp(min=0)) / math.pi)
    return torch.where(z < 0, below, above)
