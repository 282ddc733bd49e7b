r"""The pointwise affine map :math:`y = \text{loc} + \text{scale}\cdot x`."""

from __future__ import annotations

import math
import numbers

import torch
from torch.distributions import constraints

from .._shapes import broadcast_shapes
from .base import Transform

__all__ = ["AffineTransform"]

_Param = torch.Tensor | float


class AffineTransform(Transform):
    r""":math:`y = \text{loc} + \text{scale}\cdot x`, elementwise.

    .. math:: \log|\det J| = \sum_{\text{event dims}} \log|\text{scale}|

    Args:
        loc, scale: numbers or tensors broadcasting with the input.
        event_dim: how many rightmost dims form one event (0 for scalars, 1 for vectors, …).
        cache_size: 0 or 1, as for every transform.
    """

    bijective = True

    def __init__(self, loc: _Param, scale: _Param, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.loc = loc
        self.scale = scale
        self._event_dim = event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return _real(self._event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return _real(self._event_dim)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, AffineTransform)
            and _equal(self.loc, other.loc)
            and _equal(self.scale, other.scale)
        )

    @property
    def sign(self) -> int | torch.Tensor:
        if isinstance(self.scale, torch.Tensor):
            return self.scale.sign()
        return (self.scale > 0) - (self.scale < 0)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def _forward_and_log_det(self, x):
        y = self._call(x)
        return y, self._log_det(y)

    def log_abs_det_jacobian(self, x, y):
        if x.shape != y.shape:  # the parameters broadcast x up to y's shape
            x = x.expand(broadcast_shapes(x.shape, y.shape))
        return self._log_det(x)

    def _log_det(self, like: torch.Tensor) -> torch.Tensor:
        """``log|scale|`` summed over the event dims of ``like`` and broadcast to its batch."""
        shape, n = like.shape, self._event_dim
        batch, event = shape[: len(shape) - n], shape[len(shape) - n :]
        if not isinstance(self.scale, torch.Tensor):
            s = abs(self.scale)
            value = math.log(s) * event.numel() if s else -math.inf
            return torch.full(batch, value, dtype=like.dtype, device=like.device)
        log_scale = self.scale.abs().log()
        if n:
            # Broadcast over the event dims before summing: a scale of shape () or (1,) still
            # contributes once per event element (torch's version sums it once).
            if log_scale.dim() < n:
                log_scale = log_scale.reshape((1,) * (n - log_scale.dim()) + log_scale.shape)
            log_scale = log_scale.expand(log_scale.shape[: log_scale.dim() - n] + event)
            log_scale = log_scale.sum(dim=tuple(range(-n, 0)))
        return log_scale.expand(broadcast_shapes(batch, log_scale.shape))

    def forward_shape(self, shape):
        return broadcast_shapes(shape, _shape(self.loc), _shape(self.scale))

    def inverse_shape(self, shape):
        return broadcast_shapes(shape, _shape(self.loc), _shape(self.scale))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loc={_short(self.loc)}, scale={_short(self.scale)})"


def _real(event_dim: int) -> constraints.Constraint:
    return constraints.independent(constraints.real, event_dim) if event_dim else constraints.real


def _shape(value: _Param) -> torch.Size:
    return value.shape if isinstance(value, torch.Tensor) else torch.Size()


def _equal(a: _Param, b: _Param) -> bool:
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    try:
        broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        return False
    return bool((a == b).all())


def _short(value: _Param) -> str:
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        return f"Tensor{list(value.shape)}"
    return f"{float(value):.4g}"
