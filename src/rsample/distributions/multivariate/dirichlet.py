r"""Dirichlet distribution on the probability simplex.

.. math:: p(x) = \frac{\Gamma(\alpha_0)}{\prod_k \Gamma(\alpha_k)} \prod_k x_k^{\alpha_k - 1},
          \quad \alpha_0 = \textstyle\sum_k \alpha_k

``rsample`` normalizes independent standard gammas, :math:`x = \mathrm{softmax}(\log G)`,
with the log-gammas drawn in log space (boosted below concentration 1, see
:func:`~rsample.distributions.continuous.gamma.log_standard_gamma_rsample`), so components far
below the smallest float keep their share of the others exactly in log space. Each gamma is
reparameterized implicitly with :func:`rsample.special.standard_gamma_grad` (~1e-13 relative in
float64), so

.. math:: \frac{\partial x_i}{\partial \alpha_k} = x_i(\delta_{ik} - x_k)
          \frac{\partial \log G_k}{\partial \alpha_k},

the exact derivative of the draw with the gamma CDF levels held fixed (torch instead holds each
marginal Beta CDF fixed, with an approximate derivative). Both give unbiased gradients of
:math:`E[f(x)]`. Components are floored at the smallest normal number (as torch does), and
``rsample_and_log_prob`` scores the draw from its exact log-softmax.
"""

from __future__ import annotations

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ..continuous.gamma import log_standard_gamma_rsample

__all__ = ["Dirichlet"]


class Dirichlet(Distribution):
    """Dirichlet with ``concentration`` α (last dimension: the K categories)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    rsample_kind = "implicit"

    def __init__(self, concentration, validate_args=None):
        (concentration,) = self._broadcast(concentration=concentration)
        if concentration.dim() < 1:
            raise ValueError(
                "Dirichlet: concentration must have at least one dimension (the categories), "
                f"got shape {tuple(concentration.shape)}"
            )
        self.concentration = concentration
        super().__init__(
            concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args
        )

    # ----------------------------------------------------------------- sampling
    def _log_gammas(self, sample_shape, generator) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        return log_standard_gamma_rsample(self.concentration, shape, generator=generator)

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        x = torch.softmax(self._log_gammas(sample_shape, generator), dim=-1)
        return x.clamp_min(torch.finfo(x.dtype).tiny)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        log_g = self._log_gammas(sample_shape, generator)
        log_x = torch.log_softmax(log_g, dim=-1)
        log_p = ((self.concentration - 1) * log_x).sum(-1) - self._log_normalizer()
        # The draw as rsample forms it (exp of log_softmax differs from softmax in the last bits).
        x = torch.softmax(log_g, dim=-1)
        return x.clamp_min(torch.finfo(x.dtype).tiny), log_p

    # ----------------------------------------------------------------- scoring
    def _log_normalizer(self) -> torch.Tensor:
        """:math:`\\sum_k \\log\\Gamma(\\alpha_k) - \\log\\Gamma(\\alpha_0)`."""
        alpha = self.concentration
        return torch.lgamma(alpha).sum(-1) - torch.lgamma(alpha.sum(-1))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return torch.xlogy(self.concentration - 1, value).sum(-1) - self._log_normalizer()

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> torch.Tensor:
        """``(α − 1)₊ / Σ(α − 1)₊``; where every α < 1, the first vertex (torch's convention)."""
        excess = (self.concentration - 1).clamp_min(0)
        mode = excess / excess.sum(-1, keepdim=True)
        all_below = (self.concentration < 1).all(-1, keepdim=True)
        vertex = torch.zeros_like(mode)
        vertex[..., 0] = 1
        return torch.where(all_below, vertex, mode)

    @property
    def variance(self) -> torch.Tensor:
        alpha = self.concentration
        total = alpha.sum(-1, keepdim=True)
        return alpha * (total - alpha) / (total.square() * (total + 1))

    def entropy(self) -> torch.Tensor:
        r""":math:`\log B(\alpha) + (\alpha_0 - K)\psi(\alpha_0)
        - \sum_k (\alpha_k - 1)\psi(\alpha_k)`."""
        alpha = self.concentration
        k = alpha.shape[-1]
        total = alpha.sum(-1)
        return (
            self._log_normalizer()
            + (total - k) * torch.digamma(total)
            - ((alpha - 1) * torch.digamma(alpha)).sum(-1)
        )
