r"""KL divergences between the distributions on the sphere :math:`S^{d-1}` and the uniform one.

With :math:`U` uniform (:math:`\log u = -\log|S^{d-1}|`), :math:`v = d/2 - 1`,
:math:`\beta = (d-1)/2` and :math:`\Lambda_v(\kappa) = \log(\Gamma(v+1)(2/\kappa)^v I_v(\kappa))`:

* :math:`\mathrm{KL}(\mathrm{vMF}\,\|\,U) = \kappa A_d(\kappa) - \Lambda_v(\kappa)`
  (:math:`= -H + \log|S^{d-1}|`; Davidson et al. 2018, "Hyperspherical Variational
  Auto-Encoders", eq. 7), formed without the cancellation of :math:`-H` against the log area;
* :math:`\mathrm{KL}(U\,\|\,\mathrm{vMF}) = \Lambda_v(\kappa)` (:math:`E_U[\mu^\top x] = 0`);
* :math:`\mathrm{KL}(\mathrm{PS}\,\|\,U) = \int_0^\kappa t\,(\psi'(\beta+t) - \psi'(2\beta+t))\,dt`
  (:math:`= -H + \log|S^{d-1}|`, De Cao & Aziz 2020, §3.2, rewritten so that it is small when
  κ is), see :meth:`PowerSpherical._kl_to_uniform`;
* :math:`\mathrm{KL}(U\,\|\,\mathrm{PS}) = \int_0^\kappa (\kappa - t)(\psi'(\beta+t) -
  \psi'(2\beta+t))\,dt = \log B(\beta+\kappa, \beta) - \log B(\beta, \beta) +
  \kappa(\psi(2\beta) - \psi(\beta))` (:math:`(1 + \mu^\top x)/2 \sim \mathrm{Beta}(\beta,
  \beta)` under :math:`U`);
* :math:`\mathrm{KL}(U\,\|\,U) = 0`;
* :math:`\mathrm{KL}(\mathrm{vMF}_p\,\|\,\mathrm{vMF}_q) = A(\kappa_p)\,\kappa_q\,
  \tfrac12\|\mu_p - \mu_q\|^2 + D(\kappa_p, \kappa_q)` (from
  :math:`\log p(x) = \kappa\mu^\top x - \Lambda_v(\kappa) - \log|S^{d-1}|` and
  :math:`E_p[x] = A(\kappa_p)\mu_p`), where :math:`D = \Lambda(\kappa_q) - \Lambda(\kappa_p)
  - A(\kappa_p)(\kappa_q - \kappa_p) = \int_{\kappa_p}^{\kappa_q} (\kappa_q - t)A'(t)\,dt`
  is the Bregman divergence of :math:`\Lambda` (:math:`\Lambda' = A`): for nearby
  concentrations (:math:`|\kappa_q - \kappa_p| \le \max(\kappa_p, 1)/2`) by 24-point
  Gauss–Legendre quadrature of that integral, whose :math:`O(\Delta\kappa)` terms would
  otherwise cancel, and from the closed form elsewhere.

Distributions on spheres of different dimensions raise ``ValueError``.
"""

from __future__ import annotations

import torch

from ..._shapes import broadcast_shapes
from ...kl import register_kl
from ...special import lbeta
from ...special.bessel import _ratio_slope_core, bessel_ratio, log_iv_normalized
from .hyperspherical_uniform import HypersphericalUniform, trigamma, unit_rule_tensors
from .power_spherical import PowerSpherical
from .von_mises_fisher import VonMisesFisher


def _same_sphere(p, q) -> None:
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl_divergence: {type(p).__name__} on S^{p.event_shape[0] - 1} and "
            f"{type(q).__name__} on S^{q.event_shape[0] - 1} live on different spheres"
        )


def _batched(value: torch.Tensor, p, q) -> torch.Tensor:
    shape = broadcast_shapes(p.batch_shape, q.batch_shape)
    return value.expand(shape) if value.shape != shape else value


@register_kl(VonMisesFisher, HypersphericalUniform)
def _kl_vmf_uniform(p: VonMisesFisher, q: HypersphericalUniform) -> torch.Tensor:
    _same_sphere(p, q)
    return _batched(p._kl_to_uniform(), p, q)


@register_kl(HypersphericalUniform, VonMisesFisher)
def _kl_uniform_vmf(p: HypersphericalUniform, q: VonMisesFisher) -> torch.Tensor:
    _same_sphere(p, q)
    return _batched(log_iv_normalized(q._order, q.concentration), p, q)


@register_kl(VonMisesFisher, VonMisesFisher)
def _kl_vmf_vmf(p: VonMisesFisher, q: VonMisesFisher) -> torch.Tensor:
    _same_sphere(p, q)
    v, k_p, k_q = p._order, p.concentration, q.concentration
    k_p, k_q = torch.broadcast_tensors(k_p, k_q)
    directions = 0.5 * (p.loc - q.loc).square().sum(-1)  # 1 − μ_pᵀμ_q without cancellation
    a_p = bessel_ratio(v, k_p)
    return a_p * k_q * directions + _lambda_bregman(v, k_p, k_q)


def _lambda_bregman(v: float, k_p: torch.Tensor, k_q: torch.Tensor) -> torch.Tensor:
    r""":math:`\Lambda(\kappa_q) - \Lambda(\kappa_p) - A(\kappa_p)(\kappa_q - \kappa_p) \ge 0`
    (see the module notes)."""
    delta = k_q - k_p
    near = delta.abs() <= 0.5 * torch.clamp(k_p, min=1.0)
    d_near = torch.where(near, delta, 0.0)
    nodes, weights = unit_rule_tensors(24, k_p)
    t = k_p.unsqueeze(-1) + d_near.unsqueeze(-1) * nodes
    slope = _ratio_slope_core(torch.full_like(t, v), t)  # A'(t)
    quad = d_near.square() * (weights * (1 - nodes) * slope).sum(-1)
    k_far = torch.where(near, k_p + 1.0, k_q)  # any valid concentration where unused
    lam_p, lam_q = log_iv_normalized(v, k_p), log_iv_normalized(v, k_far)
    direct = lam_q - lam_p - bessel_ratio(v, k_p) * (k_far - k_p)
    return torch.where(near, quad, direct)


@register_kl(PowerSpherical, HypersphericalUniform)
def _kl_ps_uniform(p: PowerSpherical, q: HypersphericalUniform) -> torch.Tensor:
    _same_sphere(p, q)
    return _batched(p._kl_to_uniform(), p, q)


@register_kl(HypersphericalUniform, PowerSpherical)
def _kl_uniform_ps(p: HypersphericalUniform, q: PowerSpherical) -> torch.Tensor:
    _same_sphere(p, q)
    kappa, beta = q.concentration, q._beta
    limit = 2 * beta + 2
    ks = kappa.clamp(max=limit)
    nodes, weights = unit_rule_tensors(24, kappa)
    t = ks.unsqueeze(-1) * nodes
    gap = trigamma(t + beta) - trigamma(t + 2 * beta)
    quad = ks * ks * (weights * (1 - nodes) * gap).sum(-1)
    full = torch.full_like(kappa, beta)
    digammas = torch.digamma(full + beta) - torch.digamma(full)
    direct = lbeta(kappa + beta, full) - lbeta(full, full) + kappa * digammas
    return _batched(torch.where(kappa <= limit, quad, direct), p, q)


@register_kl(HypersphericalUniform, HypersphericalUniform)
def _kl_uniform_uniform(p: HypersphericalUniform, q: HypersphericalUniform) -> torch.Tensor:
    _same_sphere(p, q)
    shape = broadcast_shapes(p.batch_shape, q.batch_shape)
    return torch.zeros(shape, dtype=p.dtype, device=p.device)
