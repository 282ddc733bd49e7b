r"""Generalized Pareto distribution (torch's parameterization).

.. math:: p(x) = \frac{1}{\sigma}\,(1 + \xi z)^{-1/\xi - 1}, \quad z = \frac{x - \mu}{\sigma},

on :math:`x \ge \mu` for :math:`\xi \ge 0` and :math:`\mu \le x \le \mu - \sigma/\xi` for
:math:`\xi < 0`; :math:`\xi = 0` is the exponential limit :math:`e^{-z}/\sigma`.

``rsample`` is explicit, the inverse CDF applied to exponential noise (drawn directly, so the
far tail is reached): :math:`x = \mu + \sigma\,\mathrm{expm1}(\xi E)/\xi`,
:math:`E \sim \mathrm{Exp}(1)`, which also gives the log-density of the draw for free,
:math:`-\log\sigma - (1 + \xi)E`. Draws are clamped below the dtype's largest number and,
for ξ < 0, to the number just below the upper end: for ξ < −1 the density is unbounded there
and (in float32, for ξ = −2.5) 0.1 % of the mass rounds onto it; the nearest interior number
keeps ``log_prob`` of every draw finite (as Gamma floors its draws at 0).

Continuity across :math:`\xi = 0`. With :math:`w = \xi z` the density and the survival function
need :math:`\log(1 + w)/\xi = z \cdot \mathrm{log1p}(w)/w` and the quantile
:math:`L\cdot\mathrm{expm1}(v)/v` with :math:`v = \xi L`, :math:`L = -\log(1-p)`. For
:math:`|w|, |v| < 10^{-3}` (0.05 below float64) the ratios come from their Taylor series, so
values *and* gradients in :math:`\xi` are exact through 0 (the quotient forms are 0/0 at 0 and
their derivatives cancel near it). Where :math:`w` is huge (it, or even :math:`z`, may overflow
while the log-density is moderate)
:math:`\log(1 + w) = \log\xi + \log(x - \mu) - \log\sigma + \mathrm{log1p}(1/w)`.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ..._scalars import const
from ...distribution import Distribution
from .weibull import _EXPM1_RATIO, LOG1P_RATIO, _horner, exp_finite, reciprocal, series_limit

__all__ = ["GeneralizedPareto"]

_BIG_W = 1e6  # log1p(w) from logs above this
_BIG_V = 40.0  # expm1(v) = e^v to 4e-18 above this: the quantile from logs


class GeneralizedPareto(Distribution):
    """Generalized Pareto with location ``loc`` (μ), scale ``scale`` (σ) and shape
    ``concentration`` (ξ, any real number)."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    rsample_kind = "explicit"

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = self._broadcast(
            loc=loc, scale=scale, concentration=concentration
        )
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _upper(self) -> torch.Tensor:
        """``μ − σ/ξ`` for ξ < 0 (at most the dtype's largest number: a bounded support stays
        bounded when its end overflows), else ``+inf``.

        Below float64 the end is computed in float64 and rounded toward μ (the gradient is that
        of the computation in the dtype), so that the support never reaches past the exact end:
        the float32 support lies inside the float64 one.
        """
        xi, loc, scale = self.concentration, self.loc, self.scale
        negative = xi < 0
        # σ·(1/|ξ|): the chain rule of σ/ξ overflows for tiny ξ (see reciprocal).
        inv = reciprocal(torch.where(negative, -xi, 1.0))
        end = loc + scale * inv
        if xi.dtype != torch.float64 and xi.dtype.is_floating_point:
            with torch.no_grad():
                xi64 = torch.where(negative, -xi, 1.0).double()
                end64 = loc.double() + scale.double() / xi64
                rounded = end64.to(xi.dtype)
                rounded = torch.where(
                    rounded.double() > end64, torch.nextafter(rounded, loc), rounded
                )
            end = end + (rounded - end).detach()
        end = end.clamp(max=torch.finfo(xi.dtype).max)
        return torch.where(negative, end, math.inf)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.loc, self._upper())

    # ----------------------------------------------------------------- sampling
    def _noise(self, sample_shape, generator) -> torch.Tensor:
        e = torch.empty(
            self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device
        )
        return e.exponential_(generator=generator)

    def _quantile(self, e: torch.Tensor, exp=torch.exp) -> torch.Tensor:
        """``μ + σ·expm1(ξe)/ξ`` for exponential quantiles ``e ∈ [0, ∞]``."""
        xi, scale = self.concentration, self.scale
        v = xi * e
        tiny = v.abs() < series_limit(v.dtype)
        small = tiny | (xi == 0)  # ξ = 0 at e = ∞: v is NaN, the series gives z = e = ∞
        big = v > _BIG_V  # (only for ξ > 0)
        mid = ~(small | big)
        z_small = e * _horner(torch.where(tiny, v, 0.0), _EXPM1_RATIO)  # expm1(v)/v
        xi_m = torch.where(mid, xi, 1.0)
        z_mid = torch.expm1(torch.where(mid, v, 0.0)) / xi_m
        z = torch.where(small, z_small, z_mid)
        # e^v/ξ·σ from logs: e^v alone overflows where the draw may not.
        log_big = torch.where(big, v, 0.0) + scale.log() - torch.where(big, xi, 1.0).log()
        return self.loc + torch.where(big, exp(log_big), scale * z)

    def _draw(self, e: torch.Tensor) -> torch.Tensor:
        """The quantile at ``e``, below the upper end (ξ < 0) or the largest number (ξ ≥ 0)."""
        xi = self.concentration
        upper = self._upper()
        top = torch.where(
            xi < 0, torch.nextafter(upper, self.loc), torch.finfo(upper.dtype).max
        )  # nextafter(loc, loc) = loc: a support that rounds to one point keeps it
        return torch.minimum(self._quantile(e, exp_finite), top)

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._draw(self._noise(sample_shape, generator))

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        # 1 + ξz = e^{ξE}, so log p = −log σ − (1 + 1/ξ)·ξE = −log σ − (1 + ξ)E.
        e = self._noise(sample_shape, generator)
        x = self._draw(e)
        one = const(1.0, e.dtype)
        return x, -self.scale.log() - (one + self.concentration) * e

    # ----------------------------------------------------------------- scoring
    def _terms(self, value: torch.Tensor):
        r"""``(below, above, a, s)`` at ``value``: masks of the values below μ and above the upper
        end, :math:`a = (1 + 1/\xi)\log(1 + \xi z)` (so ``log p = −log σ − a``) and
        :math:`s = \log(1 + \xi z)/\xi = -\log S` (the cumulative hazard).

        Each branch computes on stand-in values where it is not selected, so that no inf or NaN
        of an unused branch reaches a gradient; a NaN value stays NaN. Gradients in ξ go through
        one path each: ``∂s/∂ξ = −(log(1 + w) − w/(1 + w))/ξ²`` overflows for tiny ξ (while
        ``a`` is finite), and two overflowing paths would meet as ``inf − inf``.
        """
        xi, scale = self.concentration, self.scale
        d = value - self.loc
        # z = d/σ and w = ξz may overflow (float32: d = 3e38, σ = 1e-20). The chain rule of a
        # quotient, or of a product with an infinite factor, then gives 0·inf = NaN even in an
        # unused branch: z is d over a detached σ, its σ-derivative −z/σ is carried by a
        # zero-valued term with a finite stand-in for z, and w is formed from that stand-in;
        # the masks use the true w.
        log_scale = scale.log()
        z = d / scale.detach()
        z_fin = torch.where(z.abs() == math.inf, 0.0, z)
        z = z - z_fin.detach() * (log_scale - log_scale.detach())
        w_true = xi * z
        w = xi * z_fin
        # +inf is treated as beyond the upper end: log p = −inf, log S = −inf, F = 1.
        below, above = d < 0, (w_true < -1) | (value == math.inf)
        tiny = w_true.abs() < series_limit(w.dtype)
        small = tiny | (xi == 0)  # ξ = 0: the exponential, s = z (also at z = ∞)
        big = (w_true > _BIG_W) & (xi > 0) & ~above
        mid = ~(small | big | below | above)
        end = mid & (w == -1)  # the upper end of a ξ < 0 support
        mid = mid & ~end

        # log1p(w) where the series or the direct form needs it (a stand-in 0 elsewhere).
        log1p_w = torch.log1p(torch.where(tiny | mid, w, 0.0))
        # Series: s = z·log1p(w)/w, a = log1p(w) + s.
        s_small = z * _horner(torch.where(tiny, w, 0.0), LOG1P_RATIO)
        a_small = log1p_w + s_small

        # Otherwise s = z·log1p(w)/w (one path to ξ, through w), and a = log1p(w) + s for
        # |ξ| < 1/2; a = (1 + 1/ξ)·log1p(w) for |ξ| ≥ 1/2, where the sum would cancel (ξ ≈ −1)
        # and 1/ξ² cannot overflow.
        log1p_mid = log1p_w
        s_mid = torch.where(mid, z, 0.0) * (log1p_mid / torch.where(mid, w, 1.0))
        large_xi = xi.abs() >= 0.5
        xi_c = torch.where(large_xi, xi, 1.0)
        a_mid = torch.where(large_xi, (1 + xi_c) / xi_c * log1p_mid, log1p_mid + s_mid)

        # Huge w (w, even z, may overflow): log1p(w) = L = log ξ + log d − log σ + log1p(u),
        # u = 1/w = σ/(ξd). s = L/ξ is formed from detached parts plus zero-valued terms that
        # carry its exact partial derivatives, −(L − 1/(1 + u))/ξ² in ξ and ±1/(ξ(1 + u)) in
        # log d and log σ.
        xi_b, d_b = torch.where(big, xi, 1.0), torch.where(big, d, 1.0)
        r_b = reciprocal(xi_b)
        u = scale * r_b / d_b
        log_ratio = d_b.log() - scale.log()
        log1p_big = xi_b.log() + log_ratio + torch.log1p(u)
        l0, r0, u0 = log1p_big.detach(), r_b.detach(), u.detach()
        s_big = (
            l0 * r0
            + (l0 - 1 / (1 + u0)) * (r_b - r0)
            + r0 / (1 + u0) * (log_ratio - log_ratio.detach())
        )
        a_big = log1p_big + s_big

        # At the upper end (ξ < 0) 1 + w has rounded to 0 and is taken as ε, its rounding error:
        # a finite log-density where it is unbounded (ξ < −1) or vanishes (−1 < ξ < 0), exact
        # for the uniform ξ = −1 (as the draws, which stop short of the end).
        xi_e = torch.where(end, xi, -1.0)
        a_end = (1 + reciprocal(-xi_e).neg()) * math.log(torch.finfo(xi.dtype).eps)

        s = torch.where(small, s_small, torch.where(big, s_big, torch.where(end, math.inf, s_mid)))
        a = torch.where(small, a_small, torch.where(big, a_big, torch.where(end, a_end, a_mid)))
        return below, above, a, s

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        below, above, a, _ = self._terms(value)
        return torch.where(below | above, -math.inf, -self.scale.log() - a)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        below, above, _, s = self._terms(value)
        return torch.where(below, 0.0, torch.where(above, -math.inf, -s))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        below, above, _, s = self._terms(value)
        return torch.where(below, 0.0, torch.where(above, 1.0, -torch.expm1(-s)))

    def log_cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        below, above, _, s = self._terms(value)
        # log(1 − e^{−s}) (Mächler 2012): log(−expm1(−s)) for s < log 2, else log1p(−e^{−s}).
        near = s < math.log(2)
        log_cdf = torch.where(
            near,
            torch.log(-torch.expm1(-torch.where(near, s, 1.0))),
            torch.log1p(-torch.exp(-torch.where(near, 1.0, s))),
        )
        return torch.where(below, -math.inf, torch.where(above, 0.0, log_cdf))

    def icdf(self, value):
        self._validate_probability(value)
        # At most the upper end: σ·expm1(ξe)/ξ may round past it.
        return torch.minimum(self._quantile(-torch.log1p(-value)), self._upper())

    # ----------------------------------------------------------------- moments
    @property
    def mean(self):
        """:math:`\\mu + \\sigma/(1 - \\xi)` for ξ < 1; NaN for ξ ≥ 1 (torch's convention; the
        mean is +inf there, which scipy returns)."""
        xi = self.concentration
        ok = xi < 1
        return torch.where(ok, self.loc + self.scale / (1 - torch.where(ok, xi, 0.0)), math.nan)

    @property
    def mode(self):
        """μ for ξ ≥ −1. For ξ < −1 the density grows to +inf at the upper end ``μ − σ/ξ``,
        which is returned (torch returns μ, where the density is smallest)."""
        return torch.where(self.concentration < -1, self._upper(), self.loc)

    @property
    def variance(self):
        """:math:`\\sigma^2/((1-\\xi)^2(1-2\\xi))` for ξ < 1/2; NaN for ξ ≥ 1/2 (torch's
        convention, and scipy's)."""
        xi = self.concentration
        ok = xi < 0.5
        xi = torch.where(ok, xi, 0.0)
        return torch.where(ok, (self.scale / (1 - xi)).square() / (1 - 2 * xi), math.nan)

    def entropy(self):
        r""":math:`\log\sigma + \xi + 1` (every ξ)."""
        return self.scale.log() + self.concentration + 1
