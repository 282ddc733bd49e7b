r"""Analytic KL divergences of the Pareto and Weibull families.

Every pair torch registers with a Pareto, with torch's conventions — ``+inf`` where the support
of ``p`` is not inside that of ``q`` (any Pareto against a bounded or real-line family and vice
versa, ``Pareto(s_p)‖Pareto(s_q)`` for :math:`s_p < s_q`, a Uniform reaching below the Pareto's
scale) and where the expectation of ``−log q`` diverges (:math:`\alpha \le 1` against an
Exponential or a Gamma, :math:`\alpha \le 2` against a Normal) — plus Weibull‖Weibull, which torch
lacks. The pairs with Beta live in ``_kl_beta.py``.

As in ``_kl.py``, each finite KL is a sum of terms that are non-negative by themselves, built
from :math:`h(\varepsilon) = \varepsilon - \log(1+\varepsilon)` and
:math:`\varphi(x) = e^x - 1 - x` with their series near 0, so that nearly equal distributions
keep their relative accuracy; ratios of parameters enter through ``_ratio``. With
:math:`u = 1/\alpha`, the Pareto's :math:`E[\log X] = \log s + u` and
:math:`E[X] = s/(1 - u)`, :math:`E[X^2] = s^2/(1 - 2u)`.
"""

from __future__ import annotations

import math

import torch

from ...kl import register_kl
from ._kl import (
    _LGAMMA_COEFFS,
    _expm1_minus_x,
    _full_inf,
    _horner,
    _log_positive,
    _ratio,
    _x_minus_log1p,
)
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import EULER_GAMMA, Gumbel
from .inverse_gamma import STIRLING_MIN, stirling_mu
from .laplace import Laplace
from .normal import HALF_LOG_2PI, Normal
from .pareto import Pareto
from .uniform import Uniform
from .weibull import Weibull

_HALF_LOG_2PI_MINUS_HALF = HALF_LOG_2PI - 0.5
# E_t[log(1 + r t)] for t ~ U[−1, 1] is −Σ_{n≥1} r^{2n}/(2n(2n + 1)); for r < 1/4, 13 terms.
_LOG_MEAN_COEFFS = tuple(-1 / (2 * n * (2 * n + 1)) for n in range(1, 14))


# --------------------------------------------------------------------------- helpers
def _log1m_inv(a: torch.Tensor, k: float) -> torch.Tensor:
    """``log(1 − k/a)`` for ``a > k > 0``: ``log1p(−k/a)`` where ``k/a ≤ 1/2``, else
    ``log(a − k) − log a`` (``a − k`` is exact there, ``1 − k/a`` would round)."""
    far = a >= 2 * k
    a_far = torch.where(far, a, 2 * k)
    a_near = torch.where(far, 2 * k, a)
    return torch.where(far, torch.log1p(-k / a_far), torch.log(a_near - k) - torch.log(a_near))


def _pareto_shape(alpha: torch.Tensor, minimum: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(valid, a)``: where ``α > minimum``, and α with a stand-in elsewhere (the KL is +inf
    there and the formulas must not produce NaN gradients)."""
    valid = alpha > minimum
    return valid, torch.where(valid, alpha, minimum + 1.0)


def _lgamma_minus_stirling_head(k: torch.Tensor) -> torch.Tensor:
    """``lgamma(k) − k log k + k``, without cancelling ``lgamma`` against ``k log k`` for
    large ``k``: there ``½ log(2π/k)`` plus the Stirling series."""
    large = k >= STIRLING_MIN
    k_large = torch.where(large, k, STIRLING_MIN)
    k_small = torch.where(large, 1.0, k)
    stirling = HALF_LOG_2PI - 0.5 * k_large.log() + stirling_mu(k_large)[0]
    return torch.where(large, stirling, torch.lgamma(k_small) - k_small * k_small.log() + k_small)


# --------------------------------------------------------------------------- same family
@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Pareto, q: Pareto) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\alpha_p}{\alpha_q} + \alpha_q\log\frac{s_p}{s_q}
        + \frac{\alpha_q}{\alpha_p} - 1 = h(\rho - 1) + \alpha_q\log\frac{s_p}{s_q}

    with :math:`\rho = \alpha_q/\alpha_p` (Gil 2011, MSc thesis, Queen's University); ``+inf``
    where :math:`s_p < s_q`.
    """
    _, eps, log_rho = _ratio(q.alpha, p.alpha)
    _, _, log_s = _ratio(p.scale, q.scale)
    kl = _x_minus_log1p(eps, log_rho) + q.alpha * log_s
    return torch.where(p.scale < q.scale, math.inf, kl)


@register_kl(Weibull, Weibull)
def _kl_weibull_weibull(p: Weibull, q: Weibull) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{k_p}{\lambda_p^{k_p}} - \log\frac{k_q}{\lambda_q^{k_q}}
        + (k_p - k_q)\Big(\log\lambda_p - \frac{\gamma}{k_p}\Big)
        + \Big(\frac{\lambda_p}{\lambda_q}\Big)^{k_q}\Gamma\Big(1 + \frac{k_q}{k_p}\Big) - 1
        = \varphi\big(k_q\log\rho + \log\Gamma(1 + t)\big) + \big(\log\Gamma(t) + \gamma(t-1)\big)

    with :math:`\rho = \lambda_p/\lambda_q`, :math:`t = k_q/k_p` (Bauckhage 2013,
    arXiv:1310.3713; ``log X`` of a Weibull is a Gumbel, and this is the Gumbel‖Gumbel split of
    ``_kl.py``). Both terms are ≥ 0; the second is a series in :math:`t - 1` near 1
    (Abramowitz & Stegun 6.1.33).
    """
    t, eps, log_t = _ratio(q.concentration, p.concentration)
    _, _, log_rho = _ratio(p.scale, q.scale)
    small = eps.abs() < 0.2
    e = torch.where(small, eps, 0.0)
    l1_near = _x_minus_log1p(e, torch.log1p(e)) + e.square() * _horner(e, _LGAMMA_COEFFS)
    lgamma_2_near = l1_near - EULER_GAMMA * e + torch.log1p(e)
    lgamma_2_far = torch.lgamma(1 + torch.where(small, 1.0, t))
    lgamma_2 = torch.where(small, lgamma_2_near, lgamma_2_far)  # log Γ(1 + t)
    l1 = torch.where(small, l1_near, lgamma_2_far - log_t + EULER_GAMMA * eps)
    return _expm1_minus_x(q.concentration * log_rho + lgamma_2) + l1


# --------------------------------------------------------------------------- Pareto ‖ other
@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p: Pareto, q: Exponential) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\alpha}{s\lambda} - 1 - \frac1\alpha
        + \frac{\alpha s\lambda}{\alpha - 1} = h(cm - 1) + \log\alpha + h(-1/\alpha)

    with :math:`c = s\lambda`, :math:`m = \alpha/(\alpha-1)`; ``+inf`` for α ≤ 1. The last two
    terms are the KL to the best rate, at least 0.82 (at α = golden ratio).
    """
    valid, a = _pareto_shape(p.alpha, 1.0)
    c = p.scale * q.rate
    log_c = _log_positive(c, p.scale.log() + q.rate.log())
    log_1mu = _log1m_inv(a, 1.0)  # log(1 − 1/α) = −log m
    cm = c * a / (a - 1)
    kl = (
        _x_minus_log1p(cm - 1, log_c - log_1mu) + a.log() + _x_minus_log1p(-a.reciprocal(), log_1mu)
    )
    return torch.where(valid, kl, math.inf)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p: Pareto, q: Gamma) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\alpha - 1 - \frac{k}{\alpha} + \log\Gamma(k) - k\log y
        + \frac{y\alpha}{\alpha - 1}
        = k\,h\Big(\frac{ym}{k} - 1\Big) + k\,h(-1/\alpha)
        + \big(\log\Gamma(k) - k\log k + k\big) + \log\alpha - 1

    with :math:`y = \beta s`, :math:`m = \alpha/(\alpha-1)`, the Gamma's shape ``k`` and rate
    β; ``+inf`` for α ≤ 1. ``log Γ(k) − k log k + k`` comes from Stirling's series for large k.
    """
    valid, a = _pareto_shape(p.alpha, 1.0)
    k = q.concentration
    y = q.rate * p.scale
    log_y = _log_positive(y, q.rate.log() + p.scale.log())
    log_1mu = _log1m_inv(a, 1.0)
    ratio = y * (a / (a - 1)) / k  # ym/k
    log_ratio = log_y - log_1mu - k.log()
    kl = (
        k * _x_minus_log1p(ratio - 1, log_ratio)
        + k * _x_minus_log1p(-a.reciprocal(), log_1mu)
        + _lgamma_minus_stirling_head(k)
        + a.log()
        - 1
    )
    return torch.where(valid, kl, math.inf)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p: Pareto, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\sqrt{2\pi}\sigma\alpha}{s} - 1 - \frac1\alpha
        + \frac{V + (M - \mu)^2}{2\sigma^2}
        = \tfrac12 d^2 + \tfrac12 h(v - 1) + h(-1/\alpha) - \tfrac12\log\Big(1 - \frac2\alpha\Big)
        + \tfrac12(\log 2\pi - 1)

    with the Pareto's mean :math:`M = \alpha s/(\alpha-1)` and variance
    :math:`V = s^2\alpha/((\alpha-1)^2(\alpha-2))`, :math:`d = (M - \mu)/\sigma`,
    :math:`v = V/\sigma^2`; ``+inf`` for α ≤ 2.
    """
    valid, a = _pareto_shape(p.alpha, 2.0)
    _, _, log_r = _ratio(p.scale, q.scale)  # log(s/σ)
    d = (p.scale * (a / (a - 1)) - q.loc) / q.scale
    log_1m2u = _log1m_inv(a, 2.0)  # log(1 − 2/α)
    r_a = (p.scale / q.scale) / (a - 1)  # s/(σ(α − 1))
    v = r_a.square() * (a / (a - 2))
    log_v = 2 * (log_r - torch.log(a - 1)) - log_1m2u
    kl = (
        (0.5 * d) * d
        + 0.5 * _x_minus_log1p(v - 1, log_v)
        + _x_minus_log1p(-a.reciprocal(), _log1m_inv(a, 1.0))
        - 0.5 * log_1m2u
        + _HALF_LOG_2PI_MINUS_HALF
    )
    return torch.where(valid, kl, math.inf)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p: Uniform, q: Pareto) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -\log(b - a) - \log\alpha - \alpha\log s
        + (\alpha + 1)\,E[\log X]
        = -\log 2r - \log\alpha + \alpha\log\frac{c}{s} + (\alpha + 1)\,g(r)

    with the midpoint :math:`c = (a+b)/2`, :math:`r = (b-a)/(2c)` and
    :math:`g(r) = E[\log(1 + rT)]`, :math:`T \sim U[-1, 1]`,
    :math:`= \frac{(1+r)\log(1+r) - (1-r)\log(1-r)}{2r} - 1`, from its series for
    :math:`r < 1/4`; ``+inf`` where :math:`a < s` (torch's test).
    """
    low, high, scale, alpha = p.low, p.high, q.scale, q.alpha
    outside = low < scale
    # Stand-ins inside the support where the KL is +inf, so that no NaN reaches a gradient.
    low_s = torch.where(outside, scale, low)
    high_s = torch.where(outside, 2 * scale, high)
    mid = 0.5 * low_s + 0.5 * high_s
    width = high_s - low_s
    r = width / (2 * mid)
    small = r < 0.25
    r_s = torch.where(small, r, 0.0)
    g_small = r_s.square() * _horner(r_s.square(), _LOG_MEAN_COEFFS)
    # 1 ± r = b/c, a/c: exact where 1 − r would round (a ≪ b); xlogy: (1 − r)log(1 − r) → 0.
    r_l = torch.where(small, 0.5, r)
    one_p, one_m = torch.where(small, 1.5, high_s / mid), torch.where(small, 0.5, low_s / mid)
    g_large = (torch.xlogy(one_p, one_p) - torch.xlogy(one_m, one_m)) / (2 * r_l) - 1
    g = torch.where(small, g_small, g_large)
    # log(c/s) from c − s = (a − s)/2 + (b − s)/2: exact differences, where c/s rounds.
    eps = (0.5 * (low_s - scale) + 0.5 * (high_s - scale)) / scale
    near = eps < 1
    log_c_s = torch.where(
        near,
        torch.log1p(torch.where(near, eps, 0.0)),
        _log_positive(mid / scale, mid.log() - scale.log()),
    )
    log_2r = width.log() - mid.log()
    kl = -log_2r - alpha.log() + alpha * log_c_s + (alpha + 1) * g
    return torch.where(outside, math.inf, kl)


# --------------------------------------------------------------------------- support mismatch
@register_kl(Pareto, ContinuousBernoulli)
@register_kl(Pareto, Uniform)
def _kl_pareto_bounded(p: Pareto, q) -> torch.Tensor:
    """``+inf``: :math:`[s, \\infty)` is in no bounded interval."""
    return _full_inf(p.scale, q.mean)


@register_kl(ContinuousBernoulli, Pareto)
@register_kl(Exponential, Pareto)
@register_kl(Gamma, Pareto)
@register_kl(Gumbel, Pareto)
@register_kl(Laplace, Pareto)
@register_kl(Normal, Pareto)
def _kl_to_pareto_infinite(p, q: Pareto) -> torch.Tensor:
    """``+inf``: ``p`` has mass below the Pareto's scale ``s > 0`` (on ``(−∞, s)``, or on
    ``[0, s)`` for the Exponential, Gamma and ContinuousBernoulli)."""
    return _full_inf(p.mean, q.scale)
