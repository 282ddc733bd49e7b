"""Numerically careful special functions (pure tensor code, dtype-generic)."""

from .bessel import bessel_ratio, bessel_ratio_1m, log_iv, log_iv_normalized, log_ive
from .beta import (
    betainc,
    betainc_grad_ab,
    betaincc,
    betaincinv,
    lbeta,
    log_betainc,
    log_betaincc,
)
from .gamma import (
    gammainc,
    gammainc_grad_a,
    gammaincc,
    gammainccinv,
    gammaincinv,
    log_gammainc,
    log_gammaincc,
    standard_gamma_grad,
)
from .normal import log_ndtr, ndtr, ndtri
from .quadrature import gauss_legendre, normal_expectation
from .student_t import student_t_cdf, student_t_icdf, student_t_log_prob
from .tanh import atanh_clamped, clamp_open_unit, log1m_tanh_sq

__all__ = [
    "atanh_clamped",
    "bessel_ratio",
    "bessel_ratio_1m",
    "betainc",
    "betainc_grad_ab",
    "betaincc",
    "betaincinv",
    "clamp_open_unit",
    "gammainc",
    "gammainc_grad_a",
    "gammaincc",
    "gammainccinv",
    "gammaincinv",
    "gauss_legendre",
    "lbeta",
    "log1m_tanh_sq",
    "log_betainc",
    "log_betaincc",
    "log_gammainc",
    "log_gammaincc",
    "log_iv",
    "log_iv_normalized",
    "log_ive",
    "log_ndtr",
    "ndtr",
    "ndtri",
    "normal_expectation",
    "standard_gamma_grad",
    "student_t_cdf",
    "student_t_icdf",
    "student_t_log_prob",
]
