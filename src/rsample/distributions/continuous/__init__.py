"""Univariate continuous families, one module each."""

from . import (
    _kl,  # noqa: F401  (registers the analytic KL divergences on import)
    _kl_beta,  # noqa: F401  (Beta pairs)
    _kl_continuous_bernoulli,  # noqa: F401  (ContinuousBernoulli KLs)
    _kl_gamma,  # noqa: F401  (Gamma and InverseGamma pairs)
    _kl_positive,  # noqa: F401  (Pareto and Weibull pairs)
)
from .beta import Beta
from .beta_prime import BetaPrime
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .fisher_snedecor import FisherSnedecor
from .gamma import Chi2, Gamma
from .generalized_normal import GeneralizedNormal
from .generalized_pareto import GeneralizedPareto
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .inverse_gamma import InverseGamma
from .inverse_gaussian import InverseGaussian
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .log_normal import LogNormal
from .logistic import Logistic
from .normal import Normal
from .pareto import Pareto
from .student_t import StudentT
from .tanh_normal import TanhNormal
from .truncated_normal import TruncatedNormal
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull

__all__ = [
    "Beta",
    "BetaPrime",
    "Cauchy",
    "Chi2",
    "ContinuousBernoulli",
    "Exponential",
    "FisherSnedecor",
    "Gamma",
    "GeneralizedNormal",
    "GeneralizedPareto",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "InverseGamma",
    "InverseGaussian",
    "Kumaraswamy",
    "Laplace",
    "LogNormal",
    "Logistic",
    "Normal",
    "Pareto",
    "StudentT",
    "TanhNormal",
    "TruncatedNormal",
    "Uniform",
    "VonMises",
    "Weibull",
]
