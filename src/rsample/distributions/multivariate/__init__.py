"""Distributions over vectors."""

from . import (
    _kl_dirichlet,  # noqa: F401  (Dirichlet pairs)
    _kl_wishart,  # noqa: F401  (Wishart pairs)
)
from .dirichlet import Dirichlet
from .lkj_cholesky import LKJCholesky
from .logistic_normal import LogisticNormal
from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .wishart import Wishart

__all__ = [
    "Dirichlet",
    "LKJCholesky",
    "LogisticNormal",
    "LowRankMultivariateNormal",
    "MultivariateNormal",
    "Wishart",
]
