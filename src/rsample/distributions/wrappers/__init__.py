"""Distributions built from other distributions."""

from .independent import Independent
from .mixture_same_family import MixtureSameFamily
from .transformed import TransformedDistribution
from .truncated import Truncated

__all__ = ["Independent", "MixtureSameFamily", "TransformedDistribution", "Truncated"]
