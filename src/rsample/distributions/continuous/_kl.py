r"""Analytic KL divergences between the univariate continuous families.

Every pair that ``torch.distributions`` registers among these families is here, with torch's
conventions (``+inf`` where the support of ``p`` is not inside the support of ``q``), plus
LogNormal‖LogNormal, HalfCauchy‖HalfCauchy and TanhNormal‖TanhNormal, which torch lacks.
Logistic‖Logistic is absent: :math:`E_p[\log(1 + e^{-(X-\mu_q)/s_q})]` has no elementary closed
form when the scales differ.

Numerics. The textbook formulas add terms of size one that cancel to a small KL — all digits are
lost for nearly equal distributions, e.g. ``½(r² − 1) − log r`` at ``r = 1 + 1e-8``. Each KL
here is instead written as a sum of terms that are non-negative by themselves, built from

* :math:`h(\varepsilon) = \varepsilon - \log(1+\varepsilon) \ge 0` (:func:`_x_minus_log1p`),
* :math:`\varphi(x) = e^x - 1 - x \ge 0` (:func:`_expm1_minus_x`),

each evaluated by a series near 0, where the direct form cancels. A ratio of positive
parameters enters as :math:`\varepsilon = (a - b)/b` (exact digits of ``a/b − 1``) and its log
as ``log1p(ε)`` near 1, ``log(a/b)`` elsewhere, and ``log a − log b`` where ``a/b`` under- or
overflows (:func:`_ratio`). Locations enter only as differences divided by a scale.
"""

from __future__ import annotations

import math

import torch

from ..._shapes import broadcast_shapes
from ...kl import register_kl
from .cauchy import Cauchy
from .exponential import Exponential
from .gumbel import EULER_GAMMA, Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .laplace import Laplace
from .log_normal import LogNormal
from .normal import HALF_LOG_2PI, Normal
from .tanh_normal import TanhNormal
from .uniform import Uniform

_LOG_2 = math.log(2.0)
_LOG_4 = math.log(4.0)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi / 2)
_LOG_PI2_OVER_6 = math.log(math.pi**2 / 6)

# h(ε) = εu − 2u³ Σ_j u^{2j}/(2j+3), u = ε/(2+ε): the atanh series of log1p (|u| ≤ 1/7 below).
_H_COEFFS = tuple(1 / (2 * j + 3) for j in range(11))
# φ(x) = Σ_{k≥2} x^k / k!, truncated at k = 13 (|x| ≤ 1/4 below).
_PHI_COEFFS = tuple(1 / math.factorial(k) for k in range(2, 14))
# log Γ(1+ε) + γε − h(ε) = Σ_{k≥2} (−1)^k (ζ(k) − 1)/k · ε^k (Abramowitz & Stegun 6.1.33).
_LGAMMA_COEFFS = (
    0.3224670334241132,
    -0.0673523010531981,
    0.020580808427784546,
    -0.007385551028673986,
    0.0028905103307415234,
    -0.001192753911703261,
    0.0005096695247430425,
    -0.00022315475845357939,
    9.945751278180853e-05,
    -4.492623673813314e-05,
    2.050721277567069e-05,
    -9.439488275268397e-06,
    4.374866789907488e-06,
    -2.039215753801366e-06,
    9.55141213040742e-07,
    -4.492469198764566e-07,
    2.1207184805554665e-07,
)


# --------------------------------------------------------------------------- helpers
def _horner(x: torch.Tensor, coeffs: tuple[float, ...]) -> torch.Tensor:
    """``Σ_k coeffs[k] · x^k``."""
    out = x * coeffs[-1] + coeffs[-2]
    for c in reversed(coeffs[:-2]):
        out = out * x + c
    return out


def _log_positive(x: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """``log x`` where ``x`` is a normal positive float, else ``fallback`` (``x`` under/overflowed).

    The inner ``where`` keeps the unused ``log`` finite, so its gradient is not ``0·inf = nan``.
    """
    info = torch.finfo(x.dtype)
    ok = (x >= info.tiny) & (x <= info.max)
    return torch.where(ok, torch.where(ok, x, 1.0).log(), fallback)


def _ratio(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(r, r − 1, log r)`` for ``r = a / b`` with ``a, b > 0``.

    ``a − b`` is exact for ``b/2 ≤ a ≤ 2b`` (Sterbenz), so ``(a − b)/b`` keeps the digits of
    ``r − 1`` that forming ``a/b`` first rounds away, and ``log1p`` of it is accurate near 1.
    """
    r = a / b
    eps = (a - b) / b
    near = (eps > -0.5) & (eps < 1.0)
    log_far = _log_positive(r, a.log() - b.log())
    return r, eps, torch.where(near, torch.log1p(torch.where(near, eps, 0.0)), log_far)


def _x_minus_log1p(eps: torch.Tensor, log1p_eps: torch.Tensor) -> torch.Tensor:
    r""":math:`h(\varepsilon) = \varepsilon - \log(1 + \varepsilon) \ge 0`, given ``log1p_eps``.

    For :math:`|\varepsilon| < 1/4` the difference cancels; there, with
    :math:`u = \varepsilon/(2+\varepsilon)`, :math:`\log(1+\varepsilon) = 2\,\mathrm{atanh}\,u`
    and :math:`\varepsilon - 2u = \varepsilon u`, so
    :math:`h = \varepsilon u - 2u^3 \sum_{j\ge0} u^{2j}/(2j+3)`, whose terms shrink by
    :math:`u^2 \le 1/49`. Relative error ≲ 2e-15 on both sides of the switch.
    """
    small = eps.abs() < 0.25
    e = torch.where(small, eps, 0.0)
    u = e / (2 + e)
    series = e * u - 2 * u.pow(3) * _horner(u.square(), _H_COEFFS)
    return torch.where(small, series, eps - log1p_eps)


def _expm1_minus_x(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\varphi(x) = e^x - 1 - x \ge 0`; its Taylor series for :math:`|x| < 1/4`."""
    small = x.abs() < 0.25
    s = torch.where(small, x, 0.0)
    direct = torch.where(x == math.inf, math.inf, torch.expm1(x) - x)  # not inf − inf
    return torch.where(small, s.square() * _horner(s, _PHI_COEFFS), direct)


def _full_inf(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``+inf`` of the broadcast shape of two parameters (torch returns ``p``'s shape only)."""
    shape = broadcast_shapes(a.shape, b.shape)
    return torch.full(shape, math.inf, dtype=torch.promote_types(a.dtype, b.dtype), device=a.device)


def _normal_normal(loc_p, scale_p, loc_q, scale_q) -> torch.Tensor:
    r""":math:`\mathrm{KL}(N(\mu_p,\sigma_p^2)\,\|\,N(\mu_q,\sigma_q^2))`; ``loc_p = None`` for 0.

    With :math:`d = (\mu_p-\mu_q)/\sigma_q` and :math:`\varepsilon = \sigma_p/\sigma_q - 1`,
    :math:`\tfrac12(r^2 + d^2 - 1) - \log r
    = \tfrac12 d^2 + \tfrac12\varepsilon^2 + h(\varepsilon)`.
    """
    _, eps, log_r = _ratio(scale_p, scale_q)
    kl = (_SQRT_HALF * eps).square() + _x_minus_log1p(eps, log_r)
    if loc_p is not None:
        kl = kl + (_SQRT_HALF * (loc_p - loc_q) / scale_q).square()
    return kl


def _cauchy_cauchy(scale_p, scale_q, delta) -> torch.Tensor:
    r""":math:`\log\frac{(\gamma_p+\gamma_q)^2 + \delta^2}{4\gamma_p\gamma_q}
    = \log\!\Big(1 + \frac{(\gamma_p-\gamma_q)^2 + \delta^2}{4\gamma_p\gamma_q}\Big)`.

    Scale-normalized by :math:`\gamma_q`: ``log1p`` of the second form while its argument is
    below 1 (exact as p → q), the first form above, from logs if even ``γ_p/γ_q`` overflows.
    """
    r, eps, log_r = _ratio(scale_p, scale_q)
    b = delta / scale_q
    u = (eps.square() + b.square()) / (4 * r)
    small = u < 1
    near = torch.log1p(torch.where(small, u, 0.0))
    far = 2 * torch.hypot(1 + r, b).log() - _LOG_4 - log_r
    from_logs = (
        2 * torch.hypot(scale_p + scale_q, delta).log() - _LOG_4 - scale_p.log() - scale_q.log()
    )
    return torch.where(small, near, torch.where(far.isfinite(), far, from_logs))


# --------------------------------------------------------------------------- same family
@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\sigma_q}{\sigma_p}
    + \frac{\sigma_p^2 + (\mu_p-\mu_q)^2}{2\sigma_q^2} - \frac12
    = \tfrac12 d^2 + \tfrac12\varepsilon^2 + h(\varepsilon)

    with :math:`d = (\mu_p-\mu_q)/\sigma_q`, :math:`\varepsilon = \sigma_p/\sigma_q - 1`.
    """
    return _normal_normal(p.loc, p.scale, q.loc, q.scale)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> torch.Tensor:
    r"""Folding at 0 keeps KL: :math:`\tfrac12\varepsilon^2 + h(\varepsilon)`,
    :math:`\varepsilon = \sigma_p/\sigma_q - 1`."""
    return _normal_normal(None, p.scale, None, q.scale)


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p: LogNormal, q: LogNormal) -> torch.Tensor:
    """``exp`` is a bijection, which KL ignores: the Normal‖Normal KL of the logs."""
    return _normal_normal(p.loc, p.scale, q.loc, q.scale)


@register_kl(TanhNormal, TanhNormal)
def _kl_tanhnormal_tanhnormal(p: TanhNormal, q: TanhNormal) -> torch.Tensor:
    """With equal bounds, ``u ↦ m + h·tanh(u)`` is one bijection: the Normal‖Normal KL of ``u``.

    Where ``p``'s interval is not inside ``q``'s the KL is ``+inf``. Nested but different
    intervals have no closed form and raise ``NotImplementedError``. Deciding this for tensor
    bounds reads them, so it is done for bounds on the CPU only (no device sync elsewhere:
    tensor bounds on an accelerator raise ``NotImplementedError``).
    """
    kl = _normal_normal(p.loc, p.scale, q.loc, q.scale)
    bounds = (p.low, p.high, q.low, q.high)
    if not any(isinstance(x, torch.Tensor) for x in bounds):
        if p.low == q.low and p.high == q.high:
            return kl
        if p.low < q.low or p.high > q.high:
            return torch.full_like(kl, math.inf)
    elif all(not isinstance(x, torch.Tensor) or x.is_cpu for x in bounds):
        same = (p.low == q.low) & (p.high == q.high)
        outside = (p.low < q.low) | (p.high > q.high)
        if bool(torch.as_tensor(same | outside).all()):
            return torch.where(same, kl, math.inf)
    raise NotImplementedError(
        "KL between TanhNormals is implemented for equal or non-nested bounds, decided on the "
        "host (Python numbers or CPU tensors); nested but different intervals have no closed form"
    )


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{b_q}{b_p} + \frac{|\delta|}{b_q}
    + \frac{b_p}{b_q} e^{-|\delta|/b_p} - 1 = r\,\varphi(-t) + h(r - 1)

    with :math:`\delta = \mu_p-\mu_q`, :math:`r = b_p/b_q`, :math:`t = |\delta|/b_p` (Gil 2011,
    MSc thesis, Queen's University, as cited by torch). For large ``t``,
    :math:`r\varphi(-t) = r\,\mathrm{expm1}(-t) + |\delta|/b_q` avoids the product ``r·t``.
    """
    r, eps, log_r = _ratio(p.scale, q.scale)
    delta = (p.loc - q.loc).abs()
    t = delta / p.scale
    small = t < 0.25
    near = r * _expm1_minus_x(-torch.where(small, t, 0.0))
    far = r * torch.expm1(-t) + delta / q.scale
    return torch.where(small, near, far) + _x_minus_log1p(eps, log_r)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> torch.Tensor:
    r""":math:`\mathrm{KL} = \rho - 1 - \log\rho = h(\rho - 1)`,
    :math:`\rho = \lambda_q/\lambda_p`."""
    _, eps, log_r = _ratio(q.rate, p.rate)
    return _x_minus_log1p(eps, log_r)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -\log r + d + \gamma r + e^{-d}\Gamma(1+r) - 1 - \gamma
        = \varphi\big(\log\Gamma(1+r) - d\big) + \big(\log\Gamma(r) + \gamma(r-1)\big)

    with :math:`r = \beta_p/\beta_q`, :math:`d = (\mu_p-\mu_q)/\beta_q` (from
    :math:`E[e^{-rG}] = \Gamma(1+r)` for standard Gumbel ``G``). Both terms are ≥ 0 (``log Γ`` is
    convex with slope :math:`-\gamma` at 1). Near :math:`r = 1` the second is the series
    :math:`\log\Gamma(1+\varepsilon) + \gamma\varepsilon = h(\varepsilon)
    + \sum_{k\ge2}(-1)^k\frac{\zeta(k)-1}{k}\varepsilon^k` (A&S 6.1.33) in
    :math:`\varepsilon = r - 1`, and :math:`\log\Gamma(2+\varepsilon)` follows from it.
    """
    r, eps, log_r = _ratio(p.scale, q.scale)
    d = (p.loc - q.loc) / q.scale
    small = eps.abs() < 0.2
    e = torch.where(small, eps, 0.0)
    l1_near = _x_minus_log1p(e, torch.log1p(e)) + e.square() * _horner(e, _LGAMMA_COEFFS)
    lgamma_2_near = l1_near - EULER_GAMMA * e + torch.log1p(e)
    lgamma_2_far = torch.lgamma(1 + torch.where(small, 1.0, r))
    lgamma_2 = torch.where(small, lgamma_2_near, lgamma_2_far)  # log Γ(1 + r)
    l1 = torch.where(small, l1_near, lgamma_2_far - log_r + EULER_GAMMA * eps)
    return _expm1_minus_x(lgamma_2 - d) + l1


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> torch.Tensor:
    r""":math:`\log\frac{b_q-a_q}{b_p-a_p}`; ``+inf`` unless
    :math:`[a_p,b_p]\subseteq[a_q,b_q]` (torch's test, ``q.low > p.low or q.high < p.high``)."""
    _, _, log_r = _ratio(q.high - q.low, p.high - p.low)
    outside = (q.low > p.low) | (q.high < p.high)
    return torch.where(outside, math.inf, log_r)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{(\gamma_p+\gamma_q)^2 + (x_p-x_q)^2}{4\gamma_p\gamma_q}

    (Chyzak & Nielsen 2019, arXiv:1905.10965), evaluated as ``log1p`` of
    :math:`((\gamma_p-\gamma_q)^2 + (x_p-x_q)^2)/(4\gamma_p\gamma_q)` near p = q.
    """
    return _cauchy_cauchy(p.scale, q.scale, p.loc - q.loc)


@register_kl(HalfCauchy, HalfCauchy)
def _kl_halfcauchy_halfcauchy(p: HalfCauchy, q: HalfCauchy) -> torch.Tensor:
    r""":math:`\log\frac{(\gamma_p+\gamma_q)^2}{4\gamma_p\gamma_q}`.

    Folding two densities symmetric about 0 doubles both on :math:`[0, \infty)`, so the KL is
    that of the Cauchys centred at 0.
    """
    return _cauchy_cauchy(p.scale, q.scale, torch.zeros_like(p.scale))


# --------------------------------------------------------------------------- support mismatch
@register_kl(Exponential, Uniform)
def _kl_exponential_uniform(p: Exponential, q: Uniform) -> torch.Tensor:
    """``+inf``: :math:`[0, \\infty)` is in no bounded interval."""
    return _full_inf(p.rate, q.low)


@register_kl(Gumbel, Exponential)
@register_kl(Laplace, Exponential)
@register_kl(Normal, Exponential)
def _kl_real_exponential(p, q: Exponential) -> torch.Tensor:
    """``+inf``: ``p`` has mass on :math:`(-\\infty, 0)`, where the Exponential has none."""
    return _full_inf(p.loc, q.rate)


@register_kl(Gumbel, Uniform)
@register_kl(Laplace, Uniform)
@register_kl(Normal, Uniform)
def _kl_real_uniform(p, q: Uniform) -> torch.Tensor:
    """``+inf``: ``p`` has mass outside every bounded interval."""
    return _full_inf(p.loc, q.low)


# --------------------------------------------------------------------------- cross families
@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p: Exponential, q: Gumbel) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log s - 1 + \frac1s - m + e^m\frac{s}{s+1}
        = \log s + h(1/s) + \varphi\big(m - \log(1 + 1/s)\big)

    with :math:`s = \lambda\beta`, :math:`m = \mu/\beta` (from
    :math:`E[e^{-X/\beta}] = s/(s+1)`).
    """
    s = p.rate * q.scale
    log_s = _log_positive(s, p.rate.log() + q.scale.log())
    x = s.reciprocal()
    big = s >= 1
    # log(1 + 1/s): log1p(1/s) for s ≥ 1, log1p(s) − log s below (1/s may overflow).
    log1p_x = torch.where(
        big, torch.log1p(torch.where(big, x, 0.0)), torch.log1p(torch.where(big, 0.0, s)) - log_s
    )
    m = q.loc / q.scale
    return log_s + _x_minus_log1p(x, log1p_x) + _expm1_minus_x(m - log1p_x)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log(\lambda\sigma) + \tfrac12\log 2\pi - 1
        + \frac{(1/\lambda-\mu)^2 + 1/\lambda^2}{2\sigma^2}
        = \tfrac12(a - b)^2 + \tfrac12 h(a^2 - 1) + \tfrac12(\log 2\pi - 1)

    with :math:`a = 1/(\lambda\sigma)`, :math:`a - b = (1/\lambda - \mu)/\sigma`.
    """
    inv_rate = p.rate.reciprocal()
    a = inv_rate / q.scale
    log_a = -_log_positive(p.rate * q.scale, p.rate.log() + q.scale.log())
    a_minus_b = (inv_rate - q.loc) / q.scale
    return (
        (_SQRT_HALF * a_minus_b).square()
        + 0.5 * _x_minus_log1p(a.square() - 1, 2 * log_a)
        + (HALF_LOG_2PI - 0.5)
    )


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p: Gumbel, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\sigma}{\beta} + \tfrac12\log 2\pi - 1 - \gamma
        + \frac{\pi^2 r^2}{12} + \frac{c^2}{2}
        = \tfrac12 c^2 + \tfrac12 h\Big(\frac{\pi^2 r^2}{6} - 1\Big)
        + \tfrac12\log\frac{\pi^3}{3} - \gamma - \tfrac12

    with :math:`r = \beta/\sigma`, :math:`c = (\mu_p + \gamma\beta - \mu_q)/\sigma` (mean and
    variance :math:`\pi^2\beta^2/6` of the Gumbel). The constant is ≈ 0.0906 > 0.
    """
    r, _, log_r = _ratio(p.scale, q.scale)
    c = (p.loc - q.loc) / q.scale + EULER_GAMMA * r
    x = (math.pi**2 / 6) * r.square()
    const = 0.5 * math.log(math.pi**3 / 3) - EULER_GAMMA - 0.5
    return (
        (_SQRT_HALF * c).square() + 0.5 * _x_minus_log1p(x - 1, 2 * log_r + _LOG_PI2_OVER_6) + const
    )


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -\tfrac12\log\frac{2r^2}{\pi} + r^2 + \tfrac12 d^2 - 1
        = \tfrac12 d^2 + \tfrac12 h(2r^2 - 1) + \tfrac12(\log\pi - 1)

    with :math:`r = b/\sigma`, :math:`d = (\mu_p-\mu_q)/\sigma` (variance :math:`2b^2`).
    """
    r, _, log_r = _ratio(p.scale, q.scale)
    d = (p.loc - q.loc) / q.scale
    x = 2 * r.square()
    return (
        (_SQRT_HALF * d).square()
        + 0.5 * _x_minus_log1p(x - 1, _LOG_2 + 2 * log_r)
        + 0.5 * (math.log(math.pi) - 1)
    )


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p: Normal, q: Gumbel) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = -\log r + d + e^{r^2/2 - d} - \tfrac12(1 + \log 2\pi)
        = \varphi(r^2/2 - d) + \tfrac12 h(r^2 - 1) + 1 - \tfrac12\log 2\pi

    with :math:`r = \sigma/\beta`, :math:`d = (\mu_p-\mu_q)/\beta` (the Normal's moment
    generating function gives :math:`E[e^{-(X-\mu_q)/\beta}]`).
    """
    r, _, log_r = _ratio(p.scale, q.scale)
    d = (p.loc - q.loc) / q.scale
    half_r2 = (_SQRT_HALF * r).square()
    return (
        _expm1_minus_x(half_r2 - d)
        + 0.5 * _x_minus_log1p(r.square() - 1, 2 * log_r)
        + (1 - HALF_LOG_2PI)
    )


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{b}{\sigma} + \frac{E}{b}
        - \tfrac12\Big(1 + \log\frac\pi2\Big)
        = h\Big(\frac{E}{b} - 1\Big) + \log\frac{M}{M_0} + \tfrac12 + \log\frac2\pi

    with :math:`E = E|X - \mu_q| = \sigma M`, :math:`M = M_0 e^{-z^2/2} + z\,\mathrm{erf}(z/\sqrt2)`
    (folded-normal mean), :math:`z = |\mu_p-\mu_q|/\sigma`, :math:`M_0 = \sqrt{2/\pi}`. The
    constant is ≈ 0.0484 > 0 and :math:`M \ge M_0`.
    """
    delta = (p.loc - q.loc).abs()
    z = delta / p.scale
    erf_z = torch.erf(_SQRT_HALF * z)
    gauss = torch.exp(-(_SQRT_HALF * z).square())
    e_abs = p.scale * _SQRT_2_OVER_PI * gauss + delta * erf_z
    log_e = e_abs.log()
    # log(M/M0) = log1p(expm1(−z²/2) + z·erf(z/√2)/M0); from log E where z overflowed.
    log_m_ratio = torch.where(
        z.isfinite(),
        torch.log1p(
            torch.expm1(-(_SQRT_HALF * z).square())
            + torch.where(z.isfinite(), z, 0.0) * erf_z * _SQRT_PI_OVER_2
        ),
        log_e - p.scale.log() - 0.5 * math.log(2 / math.pi),
    )
    _, rho_minus_1, log_rho = _ratio(e_abs, q.scale)
    return _x_minus_log1p(rho_minus_1, log_rho) + log_m_ratio + (0.5 + math.log(2 / math.pi))


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> torch.Tensor:
    r""":math:`\lambda\frac{a+b}2 - \log\big((b-a)\lambda\big)`, ``+inf`` where :math:`a < 0`."""
    width = p.high - p.low
    log_wl = _log_positive(width * q.rate, width.log() + q.rate.log())
    kl = q.rate * (0.5 * p.low + 0.5 * p.high) - log_wl
    return torch.where(p.low < 0, math.inf, kl)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p: Uniform, q: Gumbel) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\beta}{b-a} + m
        + \frac{\beta}{b-a}\big(e^{-(a-\mu)/\beta} - e^{-(b-\mu)/\beta}\big)
        = m - \log 2k + \exp\!\Big(\log\frac{\sinh k}{k} - m\Big)

    with :math:`m = ((a+b)/2 - \mu)/\beta`, :math:`k = (b-a)/(2\beta)`, :math:`l = (a-\mu)/\beta
    = m - k` and :math:`\log\sinh k - m = -l - \log 2 + \log(-\mathrm{expm1}(-2k))`: neither
    exponential overflows on its own, and ``l`` is not the difference of two large numbers.
    """
    width = p.high - p.low
    m = (0.5 * p.low + 0.5 * p.high - q.loc) / q.scale
    lower = (p.low - q.loc) / q.scale
    k = 0.5 * width / q.scale
    log_k = _log_positive(k, width.log() - q.scale.log() - _LOG_2)
    log_sinh_minus_m = torch.log(-torch.expm1(-2 * k)) - lower - _LOG_2
    return m - (_LOG_2 + log_k) + torch.exp(log_sinh_minus_m - log_k)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> torch.Tensor:
    r""".. math:: \mathrm{KL} = \log\frac{\sqrt{2\pi}\,\sigma}{b-a}
        + \frac{(b-a)^2/12 + (c-\mu)^2}{2\sigma^2}
        = \tfrac12\delta^2 + \tfrac12 h\Big(\frac{k^2}{12} - 1\Big)
        + \tfrac12\Big(1 + \log\frac\pi6\Big)

    with :math:`c = (a+b)/2`, :math:`\delta = (c-\mu)/\sigma`, :math:`k = (b-a)/\sigma`.
    """
    k, _, log_k = _ratio(p.high - p.low, q.scale)
    delta = (0.5 * p.low + 0.5 * p.high - q.loc) / q.scale
    x = k.square() / 12
    return (
        (_SQRT_HALF * delta).square()
        + 0.5 * _x_minus_log1p(x - 1, 2 * log_k - math.log(12))
        + 0.5 * (1 + math.log(math.pi / 6))
    )
