"""Distributions over vectors."""

from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal

__all__ = ["LowRankMultivariateNormal", "MultivariateNormal"]
