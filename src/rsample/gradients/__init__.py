"""Gradient machinery: implicit reparameterization and estimators for discrete draws."""

from ._estimate import Estimate
from .arm import arm, disarm
from .control_variates import RebarControl, RelaxControl, rebar, relax
from .implicit import implicit_rsample
from .relaxed import gumbel_rao, gumbel_softmax, straight_through_gumbel
from .score import MovingAverageBaseline, reinforce

__all__ = [
    "Estimate",
    "MovingAverageBaseline",
    "RebarControl",
    "RelaxControl",
    "arm",
    "disarm",
    "gumbel_rao",
    "gumbel_softmax",
    "implicit_rsample",
    "rebar",
    "reinforce",
    "relax",
    "straight_through_gumbel",
]
