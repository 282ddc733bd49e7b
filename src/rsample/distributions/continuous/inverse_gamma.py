r"""Inverse-gamma distribution, and the log-space gamma draws of the heavy-tailed families.

.. math:: p(x) = \frac{\beta^\alpha}{\Gamma(\alpha)} x^{-\alpha-1} e^{-\beta/x}, \quad x > 0

``X = β/G`` with :math:`G \sim \mathrm{Gamma}(\alpha, 1)`. ``rsample`` draws ``G`` in log space
(:func:`log_standard_gamma_draw`); the gradient goes through the implicit engine with
:math:`\partial X/\partial\alpha = -X\,d\log G/d\alpha` (:func:`dlog_gamma`: the implicit
gradient of the draw of :func:`~.gamma.standard_gamma_rsample`, Figurnov, Mohamed & Mnih
2018) and :math:`\partial X/\partial\beta = X/\beta`. The CDF is :math:`Q(\alpha, \beta/x)`
(``gammaincc``), the quantile :math:`\beta / Q^{-1}(\alpha, p)` (``gammainccinv``), each exact
in its own tail.

Tiny concentrations: most draws of ``Gamma(1e-3)`` underflow, so ``β/G`` is formed from
``log G``, which stays exact; a draw beyond the dtype's range saturates at its largest finite
number (and one below its smallest normal number at that), a boundary value as for ``Gamma``.

Large concentrations: the entropy's ``lgamma(α) − (1+α)ψ(α)`` cancels to :math:`O(\log\alpha)`
from terms of size :math:`\alpha\log\alpha`; for α ≥ 10 it is written with the Stirling
remainder :math:`\mu(\alpha) = \log\Gamma(\alpha) - (\alpha-\tfrac12)\log\alpha + \alpha
- \tfrac12\log 2\pi` (:func:`stirling_mu`), whose terms do not cancel.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ...gradients import implicit_rsample
from ...special import gammaincc, gammainccinv, standard_gamma_grad
from ...special.stirling import log_gamma_remainder_and_slope
from .gamma import standard_gamma_rsample

__all__ = ["InverseGamma"]

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
STIRLING_MIN = 10.0  # the Stirling series below is used for arguments ≥ this


class InverseGamma(Distribution):
    """Inverse-gamma distribution with shape ``concentration`` (α) and scale ``rate`` (β)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    rsample_kind = "implicit"

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = self._broadcast(concentration=concentration, rate=rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def _draw(self, sample_shape, generator):
        shape = self._extended_shape(sample_shape)
        alpha, rate = self.concentration, self.rate
        g, log_g, g1, e = log_standard_gamma_draw(alpha, shape, generator=generator)
        with torch.no_grad():
            x = ratio_value(rate, g, rate.log(), log_g)
        x = implicit_rsample(x, (alpha, rate, g1, e), sample_grad=_inverse_gamma_sample_grad)
        return x, g, log_g

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        return self._draw(sample_shape, generator)[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        x, g, log_g = self._draw(sample_shape, generator)
        # log p(β/G) = (α + 1) log G − G − log β − log Γ(α), from the draw itself (exact where
        # β/G over- or underflows); where the draw saturated, from its value.
        alpha = self.concentration
        from_noise = (alpha + 1) * log_g - g - self.rate.log() - torch.lgamma(alpha)
        return x, torch.where(unsaturated(x), from_noise, self._log_prob(x))

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._log_prob(value)

    def _log_prob(self, value: torch.Tensor) -> torch.Tensor:
        alpha, rate = self.concentration, self.rate
        inside = (value > 0) & (value < math.inf)
        x = torch.where(inside, value, 1.0)
        log_p = torch.xlogy(alpha, rate) - torch.lgamma(alpha) - (alpha + 1) * x.log() - rate / x
        # At 0 and +inf the density is 0 (the limit of e^{−β/x}/x^{α+1}); NaN stays NaN.
        return torch.where(inside | value.isnan(), log_p, -math.inf)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return gammaincc(self.concentration, self.rate / value.clamp_min(0))

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        alpha, rate = self.concentration, self.rate
        g = gammainccinv(alpha, value)
        # Where the root G underflows (p → 1 with small α), log G from the series' leading term
        # P(α, G) ≈ G^α/Γ(α + 1), exact there; a quantile beyond the dtype's range saturates.
        info = torch.finfo(g.dtype)
        log_g = (torch.log1p(-value) + torch.lgamma(alpha + 1)) / alpha
        far = torch.exp((rate.log() - log_g).clamp(max=math.log(info.max)))
        x = rate / g  # 0 at p = 0, +inf at p = 1
        inner = torch.where(g >= info.tiny, x, far).clamp(max=info.max)
        return torch.where((value > 0) & (value < 1), inner, x)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """``β/(α − 1)`` for α > 1, else ``inf`` (as torch)."""
        alpha = self.concentration
        return torch.where(alpha > 1, self.rate / (alpha - 1), math.inf)

    @property
    def mode(self) -> torch.Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> torch.Tensor:
        """``β²/((α − 1)²(α − 2))`` for α > 2, else ``inf`` (as torch)."""
        alpha = self.concentration
        var = (self.rate / (alpha - 1)).square() / (alpha - 2)
        return torch.where(alpha > 2, var, math.inf)

    def entropy(self) -> torch.Tensor:
        r""":math:`\alpha + \log\beta + \log\Gamma(\alpha) - (1+\alpha)\psi(\alpha)`; for α ≥ 10
        :math:`\tfrac12\log 2\pi + \tfrac12 + \tfrac1{2\alpha} - \tfrac32\log\alpha + \log\beta
        + \mu(\alpha) - (1+\alpha)\mu'(\alpha)`."""
        alpha = self.concentration
        direct = alpha + torch.lgamma(alpha) - (1 + alpha) * torch.digamma(alpha)
        big = alpha >= STIRLING_MIN
        a = torch.where(big, alpha, STIRLING_MIN)
        mu, dmu = stirling_mu(a)
        stirling = HALF_LOG_2PI + 0.5 + 0.5 / a - 1.5 * a.log() + mu - (1 + a) * dmu
        return torch.where(big, stirling, direct) + self.rate.log()


def _inverse_gamma_sample_grad(x, alpha, rate, g1, e):
    """``(∂x/∂α, ∂x/∂β, −, −)`` of ``x = β/G``: ``−x·d log G/dα`` and ``x/β`` (0 where the draw
    saturated); the bracket is formed before multiplying by ``x``, so no ∞ − ∞."""
    free = unsaturated(x)
    d_alpha = torch.where(free, -x * dlog_gamma(alpha, g1, e), 0.0)
    d_rate = torch.where(free, x / rate, 0.0)
    return d_alpha, d_rate, None, None


# --------------------------------------------------------------------------- shared helpers
def log_standard_gamma_draw(concentration: torch.Tensor, shape: torch.Size, *, generator=None):
    r"""``(G, log G, G', E)`` for draws ``G ~ Gamma(α, 1)`` broadcast to ``shape`` (no graph).

    :math:`G = G' e^{-E/\alpha}` with :math:`G' \sim \mathrm{Gamma}(\alpha + 1, 1)` from
    :func:`standard_gamma_rsample` and :math:`E \sim \mathrm{Exp}(1)` (i.e. :math:`G'
    U^{1/\alpha}`; Stuart 1962, the boost of Marsaglia & Tsang 2000). :math:`\log G = \log G'
    - E/\alpha` is exact where ``G`` itself underflows (half the draws of ``Gamma(1e-3)`` are
    below 1e-300), so ratios of gammas keep their tails. ``G'`` and ``E`` are the noise that
    :func:`dlog_gamma` differentiates.
    """
    with torch.no_grad():
        g1 = standard_gamma_rsample(concentration + 1, shape, generator=generator)
        e = torch.empty(shape, dtype=g1.dtype, device=g1.device).exponential_(generator=generator)
        s = e / concentration
        return g1 * torch.exp(-s), g1.log() - s, g1, e


def dlog_gamma(alpha: torch.Tensor, g1: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    r""":math:`d\log G/d\alpha = (\partial G'/\partial\alpha)/G' + E/\alpha^2` for the draw of
    :func:`log_standard_gamma_draw`, with the implicit gradient of ``G' ~ Gamma(α + 1)``
    (Figurnov, Mohamed & Mnih 2018; :func:`rsample.special.standard_gamma_grad`). α is floored
    where ``E/α²`` would overflow (α below ~1e-19 in float32): such draws have underflowed or
    saturated whatever α is."""
    floor = _ALPHA_FLOOR.get(alpha.dtype, 0.0)
    a = alpha.clamp_min(floor)
    return standard_gamma_grad(alpha + 1, g1) / g1 + e / a.square()


_ALPHA_FLOOR = {
    torch.float32: math.sqrt(200 / torch.finfo(torch.float32).max),
    torch.float64: math.sqrt(2000 / torch.finfo(torch.float64).max),
}


def ratio_value(num, den, log_num, log_den) -> torch.Tensor:
    """``num/den`` clamped to ``[tiny, max]`` (a saturated draw is a boundary value): the
    quotient itself where it and its inputs are normal numbers, else ``exp(log_num − log_den)``."""
    info = torch.finfo(den.dtype)
    log_tiny, log_max = math.log(info.tiny), math.log(info.max)
    log_x = log_num - log_den
    ok = (log_den > log_tiny + 1) & (log_num > log_tiny + 1) & (log_num < log_max - 1)
    ok = ok & (log_x > log_tiny + 1) & (log_x < log_max - 1)
    direct = torch.where(ok, num, 1.0) / torch.where(ok, den, 1.0)
    x = torch.where(ok, direct, torch.exp(log_x.clamp(log_tiny, log_max - 1)))
    return torch.where(log_x >= log_max, info.max, torch.where(log_x <= log_tiny, info.tiny, x))


def unsaturated(x: torch.Tensor) -> torch.Tensor:
    """Where a draw is not clamped at the dtype's smallest normal or largest finite number."""
    info = torch.finfo(x.dtype)
    return (x.abs() > info.tiny) & (x.abs() < info.max)


def stirling_mu(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(μ(x), μ'(x))`` for ``x ≥ 10``: the Stirling remainder of :math:`\log\Gamma` and its
    derivative (:func:`rsample.special.stirling.log_gamma_remainder_and_slope`)."""
    return log_gamma_remainder_and_slope(x)


def digamma_difference(big: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
    r""":math:`\psi(M + m) - \psi(M)` for ``M = big``, ``m = small > 0``, accurate when
    ``m ≪ M``: for M ≥ 10 :math:`\log(1 + m/M) + \frac{m}{2M(M+m)} + \mu'(M+m) - \mu'(M)`
    (no term cancels), else the difference of the digammas."""
    large = big >= STIRLING_MIN
    M = torch.where(large, big, STIRLING_MIN)
    m = torch.where(large, small, 1.0)
    s = M + m
    _, dmu_s = stirling_mu(s)
    _, dmu_m = stirling_mu(M)
    asym = torch.log1p(m / M) + m / (2 * M * s) + (dmu_s - dmu_m)
    return torch.where(large, asym, torch.digamma(big + small) - torch.digamma(big))
