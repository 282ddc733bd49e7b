"""Constraints, with torch's names.

The singletons are torch's own objects (``rsample.constraints.positive is
torch.distributions.constraints.positive``): their semantics are identical, and sharing them keeps
``biject_to``/``transform_to`` registrations and ``isinstance`` checks working across both
libraries. Validation of *parameters* is stricter than torch's: rsample also requires them to be
finite unless a distribution says otherwise (see ``Distribution._infinite_ok``).
"""

import torch
from torch.distributions.constraints import *  # noqa: F403
from torch.distributions.constraints import Constraint, __all__


class _UnitSphere(Constraint):
    """Unit vectors along the last dimension, :math:`|\\|x\\|^2 - 1| \\le` tol, with tol the
    larger of 1e-6 and √eps of the dtype (1e-6 in float64, 3.5e-4 in float32): loose enough for
    a vector normalized in a lower precision, tight enough to catch an unnormalized one. rsample's
    own addition (torch has no sphere constraint); the support of the distributions on the
    sphere (``VonMisesFisher``, ``PowerSpherical``, ``HypersphericalUniform``)."""

    event_dim = 1

    def check(self, value):
        tol = max(1e-6, torch.finfo(value.dtype).eps ** 0.5) if value.is_floating_point() else 0
        return (value.square().sum(-1) - 1).abs() <= tol

    def __repr__(self) -> str:
        return "UnitSphere()"


unit_sphere = _UnitSphere()

__all__ = [*__all__, "unit_sphere"]  # a new list: torch's own stays as it is
