"""Numerically careful special functions (pure tensor code, dtype-generic)."""

from .normal import log_ndtr, ndtr, ndtri
from .quadrature import gauss_legendre, normal_expectation
from .tanh import atanh_clamped, clamp_open_unit, log1m_tanh_sq

__all__ = [
    "atanh_clamped",
    "clamp_open_unit",
    "gauss_legendre",
    "log1m_tanh_sq",
    "log_ndtr",
    "ndtr",
    "ndtri",
    "normal_expectation",
]
