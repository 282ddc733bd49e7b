"""Discrete families (``sample`` only; gradients through :mod:`rsample.gradients`) and their
continuous relaxations (Gumbel-softmax / Concrete) and straight-through variants."""

from . import _kl_discrete  # noqa: F401  (registers the discrete KL divergences)
from .bernoulli import Bernoulli
from .binomial import Binomial
from .categorical import Categorical
from .geometric import Geometric
from .multinomial import Multinomial
from .negative_binomial import NegativeBinomial
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .relaxed_bernoulli import (
    LogitRelaxedBernoulli,
    RelaxedBernoulli,
    RelaxedBernoulliStraightThrough,
)
from .relaxed_categorical import (
    ExpRelaxedCategorical,
    ExpRelaxedOneHotCategorical,
    RelaxedOneHotCategorical,
    RelaxedOneHotCategoricalStraightThrough,
)

__all__: list[str] = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "ExpRelaxedCategorical",
    "ExpRelaxedOneHotCategorical",
    "Geometric",
    "LogitRelaxedBernoulli",
    "Multinomial",
    "NegativeBinomial",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Poisson",
    "RelaxedBernoulli",
    "RelaxedBernoulliStraightThrough",
    "RelaxedOneHotCategorical",
    "RelaxedOneHotCategoricalStraightThrough",
]
