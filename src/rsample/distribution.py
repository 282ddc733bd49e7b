"""The base class every rsample distribution derives from.

``sample()`` draws without a graph; ``rsample()`` draws as a differentiable function of the
parameters. Subclasses declare ``arg_constraints``, ``support`` and ``rsample_kind`` and implement
``rsample`` (or ``sample`` for discrete families); ``has_rsample``, ``sample``, ``expand`` and
validation come from here.
"""

from __future__ import annotations

import functools
import numbers
import weakref
from collections.abc import Sequence

import torch
import torch.distributions as _td
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from . import _validation
from ._shapes import broadcast_shapes

__all__ = ["Distribution", "set_default_validate_args"]

_Shape = torch.Size | Sequence[int]
RSAMPLE_KINDS = ("explicit", "implicit", "relaxed", "straight_through", None)


class Distribution(_td.Distribution):
    """A ``torch.distributions.Distribution`` with ``generator=`` and sync-free validation.

    Class attributes a subclass sets:
        arg_constraints: ``{parameter name: constraint}``; a parameter's ``event_dim`` comes from
            its constraint and drives the generic :meth:`expand`.
        support: the constraint on values.
        rsample_kind: ``"explicit"`` (a transform of parameter-free noise), ``"implicit"``
            (implicit reparameterization, exact), ``"relaxed"`` (a continuous relaxation),
            ``"straight_through"`` (biased) or ``None``. ``has_rsample`` is derived from it.
        _infinite_ok: parameters allowed to be ±inf (by default every parameter must be finite).
        _batch_free: tensor attributes that do not depend on the batch shape and are shared, not
            expanded, by :meth:`expand`.
        _derived_params: batch-shaped tensor attributes stored besides the parameters (e.g. a
            Chi2's Gamma parameters), with their event dims, for :meth:`expand`.
        _draw_state: attributes that describe the latest draw (see :func:`_remembers_draw`).
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    rsample_kind: str | None = None
    _validate_args = True  # rsample's own default; torch's global flag is left alone
    _infinite_ok: tuple[str, ...] = ()
    _batch_free: tuple[str, ...] = ()
    _derived_params: dict[str, int] = {}  # batch-shaped tensors not in arg_constraints: event_dim
    _draw_state: tuple[str, ...] = ("_last_draw",)  # dropped by expand, pickling and copies

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.rsample_kind not in RSAMPLE_KINDS:
            raise TypeError(f"{cls.__name__}.rsample_kind must be one of {RSAMPLE_KINDS}")
        if "has_rsample" not in cls.__dict__:
            cls.has_rsample = cls.rsample_kind is not None
        for name in ("sample", "rsample"):
            if name in cls.__dict__:
                setattr(cls, name, _remembers_draw(cls.__dict__[name]))

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn validation on or off for every rsample distribution built afterwards."""
        if value not in (True, False):
            raise ValueError(
                f"set_default_validate_args: value must be True or False, got {value!r}"
            )
        Distribution._validate_args = value

    def __init__(
        self,
        batch_shape: _Shape = torch.Size(),
        event_shape: _Shape = torch.Size(),
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = torch.Size(batch_shape)
        self._event_shape = torch.Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._validate_parameters()

    # ----------------------------------------------------------------- shapes
    # Re-implemented rather than inherited: dynamo refuses to trace into torch.distributions,
    # so everything on the sampling and scoring path must be rsample's own code.
    @property
    def batch_shape(self) -> torch.Size:
        return self._batch_shape

    @property
    def event_shape(self) -> torch.Size:
        return self._event_shape

    def _extended_shape(self, sample_shape: _Shape = torch.Size()) -> torch.Size:
        return torch.Size(sample_shape) + self._batch_shape + self._event_shape

    # ----------------------------------------------------------------- parameters and checks
    def _broadcast(self, **params) -> tuple[torch.Tensor, ...]:
        """Promote parameters to one floating dtype and device and broadcast them (as views).

        Python numbers take the dtype of the tensor parameters (or the default dtype); integer
        tensors are promoted to the default floating dtype, as arithmetic with a float would.
        Shapes that do not broadcast raise a ``ValueError`` naming every shape.
        """
        values = promote(type(self).__name__, **params)
        first = values[0].shape
        if all(v.shape == first for v in values):
            return tuple(values)
        try:
            shape = broadcast_shapes(*(v.shape for v in values))
        except RuntimeError:
            shapes = ", ".join(f"{n}{tuple(v.shape)}" for n, v in zip(params, values))
            raise ValueError(
                f"{type(self).__name__}: parameter shapes do not broadcast: {shapes}"
            ) from None
        return tuple(v if v.shape == shape else v.expand(shape) for v in values)

    def _validate_parameters(self) -> None:
        name = type(self).__name__
        cls = type(self)
        for param, constraint in self.arg_constraints.items():
            if isinstance(constraint, constraints._Dependent):
                continue
            if param in self.__dict__:
                value = self.__dict__[param]
            elif _is_plain_property(cls, param):
                value = getattr(self, param)  # a parameter derived from stored ones (Chi2.df)
            else:
                continue  # not given (one of several parameterizations), or lazily computed
            if isinstance(value, torch.Tensor):
                _validation.check(
                    name, param, constraint, value, finite=param not in self._infinite_ok
                )

    def _validate_sample(self, value: torch.Tensor) -> None:
        """Check that ``value`` is a tensor whose shape broadcasts and that lies in the support."""
        if self._is_own_draw(value):
            return  # drawn here and not modified since: in the support by construction
        name = type(self).__name__
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{name}: the value must be a tensor, got {type(value).__name__}")
        event_dim = len(self._event_shape)
        if value.dim() < event_dim or value.shape[value.dim() - event_dim :] != self._event_shape:
            raise ValueError(
                f"{name}: the value's trailing shape {tuple(value.shape)} does not end with the "
                f"event shape {tuple(self._event_shape)}"
            )
        batch = value.shape[: value.dim() - event_dim]
        if batch != self._batch_shape:
            try:
                broadcast_shapes(batch, self._batch_shape)
            except RuntimeError:
                raise ValueError(
                    f"{name}: the value's batch shape {tuple(batch)} does not broadcast with the "
                    f"distribution's batch shape {tuple(self._batch_shape)}"
                ) from None
        if torch.compiler.is_compiling() and isinstance(type(self).support, property):
            return  # a support built from parameters would construct torch objects in the graph
        support = self.support
        if support is not None and not isinstance(support, constraints._Dependent):
            _validation.check(name, "value", support, value, finite=False)

    def _is_own_draw(self, value) -> bool:
        """Whether ``value`` is this distribution's latest draw, unmodified (see ``_last_draw``)."""
        last = self.__dict__.get("_last_draw")
        return (
            last is not None
            and last[0]() is value
            and value._version == last[1]
            and not torch.compiler.is_compiling()
        )

    def _validate_probability(self, value: torch.Tensor) -> None:
        """For ``icdf``: ``value`` must lie in [0, 1]."""
        if self._validate_args:
            _validation.check(
                type(self).__name__, "value", constraints.unit_interval, value, finite=False
            )

    # ----------------------------------------------------------------- expand
    def expand(self, batch_shape: _Shape, _instance=None):
        """Expand the batch shape as views of the parameters; nothing is copied or re-validated.

        Parameters are found from ``arg_constraints`` (their ``event_dim`` says how many trailing
        dimensions to keep). Lazily computed attributes are dropped and recomputed on demand;
        attributes listed in ``_batch_free`` are shared.
        """
        batch_shape = torch.Size(batch_shape)
        cls = type(self)
        new = _instance if _instance is not None else cls.__new__(cls)
        for key, value in self.__dict__.items():
            if key in ("_batch_shape", "_event_shape", *self._draw_state):
                continue
            if _is_lazy(cls, key) and key not in self.arg_constraints:
                continue  # recomputed on demand; a parameter (probs or logits) is expanded
            event_dim = self._param_event_dim(key)
            if event_dim is not None and isinstance(value, torch.Tensor):
                new.__dict__[key] = value.expand(
                    batch_shape + value.shape[value.dim() - event_dim :]
                )
            elif isinstance(value, torch.Tensor) and key not in self._batch_free:
                raise TypeError(
                    f"{cls.__name__}.expand: tensor attribute '{key}' is neither a parameter nor "
                    "listed in _batch_free; override expand or declare it"
                )
            else:
                new.__dict__[key] = value
        new._batch_shape = batch_shape
        new._event_shape = self._event_shape
        return new

    def _param_event_dim(self, key: str) -> int | None:
        """Event dims of a batch-shaped parameter tensor ``key`` (None: not a parameter)."""
        constraint = self.arg_constraints.get(key)
        if constraint is not None:
            return constraint.event_dim
        return self._derived_params.get(key)

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape: _Shape = torch.Size(), *, generator=None) -> torch.Tensor:
        """Draw without a graph: the result never requires grad."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator=generator)

    def rsample(self, sample_shape: _Shape = torch.Size(), *, generator=None) -> torch.Tensor:
        """Draw as a differentiable function of the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample (rsample_kind is None)")

    def rsample_and_log_prob(
        self, sample_shape: _Shape = torch.Size(), *, generator=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, log_prob(x))`` for a reparameterized draw ``x``; families score from the noise."""
        x = self.rsample(sample_shape, generator=generator)
        return x, self.log_prob(x)

    def sample_n(self, n: int, *, generator=None) -> torch.Tensor:
        return self.sample(torch.Size((n,)), generator=generator)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in self._draw_state:  # about the latest draw only (and a weak reference)
            state.pop(key, None)
        return state

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        parts = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                parts.append(f"{name}={_short(self.__dict__[name])}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _remembers_draw(draw):
    """Wrap a sampler so the distribution remembers its latest draw (weakly, with its version).

    ``log_prob(x)`` of a value the distribution just drew (the SAC/VAE pattern
    ``x = d.rsample(); d.log_prob(x)``) then skips the support check: the draw is in the support
    by construction, and an in-place change to ``x`` bumps its version and restores the check.
    """

    @functools.wraps(draw)
    def remembering(self, sample_shape: _Shape = torch.Size(), *, generator=None):
        x = draw(self, sample_shape, generator=generator)
        if not torch.compiler.is_compiling() and not x.is_inference():
            self._last_draw = (weakref.ref(x), x._version)
        return x

    return remembering


def set_default_validate_args(value: bool) -> None:
    """Module-level alias of :meth:`Distribution.set_default_validate_args`."""
    Distribution.set_default_validate_args(value)


def _common_dtype_device(tensors: list[torch.Tensor]) -> tuple[torch.dtype, torch.device | None]:
    if not tensors:
        return torch.get_default_dtype(), None
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype != dtype:
            dtype = torch.promote_types(dtype, t.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    return dtype, tensors[0].device


def promote(dist_name: str, **params) -> tuple[torch.Tensor, ...]:
    """The parameters as tensors of one floating dtype and device (shapes left alone): Python
    numbers take the tensors' dtype (or the default one), integer tensors the default floating
    dtype; anything else is a ``TypeError`` naming the argument."""
    dtype, device = _common_dtype_device([v for v in params.values() if torch.is_tensor(v)])
    values = []
    for name, value in params.items():
        if isinstance(value, torch.Tensor):
            values.append(value if value.dtype == dtype else value.to(dtype))
        elif isinstance(value, numbers.Real):
            values.append(torch.scalar_tensor(float(value), dtype=dtype, device=device))
        else:
            raise TypeError(
                f"{dist_name}: argument '{name}' must be a number or a tensor, "
                f"got {type(value).__name__}"
            )
    return tuple(values)


@functools.cache
def _lazy_names(cls) -> frozenset[str]:
    names = set()
    for klass in cls.__mro__:
        for key, attr in vars(klass).items():
            if isinstance(attr, (lazy_property, functools.cached_property)):
                names.add(key)
    return frozenset(names)


def _is_lazy(cls, key: str) -> bool:
    return key in _lazy_names(cls)


def _is_plain_property(cls, key: str) -> bool:
    """Whether ``cls`` defines ``key`` as a ``property`` that is not lazily cached (reading
    ``getattr(cls, key)`` would not do: torch's ``lazy_property`` then poses as a property)."""
    for klass in cls.__mro__:
        if key in vars(klass):
            attr = vars(klass)[key]
            return isinstance(attr, property) and not isinstance(attr, lazy_property)
    return False


def _short(value) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return f"{value.item():.4g}"
        return f"Tensor{list(value.shape)}"
    return repr(value)
