r"""Pareto (type I) distribution.

.. math:: p(x) = \frac{\alpha s^\alpha}{x^{\alpha+1}}, \quad x \ge s

``rsample`` is explicit, the inverse CDF applied to exponential noise:
:math:`x = s\,e^{E/\alpha}` with :math:`E \sim \mathrm{Exp}(1)` (drawn directly, so the far tail
is reached: ``1 − U`` would stop at ``E ≈ 17`` in float32), computed as
:math:`\max(s, \exp(\log s + E/\alpha))` so that the draw is representable whenever the result
is. Draws above the dtype's largest number are clamped to (about) it (for ``α = 0.05``, 1 % of
the float32 mass); such a draw is then a boundary value. The noise, not the draw, is clamped,
so that no ``0·inf`` reaches a gradient.

Scoring uses :math:`t = \log(x/s)` as ``log1p((x − s)/s)`` next to the scale (``x − s`` is exact
there, and ``x/s`` would round away the small ``t``), so that the CDF ``−expm1(−αt)`` keeps its
relative accuracy in the lower tail. Moments follow torch: the mean is ``+inf`` for α ≤ 1 and
the variance ``+inf`` for α ≤ 2.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from .weibull import _LOG_MAX, exp_finite

__all__ = ["Pareto"]


class Pareto(Distribution):
    """Pareto distribution with scale ``scale`` (s, the lower end) and shape ``alpha`` (α)."""

    arg_constraints = {"scale": constraints.positive, "alpha": constraints.positive}
    rsample_kind = "explicit"

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = self._broadcast(scale=scale, alpha=alpha)
        super().__init__(self.scale.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    # ----------------------------------------------------------------- sampling
    def _noise(self, sample_shape, generator) -> torch.Tensor:
        e = torch.empty(
            self._extended_shape(sample_shape), dtype=self.scale.dtype, device=self.scale.device
        )
        return e.exponential_(generator=generator)

    def _quantile(self, e: torch.Tensor, exp=torch.exp) -> torch.Tensor:
        """``s·exp(e/α)`` for ``e ≥ 0``, in log space (``e^{e/α}`` alone may overflow while
        the product does not); ``max`` keeps it ``≥ s`` despite the rounding of ``exp∘log``."""
        return torch.maximum(exp(self.scale.log() + e / self.alpha), self.scale)

    def _clamped_noise(self, sample_shape, generator) -> torch.Tensor:
        """``E`` clamped to where the draw is finite: a draw clamped instead would leave
        ``0·(E/α²)`` in the gradient, NaN where ``1/α²`` overflows (α = 1e-20 in float32)."""
        e = self._noise(sample_shape, generator)
        top = self.alpha.detach() * (_LOG_MAX[e.dtype] - self.scale.detach().log())
        return e.clamp(max=top)

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._quantile(self._clamped_noise(sample_shape, generator), exp_finite)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        # log p = log α − log s − (α + 1)·t with t = log(x/s) = E/α.
        e = self._clamped_noise(sample_shape, generator)
        x = self._quantile(e, exp_finite)
        alpha = self.alpha
        return x, (alpha.log() - self.scale.log()) - e - e / alpha

    # ----------------------------------------------------------------- scoring
    def _log_ratio(self, value: torch.Tensor) -> torch.Tensor:
        """``t = log(x/s) ≥ 0`` for ``x ≥ s`` (0 for ``x < s``, which callers mask), *detached
        from the scale*: callers add the dependence through ``Δ = log s − log s.detach()`` (the
        chain rule through ``(x − s)/s`` overflows for huge ``x/s``: ``0·inf``)."""
        s = self.scale.detach()
        d = (value - s) / s
        near = d < 1  # x < 2s: x − s is exact (Sterbenz); NaN takes the far branch and stays NaN
        t_near = torch.log1p(torch.where(near, d, 0.0).clamp_min(0))
        return torch.where(near, t_near, value.log() - s.log())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        alpha, log_s = self.alpha, self.scale.log()
        log_s0 = log_s.detach()
        t = self._log_ratio(value)
        # log α − log s − (α + 1)(t − Δ): d/ds = α/s, without summing ±(α + 1)/s and −1/s.
        log_p = (alpha.log() - log_s0) - (alpha + 1) * t + alpha * (log_s - log_s0)
        return torch.where(value < self.scale, -math.inf, log_p)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_s = self.scale.log()
        t = self._log_ratio(value) - (log_s - log_s.detach())
        return -torch.expm1(-self.alpha * t)

    def icdf(self, value):
        self._validate_probability(value)
        return self._quantile(-torch.log1p(-value))

    # ----------------------------------------------------------------- moments
    @property
    def mean(self):
        """:math:`\\alpha s/(\\alpha - 1)`; ``+inf`` for α ≤ 1 (as torch)."""
        a = self.alpha.clamp_min(1)
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        """:math:`\\big(s/(\\alpha-1)\\big)^2\\,\\alpha/(\\alpha-2)`; ``+inf`` for α ≤ 2 (as
        torch). Written so that no intermediate overflows for huge α."""
        a = self.alpha.clamp_min(2)
        return (self.scale / (a - 1)).square() * (a / (a - 2))

    def entropy(self):
        r""":math:`\log(s/\alpha) + 1 + 1/\alpha`."""
        alpha = self.alpha
        return self.scale.log() - alpha.log() + 1 + alpha.reciprocal()
