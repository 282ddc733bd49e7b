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
from .normal import log_ndtr, log_ndtr_diff, ndtr, ndtri, ndtri_exp
from .quadrature import gauss_legendre, normal_expectation, tanh_sinh_unit
from .student_t import student_t_cdf, student_t_icdf, student_t_log_prob
from .tanh import atanh_clamped, clamp_open_unit, log1m_tanh_sq
from .von_mises import (
    i1_i0_ratio,
    log_i0,
    one_minus_i1_i0_ratio,
    von_mises_cdf,
    von_mises_cdf_grad,
    von_mises_icdf,
    von_mises_log_prob,
    von_mises_sample_grad,
)

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
    "i1_i0_ratio",
    "lbeta",
    "log1m_tanh_sq",
    "log_betainc",
    "log_betaincc",
    "log_gammainc",
    "log_gammaincc",
    "log_i0",
    "log_iv",
    "log_iv_normalized",
    "log_ive",
    "log_ndtr",
    "log_ndtr_diff",
    "ndtr",
    "ndtri",
    "ndtri_exp",
    "normal_expectation",
    "one_minus_i1_i0_ratio",
    "standard_gamma_grad",
    "student_t_cdf",
    "student_t_icdf",
    "student_t_log_prob",
    "tanh_sinh_unit",
    "von_mises_cdf",
    "von_mises_cdf_grad",
    "von_mises_icdf",
    "von_mises_log_prob",
    "von_mises_sample_grad",
]
