r"""Elementwise transforms: exp, sigmoid, tanh, softplus, power and absolute value.

Log-determinants are written so that no intermediate overflows or cancels. Several use

.. math:: \operatorname{softplus}(x) = \max(x, 0) + \log(1 + e^{-|x|}),

whose second term is shared between :math:`\operatorname{softplus}(x)` and
:math:`\operatorname{softplus}(-x)` and never overflows.
"""

from __future__ import annotations

import torch
from torch.distributions import constraints

from .._shapes import broadcast_shapes
from ..special import atanh_clamped, log1m_tanh_sq
from .base import Transform

__all__ = [
    "AbsTransform",
    "ExpTransform",
    "PowerTransform",
    "SigmoidTransform",
    "SoftplusTransform",
    "TanhTransform",
]


def _log1p_exp_neg_abs(x: torch.Tensor) -> torch.Tensor:
    """:math:`\\log(1 + e^{-|x|})`: the part of softplus(±x) that never overflows."""
    return torch.log1p(torch.exp(-x.abs()))


def _clipped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # As torch's SigmoidTransform: keep the value off 0 and 1 so that log(y) and log1p(-y)
    # downstream stay finite.
    finfo = torch.finfo(x.dtype)
    return torch.sigmoid(x).clamp(min=finfo.tiny, max=1.0 - finfo.eps)


class ExpTransform(Transform):
    r""":math:`y = e^x`, with :math:`\log|dy/dx| = x`."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, ExpTransform)

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def _forward_and_log_det(self, x):
        return x.exp(), x

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(Transform):
    r""":math:`y = \sigma(x) = 1/(1 + e^{-x})`, :math:`x = \log y - \log(1 - y)`.

    .. math:: \log|dy/dx| = \log\sigma(x) + \log\sigma(-x)
        = -|x| - 2\log(1 + e^{-|x|})

    The forward value is clipped to ``[tiny, 1 − eps]`` as torch's is; the inverse clamps its
    input to ``[tiny, 1 − eps/2]`` so that it is finite at 0 and 1.
    """

    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, SigmoidTransform)

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        finfo = torch.finfo(y.dtype)
        y = y.clamp(min=finfo.tiny, max=1.0 - finfo.eps / 2)
        return y.log() - torch.log1p(-y)

    def _forward_and_log_det(self, x):
        return _clipped_sigmoid(x), self.log_abs_det_jacobian(x, None)

    def log_abs_det_jacobian(self, x, y):
        # −softplus(−x) − softplus(x), with the shared log1p term computed once.
        return -x.abs() - 2 * _log1p_exp_neg_abs(x)


class TanhTransform(Transform):
    r""":math:`y = \tanh x`, :math:`x = \tfrac12(\log(1 + y) - \log(1 - y))`.

    .. math:: \log|dy/dx| = \log(1 - \tanh^2 x) = 2\,(\log 2 - |x| - \log(1 + e^{-2|x|}))

    which equals ``2·(log 2 − x − softplus(−2x))`` (TFP's ``tanh.py``, as in torch) and is exact
    where ``1 − tanh²x`` underflows (:math:`|x| \gtrsim 9` in float32). The inverse is finite at
    ``y = ±1``: those values are first moved inside by
    :func:`rsample.special.clamp_open_unit`.
    """

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, TanhTransform)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return atanh_clamped(y)

    def _forward_and_log_det(self, x):
        return x.tanh(), log1m_tanh_sq(x)

    def log_abs_det_jacobian(self, x, y):
        return log1m_tanh_sq(x)


class SoftplusTransform(Transform):
    r""":math:`y = \log(1 + e^x)`, :math:`x = y + \log(-\operatorname{expm1}(-y))`.

    .. math:: \log|dy/dx| = \log\sigma(x) = -\operatorname{softplus}(-x)

    Forward value and log-determinant share :math:`\log(1 + e^{-|x|})`; neither reverts to a
    linear approximation (torch's ``F.softplus`` does above 20, an error of ``e^{-20}``).
    """

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other) -> bool:
        return isinstance(other, SoftplusTransform)

    def _call(self, x):
        return x.clamp(min=0) + _log1p_exp_neg_abs(x)

    def _inverse(self, y):
        # log(e^y − 1) = y + log(1 − e^{−y}); expm1 keeps 1 − e^{−y} accurate for small y.
        return y + torch.log(-torch.expm1(-y))

    def _forward_and_log_det(self, x):
        shared = _log1p_exp_neg_abs(x)
        return x.clamp(min=0) + shared, x.clamp(max=0) - shared

    def log_abs_det_jacobian(self, x, y):
        return x.clamp(max=0) - _log1p_exp_neg_abs(x)


class PowerTransform(Transform):
    r""":math:`y = x^p` on :math:`x > 0`; ``exponent`` :math:`p` may be a tensor.

    .. math:: \log|dy/dx| = \log|p\,y/x| = \log|p| + (p - 1)\log x

    The right-hand form never forms :math:`y/x`, which under- or overflows for extreme ``x``.
    """

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: torch.Tensor | float, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        if not isinstance(exponent, torch.Tensor):
            # A 0-dim float64 tensor does not promote the input's dtype, and keeps 1/p exact
            # enough for float64 round trips (1/2.5 in float32 is off by 1.5e-8).
            exponent = torch.tensor(float(exponent), dtype=torch.float64)
        self.exponent = exponent

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self) -> torch.Tensor:
        return self.exponent.sign()

    def __eq__(self, other) -> bool:
        if not isinstance(other, PowerTransform):
            return False
        try:
            return bool(self.exponent.eq(other.exponent).all())
        except RuntimeError:  # shapes that do not broadcast
            return False

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(self.exponent.reciprocal())

    def _forward_and_log_det(self, x):
        return x.pow(self.exponent), self.log_abs_det_jacobian(x, None)

    def log_abs_det_jacobian(self, x, y):
        p = self.exponent
        return p.abs().log() + torch.xlogy(p - 1, x)

    def forward_shape(self, shape):
        return broadcast_shapes(shape, self.exponent.shape)

    def inverse_shape(self, shape):
        return broadcast_shapes(shape, self.exponent.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(exponent={self.exponent})"


class AbsTransform(Transform):
    r""":math:`y = |x|`; not bijective, so it has no log-determinant.

    Its "inverse" is the identity on :math:`[0, \infty)`, a right inverse (``t(t.inv(y)) == y``).
    """

    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other) -> bool:
        return isinstance(other, AbsTransform)

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y
