r"""Transforms from the real line onto constrained sets: ``biject_to`` and ``transform_to``.

``biject_to(c)`` is a bijection :math:`\mathbb{R}^n \to c` with a log-determinant (for HMC or
reparameterized variational inference on a support); ``transform_to(c)`` need only map onto
``c`` (for unconstrained optimization of a parameter). Same semantics as torch's registries,
built from rsample's transforms::

    scale = transform_to(Normal.arg_constraints["scale"])(unconstrained)

Registrations are by constraint class (or by a singleton instance, meaning its class). A
constraint rsample does not register here (simplex, Cholesky factors, cat, stack, …) is handed
to torch's registry of the same name, so nothing torch can transform is lost.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch.distributions.constraint_registry as _torch_registry
import torch.distributions.transforms as _tt
from torch.distributions import constraints

from .transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    IndependentTransform,
    SigmoidTransform,
    identity_transform,
)

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]

_Factory = Callable[[constraints.Constraint], _tt.Transform]


class ConstraintRegistry:
    """A map from constraint classes to factories ``constraint -> Transform``.

    Args:
        fallback: a registry (any callable on constraints) consulted for constraint classes
            not registered here; ``None`` raises ``NotImplementedError`` for them, as torch does.
    """

    def __init__(self, fallback: Callable[[constraints.Constraint], _tt.Transform] | None = None):
        self._registry: dict[type, _Factory] = {}
        self._fallback = fallback

    def register(self, constraint, factory: _Factory | None = None):
        """Register ``factory`` for a constraint class or for the class of a constraint instance.

        Usable directly, ``registry.register(my_constraint, factory)``, or as a decorator,
        ``@registry.register(MyConstraintClass)``. Returns ``factory``.
        """
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not (isinstance(constraint, type) and issubclass(constraint, constraints.Constraint)):
            raise TypeError(
                "ConstraintRegistry.register: expected a Constraint subclass or instance, "
                f"got {constraint!r}"
            )
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint: constraints.Constraint) -> _tt.Transform:
        """The transform from the real line onto ``constraint``'s set."""
        factory = self._registry.get(type(constraint))
        if factory is not None:
            return factory(constraint)
        if self._fallback is not None:
            return self._fallback(constraint)
        raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints")


biject_to = ConstraintRegistry(fallback=_torch_registry.biject_to)
transform_to = ConstraintRegistry(fallback=_torch_registry.transform_to)


# ----------------------------------------------------------------- registrations
def _is(value, number: float) -> bool:
    return isinstance(value, numbers.Number) and value == number


@biject_to.register(constraints.real)
@transform_to.register(constraints.real)
def _to_real(constraint):
    return identity_transform


@biject_to.register(constraints.independent)
def _biject_to_independent(constraint):
    base = biject_to(constraint.base_constraint)
    return IndependentTransform(base, constraint.reinterpreted_batch_ndims)


@transform_to.register(constraints.independent)
def _transform_to_independent(constraint):
    base = transform_to(constraint.base_constraint)
    return IndependentTransform(base, constraint.reinterpreted_batch_ndims)


# ``positive`` and ``nonnegative`` are instances of these two classes.
@biject_to.register(constraints.greater_than)
@biject_to.register(constraints.greater_than_eq)
@transform_to.register(constraints.greater_than)
@transform_to.register(constraints.greater_than_eq)
def _to_greater_than(constraint):
    r""":math:`x \mapsto \text{lower} + e^x` (just :math:`e^x` for a lower bound of 0)."""
    if _is(constraint.lower_bound, 0):
        return ExpTransform()
    return ComposeTransform([ExpTransform(), AffineTransform(constraint.lower_bound, 1)])


@biject_to.register(constraints.less_than)
@transform_to.register(constraints.less_than)
def _to_less_than(constraint):
    r""":math:`x \mapsto \text{upper} - e^x`."""
    return ComposeTransform([ExpTransform(), AffineTransform(constraint.upper_bound, -1)])


# ``unit_interval`` is an instance of ``interval``.
@biject_to.register(constraints.interval)
@biject_to.register(constraints.half_open_interval)
@transform_to.register(constraints.interval)
@transform_to.register(constraints.half_open_interval)
def _to_interval(constraint):
    r""":math:`x \mapsto \text{lower} + (\text{upper} - \text{lower})\,\sigma(x)`."""
    low, high = constraint.lower_bound, constraint.upper_bound
    if _is(low, 0) and _is(high, 1):
        return SigmoidTransform()
    return ComposeTransform([SigmoidTransform(), AffineTransform(low, high - low)])
