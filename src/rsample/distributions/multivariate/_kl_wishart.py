r"""Analytic KL divergence Wishart‖Wishart (torch registers none).

Written, as in :mod:`rsample.distributions.continuous._kl`, as a sum of terms that are
non-negative by themselves or of the size of the result, so that nothing cancels for nearly
equal distributions and KL(p‖p) is exactly 0.
"""

from __future__ import annotations

import torch

from ..._shapes import broadcast_shapes
from ...kl import register_kl
from ...special import gauss_legendre
from ..continuous._kl import _ratio, _x_minus_log1p
from .wishart import Wishart

# ψ'(z) ~ 1/z + 1/(2z²) + Σ_k B_2k / z^(2k+1) (Abramowitz & Stegun 6.4.12), B_2 … B_14.
_TRIGAMMA_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)
_TRIGAMMA_SHIFT = 10
_BREGMAN_NODES = 12


def _trigamma(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\psi'(x)` for :math:`x > 0`, to a few ulps (torch's ``polygamma(1, ·)`` errs by
    up to ~5e-10 in float64): :math:`\psi'(x) = \sum_{k<10} (x+k)^{-2} + \psi'(x+10)`, the
    latter by its asymptotic series, whose first omitted term is below 1e-16 relative."""
    total = x.reciprocal().square()
    for k in range(1, _TRIGAMMA_SHIFT):
        total = total + (x + k).reciprocal().square()
    inv = (x + _TRIGAMMA_SHIFT).reciprocal()
    w = inv.square()
    series = _TRIGAMMA_BERNOULLI[-1] * w + _TRIGAMMA_BERNOULLI[-2]
    for c in reversed(_TRIGAMMA_BERNOULLI[:-2]):
        series = series * w + c
    return total + (1 + (0.5 + series * inv) * inv) * inv


def _lgamma_bregman(a: torch.Tensor, b: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    r""":math:`B(a, b) = \log\Gamma(b) - \log\Gamma(a) - (b - a)\psi(a) \ge 0`, ``delta = b − a``.

    Near :math:`a` the three terms cancel to :math:`\tfrac12\psi'(a)\delta^2`. There
    (:math:`|\delta| \le a/2`) Taylor's remainder in integral form,
    :math:`B = \delta^2\int_0^1 (1-s)\,\psi'(a + s\delta)\,ds`, has a positive integrand that is
    analytic well beyond the interval (the nearest pole, 0, is at least :math:`|\delta|` away,
    a Bernstein ellipse of parameter ≥ 5.8): 12-point Gauss–Legendre is exact to rounding.
    Farther away the direct form keeps its digits (:math:`B \gtrsim 0.1\,a` against terms of
    size :math:`a\log a`).
    """
    near = delta.abs() <= 0.5 * a
    d = torch.where(near, delta, 0.0)
    nodes, weights = gauss_legendre(_BREGMAN_NODES, a.dtype, a.device)
    s = 0.5 * (nodes + 1)  # on [0, 1]; the weights are halved below
    integrand = _trigamma(a.unsqueeze(-1) + s * d.unsqueeze(-1)) * (1 - s)
    series = d.square() * (0.5 * weights * integrand).sum(-1)
    direct = torch.lgamma(b) - torch.lgamma(a) - delta * torch.digamma(a)
    return torch.where(near, series, direct)


@register_kl(Wishart, Wishart)
def _kl_wishart_wishart(p: Wishart, q: Wishart) -> torch.Tensor:
    r""":math:`\mathrm{KL}(W_d(\nu_p, \Sigma_p)\,\|\,W_d(\nu_q, \Sigma_q))`, from
    :math:`E_p[X] = \nu_p\Sigma_p` and :math:`E_p\log|X| = \psi_d(\nu_p/2) + d\log 2 +
    \log|\Sigma_p|`:

    .. math:: \mathrm{KL} = \tfrac{\nu_p}2\big[\operatorname{tr}(\Sigma_q^{-1}\Sigma_p) - d
        - \ell\big] + \tfrac{\nu_p - \nu_q}2\,\ell + \sum_{j=0}^{d-1}
        B\big(\tfrac{\nu_p - j}2, \tfrac{\nu_q - j}2\big), \quad
        \ell = \log|\Sigma_q^{-1}\Sigma_p|,

    with :math:`B` the Bregman divergence of :math:`\log\Gamma` (:func:`_lgamma_bregman`).
    With :math:`M = L_q^{-1}L_p = I + L_q^{-1}(L_p - L_q)` (lower triangular,
    :math:`M_{ii} = 1 + \varepsilon_i` taken from the diagonals of the factors) the bracket is
    :math:`\sum_i [\varepsilon_i^2 + 2h(\varepsilon_i)] + \sum_{i>j} M_{ij}^2`,
    :math:`h(\varepsilon) = \varepsilon - \log(1+\varepsilon) \ge 0`.
    """
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl_divergence: event shapes differ: Wishart{tuple(p.event_shape)} and "
            f"Wishart{tuple(q.event_shape)}"
        )
    d = p.event_shape[-1]
    L_p, L_q = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    diag_p, diag_q = L_p.diagonal(dim1=-2, dim2=-1), L_q.diagonal(dim1=-2, dim2=-1)
    _, eps, log_r = _ratio(diag_p, diag_q)
    bracket = (eps.square() + 2 * _x_minus_log1p(eps, log_r)).sum(-1)
    if d > 1:
        # M − I = L_q⁻¹(L_p − L_q): from the difference, whose digits survive as p → q.
        N = torch.linalg.solve_triangular(L_q, L_p - L_q, upper=False)
        bracket = bracket + N.tril(-1).square().sum((-2, -1))
    log_det_ratio = 2 * log_r.sum(-1)
    df_p, df_q = p.df, q.df
    a, b = p._half_dfs(), q._half_dfs()
    delta = (0.5 * (df_q - df_p)).unsqueeze(-1)
    a, b, delta = torch.broadcast_tensors(a, b, delta)
    bregman = _lgamma_bregman(a, b, delta).sum(-1)
    kl = 0.5 * df_p * bracket + 0.5 * (df_p - df_q) * log_det_ratio + bregman
    return kl.expand(broadcast_shapes(p.batch_shape, q.batch_shape))
