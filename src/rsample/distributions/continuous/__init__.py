"""Univariate continuous families, one module each."""

from . import _kl  # noqa: F401  (registers the analytic KL divergences on import)
from .beta import Beta
from .cauchy import Cauchy
from .exponential import Exponential
from .gamma import Chi2, Gamma
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .laplace import Laplace
from .log_normal import LogNormal
from .logistic import Logistic
from .normal import Normal
from .tanh_normal import TanhNormal
from .uniform import Uniform

__all__ = [
    "Beta",
    "Cauchy",
    "Chi2",
    "Exponential",
    "Gamma",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Laplace",
    "LogNormal",
    "Logistic",
    "Normal",
    "TanhNormal",
    "Uniform",
]
