r"""Fisher–Snedecor (F) distribution.

.. math:: p(x) = \frac{r\,(r x)^{a-1}(1 + r x)^{-a-b}}{B(a, b)}, \quad
    a = \frac{d_1}2,\; b = \frac{d_2}2,\; r = \frac{d_1}{d_2},\; x > 0

that is :math:`X = (d_2/d_1)\,Y` with :math:`Y \sim \mathrm{BetaPrime}(d_1/2, d_2/2)`.
``rsample`` draws :math:`X = (G_1/d_1)/(G_2/d_2)` with :math:`G_i = 2\,\Gamma_i`,
:math:`\Gamma_i \sim \mathrm{Gamma}(d_i/2, 1)` (chi-squared variables), computed as
:math:`(b/a)\,\Gamma_1/\Gamma_2` from the gammas' logs where the ratio or a gamma leaves the
dtype's range (see :mod:`.beta_prime`); gradients are the gammas' implicit ones (Figurnov,
Mohamed & Mnih 2018). CDF :math:`I_u(a, b)` with :math:`u = d_1x/(d_1x + d_2)`, and above the
median of the beta argument its complement ``betaincc(b, a, v)``, :math:`v = d_2/(d_1x + d_2)`
formed directly; quantile ``(b/a)`` times the beta-prime quantile. Moments follow torch's
conventions (NaN where undefined).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from .beta_prime import (
    beta_prime_cdf,
    beta_prime_entropy,
    beta_prime_icdf,
    gamma_ratio_rsample,
    log_density,
    saturate,
)
from .inverse_gamma import unsaturated

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    """F distribution with ``df1`` and ``df2`` degrees of freedom."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.nonnegative  # the density extends to 0 (as Gamma's)
    rsample_kind = "implicit"

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = self._broadcast(df1=df1, df2=df2)
        super().__init__(self.df1.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def _draw(self, sample_shape, generator):
        a, b = 0.5 * self.df1, 0.5 * self.df2
        shape = self._extended_shape(sample_shape)
        x, log_p = gamma_ratio_rsample(a, b, shape, generator, df=(self.df1, self.df2))
        return x, log_p + self.df1.log() - self.df2.log()

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        return self._draw(sample_shape, generator)[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        x, log_p = self._draw(sample_shape, generator)
        return x, torch.where(unsaturated(x), log_p, self._log_prob(x))

    # ----------------------------------------------------------------- scoring
    def _scaled(self, value: torch.Tensor):
        """``(y, log y)`` for ``y = (d₁/d₂)·x``, ``log y`` exact where ``y`` over/underflows."""
        x = value.clamp_min(0)
        y = x * (self.df1 / self.df2)
        # log y: the value from y where y is a normal number, the gradient always from
        # log x + log d₁ − log d₂ (through y, (a − 1)/y overflows for tiny y)
        log_y = x.log() + self.df1.log() - self.df2.log()
        with torch.no_grad():
            info = torch.finfo(y.dtype)
            normal = (y >= info.tiny) & (y <= info.max)
            exact = torch.where(normal, torch.where(normal, y, 1.0).log(), log_y)
        return y, torch.where(log_y.isfinite(), log_y + (exact - log_y).detach(), log_y)

    def _log_prob(self, value: torch.Tensor) -> torch.Tensor:
        y, log_y = self._scaled(value)
        a, b = 0.5 * self.df1, 0.5 * self.df2
        lp = log_density(a, b, y, log_y) + self.df1.log() - self.df2.log()
        return torch.where(value < 0, -math.inf, lp)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._log_prob(value)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y, log_y = self._scaled(value)
        return beta_prime_cdf(0.5 * self.df1, 0.5 * self.df2, y, log_y)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        """The quantile; inside (0, 1) one beyond the dtype's range saturates at max."""
        self._validate_probability(value)
        y = beta_prime_icdf(0.5 * self.df1, 0.5 * self.df2, value)
        return saturate(y * (self.df2 / self.df1), value)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """``d₂/(d₂ − 2)`` for d₂ > 2, else NaN (as torch)."""
        df2 = self.df2
        return torch.where(df2 > 2, df2 / (df2 - 2), math.nan)

    @property
    def mode(self) -> torch.Tensor:
        """``(d₁ − 2)/d₁ · d₂/(d₂ + 2)`` for d₁ > 2, else NaN (as torch)."""
        df1, df2 = self.df1, self.df2
        return torch.where(df1 > 2, (df1 - 2) / df1 * df2 / (df2 + 2), math.nan)

    @property
    def variance(self) -> torch.Tensor:
        """``2d₂²(d₁ + d₂ − 2)/(d₁(d₂ − 2)²(d₂ − 4))`` for d₂ > 4, else NaN (as torch)."""
        df1, df2 = self.df1, self.df2
        var = 2 * (df2 / (df2 - 2)).square() * (df1 + df2 - 2) / (df1 * (df2 - 4))
        return torch.where(df2 > 4, var, math.nan)

    def entropy(self) -> torch.Tensor:
        """The beta-prime entropy plus ``log(d₂/d₁)``."""
        return beta_prime_entropy(0.5 * self.df1, 0.5 * self.df2) + (
            self.df2.log() - self.df1.log()
        )
