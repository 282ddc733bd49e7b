"""Distributions over vectors."""

from . import (
    _kl_dirichlet,  # noqa: F401  (Dirichlet pairs)
    _kl_spherical,  # noqa: F401  (VonMisesFisher, PowerSpherical, HypersphericalUniform)
    _kl_wishart,  # noqa: F401  (Wishart pairs)
)
from .dirichlet import Dirichlet
from .hyperspherical_uniform import HypersphericalUniform
from .lkj_cholesky import LKJCholesky
from .logistic_normal import LogisticNormal
from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .power_spherical import PowerSpherical
from .von_mises_fisher import VonMisesFisher
from .wishart import Wishart

__all__ = [
    "Dirichlet",
    "HypersphericalUniform",
    "LKJCholesky",
    "LogisticNormal",
    "LowRankMultivariateNormal",
    "MultivariateNormal",
    "PowerSpherical",
    "VonMisesFisher",
    "Wishart",
]
