r"""Analytic KL divergences involving Gamma (and Chi2, through it) and InverseGamma.

Every pair ``torch.distributions`` registers between Gamma and a family rsample has (Gamma,
Exponential, Gumbel, Normal, Uniform, Laplace), with torch's conventions (``+inf`` where the
support of ``p`` is not inside that of ``q``), plus InverseGamma‖InverseGamma, which is
Gamma‖Gamma with the same parameters (KL is invariant under the bijection ``x ↦ 1/x``).
Pairs with Beta, ContinuousBernoulli and Pareto live with those families.

Numerics (see :mod:`._kl` for the helpers :math:`h(\varepsilon) = \varepsilon -
\log(1+\varepsilon)` and :math:`\varphi(x) = e^x - 1 - x`). Gamma‖Gamma,

.. math:: \mathrm{KL} = (\alpha_p-\alpha_q)\psi(\alpha_p) - \log\Gamma(\alpha_p)
    + \log\Gamma(\alpha_q) + \alpha_q\log\frac{\beta_p}{\beta_q}
    + \alpha_p\frac{\beta_q-\beta_p}{\beta_p},

is a sum of terms of size :math:`\alpha\log\alpha` that cancel to a small number for nearly equal
distributions (and, along the direction that keeps the mean fixed, to :math:`O(1/\alpha^2)` of
them even for moderately different ones). It is rearranged into terms that are each ≥ 0:

.. math:: \mathrm{KL} = \alpha_q\,h(\rho - 1) + \tfrac12 h(s - 1) + B_\mu(\alpha_q; \alpha_p),
    \qquad \rho = \frac{\alpha_p/\beta_p}{\alpha_q/\beta_q},\quad s = \frac{\alpha_q}{\alpha_p},

where :math:`B_f(y; x) = f(y) - f(x) - (y - x)f'(x)` is the Bregman divergence of a convex
``f`` and :math:`\mu(x) = \log\Gamma(x) - (x-\tfrac12)\log x + x - \tfrac12\log 2\pi` the
Stirling remainder (convex). For :math:`\alpha \ge 10`,
:math:`B_\mu = \frac{(\alpha_q-\alpha_p)^2}{\alpha_p^2}\sum_k c_k A_{2k-1}`, from Stirling's
series :math:`\mu = \sum_k c_k x^{1-2k}` and the exact factorization
:math:`y^{-m} - x^{-m} + m x^{-m-1}(y - x) = (y-x)^2 x^{-2}\sum_{j<m}(j+1)y^{j-m}x^{-j}`,
whose terms are all positive. Below 10 the recurrence :math:`\log\Gamma(x) = \log\Gamma(x + N)
- \sum_{i<N}\log(x+i)` gives :math:`B_{\log\Gamma}(\alpha_q;\alpha_p) = B_{\log\Gamma}(\alpha_q+N;
\alpha_p+N) + \sum_{i<N} h\big((\alpha_q-\alpha_p)/(\alpha_p+i)\big)` (again every term ≥ 0),
and :math:`\mathrm{KL} = \alpha_q h(\rho-1) - \alpha_q h(1/s - 1) + B_{\log\Gamma}`, which
loses at most ~15 ulp. The difference :math:`\alpha_q - \alpha_p` enters only as itself, never
through rounded sums such as :math:`\alpha + N`.
"""

from __future__ import annotations

import math

import torch

from ...kl import register_kl
from ...special.stirling import stirling_coefficients
from ._kl import _expm1_minus_x, _full_inf, _log_positive, _ratio, _x_minus_log1p
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .inverse_gamma import HALF_LOG_2PI, STIRLING_MIN, InverseGamma, stirling_mu
from .laplace import Laplace
from .normal import Normal
from .uniform import Uniform

_STIRLING = stirling_coefficients(10)

_SHIFT = 10  # arguments below STIRLING_MIN are shifted up by this many unit steps
_N_TERMS = 8  # Stirling terms in the Bregman series (x ≥ 10: the 9th is < 1e-16 of the sum)


# --------------------------------------------------------------------------- helpers
def _rel(d: torch.Tensor, a: torch.Tensor, b: torch.Tensor):
    """``(t, log(1 + t))`` for ``t = a/b − 1``, given the exact difference ``d = a − b``."""
    t = d / b
    near = (t > -0.5) & (t < 1.0)
    far = _log_positive(a / b, a.log() - b.log())
    return t, torch.where(near, torch.log1p(torch.where(near, t, 0.0)), far)


def _h(d, a, b) -> torch.Tensor:
    """``h(a/b − 1) ≥ 0`` from the exact difference ``d = a − b``."""
    return _x_minus_log1p(*_rel(d, a, b))


def _bregman_mu(d: torch.Tensor, xq: torch.Tensor, xp: torch.Tensor) -> torch.Tensor:
    r""":math:`B_\mu(x_q; x_p)` for ``x ≥ 10`` with ``d = x_q − x_p``: each Stirling term
    :math:`c_k x^{1-2k}` contributes :math:`c_k (d/x_p)^2 A_{2k-1}`,
    :math:`A_m = \sum_{j<m}(j+1) u^{m-j} v^j` (``u = 1/x_q``, ``v = 1/x_p``), from the
    recurrence :math:`A_{m+1} = u A_m + (m+1) u v^m`."""
    u, v = xq.reciprocal(), xp.reciprocal()
    a_m, v_pow = u, torch.ones_like(v)  # A_1 = u, v^0
    total = _STIRLING[0] * a_m
    for m in range(1, 2 * _N_TERMS - 1):
        v_pow = v_pow * v
        a_m = u * a_m + (m + 1) * u * v_pow  # A_{m+1}
        if m % 2 == 0:  # m + 1 odd: the Stirling term k = (m + 2)/2
            total = total + _STIRLING[m // 2] * a_m
    return (d * v).square() * total


def _bregman_f(d, xq, xp) -> torch.Tensor:
    r""":math:`B_f(x_q; x_p)` of :math:`f(x) = (x - \tfrac12)\log x - x`:
    :math:`x_q h(x_p/x_q - 1) + \tfrac12 h(x_q/x_p - 1)` (``d = x_q − x_p``)."""
    return xq * _h(-d, xp, xq) + 0.5 * _h(d, xq, xp)


def _bregman_lgamma_shifted(d, aq, ap) -> torch.Tensor:
    r""":math:`B_{\log\Gamma}(\alpha_q; \alpha_p)` through :math:`N` unit shifts (any α > 0)."""
    total = _bregman_f(d, aq + _SHIFT, ap + _SHIFT) + _bregman_mu(d, aq + _SHIFT, ap + _SHIFT)
    for i in range(_SHIFT):
        total = total + _h(d, aq + i, ap + i)
    return total


def _mean_ratio(ap, bp, aq, bq):
    r"""``(ρ − 1, log ρ)`` for :math:`\rho = (\alpha_p/\beta_p)/(\alpha_q/\beta_q)` without
    cancellation near ρ = 1: :math:`\rho - 1 = (\varepsilon_\beta - \varepsilon_\alpha)/(1 +
    \varepsilon_\alpha)` from the relative differences of the parameters."""
    _, ea, la = _ratio(aq, ap)
    _, eb, lb = _ratio(bq, bp)
    near = (ea.abs() < 0.5) & (eb.abs() < 0.5)
    rho_m1_near = (eb - ea) / (1 + ea)
    log_rho_far = lb - la
    rho_m1 = torch.where(near, rho_m1_near, torch.expm1(log_rho_far))
    log_rho = torch.where(near, torch.log1p(torch.where(near, rho_m1_near, 0.0)), log_rho_far)
    return rho_m1, log_rho


def kl_gamma_gamma(ap, bp, aq, bq) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathrm{Gamma}(\alpha_p, \beta_p)\,\|\,\mathrm{Gamma}(\alpha_q,
    \beta_q))` as a sum of non-negative terms (see the module docstring)."""
    ap, bp, aq, bq = torch.broadcast_tensors(ap, bp, aq, bq)
    d = aq - ap
    mean_term = aq * _x_minus_log1p(*_mean_ratio(ap, bp, aq, bq))
    large = torch.minimum(ap, aq) >= STIRLING_MIN
    # α ≥ 10: ½ h(s − 1) + B_μ(α_q; α_p)
    apl, aql = torch.where(large, ap, STIRLING_MIN), torch.where(large, aq, STIRLING_MIN)
    dl = torch.where(large, d, 0.0)
    big = 0.5 * _h(dl, aql, apl) + _bregman_mu(dl, aql, apl)
    # α < 10: B_lgamma by shifting, minus α_q h(1/s − 1)
    aps, aqs = torch.where(large, 1.0, ap), torch.where(large, 1.0, aq)
    ds = torch.where(large, 0.0, d)
    small = _bregman_lgamma_shifted(ds, aqs, aps) - aqs * _h(-ds, aps, aqs)
    kl = mean_term + torch.where(large, big, small)
    # α_p ≥ 10 > α_q, α_q < α_p/2: α_q h(1/s − 1) would cancel against B (both ~ α_p log α_p);
    # Stirling at α_p alone: α_p r − α_q(log r + ψ(α_p)) + log Γ(α_q) + ½ log(α_p/2π) − ½
    # − μ(α_p) + α_p μ'(α_p), r = β_q/β_p, whose terms are of the size of the KL.
    lop = (ap >= STIRLING_MIN) & (aq < STIRLING_MIN) & (2 * aq < ap)
    apo, aqo = torch.where(lop, ap, STIRLING_MIN), torch.where(lop, aq, 1.0)
    r, _, log_r = _ratio(bq, bp)
    mu, dmu = stirling_mu(apo)
    psi = apo.log() - 0.5 / apo + dmu
    lopsided = (
        apo * r
        - aqo * (log_r + psi)
        + torch.lgamma(aqo)
        + 0.5 * apo.log()
        - HALF_LOG_2PI
        - 0.5
        - mu
        + apo * dmu
    )
    return torch.where(lop, lopsided, kl)


def _std_gamma_entropy(alpha: torch.Tensor) -> torch.Tensor:
    r""":math:`\alpha + \log\Gamma(\alpha) + (1-\alpha)\psi(\alpha)` (Gamma(α, 1)); for α ≥ 10
    :math:`\tfrac12\log(2\pi\alpha) + \tfrac12 - \tfrac1{2\alpha} + \mu + (1-\alpha)\mu'`."""
    big = alpha >= STIRLING_MIN
    a = torch.where(big, alpha, STIRLING_MIN)
    mu, dmu = stirling_mu(a)
    stirling = HALF_LOG_2PI + 0.5 * a.log() + 0.5 - 0.5 / a + mu + (1 - a) * dmu
    direct = alpha + torch.lgamma(alpha) + (1 - alpha) * torch.digamma(alpha)
    return torch.where(big, stirling, direct)


def _normal_gap(alpha: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac12\log(2\pi e\alpha) - H(\mathrm{Gamma}(\alpha, 1)) \ge 0` (the KL from a
    Gamma to the normal with its mean and variance); for α ≥ 10
    :math:`\tfrac1{2\alpha} - \mu(\alpha) - (1-\alpha)\mu'(\alpha)` (≈ 1/(3α), no cancellation)."""
    big = alpha >= STIRLING_MIN
    a = torch.where(big, alpha, STIRLING_MIN)
    mu, dmu = stirling_mu(a)
    stirling = 0.5 / a - mu - (1 - a) * dmu
    direct = HALF_LOG_2PI + 0.5 + 0.5 * alpha.log() - _std_gamma_entropy(alpha)
    return torch.where(big, stirling, direct)


# --------------------------------------------------------------------------- registrations
@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> torch.Tensor:
    return kl_gamma_gamma(p.concentration, p.rate, q.concentration, q.rate)


@register_kl(InverseGamma, InverseGamma)
def _kl_inversegamma_inversegamma(p: InverseGamma, q: InverseGamma) -> torch.Tensor:
    """``x ↦ 1/x`` maps InverseGamma(α, β) to Gamma(α, β): the Gamma‖Gamma KL."""
    return kl_gamma_gamma(p.concentration, p.rate, q.concentration, q.rate)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Gamma, q: Exponential) -> torch.Tensor:
    """Exponential(λ) is Gamma(1, λ)."""
    return kl_gamma_gamma(p.concentration, p.rate, torch.ones_like(q.rate), q.rate)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Exponential, q: Gamma) -> torch.Tensor:
    """Exponential(λ) is Gamma(1, λ)."""
    return kl_gamma_gamma(torch.ones_like(p.rate), p.rate, q.concentration, q.rate)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Gamma, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -H(p) + \tfrac12\log 2\pi\sigma^2
        + \frac{\alpha/\beta^2 + (\alpha/\beta - \mu)^2}{2\sigma^2}
        = \tfrac12 c^2 + \tfrac12 h(\alpha w^2 - 1) + g(\alpha)

    with :math:`w = 1/(\beta\sigma)`, :math:`c = (\alpha/\beta - \mu)/\sigma` and
    :math:`g(\alpha) = \tfrac12\log(2\pi e\alpha) - H(\mathrm{Gamma}(\alpha, 1)) \ge 0`.
    """
    alpha = p.concentration
    log_bs = _log_positive(p.rate * q.scale, p.rate.log() + q.scale.log())
    log_aw2 = alpha.log() - 2 * log_bs
    aw2 = torch.exp(log_aw2)
    c = (alpha / p.rate - q.loc) / q.scale
    return 0.5 * c.square() + 0.5 * _x_minus_log1p(aw2 - 1, log_aw2) + _normal_gap(alpha)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p: Gamma, q: Gumbel) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -H(p) + \log\sigma + E_p[z] + E_p[e^{-z}]
        = \varphi(L) + \alpha h(u) - \log u + 1 - H(\mathrm{Gamma}(\alpha, 1))

    with :math:`z = (x - \mu)/\sigma`, :math:`u = 1/(\beta\sigma)` and
    :math:`L = \mu/\sigma - \alpha\log(1+u) = \log E_p[e^{-z}]`, so :math:`E_p[z] = \alpha u
    - \mu/\sigma = \alpha h(u) - L + \alpha\log(1 + u) - \alpha\log(1+u)`.
    """
    alpha = p.concentration
    s = p.rate * q.scale
    log_s = _log_positive(s, p.rate.log() + q.scale.log())
    big = s >= 1
    # log(1 + u), u = 1/s: log1p(1/s) for s ≥ 1, log1p(s) − log s below (1/s may overflow)
    log1p_u = torch.where(
        big,
        torch.log1p(torch.where(big, s, 1.0).reciprocal()),
        torch.log1p(torch.where(big, 0.0, s)) - log_s,
    )
    u = s.reciprocal()
    big_l = q.loc / q.scale - alpha * log1p_u
    return (
        _expm1_minus_x(big_l)
        + alpha * _x_minus_log1p(u, log1p_u)
        + log_s
        + 1
        - _std_gamma_entropy(alpha)
    )


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Uniform, q: Gamma) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -\log(b-a) + \log\Gamma(\alpha) - \alpha\log\beta
        - (\alpha - 1)E[\log X] + \beta\frac{a+b}2,
        \qquad E[\log X] = \log b - h(w)/w,\; w = \frac{b-a}{a}

    (``+inf`` where ``a < 0``, as torch); :math:`h(w)/w \to 1` at ``a = 0``.
    """
    a, b = p.low, p.high
    width = b - a
    pos = a > 0
    w = width / torch.where(pos, a, 1.0)
    log1p_w = _log_positive(b / torch.where(pos, a, 1.0), b.log() - torch.where(pos, a, 1.0).log())
    h_over_w = torch.where(pos, _x_minus_log1p(w, log1p_w) / w, 1.0)
    e_log = b.log() - h_over_w
    alpha, rate = q.concentration, q.rate
    log_wr = _log_positive(width * rate, width.log() + rate.log())
    kl = (
        torch.lgamma(alpha)
        - log_wr
        - (alpha - 1) * (rate.log() + e_log)
        + rate * (0.5 * a + 0.5 * b)
    )
    return torch.where(a < 0, math.inf, kl)


@register_kl(Gamma, Uniform)
def _kl_gamma_uniform(p: Gamma, q: Uniform) -> torch.Tensor:
    """``+inf``: :math:`(0, \\infty)` is in no bounded interval."""
    return _full_inf(p.concentration, q.low)


@register_kl(Gumbel, Gamma)
@register_kl(Laplace, Gamma)
@register_kl(Normal, Gamma)
def _kl_real_gamma(p, q: Gamma) -> torch.Tensor:
    """``+inf``: ``p`` has mass on :math:`(-\\infty, 0)`, where the Gamma has none."""
    return _full_inf(p.loc, q.concentration)
