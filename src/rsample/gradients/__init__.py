"""Gradient machinery: implicit reparameterization (and, later, estimators for discrete draws)."""

from .implicit import implicit_rsample

__all__ = ["implicit_rsample"]
