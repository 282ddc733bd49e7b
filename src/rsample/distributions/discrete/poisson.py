r"""Poisson distribution, and the lattice helpers the count families share.

.. math:: P(X = k) = \frac{\lambda^k e^{-\lambda}}{k!}, \quad k = 0, 1, \dots

``sample`` is ``torch.poisson`` (honouring ``generator=``).

**Log-probabilities for large counts** use the saddle-point form of Loader (2000, "Fast and
accurate computation of binomial probabilities"; R's ``dpois_raw``/``dbinom_raw``),

.. math:: \log P(k) = -\,\mathrm{stirlerr}(k) - \mathrm{bd0}(k, \lambda) - \tfrac12\log(2\pi k),

with the Stirling remainder :math:`\mathrm{stirlerr}(x) = \log\Gamma(x+1) - (x+\tfrac12)\log x
+ x - \tfrac12\log 2\pi` and the deviance :math:`\mathrm{bd0}(x, m) = x\log(x/m) + m - x`
(a series in :math:`v = (x-m)/(x+m)` where :math:`|v| < 0.1`): every term is computed to
relative accuracy, where ``k·log λ − λ − lgamma(k + 1)`` loses ~ ``λ·eps`` in absolute terms
(3e-9 at λ = 1e8). On the CPU, when every rate and value is below 1e4 (float32: 64), where the
plain form is accurate to ~1e-11 (float32: ~1e-5), the plain form is used.

**Entropy** :math:`-\sum_k P(k)\log P(k)` by :func:`lattice_entropy`: a fixed grid of ``M``
points (1024 in float64, 256 in float32; the grid itself is always built in float64) either on
the integers around the mean — an exact sum
while the mass lies within :math:`\pm T` standard deviations (:math:`T = 13`; 9 in float32) of
the window — or, for larger spreads, a trapezoid rule of step :math:`2T\sigma/M > 1` on the
analytic continuation of :math:`-P\log P` in :math:`k` (by Poisson summation the integer sum and
the integral differ by :math:`O(e^{-2\pi^2\sigma^2})`, and the trapezoid error is
:math:`O(e^{-2\pi^2 (M/2T)^2})`; nothing is lost at the boundaries, more than :math:`T\sigma`
away). CDF :math:`Q(\lfloor k\rfloor + 1, \lambda)` by :func:`rsample.special.gammaincc`.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ..._eager import host_reads_free
from ...distribution import Distribution
from ...special import gammaincc
from ...special.stirling import log_gamma_remainder
from ._params import IntegerSupport, widened, x_log

__all__ = ["Poisson"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# stirlerr(x) is the Stirling remainder for x ≥ 15 (8 terms: < 1e-17 relative).
_STIRLING_SWITCH = 15.0
_BD0_TERMS = 9  # Σ_j v^{2j}/(2j + 3), |v| < 0.1: terms shrink 100×
# Below these rates and counts the plain log-pmf (lgamma form) loses less than ~1e-11 relative
# in float64 (its error is ~ eps·n log n) and ~1e-5 in float32.
_PLAIN_MAX = {torch.float64: 1e4, torch.float32: 64.0}
# Lattice sums: (points, half-width in standard deviations) per working dtype.
_GRID = {torch.float64: (1024, 13.0), torch.float32: (256, 9.0)}
_POISSON_INT64_SAFE = 2.0**62  # torch.poisson is exact below, garbage above ~9.2e18


class Poisson(IntegerSupport, Distribution):
    """Poisson distribution with ``rate`` λ ≥ 0."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer
    rsample_kind = None

    def __init__(self, rate, validate_args=None):
        (self.rate,) = self._broadcast(rate=rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def _int_bounds(self):
        return 0.0, math.inf

    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            return poisson_draws(self.rate.detach().expand(shape), generator)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate = self.rate
        if _plain_ok(rate, value):
            return x_log(value, rate, torch.log, 1.0) - rate - torch.lgamma(value + 1)
        return poisson_log_pmf(value, rate)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`P(X \le k) = Q(\lfloor k \rfloor + 1, \lambda)`; 0 below 0."""
        if self._validate_args:
            self._validate_sample(value)
        k = widened(value).floor()
        out = gammaincc(k.clamp_min(0) + 1, widened(self.rate))
        return torch.where(k < 0, 0.0, out).to(torch.promote_types(value.dtype, self.rate.dtype))

    @property
    def mean(self) -> torch.Tensor:
        return self.rate

    @property
    def mode(self) -> torch.Tensor:
        """:math:`\\lfloor\\lambda\\rfloor` (torch's choice of the two modes at integer λ)."""
        return self.rate.floor()

    @property
    def variance(self) -> torch.Tensor:
        return self.rate

    def entropy(self) -> torch.Tensor:
        rate = self.rate
        lam = rate.unsqueeze(-1)
        return lattice_entropy(lambda x: poisson_log_pmf(x, lam), rate, rate.sqrt(), 0.0, math.inf)


# --------------------------------------------------------------------------- shared helpers
def poisson_draws(rate: torch.Tensor, generator) -> torch.Tensor:
    """Poisson draws for each (finite, non-negative) rate: ``torch.poisson``, which counts in
    int64 and returns garbage (−2^63) above ~9.2e18; there, ``round(λ + √λ·N(0, 1))`` (the
    normal limit: total-variation error ~ 1/√λ < 5e-10). Draws beyond the largest float are
    the largest float."""
    huge = rate > _POISSON_INT64_SAFE
    if host_reads_free(rate) and not (rate.numel() and bool(huge.any())):
        return torch.poisson(rate, generator=generator)
    exact = torch.poisson(torch.where(huge, 0.0, rate), generator=generator)
    noise = torch.empty_like(rate).normal_(generator=generator)
    approx = torch.addcmul(rate, rate.sqrt(), noise).round_().clamp_(0, torch.finfo(rate.dtype).max)
    return torch.where(huge, approx, exact)


def _plain_ok(*tensors: torch.Tensor) -> bool:
    """Whether every tensor is on the CPU (eagerly) with entries below ``_PLAIN_MAX``."""
    if not all(host_reads_free(t) for t in tensors):
        return False
    limit = _PLAIN_MAX.get(tensors[0].dtype, 0.0)
    return all(t.numel() == 0 or float(t.detach().amax()) <= limit for t in tensors)


def stirlerr(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\log\Gamma(x+1) - (x+\tfrac12)\log x + x - \tfrac12\log 2\pi` for :math:`x > 0`:
    the Stirling series for :math:`x \ge 15`, the definition below (absolute error ~1e-14)."""
    big = x >= _STIRLING_SWITCH
    xb = torch.where(big, x, _STIRLING_SWITCH)
    xs = torch.where(big, 1.0, x)
    series = log_gamma_remainder(xb, 8)  # stirlerr(x) is exactly the remainder μ(x) of log Γ(x)
    direct = torch.lgamma(xs + 1) - (xs + 0.5) * torch.log(xs) + xs - _HALF_LOG_2PI
    return torch.where(big, series, direct)


def bd0(x: torch.Tensor, m: torch.Tensor, log_m: torch.Tensor | None = None) -> torch.Tensor:
    r""":math:`x\log(x/m) + m - x \ge 0` for :math:`x > 0`, :math:`m \ge 0` (Loader 2000): near
    :math:`x = m` as :math:`(x-m)v + 2x\sum_{j\ge1} v^{2j+1}/(2j+1)`, :math:`v = (x-m)/(x+m)`.
    Given ``log_m``, the far branch is :math:`x(\log x - \log m) + m - x` (finite where ``m``
    underflows)."""
    d = x - m
    half_sum = 0.5 * x + 0.5 * m  # (x + m)/2 without overflow near the largest float
    near = d.abs() < 0.2 * half_sum
    v = torch.where(near, (0.5 * d) / torch.where(near, half_sum, 1.0), 0.0)
    v2 = v * v
    acc = torch.full_like(v2, 1.0 / (2 * _BD0_TERMS + 1))
    for j in range(_BD0_TERMS - 2, -1, -1):
        acc = acc * v2 + 1.0 / (2 * j + 3)
    series = d * v + (x * v) * (2 * v2 * acc)  # x·v first: 2x may overflow where v = 0
    ms = torch.where(near, 1.0, m)
    if log_m is None:
        far = x * torch.log(x / ms) + ms - x
    else:
        far = x * (torch.log(x) - torch.where(near, 0.0, log_m)) + ms - x
    return torch.where(near, series, far)


def poisson_log_pmf(k: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """Loader's log-pmf (see the module docstring), for real ``k ≥ 0``."""
    zero = k == 0
    impossible = (rate == 0) & ~zero
    ks = torch.where(zero, 1.0, k)
    rs = torch.where(zero | impossible, 1.0, rate)  # the unused entries: no 0·∞ in the backward
    general = -stirlerr(ks) - bd0(ks, rs) - 0.5 * torch.log(ks) - _HALF_LOG_2PI
    general = torch.where(impossible, -math.inf, general)
    return torch.where(zero, -rate, general)


def lattice_entropy(log_pmf, mean, sd, low, high) -> torch.Tensor:
    """:math:`-\\sum_k P(k)\\log P(k)` on a fixed grid (see the module docstring and
    :func:`lattice_sum`)."""
    return lattice_sum(log_pmf, mean, sd, low, high)


def lattice_sum(log_pmf, mean, sd, low, high, fn=None, points=None) -> torch.Tensor:
    """:math:`\\sum_k P(k)\\,g(k)` on a fixed grid, :math:`g(k)` = ``fn(k, log P(k))``
    (default :math:`-\\log P(k)`: the entropy); see the module docstring.

    ``log_pmf(x)`` gets points of shape ``batch + (M,)`` (integers, or reals for wide
    distributions, whose support must then extend more than ``T`` standard deviations on both
    sides of the mean); ``low``/``high`` bound the support (numbers or batch-shaped tensors);
    ``points`` overrides ``M`` (e.g. with the size of a small support).
    """
    dtype = mean.dtype
    grid, half = _GRID[torch.float64 if dtype == torch.float64 else torch.float32]
    # The grid is built in float64 whatever the dtype: float32 cannot place points 1 apart near
    # a mean of 1e8 (the parameters, exact float32 values, promote in ``log_pmf``).
    mean, sd = mean.detach().double(), sd.detach().double()
    if not isinstance(high, (int, float)):
        high = high.double()
    if not isinstance(low, (int, float)):
        low = low.double()
    points = grid if points is None else points
    step = (2 * half / grid * sd).clamp_min(1.0)
    on_integers = step <= 1
    start = mean.floor() - points // 2
    high_t = torch.as_tensor(high, dtype=mean.dtype, device=mean.device)
    if isinstance(high, torch.Tensor) or high < math.inf:
        start = torch.minimum(start, high_t.detach() - (points - 1))
    start = start.clamp_min(low) if not isinstance(low, torch.Tensor) else torch.maximum(start, low)
    start = torch.where(on_integers, start, mean - step * ((points - 1) / 2))
    i = torch.arange(points, dtype=mean.dtype, device=mean.device)
    x = start.unsqueeze(-1) + step.unsqueeze(-1) * i
    inside = x <= (high_t.detach().unsqueeze(-1) if high_t.dim() else high_t)
    x = torch.where(inside, x, start.unsqueeze(-1))
    lf = log_pmf(x).clamp_min(torch.finfo(torch.float64).min)
    g = -lf if fn is None else fn(x, lf)
    f = torch.exp(lf)
    terms = torch.where(inside & (f > 0), f * g, 0.0)  # P = 0: 0·g = 0 even where g = ∞
    return (step * terms.sum(-1)).to(dtype)
