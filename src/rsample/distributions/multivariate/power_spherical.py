r"""Power spherical distribution on the unit sphere :math:`S^{d-1}` (De Cao & Aziz 2020, "The
Power Spherical distribution", arXiv:2006.04437).

.. math::
    p(x) = N^{-1}(1 + \mu^\top x)^\kappa, \qquad
    \log N = (\alpha + \beta)\log 2 + \beta\log\pi + \log\Gamma(\alpha) - \log\Gamma(\alpha+\beta),
    \quad \alpha = \tfrac{d-1}2 + \kappa,\ \beta = \tfrac{d-1}2.

The component :math:`t = \mu^\top x` satisfies :math:`(1 + t)/2 \sim \mathrm{Beta}(\alpha, \beta)`,
so :math:`E[x] = \frac{\kappa}{d - 1 + \kappa}\mu` and the entropy and the KL divergence to the
uniform distribution have closed forms in log-gammas and digammas.

**Sampling** (the paper's Algorithm 1): :math:`z = G_\alpha/(G_\alpha + G_\beta)` from two
standard gammas drawn in log space, :math:`\ell = \log G_\alpha - \log G_\beta`, so
:math:`t = 2z - 1 = \tanh(\ell/2)` and :math:`\sqrt{1 - t^2} = \operatorname{sech}(\ell/2)` are
exact even where :math:`t` rounds to 1; then :math:`x = Q(t, \sqrt{1-t^2}\,v)` with :math:`v`
uniform on :math:`S^{d-2}` and :math:`Q` the orthogonal map taking :math:`e_1` to :math:`\mu`.
No rejection. Gradients: ``loc`` through :math:`Q` (explicit), :math:`\kappa` through
:math:`G_\alpha`, reparameterized implicitly with :func:`rsample.special.standard_gamma_grad`
(as :class:`rsample.Beta`), hence ``rsample_kind = "implicit"``.
:meth:`~PowerSpherical.rsample_and_log_prob` scores the draw from :math:`\ell`:
:math:`\log(1 + t) = \log 2 - \operatorname{softplus}(-\ell)`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ... import constraints
from ...distribution import Distribution
from ...special import lbeta
from ..continuous.gamma import log_standard_gamma_rsample
from .hyperspherical_uniform import (
    broadcast_sphere_params,
    digamma_gap,
    log_sphere_area,
    rotate_from_pole,
    trigamma,
    uniform_directions,
    unit_rule_tensors,
)

__all__ = ["PowerSpherical"]


class PowerSpherical(Distribution):
    r"""Power spherical distribution with mean direction ``loc`` :math:`\mu` (unit vectors,
    shape ``batch + (d,)``, d ≥ 2) and ``concentration`` :math:`\kappa > 0` (shape ``batch``)."""

    arg_constraints = {"loc": constraints.unit_sphere, "concentration": constraints.positive}
    support = constraints.unit_sphere
    rsample_kind = "implicit"

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_sphere_params("PowerSpherical", loc, concentration)
        d = self.loc.shape[-1]
        super().__init__(self.concentration.shape, (d,), validate_args=validate_args)

    @property
    def _beta(self) -> float:
        return (self._event_shape[0] - 1) / 2

    # ----------------------------------------------------------------- sampling
    def _log_odds(self, sample_shape, generator) -> torch.Tensor:
        """ℓ = log G_α − log G_β, the logit of z = (1 + t)/2, differentiable in κ."""
        shape = torch.Size(sample_shape) + self._batch_shape
        kappa = self.concentration
        beta = torch.tensor(self._beta, dtype=kappa.dtype, device=kappa.device)
        log_ga = log_standard_gamma_rsample(kappa + self._beta, shape, generator=generator)
        log_gb = log_standard_gamma_rsample(beta, shape, generator=generator)
        return log_ga - log_gb

    def _place(self, ell, sample_shape, generator) -> torch.Tensor:
        shape = torch.Size(sample_shape) + self._batch_shape
        d = self._event_shape[0]
        v = uniform_directions(shape, d - 1, ell.dtype, ell.device, generator)
        half = ell / 2
        # sech(ℓ/2) = 2e^{−|ℓ|/2}/(1 + e^{−|ℓ|}): no overflow, and a finite derivative.
        e = torch.exp(-half.abs())
        sech = 2 * e / (1 + e * e)
        y = torch.cat([torch.tanh(half).unsqueeze(-1), sech.unsqueeze(-1) * v], dim=-1)
        return rotate_from_pole(self.loc, y)

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        ell = self._log_odds(sample_shape, generator)
        return self._place(ell, sample_shape, generator)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        ell = self._log_odds(sample_shape, generator)
        x = self._place(ell, sample_shape, generator)
        log_z = -F.softplus(-ell)  # log((1 + t)/2), exact where t rounds to 1
        return x, self.concentration * log_z - self._log_normalizer_rest()

    # ----------------------------------------------------------------- scoring
    def _log_normalizer_rest(self) -> torch.Tensor:
        r""":math:`\log N - \kappa\log 2 = 2\beta\log 2 + \beta\log\pi + \log B(\alpha, \beta)
        - \log\Gamma(\beta)`: the density is written :math:`\kappa\log\frac{1 + \mu^\top x}2
        - (\log N - \kappa\log 2)`, so no term of size :math:`\kappa` cancels (``lbeta``
        keeps the difference of log-gammas exact for large κ)."""
        kappa, beta = self.concentration, self._beta
        return (
            2 * beta * math.log(2.0)
            + beta * math.log(math.pi)
            + lbeta(kappa + beta, torch.full_like(kappa, beta))
            - math.lgamma(beta)
        )

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`\kappa\log\frac{1 + \mu^\top x}2 - (\log N - \kappa\log 2)`. On the sphere
        :math:`\frac{1 + \mu^\top x}2 = 1 - \|x - \mu\|^2/4 = \|x + \mu\|^2/4`: the first
        (through ``log1p``) near :math:`\mu`, where the log is small, the second near
        :math:`-\mu`, where the density vanishes; each keeps full relative accuracy."""
        if self._validate_args:
            self._validate_sample(value)
        near = (value - self.loc).square().sum(-1) / 4
        far = (value + self.loc).square().sum(-1) / 4
        log_z = torch.where(near <= 0.5, torch.log1p(-near.clamp(max=0.5)), torch.log(far))
        return self.concentration * log_z - self._log_normalizer_rest()

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """:math:`\\frac{\\kappa}{d - 1 + \\kappa}\\mu`."""
        kappa = self.concentration
        return (kappa / (kappa + 2 * self._beta)).unsqueeze(-1) * self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    @property
    def variance(self) -> torch.Tensor:
        r"""Per coordinate: :math:`\operatorname{Var}(t)\mu_i^2 + \frac{E[1 - t^2]}{d-1}
        (1 - \mu_i^2)`, with :math:`\operatorname{Var}(t) = \frac{4\alpha\beta}{(\alpha+\beta)^2
        (\alpha+\beta+1)}` and :math:`E[1 - t^2] = \frac{4\alpha\beta}{(\alpha+\beta)
        (\alpha+\beta+1)}` (Beta moments, no cancellation)."""
        kappa, beta = self.concentration, self._beta
        alpha = kappa + beta
        total = alpha + beta
        spread = (4 * alpha * beta / (total * (total + 1))).unsqueeze(-1)
        var_t = spread / total.unsqueeze(-1)
        mu2 = self.loc.square()
        return var_t * mu2 + spread / (2 * beta) * (1 - mu2)

    def _kl_to_uniform(self) -> torch.Tensor:
        r""":math:`\mathrm{KL}(p\,\|\,U) = f(2\beta) - f(\beta)`, :math:`f(x_0) = \log\Gamma(x_0 +
        \kappa) - \log\Gamma(x_0) - \kappa\psi(x_0 + \kappa)`.

        Both terms are :math:`-\kappa^2\psi'(x_0)/2 + O(\kappa^3)` and much larger than their
        difference for small κ or large d, so up to :math:`\kappa = 2\beta + 2` the KL is
        computed as :math:`\int_0^\kappa t\,(\psi'(\beta + t) - \psi'(2\beta + t))\,dt`
        (:math:`f' = -\kappa\psi'(x_0+\kappa)`; 24-point Gauss–Legendre, the integrand is analytic
        on a neighbourhood of :math:`[0, \kappa]`); above, directly with ``lbeta``.
        """
        kappa, beta = self.concentration, self._beta
        limit = 2 * beta + 2
        ks = kappa.clamp(max=limit)
        nodes, weights = unit_rule_tensors(24, kappa)
        t = ks.unsqueeze(-1) * nodes
        gap = trigamma(t + beta) - trigamma(t + 2 * beta)
        quad = ks * (weights * t * gap).sum(-1)
        full = torch.full_like(kappa, beta)
        direct = (
            lbeta(full, full) - lbeta(kappa + beta, full) - kappa * digamma_gap(kappa + beta, beta)
        )
        return torch.where(kappa <= limit, quad, direct)

    def entropy(self) -> torch.Tensor:
        r""":math:`\log N - \kappa(\log 2 + \psi(\alpha) - \psi(\alpha+\beta)) = \log|S^{d-1}| -
        \mathrm{KL}(p\,\|\,U)`."""
        return log_sphere_area(self._event_shape[0]) - self._kl_to_uniform()
