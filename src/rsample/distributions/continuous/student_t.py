r"""Student's t distribution.

.. math:: p(x) = \frac{1}{\sigma\sqrt\nu\,B(\nu/2, 1/2)}
    \Big(1 + \frac{(x-\mu)^2}{\nu\sigma^2}\Big)^{-(\nu+1)/2}

``rsample``: :math:`x = \mu + \sigma Z\sqrt{\nu/V}`, :math:`Z \sim N(0, 1)`,
:math:`V = 2G`, :math:`G \sim \mathrm{Gamma}(\nu/2, 1)`; ``loc`` and ``scale`` enter explicitly,
``df`` through the implicit gradient of the gamma draw (Figurnov, Mohamed & Mnih 2018). The gamma
is drawn in log space (:func:`~.inverse_gamma.log_standard_gamma_draw`): for ``df = 1e-2``
most draws of ``G`` underflow even in float64, and ``|x|`` is then formed from
:math:`\log|Z| + \tfrac12(\log(\nu/2) - \log G)`, so the tails are not cut off; a draw beyond the
dtype's range (40 % of them for ``df = 1e-2``: :math:`P(|T| > 3.4\cdot10^{38}) = 0.40`)
saturates at its largest finite number. For large ``df`` (1e6 and beyond) the ratio
:math:`\nu/(2G)` is formed directly and stays exact.

CDF and quantile: :func:`rsample.special.student_t_cdf` / ``student_t_icdf`` (incomplete beta
:math:`I_{\nu/(\nu+t^2)}(\nu/2, \tfrac12)`), with the far tail
:math:`\tfrac12 I \approx \tfrac12 (\nu/t^2)^{\nu/2}/(\tfrac\nu2 B(\tfrac\nu2, \tfrac12))`
(DLMF 8.17.7 and the series of :math:`I_x` at 0) written in logs where ``t`` overflows.
``log_prob`` never forms :math:`(x-\mu)/\sigma`, which overflows where the density does not.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ...gradients import implicit_rsample
from ...special import lbeta, student_t_cdf, student_t_icdf
from .inverse_gamma import digamma_difference, dlog_gamma, log_standard_gamma_draw, unsaturated

__all__ = ["StudentT"]


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, location ``loc`` and scale ``scale``."""

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    rsample_kind = "implicit"

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = self._broadcast(df=df, loc=loc, scale=scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        half_df = 0.5 * self.df
        z = torch.empty(shape, dtype=self.df.dtype, device=self.df.device)
        z.normal_(generator=generator)
        g, log_g, g1, e = log_standard_gamma_draw(half_df, shape, generator=generator)
        info = torch.finfo(z.dtype)
        with torch.no_grad():
            # |t| = |Z| sqrt((ν/2)/G) directly while G is a normal number (exact for large ν),
            # else from log|t| = log|Z| + ½(log(ν/2) − log G); saturating at ±max.
            direct = g > info.tiny * 4
            t = z * half_df.sqrt() / torch.where(direct, g, 1.0).sqrt()
            log_t = z.abs().log() + 0.5 * (half_df.log() - log_g)
            far = z.sign() * torch.exp(log_t.clamp(max=math.log(info.max) - 1e-3))
            t = torch.where(
                direct, t, torch.where(log_t < math.log(info.max), far, z.sign() * info.max)
            )
        t = implicit_rsample(t, (self.df, g1, e), sample_grad=_student_t_sample_grad)
        return (self.loc + self.scale * t).clamp(-info.max, info.max)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`-\log(\sigma\sqrt\nu) - \log B(\tfrac\nu2, \tfrac12)
        - \tfrac{\nu+1}2\log(1 + r^2)`, :math:`r = (x-\mu)/(\sigma\sqrt\nu)`; for ``|r| > 1``,
        :math:`\log(1 + r^2) = 2\log|r| + \log(1 + r^{-2})` with ``log|r|`` from logs."""
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        d = value - self.loc
        sv = self.scale * df.sqrt()
        log_sv = self.scale.log() + 0.5 * df.log()
        near = d.abs() <= sv
        r = torch.where(near, d, 0.0) / sv
        d_far = torch.where(near, sv, d).abs()
        # log|r| = log(|d|/(σ√ν)): its value from the quotient where that is finite, its gradient
        # from log|d| − log(σ√ν) (the quotient's own derivative overflows for tiny σ√ν)
        log_r = d_far.log() - log_sv
        with torch.no_grad():
            ratio = d_far / sv
            exact = torch.where(
                ratio < math.inf, torch.where(ratio < math.inf, ratio, 1.0).log(), log_r
            )
        log_r = torch.where(log_r.isfinite(), log_r + (exact - log_r).detach(), log_r)
        log1p_r2 = torch.where(
            near, torch.log1p(r.square()), 2 * log_r + torch.log1p((sv / d_far).square())
        )
        return -log_sv - lbeta(0.5 * df, torch.full_like(df, 0.5)) - 0.5 * (df + 1) * log1p_r2

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        d = value - self.loc
        info = torch.finfo(d.dtype)
        log_r = d.abs().log() - self.scale.log() - 0.5 * df.log()  # log|t|/√ν
        # Beyond |r|² = tiny^{-1/2} the beta argument ν/(ν + t²) ≈ r⁻² is below √tiny:
        # I ≈ r^{-ν}/((ν/2) B(ν/2, ½)) to within a relative r⁻²·ν.
        far = log_r > -0.25 * math.log(info.tiny)
        half_df = 0.5 * df
        log_i = -df * log_r - half_df.log() - lbeta(half_df, torch.full_like(df, 0.5))
        half_tail = 0.5 * torch.exp(torch.where(far, log_i, -math.inf))
        tail_cdf = torch.where(d < 0, half_tail, 1 - half_tail)
        t = torch.where(far, 0.0, d) / self.scale
        return torch.where(far, tail_cdf, student_t_cdf(df, t))

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        """The quantile; inside (0, 1) one beyond the dtype's range saturates at ±max."""
        self._validate_probability(value)
        x = self.loc + self.scale * student_t_icdf(self.df, value)
        info = torch.finfo(x.dtype)
        inner = (value > 0) & (value < 1)
        return torch.where(inner, x.clamp(-info.max, info.max), x)

    def log_cdf(self, value: torch.Tensor) -> torch.Tensor:
        """``log P(X ≤ value)``; the lower tail is computed with full relative accuracy."""
        return torch.log(self.cdf(value))

    def log_survival_function(self, value: torch.Tensor) -> torch.Tensor:
        """``log P(X > value) = log F(2·loc − value)``, by symmetry (accurate in the upper tail)."""
        return torch.log(self.cdf(self.loc - (value - self.loc)))

    def _isf(self, q: torch.Tensor) -> torch.Tensor:
        """Inverse survival function, by symmetry (exact for tiny q)."""
        x = self.loc - self.scale * student_t_icdf(self.df, q)
        info = torch.finfo(x.dtype)
        return x.clamp(-info.max, info.max)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """``loc`` for df > 1, else NaN (as torch)."""
        return torch.where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> torch.Tensor:
        return self.loc.clone()

    @property
    def variance(self) -> torch.Tensor:
        """``σ²ν/(ν − 2)`` for ν > 2, ``inf`` for 1 < ν ≤ 2, NaN for ν ≤ 1 (as torch)."""
        df = self.df
        var = self.scale.square() * df / (df - 2)
        return torch.where(df > 2, var, torch.where(df > 1, math.inf, math.nan))

    def entropy(self) -> torch.Tensor:
        r""":math:`\log(\sigma\sqrt\nu) + \log B(\tfrac\nu2, \tfrac12)
        + \tfrac{\nu+1}2\big(\psi(\tfrac{\nu+1}2) - \psi(\tfrac\nu2)\big)`, the digamma
        difference without cancellation for large ν (:func:`digamma_difference`)."""
        df = self.df
        half_df = 0.5 * df
        half = torch.full_like(df, 0.5)
        return (
            self.scale.log()
            + 0.5 * df.log()
            + lbeta(half_df, half)
            + 0.5 * (df + 1) * digamma_difference(half_df, half)
        )


def _student_t_sample_grad(t, df, g1, e):
    r"""``∂t/∂ν`` of :math:`t = Z\sqrt{(\nu/2)/G}`: :math:`\tfrac t4\,(2/\nu - d\log G/da)`,
    ``a = ν/2`` (0 where the draw saturated); the bracket is formed before multiplying by ``t``."""
    bracket = 2 / df - dlog_gamma(0.5 * df, g1, e)
    # Capped at the largest float: a draw whose loc + scale·t then overflows and is clamped
    # passes a zero gradient here, and 0·inf would be NaN.
    big = torch.finfo(t.dtype).max
    slope = (0.25 * t * bracket).clamp(-big, big)
    return torch.where(unsaturated(t), slope, 0.0), None, None
