r"""Kumaraswamy distribution (Kumaraswamy 1980, J. Hydrology 46: 79–88).

.. math:: p(x) = a b\, x^{a-1} (1 - x^a)^{b-1}, \quad 0 \le x \le 1,
   \qquad F(x) = 1 - (1 - x^a)^b

with ``a = concentration1``, ``b = concentration0``.

``rsample`` is explicit, the inverse CDF applied to exponential noise (drawn directly, so both
tails are reached): with :math:`E \sim \mathrm{Exp}(1)` standing for :math:`-\log(1 - U)`,
:math:`x = (1 - e^{-E/b})^{1/a} = \exp\big(\log(1 - e^{-E/b})/a\big)`, where
:math:`\log(1 - e^{-y})` is ``log(−expm1(−y))`` or ``log1p(−e^{−y})`` (Mächler 2012, "Accurately
computing log(1 − exp(−|a|))"). Draws near 0 keep their digits down to the smallest normal
number and draws near 1 are rounded, not cut off by a uniform's resolution. Draws are clamped to
``[tiny, 1 − ε/2]``: the density is unbounded at 0 for ``a < 1`` and at 1 for ``b < 1``, and a
draw that rounds onto such an end becomes the nearest interior number (as Gamma floors its
draws), so that ``log_prob`` of every draw is finite. The log-density of a draw comes from the
noise: :math:`\log(ab) + (a-1)\log x - (1 - 1/b)E`.

Scoring works with :math:`t = a\log x = \log x^a`, so :math:`1 - x^a` is exact near ``x = 1``.
Moments use :math:`E[X^n] = b\,B(1 + n/a, b)` with :func:`rsample.special.lbeta`; the entropy is
:math:`(1 - 1/b) + (1 - 1/a)H_b - \log(ab)` with the harmonic number
:math:`H_b = \psi(b + 1) + \gamma`, from its series :math:`\sum_{n\ge2}(-1)^n\zeta(n)b^{n-1}`
for small ``b`` (where ψ(1 + b) + γ cancels).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ..._scalars import const
from ...distribution import Distribution
from ...special import lbeta
from .gumbel import EULER_GAMMA
from .weibull import _horner, expm1_ratio, reciprocal, series_limit

__all__ = ["Kumaraswamy"]

_LOG_2 = math.log(2.0)
# H_b = Σ_{n≥2} (−1)^n ζ(n) b^{n−1} for b < 0.05 (terms shrink by ≥ 20).
_H_SERIES_MAX = 0.05
_H_COEFFS = tuple(
    (-1) ** n * z
    for n, z in zip(
        range(2, 17),
        torch.special.zeta(
            torch.arange(2.0, 17.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        ).tolist(),
    )
)


def _log1mexp(v: torch.Tensor) -> torch.Tensor:
    """``log(1 − e^v)`` for ``v ≤ 0`` (−inf at 0, 0 at −inf), each branch on safe inputs."""
    near = v > -_LOG_2
    return torch.where(
        near,
        torch.log(-torch.expm1(torch.where(near, v, -1.0))),
        torch.log1p(-torch.exp(torch.where(near, -1.0, v))),
    )


class Kumaraswamy(Distribution):
    """Kumaraswamy distribution with shapes ``concentration1`` (a) and ``concentration0`` (b)."""

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    rsample_kind = "explicit"

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = self._broadcast(
            concentration1=concentration1, concentration0=concentration0
        )
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def _noise(self, sample_shape, generator) -> torch.Tensor:
        a = self.concentration1
        e = torch.empty(self._extended_shape(sample_shape), dtype=a.dtype, device=a.device)
        return e.exponential_(generator=generator)

    def _draw(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x, log x, −e/b)``: the clamped draw, the log of the exact one, ``log(1 − x^a)``."""
        # Products with reciprocals: the chain rule of a quotient u/t forms (u/t)/t, which
        # overflows for tiny shapes (0·inf = NaN for a clamped draw).
        v = -e * reciprocal(self.concentration0)
        log_x = _log1mexp(v) * reciprocal(self.concentration1)
        info = torch.finfo(e.dtype)
        x = log_x.exp().clamp(info.tiny, 1 - info.eps / 2)
        return x, log_x, v

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._draw(self._noise(sample_shape, generator))[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        a, b = self.concentration1, self.concentration0
        x, log_x, v = self._draw(self._noise(sample_shape, generator))
        one = const(1.0, x.dtype)
        return x, (a.log() + b.log()) + (a - one) * log_x + (b - one) * v

    # ----------------------------------------------------------------- scoring
    def _log_x_pow_a(self, x: torch.Tensor) -> torch.Tensor:
        """``t = a·log x`` for ``x ∈ [0, 1]`` (−inf at 0, with no inf reaching a gradient)."""
        positive = x > 0
        log_x = torch.log(torch.where(positive, x, 1.0))
        return torch.where(positive, self.concentration1 * log_x, -math.inf)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        outside = (value < 0) | (value > 1)
        x = torch.where(outside, 0.5, value)  # NaN stays NaN
        positive = x > 0
        log_x = torch.log(torch.where(positive, x, 1.0))
        t = torch.where(positive, a * log_x, -math.inf)  # log x^a
        # (b − 1)·log(1 − x^a). Near x = 1 (x^a > 1/2) as log a + log(−log x) + log(expm1(t)/t):
        # the chain rule of log(−expm1(t)) forms (b − 1)/(1 − x^a), which overflows float32
        # (b = 1e15, 1 − x^a = 1e-24) where the derivative in a, about (b − 1)/a, does not. At
        # x = 1 the term is xlogy(b − 1, 0) (0 for b = 1, ±inf otherwise) and no gradient flows
        # through t. Elsewhere log1p(−e^t).
        near = t > -_LOG_2
        inner = near & (log_x < 0)
        log_x_n = torch.where(inner, log_x, -1.0)
        t_n = a * log_x_n
        ratio = expm1_ratio(t_n, t_n > -series_limit(t_n.dtype))
        log_1m_near = a.log() + torch.log(-log_x_n) + torch.log(ratio)
        near_term = torch.where(inner, (b - 1) * log_1m_near, torch.xlogy(b - 1, 0.0))
        far_term = (b - 1) * torch.log1p(-torch.exp(torch.where(near, -1.0, t)))
        log_p = (a.log() + b.log()) + torch.xlogy(a - 1, x) + torch.where(near, near_term, far_term)
        return torch.where(outside, -math.inf, log_p)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        t = self._log_x_pow_a(value.clamp(0, 1))
        return -torch.expm1(self.concentration0 * _log1mexp(t))

    def icdf(self, value):
        self._validate_probability(value)
        # x = (1 − (1 − p)^{1/b})^{1/a} with log(1 − p)/b ≤ 0.
        return torch.exp(_log1mexp(torch.log1p(-value) / self.concentration0) / self.concentration1)

    # ----------------------------------------------------------------- moments
    def _log_moment(self, n: int) -> torch.Tensor:
        """``log E[X^n] = log b + log B(1 + n/a, b)``."""
        a, b = self.concentration1, self.concentration0
        return b.log() + lbeta(1 + n / a, b)

    @property
    def mean(self):
        return self._log_moment(1).exp()

    @property
    def variance(self):
        """``E[X²] − E[X]² = E[X]²·expm1(log E[X²] − 2 log E[X])``."""
        log_m1 = self._log_moment(1)
        return torch.exp(2 * log_m1) * torch.expm1(self._log_moment(2) - 2 * log_m1)

    @property
    def mode(self):
        """:math:`((a-1)/(ab-1))^{1/a}` for a, b > 1; 0 where the density is largest at 0 (a ≤ 1
        ≤ b), 1 where it is at 1 (b ≤ 1 ≤ a); NaN for a, b < 1 (both ends unbounded) and for
        a = b = 1 (the uniform). torch's formula returns NaN for nearly every a, b."""
        a, b = self.concentration1, self.concentration0
        interior = (a > 1) & (b > 1)
        a_s, b_s = torch.where(interior, a, 2.0), torch.where(interior, b, 2.0)
        inner = torch.exp((torch.log(a_s - 1) - torch.log(a_s * b_s - 1)) / a_s)
        undefined = ((a < 1) & (b < 1)) | ((a == 1) & (b == 1))
        at_zero = (b > 1) | ((b == 1) & (a < 1))
        edge = torch.where(undefined, math.nan, torch.where(at_zero, 0.0, 1.0))
        return torch.where(interior, inner, edge)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        small = b < _H_SERIES_MAX
        b_s = torch.where(small, b, 0.0)
        harmonic = torch.where(
            small,
            b_s * _horner(b_s, _H_COEFFS),
            torch.digamma(torch.where(small, 1.0, b) + 1) + EULER_GAMMA,
        )
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic - a.log() - b.log()
