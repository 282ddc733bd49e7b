"""Distributions over vectors."""

from . import _kl_wishart  # noqa: F401  (registers the Wishart KL on import)
from .dirichlet import Dirichlet
from .logistic_normal import LogisticNormal
from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .wishart import Wishart

__all__ = [
    "Dirichlet",
    "LogisticNormal",
    "LowRankMultivariateNormal",
    "MultivariateNormal",
    "Wishart",
]
