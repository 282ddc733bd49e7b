r"""The Transform base class, its inverse, composition and event-dimension reinterpretation.

A transform is a map :math:`y = f(x)` with a log-absolute-Jacobian-determinant
:math:`\log|\det J_f(x)|`. Subclasses implement ``_call`` (forward), ``_inverse`` and
``log_abs_det_jacobian(x, y)`` and, where the forward value and the log-determinant share work,
``_forward_and_log_det(x)`` (the one method a distrax bijector requires).

Every class here subclasses ``torch.distributions.transforms.Transform`` so that torch's
``TransformedDistribution``, ``ComposeTransform`` and ``isinstance`` checks accept it, but the
behaviour (caching, inverses, pickling) is rsample's own.
"""

from __future__ import annotations

import weakref

import torch
import torch.distributions.transforms as _tt
from torch.distributions import constraints

__all__ = [
    "ComposeTransform",
    "IndependentTransform",
    "Transform",
    "identity_transform",
    "sum_rightmost",
]

_Shape = torch.Size | tuple[int, ...]


def sum_rightmost(value: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum out the ``dim`` rightmost dimensions (rsample's own, so dynamo can trace it)."""
    if dim == 0:
        return value
    if value.dim() <= dim:  # as torch's ``_sum_rightmost``: everything
        return value.sum()
    return value.sum(tuple(range(-dim, 0)))


class Transform(_tt.Transform):
    r"""Base class of invertible maps with a computable :math:`\log|\det J|`.

    Args:
        cache_size: 0 (no cache) or 1 (remember the latest ``(x, y)`` pair, so that
            ``t.inv(t(x)) is x`` and ``t(t.inv(y)) is y``).

    Attributes:
        domain, codomain: constraints on inputs and outputs; their ``event_dim`` says how many
            rightmost dimensions one application couples.
        bijective: whether ``t.inv(t(x)) == x`` on the domain.
        sign: +1 or −1 for monotone increasing or decreasing univariate bijections.
    """

    bijective = False
    domain: constraints.Constraint
    codomain: constraints.Constraint

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got {cache_size}")
        self._cache_size = cache_size
        # A weak reference to the inverse we built, or (in an inverse) the transform it inverts,
        # held strongly: ``t.inv.inv is t`` without a reference cycle.
        self._inv: weakref.ref | Transform | None = None
        self._cached_x_y: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)

    # ----------------------------------------------------------------- structure
    @property
    def event_dim(self) -> int:
        if self.domain.event_dim != self.codomain.event_dim:
            raise ValueError(
                f"{type(self).__name__}: domain and codomain event_dim differ; "
                "use .domain.event_dim or .codomain.event_dim"
            )
        return self.domain.event_dim

    @property
    def sign(self) -> int | torch.Tensor:
        """Sign of the Jacobian determinant of a monotone univariate bijection."""
        raise NotImplementedError(f"{type(self).__name__} has no sign")

    @property
    def inv(self) -> Transform:
        """The inverse transform; ``t.inv.inv is t``."""
        inv = self._inv
        if isinstance(inv, weakref.ref):
            inv = inv()
        if inv is None:
            inv = self._make_inverse()
            self._inv = weakref.ref(inv)
        return inv

    def _make_inverse(self) -> Transform:
        return _InverseTransform(self)

    def with_cache(self, cache_size: int = 1) -> Transform:
        """This transform with the given cache size (``self`` if it already has it)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __eq__(self, other) -> bool:
        return self is other

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # value equality on tensors, as torch's transforms: unhashable

    def __getstate__(self) -> dict:
        # Weak references do not pickle, and a cached tensor may carry an autograd graph that
        # deepcopy refuses: both are caches, so drop them.
        state = self.__dict__.copy()
        if isinstance(state.get("_inv"), weakref.ref):
            state["_inv"] = None
        state["_cached_x_y"] = (None, None)
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ----------------------------------------------------------------- evaluation
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`y = f(x)`."""
        if not self._cache_size:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = (x, y)
        return y

    def _inv_call(self, y: torch.Tensor) -> torch.Tensor:
        """:math:`x = f^{-1}(y)`, through the same cache as :meth:`__call__`."""
        if not self._cache_size:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = (x, y)
        return x

    def forward_and_log_det(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(f(x), log|det J_f(x)|)``, computing what the two share once."""
        if self._cache_size and x is self._cached_x_y[0]:
            y = self._cached_x_y[1]
            return y, self.log_abs_det_jacobian(x, y)
        y, log_det = self._forward_and_log_det(x)
        if self._cache_size:
            self._cached_x_y = (x, y)
        return y, log_det

    def _call(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no forward map")

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def _forward_and_log_det(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self._call(x)
        return y, self.log_abs_det_jacobian(x, y)

    def log_abs_det_jacobian(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r""":math:`\log|\det \partial y/\partial x|`, summed over ``domain.event_dim``."""
        raise NotImplementedError(f"{type(self).__name__} has no log_abs_det_jacobian")

    def forward_shape(self, shape: _Shape) -> torch.Size:
        """The output shape for an input of ``shape`` (unchanged by default)."""
        return torch.Size(shape)

    def inverse_shape(self, shape: _Shape) -> torch.Size:
        """The input shape for an output of ``shape`` (unchanged by default)."""
        return torch.Size(shape)


def _forward_and_log_det(t: _tt.Transform, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``t.forward_and_log_det(x)``, or its two-call equivalent for a torch transform."""
    method = getattr(t, "forward_and_log_det", None)
    if method is not None:
        return method(x)
    y = t(x)
    return y, t.log_abs_det_jacobian(x, y)


class _InverseTransform(Transform):
    r"""The inverse :math:`f^{-1}` of a transform; use ``t.inv`` rather than this class.

    .. math:: \log|\det J_{f^{-1}}(y)| = -\log|\det J_f(x)|, \quad x = f^{-1}(y)
    """

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self._inv.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self) -> bool:
        return self._inv.bijective

    @property
    def sign(self) -> int | torch.Tensor:
        return self._inv.sign

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._inv.with_cache(cache_size).inv

    def __eq__(self, other) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inv!r})"

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return self._inv._inv_call(y)

    def _inv_call(self, x: torch.Tensor) -> torch.Tensor:
        return self._inv(x)

    def forward_and_log_det(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._inv._inv_call(y)
        return x, -self._inv.log_abs_det_jacobian(x, y)

    def log_abs_det_jacobian(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Here x is this map's input (the forward's output) and y its output.
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: _Shape) -> torch.Size:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: _Shape) -> torch.Size:
        return self._inv.forward_shape(shape)


class ComposeTransform(Transform):
    r"""The chain :math:`f = f_n \circ \dots \circ f_1` of ``parts = [f_1, …, f_n]``.

    .. math:: \log|\det J_f(x)| = \sum_k \log|\det J_{f_k}(x_{k-1})|, \quad x_k = f_k(x_{k-1}),

    each term summed over the rightmost dimensions that the composite couples but ``f_k`` does
    not. The parts handle caching; an empty chain is the identity on the real line.
    """

    def __init__(self, parts: list[_tt.Transform], cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.parts = [p.with_cache(cache_size) for p in parts] if cache_size else list(parts)

    def __eq__(self, other) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def _make_inverse(self) -> Transform:
        inv = ComposeTransform([p.inv for p in reversed(self.parts)])
        inv._inv = self
        return inv

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        if not self.parts:
            return constraints.real
        return _widen(self.parts[0].domain, self._input_event_dim())

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        if not self.parts:
            return constraints.real
        return _widen(self.parts[-1].codomain, self._output_event_dim())

    @property
    def bijective(self) -> bool:
        return all(p.bijective for p in self.parts)

    @property
    def sign(self) -> int | torch.Tensor:
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for part in self.parts:
            x = part(x)
        return x

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        for part in reversed(self.parts):
            y = part.inv(y)
        return y

    def forward_and_log_det(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.parts:
            return x, torch.zeros_like(x)
        total = None
        for part, dims in zip(self.parts, self._sum_dims()):
            x, log_det = _forward_and_log_det(part, x)
            log_det = sum_rightmost(log_det, dims)
            total = log_det if total is None else total + log_det
        return x, total

    def log_abs_det_jacobian(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.parts:
            return torch.zeros_like(x)
        dims = self._sum_dims()
        total = None
        for part, d in zip(self.parts[:-1], dims):
            x, log_det = _forward_and_log_det(part, x)  # free where the parts cache
            log_det = sum_rightmost(log_det, d)
            total = log_det if total is None else total + log_det
        last = sum_rightmost(self.parts[-1].log_abs_det_jacobian(x, y), dims[-1])
        return last if total is None else total + last

    def forward_shape(self, shape: _Shape) -> torch.Size:
        for part in self.parts:
            shape = part.forward_shape(shape)
        return torch.Size(shape)

    def inverse_shape(self, shape: _Shape) -> torch.Size:
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return torch.Size(shape)

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(p) for p in self.parts)
        return f"{type(self).__name__}(\n    {inner}\n)"

    # ----------------------------------------------------------------- event-dim bookkeeping
    def _input_event_dim(self) -> int:
        """Rightmost input dims the chain couples: the largest any part needs, carried back."""
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        return event_dim

    def _output_event_dim(self) -> int:
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        return event_dim

    def _sum_dims(self) -> tuple[int, ...]:
        """For each part, how many rightmost dims of its log-det to sum (computed once)."""
        dims = self.__dict__.get("_sum_dims_cache")
        if dims is None:
            event_dim, out = self._input_event_dim(), []
            for part in self.parts:
                out.append(event_dim - part.domain.event_dim)
                event_dim += part.codomain.event_dim - part.domain.event_dim
            dims = self.__dict__["_sum_dims_cache"] = tuple(out)
        return dims


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    r"""Treat ``reinterpreted_batch_ndims`` more rightmost dims of ``base_transform`` as an event.

    The map is unchanged; the log-determinant is summed over the extra dims:

    .. math:: \log|\det J(x)| = \sum_{\text{extra dims}} \log|\det J_{\text{base}}(x)|
    """

    def __init__(
        self, base_transform: _tt.Transform, reinterpreted_batch_ndims: int, cache_size: int = 0
    ) -> None:
        if reinterpreted_batch_ndims < 0:
            raise ValueError(
                "IndependentTransform: reinterpreted_batch_ndims must be >= 0, "
                f"got {reinterpreted_batch_ndims}"
            )
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(
            self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size
        )

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, IndependentTransform)
            and self.reinterpreted_batch_ndims == other.reinterpreted_batch_ndims
            and self.base_transform == other.base_transform
        )

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:
        return self.base_transform.bijective

    @property
    def sign(self) -> int | torch.Tensor:
        return self.base_transform.sign

    def _check_dims(self, t: torch.Tensor, base_event_dim: int) -> None:
        event_dim = base_event_dim + self.reinterpreted_batch_ndims
        if t.dim() < event_dim:
            raise ValueError(
                f"IndependentTransform: input has {t.dim()} dims, fewer than its event_dim "
                f"{event_dim}"
            )

    def _call(self, x: torch.Tensor) -> torch.Tensor:
        self._check_dims(x, self.base_transform.domain.event_dim)
        return self.base_transform(x)

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        self._check_dims(y, self.base_transform.codomain.event_dim)
        return self.base_transform.inv(y)

    def _forward_and_log_det(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_dims(x, self.base_transform.domain.event_dim)
        y, log_det = _forward_and_log_det(self.base_transform, x)
        return y, sum_rightmost(log_det, self.reinterpreted_batch_ndims)

    def log_abs_det_jacobian(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        log_det = self.base_transform.log_abs_det_jacobian(x, y)
        return sum_rightmost(log_det, self.reinterpreted_batch_ndims)

    def forward_shape(self, shape: _Shape) -> torch.Size:
        return torch.Size(self.base_transform.forward_shape(shape))

    def inverse_shape(self, shape: _Shape) -> torch.Size:
        return torch.Size(self.base_transform.inverse_shape(shape))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


def _widen(constraint: constraints.Constraint, event_dim: int) -> constraints.Constraint:
    """``constraint`` reinterpreted to couple ``event_dim`` rightmost dims."""
    if event_dim < constraint.event_dim:
        raise AssertionError(f"event_dim {event_dim} < constraint event_dim {constraint.event_dim}")
    if event_dim > constraint.event_dim:
        return constraints.independent(constraint, event_dim - constraint.event_dim)
    return constraint
