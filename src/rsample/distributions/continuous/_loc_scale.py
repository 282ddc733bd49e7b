"""Shared machinery of location–scale families: ``X = loc + scale · Z`` with ``Z`` standard.

A family supplies its standard member ``Z`` (noise, log-density, CDF, inverse CDF and moments);
everything else — broadcasting, ``rsample`` and scoring from the noise, the change of variables
``log p(x) = log p_Z((x - loc) / scale) − log scale``, CDFs and moments — is written once here.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ..._eager import host_reads_free
from ...distribution import Distribution


class LocationScale(Distribution):
    """Base of Normal, Laplace, Cauchy, Gumbel and Logistic."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    rsample_kind = "explicit"

    # Moments of the standard member; subclasses override.
    _std_mean: float = 0.0
    _std_mode: float = 0.0
    _std_variance: float = 1.0
    _std_entropy: float = 0.0

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = self._broadcast(loc=loc, scale=scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _validate_parameters(self) -> None:
        # One reduction decides the common case on the CPU: scale + 0·loc·scale is the scale
        # where loc and scale are finite, and NaN where either is not; anything else goes to
        # the base class's per-argument checks, which name the offender.
        loc, scale = self.loc, self.scale
        if (
            type(self).arg_constraints is LocationScale.arg_constraints
            and host_reads_free(loc)
            and loc.numel() > 1
        ):
            s = scale.detach()
            low, high = torch.aminmax(torch.addcmul(s, loc.detach(), s, value=0.0))
            if float(low) > 0 and float(high) < math.inf:
                return
        super()._validate_parameters()

    # ----------------------------------------------------------------- the standard member
    def _std_noise(self, shape: torch.Size, generator) -> torch.Tensor:
        raise NotImplementedError

    def _std_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _std_cdf(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _std_icdf(self, p: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        z = self._std_noise(self._extended_shape(sample_shape), generator)
        if self._needs_graph():
            return torch.addcmul(self.loc, z, self.scale)
        return torch.addcmul(self.loc, z, self.scale, out=z)  # no graph: reuse the noise buffer

    def _needs_graph(self) -> bool:
        """Whether a draw must be recorded by autograd (or traced functionally by dynamo)."""
        if torch.compiler.is_compiling():
            return True
        return torch.is_grad_enabled() and (self.loc.requires_grad or self.scale.requires_grad)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        z = self._std_noise(self._extended_shape(sample_shape), generator)
        return torch.addcmul(self.loc, z, self.scale), self._log_prob_of_std(z)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._log_prob_of_std((value - self.loc) / self.scale)

    def _log_prob_of_std(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(loc + scale·z) = log p_Z(z) − log scale``."""
        return self._std_log_prob(z) - self.scale.log()

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._std_cdf((value - self.loc) / self.scale)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        return torch.addcmul(self.loc, self._std_icdf(value), self.scale)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.loc + self._std_mean * self.scale

    @property
    def mode(self) -> torch.Tensor:
        return self.loc + self._std_mode * self.scale

    @property
    def variance(self) -> torch.Tensor:
        return self._std_variance * self.scale.square()

    @property
    def stddev(self) -> torch.Tensor:
        return self._std_variance**0.5 * self.scale

    def entropy(self) -> torch.Tensor:
        return self._std_entropy + self.scale.log()
