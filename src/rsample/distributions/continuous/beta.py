r"""Beta distribution.

.. math:: p(x) = \frac{x^{a-1}(1-x)^{b-1}}{B(a, b)}, \quad 0 \le x \le 1

``rsample`` draws two standard gammas, :math:`X = G_a/(G_a + G_b)`, formed in log space as
:math:`\sigma(\log G_a - \log G_b)` so that draws near 0 and 1 keep their relative accuracy, with
the log-gammas boosted below concentration 1 (see
:func:`~rsample.distributions.continuous.gamma.log_standard_gamma_rsample`). Each gamma is
reparameterized implicitly with the accurate :func:`rsample.special.standard_gamma_grad`, so

.. math:: \frac{\partial X}{\partial a} = X(1-X)\,\frac{\partial \log G_a}{\partial a}, \qquad
          \frac{\partial X}{\partial b} = -X(1-X)\,\frac{\partial \log G_b}{\partial b},

the exact derivative of the draw along its own noise (the two gamma CDF levels held fixed).
torch's Beta instead holds the Beta CDF :math:`I_x(a, b)` fixed and approximates that
derivative (to about 1e-2 relative at (0.01, 0.5)). Both couplings give unbiased gradients of
:math:`E[f(X)]`; this one costs two gamma derivatives, where the CDF-fixed one needs
:math:`\partial I_x/\partial a` and :math:`\partial I_x/\partial b` (iterative, several times
dearer; they are available as :func:`rsample.special.betainc_grad_ab`).

Draws are kept in :math:`[\mathrm{tiny}, 1 - \epsilon/2]` (the smallest normal number and the
largest float below 1), where the dtype cannot resolve the tail; ``rsample_and_log_prob`` scores
the unrounded draw from its log-gammas. CDF and quantiles are the regularized incomplete beta
function and its inverse.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import constraints

from ...distribution import Distribution
from ...special import betainc, betaincinv, lbeta, log_betainc, log_betaincc
from .gamma import log_standard_gamma_rsample

__all__ = ["Beta"]


class Beta(Distribution):
    """Beta distribution with ``concentration1`` (a, the power of x) and ``concentration0`` (b)."""

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    rsample_kind = "implicit"

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = self._broadcast(
            concentration1=concentration1, concentration0=concentration0
        )
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def _log_odds(self, sample_shape, generator) -> torch.Tensor:
        """``log G_a − log G_b`` (the logit of the draw), differentiable in a and b."""
        shape = self._extended_shape(sample_shape)
        log_ga = log_standard_gamma_rsample(self.concentration1, shape, generator=generator)
        log_gb = log_standard_gamma_rsample(self.concentration0, shape, generator=generator)
        return log_ga - log_gb

    def _clamp(self, x: torch.Tensor) -> torch.Tensor:
        finfo = torch.finfo(x.dtype)
        return x.clamp(finfo.tiny, 1 - finfo.eps / 2)

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        return self._clamp(_sigmoid(self._log_odds(sample_shape, generator)))

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        t = self._log_odds(sample_shape, generator)
        # log x = −softplus(−t), log(1 − x) = −softplus(t): exact where x rounds to 0 or 1.
        log_p = -(
            (self.concentration1 - 1) * F.softplus(-t)
            + (self.concentration0 - 1) * F.softplus(t)
            + lbeta(self.concentration1, self.concentration0)
        )
        return self._clamp(_sigmoid(t)), log_p

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        log_p = torch.xlogy(a - 1, value) + torch.special.xlog1py(b - 1, -value) - lbeta(a, b)
        return torch.where((value < 0) | (value > 1), -math.inf, log_p)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return betainc(self.concentration1, self.concentration0, value.clamp(0, 1))

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        return betaincinv(self.concentration1, self.concentration0, value)

    def log_cdf(self, value: torch.Tensor) -> torch.Tensor:
        """``log I_x(a, b)``, accurate where ``I`` underflows."""
        if self._validate_args:
            self._validate_sample(value)
        return log_betainc(self.concentration1, self.concentration0, value.clamp(0, 1))

    def log_survival_function(self, value: torch.Tensor) -> torch.Tensor:
        """``log(1 − I_x(a, b))``, accurate as ``x → 1``."""
        if self._validate_args:
            self._validate_sample(value)
        return log_betaincc(self.concentration1, self.concentration0, value.clamp(0, 1))

    def _isf(self, q: torch.Tensor) -> torch.Tensor:
        """Inverse survival function: ``1 − I⁻¹(b, a; q)`` (``1 − I_x(a, b) = I_{1−x}(b, a)``)."""
        return 1 - betaincinv(self.concentration0, self.concentration1, q)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> torch.Tensor:
        """``(a − 1)/(a + b − 2)`` for a, b > 1; the boundary where the density is unbounded
        or largest; 1 for a, b < 1 (as torch); NaN for a = b = 1 (every point)."""
        a, b = self.concentration1, self.concentration0
        interior = (a - 1) / (a + b - 2)
        at_zero = (a <= 1) & (b >= 1) & ~((a == 1) & (b == 1))
        mode = torch.where(at_zero, 0.0, torch.where((a > 1) & (b > 1), interior, 1.0))
        return torch.where((a == 1) & (b == 1), math.nan, mode)

    @property
    def variance(self) -> torch.Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total.square() * (total + 1))

    def entropy(self) -> torch.Tensor:
        r""":math:`\log B(a, b) - (a-1)\psi(a) - (b-1)\psi(b) + (a+b-2)\psi(a+b)`."""
        a, b = self.concentration1, self.concentration0
        return (
            lbeta(a, b)
            - (a - 1) * torch.digamma(a)
            - (b - 1) * torch.digamma(b)
            + (a + b - 2) * torch.digamma(a + b)
        )


def _sigmoid(t: torch.Tensor) -> torch.Tensor:
    """σ(t) = e^m/(e^m + e^{m−t}) with m = min(t, 0): no exponent is positive, and autograd's
    derivative is e^{2m−t}/(e^m + e^{m−t})², i.e. σ(t)σ(−t) to a few ulp (the form is invariant
    to m, so the clamp's own derivative cancels). ``sigmoid``'s y(1 − y) instead loses the
    relative accuracy of 1 − y as y → 1 (1e-8 relative in dx/db for Beta(30, 0.3)); the value
    is within ~2 ulp too (exp(log σ(t)) is off by up to ~30 ulp, from the rounding of log σ).
    No ``where``: on the CPU it costs as much as three exponentials."""
    m = t.clamp(max=0)
    num = torch.exp(m)
    return num / (num + torch.exp(m - t))
