r"""TanhNormal: a Normal squashed by ``tanh`` into ``(low, high)``, for SAC-style policies.

.. math:: Y = m + h\tanh(U),\quad U \sim N(\mu, \sigma^2),\quad m = \tfrac{low+high}{2},\;
    h = \tfrac{high-low}{2}

.. math:: \log p(y) = \log N(u; \mu, \sigma^2) - \log(1 - \tanh^2 u) - \log h,
    \quad u = \operatorname{atanh}\big((y - m)/h\big)

``rsample`` is explicit. ``rsample_and_log_prob`` scores from the pre-tanh value with
``log(1 − tanh²u) = 2(log 2 − u − softplus(−2u))``, which stays exact where ``tanh u`` has
rounded to ±1; so does ``log_prob`` of the distribution's own latest draw (its pre-image is
kept, like torch's cached ``TanhTransform``). ``log_prob`` of a stored action (no pre-image,
e.g. from a replay buffer) moves only values that are exactly ±1 to the nearest representable
value inside, then computes ``atanh`` and ``log(1 − y²) = log1p(y) + log1p(−y)`` without
cancellation, so it is finite at the bounds and undistorted elsewhere. float16/bfloat16 inputs
are scored in float32.

``mean``, ``variance`` and ``entropy`` have no closed form: they are computed by fixed-order
Gauss–Legendre quadrature (:func:`rsample.special.normal_expectation`, absolute error ≤ 2e-9 in
float64 for ``σ`` in [1e-4, 1e4]) — deterministic, differentiable, not Monte Carlo. ``mode`` is
the maximizer of the density of ``Y`` (not ``tanh(μ)``, which is ``deterministic_sample``).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch.distributions import constraints

from ... import _random, _validation
from ..._scalars import const
from ...distribution import Distribution
from ...special import (
    clamp_open_unit,
    log1m_tanh_sq,
    ndtr,
    ndtri,
    normal_expectation,
)
from .normal import HALF_LOG_2PI

__all__ = ["TanhNormal"]

_HALF_TYPES = (torch.float16, torch.bfloat16)


class TanhNormal(Distribution):
    """``low + (high − low)·(tanh(U) + 1)/2`` with ``U ~ N(loc, scale²)``; default bounds ±1."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "low": constraints.dependent(is_discrete=False, event_dim=0),
        "high": constraints.dependent(is_discrete=False, event_dim=0),
    }
    rsample_kind = "explicit"
    _draw_state = (*Distribution._draw_state, "_pre_image")

    def __init__(self, loc, scale, low=-1.0, high=1.0, validate_args=None):
        if isinstance(low, numbers.Real) and isinstance(high, numbers.Real):
            # Python bounds stay Python numbers: the common ±1 case then costs no extra ops.
            self.loc, self.scale = self._broadcast(loc=loc, scale=scale)
            self.low, self.high = float(low), float(high)
            if not self.low < self.high:
                raise ValueError(f"TanhNormal: requires low < high, got low={low}, high={high}")
        else:
            self.loc, self.scale, self.low, self.high = self._broadcast(
                loc=loc, scale=scale, low=low, high=high
            )
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _validate_parameters(self):
        super()._validate_parameters()
        if isinstance(self.low, torch.Tensor):
            name = type(self).__name__
            _validation.check(name, "low", constraints.real, self.low, finite=True)
            _validation.check(name, "high", constraints.real, self.high, finite=True)
            gap = self.high - self.low
            _validation.check(name, "high - low", constraints.positive, gap, finite=False)

    @property
    def _unit(self) -> bool:
        return isinstance(self.low, float) and self.low == -1.0 and self.high == 1.0

    @property
    def _mid(self):
        return (self.high + self.low) / 2

    @property
    def _half(self):
        return (self.high - self.low) / 2

    def _squash(self, t: torch.Tensor) -> torch.Tensor:
        if self._unit:
            return t
        # m and h are rounded, so m ± h can land an ulp outside [low, high] where tanh has
        # saturated (float32 low=0.1, high=0.7: m − h < low); such a draw would then fail
        # validation when scored later. The clamp moves only those.
        return (self._mid + self._half * t).clamp(self.low, self.high)

    def _log_half(self):
        half = self._half
        return half.log() if isinstance(half, torch.Tensor) else math.log(half)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    # ----------------------------------------------------------------- sampling
    def _noise(self, sample_shape, generator):
        shape = self._extended_shape(sample_shape)
        return _random.normal(
            shape, dtype=self.loc.dtype, device=self.loc.device, generator=generator
        )

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        u = torch.addcmul(self.loc, self._noise(sample_shape, generator), self.scale)
        self._pre_image = u  # log_prob of this very draw then scores from u (see log_prob)
        return self._squash(torch.tanh(u))

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        eps = self._noise(sample_shape, generator)
        u = torch.addcmul(self.loc, eps, self.scale)
        return self._squash(torch.tanh(u)), self._log_prob_from_pre_image(u, eps)

    def _log_prob_from_pre_image(self, u: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """``log N(u; μ, σ²) − log(1 − tanh²u) − log h`` with ``eps = (u − μ)/σ``."""
        log_norm = const(-HALF_LOG_2PI, eps.dtype) - self.scale.log()
        log_p = torch.addcmul(log_norm, eps, eps, value=-0.5) - log1m_tanh_sq(u)
        return log_p if self._unit else log_p - self._log_half()

    # ----------------------------------------------------------------- scoring
    def _log1p_pm_t(self, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log(1 + t), log(1 − t))`` for ``t = (value − m)/h``, finite at the bounds.

        Default bounds: ``t = value`` moved inside (−1, 1) in the value's dtype (only exact ±1
        move), then ``log1p``. General bounds: ``1 ± t`` are formed as ``(value − low)/h`` and
        ``(high − value)/h`` — rounding ``t`` first would cost up to 2 nats one ulp from a bound
        — floored at the value dtype's ``eps/2`` (the gap that the default bounds leave).
        Half-precision values are computed in float32.
        """
        if self._unit:
            t = clamp_open_unit(value)
            t = t.float() if t.dtype in _HALF_TYPES else t
            return torch.log1p(t), torch.log1p(-t)
        gap = torch.finfo(value.dtype).eps / 2
        v = value.float() if value.dtype in _HALF_TYPES else value
        h = self._half
        one_plus = (_minus_bound(v, self.low) / h).clamp(gap, 2 - gap)
        one_minus = (-_minus_bound(v, self.high) / h).clamp(gap, 2 - gap)
        return one_plus.log(), one_minus.log()

    def log_prob(self, value):
        if self._is_own_draw(value):
            # The latest draw, unmodified: score from its pre-image, exact even where tanh has
            # saturated (as torch's TransformedDistribution does with a cached TanhTransform).
            u = self._pre_image
            return self._log_prob_from_pre_image(u, (u - self.loc) / self.scale)
        if self._validate_args:
            self._validate_sample(value)
        log1p_t, log1m_t = self._log1p_pm_t(value)
        z = (0.5 * (log1p_t - log1m_t) - self.loc) / self.scale
        log_p = -0.5 * z.square() - HALF_LOG_2PI - self.scale.log() - (log1p_t + log1m_t)
        if not self._unit:
            log_p = log_p - self._log_half()
        return log_p.to(torch.promote_types(value.dtype, self.loc.dtype))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log1p_t, log1m_t = self._log1p_pm_t(value)
        p = ndtr((0.5 * (log1p_t - log1m_t) - self.loc) / self.scale)
        p = torch.where(value >= self.high, 1.0, torch.where(value <= self.low, 0.0, p))
        return p.to(torch.promote_types(value.dtype, self.loc.dtype))

    def icdf(self, value):
        self._validate_probability(value)
        return self._squash(torch.tanh(torch.addcmul(self.loc, ndtri(value), self.scale)))

    # ----------------------------------------------------------------- summaries
    @property
    def deterministic_sample(self) -> torch.Tensor:
        """``m + h·tanh(loc)``: the squashed mean of ``U``, SAC's evaluation action."""
        return self._squash(torch.tanh(self.loc))

    @property
    def mean(self):
        return self._squash(normal_expectation(torch.tanh, self.loc, self.scale))

    @property
    def variance(self):
        m = normal_expectation(torch.tanh, self.loc, self.scale).unsqueeze(0)
        var = normal_expectation(lambda u: (torch.tanh(u) - m).square(), self.loc, self.scale)
        return var if self._unit else (var * self._half) * self._half  # no overflow of h²

    def entropy(self):
        h_u = 0.5 + HALF_LOG_2PI + self.scale.log()
        h = h_u + normal_expectation(log1m_tanh_sq, self.loc, self.scale)
        return h if self._unit else h + self._log_half()

    @property
    def mode(self):
        return self._squash(torch.tanh(self._mode_pre_tanh()))

    def _mode_pre_tanh(self, fixed_point_steps: int = 60, newton_steps: int = 4) -> torch.Tensor:
        r"""The maximizer ``u*`` of :math:`\log N(u; μ, σ²) − \log(1 − \tanh^2 u)`.

        Stationary points solve :math:`t = \tanh(μ + 2σ^2 t)` for :math:`t = \tanh u ∈ (−1, 1)`.
        The map is increasing, so iterating it from ``t = 1`` (``t = −1``) descends (ascends)
        monotonically to the largest (smallest) fixed point — the only candidates for a maximum
        (a middle root is a minimum). A few Newton steps polish both; the denser one wins.
        """
        mu, two_var = self.loc.detach(), 2 * self.scale.detach().square()
        t_hi, t_lo = torch.ones_like(mu), -torch.ones_like(mu)
        for _ in range(fixed_point_steps):
            t_hi = torch.tanh(mu + two_var * t_hi)
            t_lo = torch.tanh(mu + two_var * t_lo)
        candidates = []
        for t in (t_hi, t_lo):
            for _ in range(newton_steps):
                sech2 = 1 - torch.tanh(mu + two_var * t).square()
                residual = torch.tanh(mu + two_var * t) - t
                step = residual / (two_var * sech2 - 1)
                t = torch.where(step.isfinite(), (t - step).clamp(-1, 1), t)
            candidates.append(mu + two_var * t)
        u_hi, u_lo = candidates

        def log_density(u):
            return -(u - mu).square() / two_var - log1m_tanh_sq(u)

        return torch.where(log_density(u_hi) >= log_density(u_lo), u_hi, u_lo)


def _minus_bound(v: torch.Tensor, bound) -> torch.Tensor:
    """``v − bound``, accurate next to the bound even where a Python-float bound is not
    representable in ``v``'s dtype: the bound is split as ``head + tail`` with ``head`` rounded
    to the dtype, so ``v − head`` is exact near the bound (Sterbenz) and ``tail`` corrects it."""
    if isinstance(bound, float) and v.dtype != torch.float64:
        head = float(torch.tensor(bound, dtype=v.dtype))
        return (v - head) - (bound - head)
    return v - bound
