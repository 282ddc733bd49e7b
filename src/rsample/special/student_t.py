r"""CDF and quantile of the standard Student t distribution, differentiable in ``df``.

.. math::
    F_\nu(t) = \tfrac12 I_{x}(\tfrac\nu2, \tfrac12) \;(t \le 0), \qquad
    F_\nu(t) = 1 - \tfrac12 I_{x}(\tfrac\nu2, \tfrac12) \;(t > 0), \qquad x = \frac{\nu}{\nu + t^2}
    \quad\text{(DLMF 8.17.7, A\&S 26.7.1)}.

``I`` here is :math:`P(|T| > |t|)`, the two-sided tail; :mod:`rsample.special.beta` evaluates it
as the smaller of :math:`I` and :math:`1 - I`, from ``x`` *and* :math:`1 - x = t^2/(\nu + t^2)`
each formed without cancellation (``r = t/√ν``, and ``1/r²`` for ``|r| > 1`` so ``t²`` never
overflows). So the lower tail keeps full relative accuracy out to ``t = −1e10`` and the center
(``1 − x ≈ t²/ν`` tiny) does not lose ``1 − x`` to rounding. For large ``ν`` the parameters
``(ν/2, ½)`` fall in the incomplete beta's gamma-expansion region (DiDonato & Morris's BGRAT,
an expansion in :math:`Q(\tfrac12, u) = \operatorname{erfc}\sqrt u` with
:math:`u \approx (\nu/2)\log(1 + t^2/\nu) \to t^2/2`): this *is* the normal limit with its
:math:`1/\nu` corrections, so no separate normal approximation is needed for finite ``ν``;
``ν = ∞`` gives the normal distribution exactly.

The quantile inverts :math:`I_x(\nu/2, \tfrac12) = 2\min(p, 1-p)` with
:func:`rsample.special.beta` 's Newton solver, which returns ``x`` and ``1 − x`` separately, so
:math:`t = \pm\sqrt{\nu(1-x)/x}` is accurate near the median (``p → ½``) and in the tails.

Gradients: :math:`\partial F/\partial t` is the density; :math:`\partial F/\partial\nu =
\pm\tfrac12\,(\tfrac12\,\partial I/\partial a + x^{a}(1-x)^{1/2}/(B(a, \tfrac12)\,\nu))`, with
:math:`\partial I/\partial a` from the forward-mode derivative of the incomplete beta; the
quantile's by the implicit function theorem.
"""

from __future__ import annotations

import math

import torch

from .beta import _PLANS, _chunked, _guard, _inverse, _lbeta, _prepare, _sides, _sides_jvp

__all__ = ["student_t_cdf", "student_t_icdf", "student_t_log_prob"]

_INV_SQRT2 = 1 / math.sqrt(2)


def _xy(df: torch.Tensor, t: torch.Tensor):
    """x = ν/(ν + t²), y = t²/(ν + t²) and their logs, each without cancellation or overflow
    (log x stays exact where x underflows, for tiny ν and huge |t|)."""
    r = t / df.sqrt()
    small = r.abs() <= 1
    rs = torch.where(small, r, 0.0)
    r2 = rs * rs
    ir = torch.where(small, 1.0, r.reciprocal())
    ir2 = ir * ir
    x = torch.where(small, (1 + r2).reciprocal(), ir2 / (1 + ir2))
    y = torch.where(small, r2 / (1 + r2), (1 + ir2).reciprocal())
    l1 = torch.where(small, torch.log1p(r2), torch.log1p(ir2))
    log_r2 = 2 * torch.log(r.abs())
    lx = torch.where(small, -l1, -log_r2 - l1)
    ly = torch.where(small, log_r2 - l1, -l1)
    return x, y, lx, ly


def _log_pdf(df: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """log f_ν(t) = −½ log ν − log B(ν/2, ½) − (ν+1)/2 · log(1 + t²/ν)."""
    r = t / df.sqrt()
    small = r.abs() <= 1
    rs = torch.where(small, r, 1.0)
    ir = torch.where(small, 1.0, r.reciprocal())
    log1p_r2 = torch.where(
        small, torch.log1p(rs * rs), 2 * torch.log(r.abs()) + torch.log1p(ir * ir)
    )
    lb = _lbeta(0.5 * df, torch.full_like(df, 0.5), _PLANS[df.dtype])
    out = -0.5 * torch.log(df) - lb - 0.5 * (df + 1) * log1p_r2
    normal = -0.5 * t * t - 0.5 * math.log(2 * math.pi)
    return torch.where(torch.isposinf(df), normal, out)


def _cdf(df: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    x, y, lx, ly = _xy(df, t)
    li, _, _ = _sides(0.5 * df, torch.full_like(df, 0.5), x, y, lx, ly)
    half_i = 0.5 * li.exp()
    out = torch.where(t < 0, half_i, 1 - half_i)
    normal = 0.5 * torch.special.erfc(-t * _INV_SQRT2)
    return torch.where(torch.isposinf(df), normal, torch.where(torch.isnan(t), t, out))


def _dcdf_ddf(df: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """∂F/∂ν = ±½ (½ ∂I/∂a + x^a y^{1/2}/(B(a, ½) ν)), a = ν/2, x = ν/(ν + t²)."""
    x, y, lx, ly = _xy(df, t)
    li, l1mi, lp, dli_a, dl1_a = _sides_jvp(
        0.5 * df, torch.full_like(df, 0.5), x, y, wrt=("a",), lx=lx, ly=ly
    )
    # ∂I/∂a from the smaller side: I d log I = −(1 − I) d log(1 − I)
    di_da = torch.where(li < l1mi, li.exp() * dli_a, -l1mi.exp() * dl1_a)
    di = 0.5 * di_da + torch.exp(lp - torch.log(df))
    di = torch.where((lx > -math.inf) & (ly > -math.inf), di, 0.0)
    out = torch.where(t < 0, 0.5 * di, -0.5 * di)
    return torch.where(torch.isposinf(df), 0.0, out)


class _StudentTCdf(torch.autograd.Function):
    generate_vmap_rule = True  # with setup_context: usable under torch.func transforms

    @staticmethod
    def forward(df, t):
        return _chunked(lambda d, u: (_cdf(d, u),), df, t)[0]

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        df, t = ctx.saved_tensors
        grad_df = grad_t = None
        with torch.no_grad():
            if ctx.needs_input_grad[0]:
                grad_df = grad * _chunked(lambda d, u: (_dcdf_ddf(d, u),), df, t)[0]
            if ctx.needs_input_grad[1]:
                grad_t = grad * _log_pdf(df, t).exp()
        return _guard(grad_df, df, t, grad), _guard(grad_t, df, t, grad)


def _icdf(df: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    q2 = 2 * torch.minimum(p, 1 - p)  # = I_x(ν/2, ½)
    c2 = torch.where(p < 0.5, 1 - 2 * p, 2 * p - 1)  # = 1 − q2, exact near p = ½
    _, _, lx, ly = _inverse(0.5 * df, torch.full_like(df, 0.5), q2, c2)
    mag = torch.exp(0.5 * (torch.log(df) + ly - lx))
    out = torch.where(p < 0.5, -mag, mag)
    normal = torch.special.ndtri(p)
    return torch.where(torch.isposinf(df), normal, out)


class _StudentTIcdf(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(df, p):
        return _chunked(lambda d, q: (_icdf(d, q),), df, p)[0]

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)

    @staticmethod
    def backward(ctx, grad):
        # F(t(ν, p); ν) = p: ∂t/∂p = 1/f(t), ∂t/∂ν = −(∂F/∂ν)/f(t)
        df, t = ctx.saved_tensors
        grad_df = grad_p = None
        with torch.no_grad():
            inv_pdf = torch.exp(-_log_pdf(df, t))
            if ctx.needs_input_grad[0]:
                dcdf = _chunked(lambda d, u: (_dcdf_ddf(d, u),), df, t)[0]
                grad_df = torch.where(torch.isfinite(t), -grad * dcdf * inv_pdf, 0.0)
            if ctx.needs_input_grad[1]:
                grad_p = grad * inv_pdf
        return _guard(grad_df, df, t, grad), _guard(grad_p, df, t, grad)


def student_t_cdf(df, t) -> torch.Tensor:
    r"""CDF of the standard Student t distribution with ``df`` degrees of freedom.

    Accurate to ~1e-13 relative in float64 in both tails (``|t|`` up to 1e10 and beyond) for
    ``df`` from 1e-2 to 1e8 and beyond; ``df = inf`` is the standard normal. Differentiable in
    ``t`` (the density) and in ``df`` (through :math:`\partial I_x(a, b)/\partial a`).
    Non-positive ``df`` gives NaN.
    """
    (df, t), dtype = _prepare(df, t)
    return _StudentTCdf.apply(df, t).to(dtype)


def student_t_icdf(df, p) -> torch.Tensor:
    r"""Quantile function of the standard Student t distribution (``±inf`` at ``p = 0, 1``).

    Differentiable in ``p`` and ``df`` (implicit function theorem on :func:`student_t_cdf`).
    """
    (df, p), dtype = _prepare(df, p)
    return _StudentTIcdf.apply(df, p).to(dtype)


def student_t_log_prob(df, t) -> torch.Tensor:
    r"""Log density :math:`\log f_\nu(t)`, with :math:`\log B(\nu/2, \tfrac12)` free of the
    ``lgamma`` cancellation at large ``ν`` (plain differentiable torch ops)."""
    (df, t), dtype = _prepare(df, t)
    return _log_pdf(df, t).to(dtype)
