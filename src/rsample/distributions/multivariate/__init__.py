"""Distributions over vectors."""

from .dirichlet import Dirichlet
from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal

__all__ = ["Dirichlet", "LowRankMultivariateNormal", "MultivariateNormal"]
