"""Public checks for distributions: the same ones rsample runs on its own families.

Needs numpy; the float64 reference and quadrature checks need scipy (``pip install rsample[test]``).
"""

from .gof import assert_samples_match, kolmogorov_pvalue, ks_statistic
from .gradients import assert_pathwise_gradient, central_difference, pathwise_gradient
from .interop import round_trips
from .reference import assert_close
from .suite import (
    DEFAULT_TEST_FUNCTIONS,
    check_against_reference,
    check_distribution,
    quadrature_expectation,
)

__all__ = [
    "DEFAULT_TEST_FUNCTIONS",
    "assert_close",
    "assert_pathwise_gradient",
    "assert_samples_match",
    "central_difference",
    "check_against_reference",
    "check_distribution",
    "kolmogorov_pvalue",
    "ks_statistic",
    "pathwise_gradient",
    "quadrature_expectation",
    "round_trips",
]
