r"""Transforms from the real line onto constrained sets: ``biject_to`` and ``transform_to``.

``biject_to(c)`` is a bijection :math:`\mathbb{R}^n \to c` with a log-determinant (for HMC or
reparameterized variational inference on a support); ``transform_to(c)`` need only map onto
``c`` (for unconstrained optimization of a parameter). Same semantics as torch's registries,
built from rsample's transforms::

    scale = transform_to(Normal.arg_constraints["scale"])(unconstrained)

Registrations are by constraint class (or by a singleton instance, meaning its class). Every
constraint torch's registries know is registered here with rsample's transforms, with torch's
choices (``biject_to(simplex)`` is stick-breaking, ``transform_to(simplex)`` softmax; Cholesky
factors and positive-definite matrices have a ``transform_to`` but no ``biject_to``). A
constraint class not registered here (say, one a user registered with torch's registries) is
handed to torch's registry of the same name.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch.distributions.constraint_registry as _torch_registry
import torch.distributions.transforms as _tt
from torch.distributions import constraints

from .transforms import (
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    SigmoidTransform,
    SoftmaxTransform,
    StackTransform,
    StickBreakingTransform,
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


@biject_to.register(constraints.simplex)
def _biject_to_simplex(constraint):
    return StickBreakingTransform()


@transform_to.register(constraints.simplex)
def _transform_to_simplex(constraint):
    """Softmax: not bijective, but it acts coordinate-wise, which suits optimization."""
    return SoftmaxTransform()


# As torch: no bijection onto Cholesky factors or positive-(semi)definite matrices, whose
# transforms discard the upper triangle of a square matrix.
@transform_to.register(constraints.lower_cholesky)
def _transform_to_lower_cholesky(constraint):
    return LowerCholeskyTransform()


@transform_to.register(constraints.positive_definite)
@transform_to.register(constraints.positive_semidefinite)
def _transform_to_positive_definite(constraint):
    return PositiveDefiniteTransform()


@biject_to.register(constraints.corr_cholesky)
@transform_to.register(constraints.corr_cholesky)
def _to_corr_cholesky(constraint):
    return CorrCholeskyTransform()


@biject_to.register(constraints.cat)
def _biject_to_cat(constraint):
    parts = [biject_to(c) for c in constraint.cseq]
    return CatTransform(parts, constraint.dim, constraint.lengths)


@transform_to.register(constraints.cat)
def _transform_to_cat(constraint):
    parts = [transform_to(c) for c in constraint.cseq]
    return CatTransform(parts, constraint.dim, constraint.lengths)


@biject_to.register(constraints.stack)
def _biject_to_stack(constraint):
    return StackTransform([biject_to(c) for c in constraint.cseq], constraint.dim)


@transform_to.register(constraints.stack)
def _transform_to_stack(constraint):
    return StackTransform([transform_to(c) for c in constraint.cseq], constraint.dim)
