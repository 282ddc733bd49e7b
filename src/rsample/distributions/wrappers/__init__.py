"""Distributions built from other distributions."""

from .independent import Independent
from .transformed import TransformedDistribution

__all__ = ["Independent", "TransformedDistribution"]
