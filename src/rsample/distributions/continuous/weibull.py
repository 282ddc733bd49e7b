r"""Weibull distribution.

.. math:: p(x) = \frac{k}{\lambda}\Big(\frac{x}{\lambda}\Big)^{k-1} e^{-(x/\lambda)^k},
   \quad x > 0

``rsample`` is explicit, the inverse CDF applied to exponential noise:
:math:`x = \lambda E^{1/k}` with :math:`E \sim \mathrm{Exp}(1)`, computed as
:math:`\exp(\log\lambda + \log E / k)` so that the draw is representable whenever the result is
(``E^{1/k}`` alone overflows for small ``k``). Draws are clamped to the dtype's normal range,
``[tiny, about max]``: for ``k = 0.02`` and ``λ = 1``, 16 % of the float32 mass lies below
``tiny``, where the density is unbounded for ``k < 1``; such a draw is then a boundary value (as
Gamma floors its draws), and ``log_prob`` of every draw stays finite. The noise, not the draw,
is clamped, so that no ``0·inf`` reaches a gradient.

The CDF is ``−expm1(−z^k)`` and the inverse CDF ``λ(−log1p(−p))^{1/k}``, both exact in the
tails. The variance :math:`\lambda^2(\Gamma(1+2/k) - \Gamma(1+1/k)^2)` is written as
:math:`\lambda^2\Gamma(1+2t)(1 - e^{-D})` with :math:`t = 1/k` and
:math:`D = \log\Gamma(1+2t) - 2\log\Gamma(1+t)`, and :math:`D` comes from its Taylor series in
:math:`t` for large ``k``, where the two ``lgamma`` values cancel (Abramowitz & Stegun 6.1.33:
:math:`\log\Gamma(1+t) = -\gamma t + \sum_{n\ge2} (-1)^n \zeta(n) t^n / n`).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ..._scalars import const
from ...distribution import Distribution
from .gumbel import EULER_GAMMA

__all__ = ["Weibull"]

# D(t) = lgamma(1 + 2t) − 2 lgamma(1 + t) = Σ_{n≥2} (−1)^n ζ(n)(2^n − 2)/n · t^n, for t ≤ 0.05
# (ratio of successive terms ≤ 2t = 0.1: 18 terms reach 1e-17 of the first).
_ZETA = torch.special.zeta(
    torch.arange(2.0, 20.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
).tolist()
_D_COEFFS = tuple((-1) ** n * z * (2**n - 2) / n for n, z in zip(range(2, 20), _ZETA))
_D_SERIES_MAX_T = 0.05


def _horner(x: torch.Tensor, coeffs: tuple[float, ...]) -> torch.Tensor:
    """``Σ_k coeffs[k] · x^k``."""
    out = x * coeffs[-1] + coeffs[-2]
    for c in reversed(coeffs[:-2]):
        out = out * x + c
    return out


def _largest_finite_log(dtype: torch.dtype) -> float:
    """The largest ``y`` of ``dtype`` with ``exp(y)`` finite in ``dtype``."""
    y = torch.tensor(math.log(torch.finfo(dtype).max), dtype=dtype)
    while not torch.isfinite(torch.exp(y)):
        y = torch.nextafter(y, torch.tensor(-math.inf, dtype=dtype))
    return float(y)


_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_LOG_MAX = {dtype: _largest_finite_log(dtype) for dtype in _FLOATS}
LOG_TINY = {dtype: math.log(torch.finfo(dtype).tiny) for dtype in _FLOATS}


def exp_finite(y: torch.Tensor) -> torch.Tensor:
    """``exp(y)`` saturating at (about) the dtype's largest number instead of overflowing.

    For draws clamped to the finite range: clamping ``exp(y) = inf`` afterwards would leave
    ``0·inf = NaN`` in the gradient of ``exp``; here the exponent is clamped first.
    """
    return torch.exp(y.clamp(max=_LOG_MAX[y.dtype]))


def series_limit(dtype: torch.dtype) -> float:
    """Where the ratios ``expm1(v)/v`` and ``log1p(w)/w`` switch to their Taylor series.

    The quotients are 0/0 at 0, and autograd forms their derivatives as differences of terms of
    size ``1/v`` whose result is O(1): a relative error of about ``2ε/|v|``. Below the limit the
    7-term series is used (truncation ≤ ``limit^7/8``): 1e-3 in float64 (gradient error ≤ 5e-13
    above it, series error 1e-22 below), 0.05 in lower precisions (2.4e-6 and 1e-10).
    """
    return 1e-3 if dtype == torch.float64 else 0.05


_EXPM1_RATIO = tuple(1 / math.factorial(n + 1) for n in range(7))  # expm1(v)/v
LOG1P_RATIO = tuple((-1) ** n / (n + 1) for n in range(7))  # log1p(w)/w


def expm1_ratio(v: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
    """``expm1(v)/v`` (1 at 0), its Taylor series where ``small`` (``|v| < series_limit``).
    The quotient is 0/0 at 0 and its derivative cancels near it; the series is exact there,
    value and gradient."""
    series = _horner(torch.where(small, v, 0.0), _EXPM1_RATIO)
    v_direct = torch.where(small, 1.0, v)
    return torch.where(small, series, torch.expm1(v_direct) / v_direct)


def reciprocal(t: torch.Tensor) -> torch.Tensor:
    """``1/t`` for ``t > 0`` whose gradient never forms ``1/t²``.

    Autograd's ``d(1/t) = −g·(1/t)²`` and ``d(u/t) = −g·(u/t)/t`` overflow for tiny ``t`` (in
    float32 ``1/t² = inf`` at ``t = 1e-20``), and a zero ``g`` (a clamped draw, an unused
    branch) then gives ``0·inf = NaN``. Here ``1/t = (1/t₀)·(t₀/t)`` with ``t₀ = t.detach()``:
    the same value (``t₀/t = 1`` exactly) and the gradient ``−(g/t₀)/t``. A subnormal ``t`` is
    taken as the smallest normal number (``1/t`` would overflow, and ``inf·0`` is NaN again).
    """
    t = t.clamp_min(torch.finfo(t.dtype).tiny)
    t0 = t.detach()
    return t0.reciprocal() * (t0 / t)


def log_ratio(x: torch.Tensor, scale: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """``log(x / scale)`` for ``x ≥ 0``, *detached from the scale* (``log_scale = log scale``).

    The ratio keeps the digits of ``x`` near ``scale`` (``log x − log scale`` would lose
    ``|log scale|`` ulps); where it under- or overflows, ``log x − log scale``. Callers add the
    dependence on the scale through ``Δ = log_scale − log_scale.detach()`` (0, with gradient
    ``1/scale``): the chain rule through ``x/scale`` would form ``(x/scale)/scale``, which
    overflows (``0·inf`` once the ratio itself has), and summing ``±1/scale`` terms of a
    log-density separately would cancel.
    """
    scale, log_scale = scale.detach(), log_scale.detach()
    z = x / scale
    info = torch.finfo(z.dtype)
    ok = (z >= info.tiny) & (z <= info.max)
    return torch.where(ok, torch.where(ok, z, 1.0).log(), x.log() - log_scale)


class Weibull(Distribution):
    """Weibull distribution with scale ``scale`` (λ) and shape ``concentration`` (k)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    rsample_kind = "explicit"

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = self._broadcast(scale=scale, concentration=concentration)
        super().__init__(self.scale.shape, validate_args=validate_args)

    @property
    def concentration_reciprocal(self) -> torch.Tensor:
        return self.concentration.reciprocal()

    # ----------------------------------------------------------------- sampling
    def _log_noise(self, sample_shape, generator) -> torch.Tensor:
        """``log E`` for ``E ~ Exp(1)`` (``E`` floored at tiny: ``log 0`` would be −inf)."""
        e = torch.empty(
            self._extended_shape(sample_shape), dtype=self.scale.dtype, device=self.scale.device
        )
        e.exponential_(generator=generator)
        return e.clamp_min_(torch.finfo(e.dtype).tiny).log_()

    def _draw(self, log_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, log E)`` with ``log E`` clamped to where ``x`` is a normal number.

        The noise, not the draw, is clamped: a clamped draw would leave ``0·(log E/k²)`` in the
        gradient, which is NaN where ``1/k²`` overflows (k = 1e-20 in float32).
        """
        k, log_scale = self.concentration, self.scale.log()
        k0, log_scale0 = k.detach(), log_scale.detach()
        dtype = log_e.dtype
        log_e = log_e.clamp(
            k0 * (LOG_TINY[dtype] - log_scale0), k0 * (_LOG_MAX[dtype] - log_scale0)
        )
        x = exp_finite(log_scale + log_e / k).clamp_min(torch.finfo(dtype).tiny)
        return x, log_e

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        return self._draw(self._log_noise(sample_shape, generator))[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        # log p = log k − log λ + (k − 1) log z − z^k with z^k = E, log z = log E / k.
        x, log_e = self._draw(self._log_noise(sample_shape, generator))
        k = self.concentration
        one = const(1.0, k.dtype)
        log_p = (k.log() - self.scale.log()) + (one - k.reciprocal()) * log_e - log_e.exp()
        return x, log_p

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k, log_scale = self.concentration, self.scale.log()
        log_scale0 = log_scale.detach()
        delta = log_scale - log_scale0  # 0, carrying d/dλ (see log_ratio)
        # Interior: log z is finite. At 0 the density is +inf, 1/λ or 0 (k <, =, > 1) — that
        # is xlogy(k − 1, 0); at +inf and below 0 it is 0. NaN stays NaN (it takes the interior
        # branch). The interior uses a stand-in z = 1 elsewhere, so no inf reaches a gradient.
        edge = (value <= 0) | (value == math.inf)
        log_z0 = log_ratio(torch.where(edge, self.scale, value), self.scale, log_scale)
        # log k − log λ + (k − 1) log z − z^k with log z = log_z0 − Δ: d/dλ = k(z^k − 1)/λ.
        interior = (
            (k.log() - log_scale0) + (k - 1) * log_z0 - torch.exp(k * (log_z0 - delta)) - k * delta
        )
        at_zero = k.log() - log_scale + torch.xlogy(k - 1, 0.0)
        return torch.where(edge, torch.where(value == 0, at_zero, -math.inf), interior)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        positive = value > 0
        log_scale = self.scale.log()
        log_z = log_ratio(torch.where(positive, value, self.scale), self.scale, log_scale) - (
            log_scale - log_scale.detach()
        )
        z_k = torch.where(positive, torch.exp(self.concentration * log_z), 0.0)
        return -torch.expm1(-z_k)

    def icdf(self, value):
        self._validate_probability(value)
        # λ·(−log1p(−p))^{1/k} in log space: finite whenever the quantile is representable.
        return torch.exp(self.scale.log() + torch.log(-torch.log1p(-value)) / self.concentration)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self):
        return self.scale * torch.exp(torch.lgamma(1 + self.concentration.reciprocal()))

    @property
    def mode(self):
        """:math:`\\lambda(1 - 1/k)^{1/k}` for k > 1, else 0 (where the density is largest).

        torch evaluates the same power for every k and returns NaN (or a wrong positive value,
        e.g. λ at k = 1/2) for k < 1; the density is unbounded at 0 there, as Gamma's mode
        convention says.
        """
        k = self.concentration
        above = k > 1
        k_safe = torch.where(above, k, 2.0)
        mode = self.scale * torch.exp(torch.log1p(-k_safe.reciprocal()) / k_safe)
        return torch.where(above, mode, 0.0)

    @property
    def variance(self):
        t = self.concentration.reciprocal()
        lg2 = torch.lgamma(1 + 2 * t)
        small = t <= _D_SERIES_MAX_T
        ts = torch.where(small, t, 0.0)
        d_series = ts.square() * _horner(ts, _D_COEFFS)
        d_direct = lg2 - 2 * torch.lgamma(1 + t)
        d = torch.where(small, d_series, d_direct)
        # The product overflows only where the variance itself does (k ≲ 0.006 for λ = 1).
        return self.scale.square() * torch.exp(lg2) * -torch.expm1(-d)

    def entropy(self):
        r""":math:`\gamma(1 - 1/k) + \log(\lambda/k) + 1`."""
        k = self.concentration
        return EULER_GAMMA * (1 - k.reciprocal()) + self.scale.log() - k.log() + 1
