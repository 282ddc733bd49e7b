r"""Bernoulli distribution.

.. math:: P(X = 1) = p = \sigma(\ell), \qquad P(X = 0) = 1 - p = \sigma(-\ell)

with ``probs`` :math:`p` or ``logits`` :math:`\ell` (exactly one; the other is computed on first
use, exactly: ``probs`` 0 and 1 are logits ∓∞, not torch's clamp to ``[eps, 1 − eps]``).

``sample`` is :math:`U < p` with a float64 uniform :math:`U` (honouring ``generator=``), for
every dtype: exact to :math:`2^{-53}`, and still faster than ``torch.bernoulli``, whose float32
uniforms have 24 bits (its draws for ``p = 1e-9`` succeed with probability ~6e-8). There is no
``rsample`` (see :mod:`rsample.gradients` for estimators). Everything else is written without
cancellation:

* from logits, :math:`\log P(x) = -((1-x)\,\mathrm{softplus}(\ell) +
  x\,\mathrm{softplus}(-\ell))` — non-negative terms, so :math:`\log \sigma(30) =
  -9.4\cdot10^{-14}` keeps its digits (``binary_cross_entropy_with_logits`` loses them to
  ``log(1 + tiny)``), with the exact gradient :math:`x - \sigma(\ell)` (also at 0);
* from probs, :math:`x \log p + (1 - x)\,\mathrm{log1p}(-p)` by ``xlogy``/``xlog1py``
  (``0·log 0 = 0``, so impossible outcomes are ``-inf`` and certain ones exactly ``0``).

Values between 0 and 1 (soft targets, with ``validate_args=False``) give torch's
binary-cross-entropy interpolation :math:`x\ell - \mathrm{softplus}(\ell)`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _validation
from ..._eager import host_reads_free
from ..._scalars import const
from ...distribution import Distribution
from ._params import binary_logits, binary_probs, one_of

__all__ = ["Bernoulli"]


def softplus(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\log(1 + e^x)` to full precision: ``F.softplus`` returns ``x`` itself above its
    default threshold 20 (relative error up to 1e-10); above 40 the error is below 1e-19. Its
    gradient is exactly :math:`\sigma(x)`, also at 0 (a ``relu``/``abs`` split is not)."""
    return F.softplus(x, 1.0, 40.0)


class BinaryParams:
    """A success probability given as ``probs`` or (finite) ``logits`` (the other is derived
    lazily), for the families built on one (Bernoulli, Binomial, Geometric, NegativeBinomial):
    ``expand``, validation of the given parameter and of ``_counts``, and accurate pieces:
    ``p``, ``q = 1 − p`` (``σ(−ℓ)`` from logits, exact where ``p`` rounds to 1) and
    ``x·log p``, ``x·log q`` with ``0·log 0 = 0``."""

    _given: str  # "probs" or "logits", whichever was given
    _counts: tuple[str, ...] = ()  # other tensor parameters (total_count)

    def expand(self, batch_shape, _instance=None):
        return expand_given(self, batch_shape, _instance)

    def _validate_parameters(self) -> None:
        validate_given(self, self._counts)

    @property
    def _param(self) -> torch.Tensor:
        return self.__dict__[self._given]

    @property
    def param_shape(self) -> torch.Size:
        return self._param.shape

    @lazy_property
    def logits(self) -> torch.Tensor:
        return binary_logits(self.probs)

    @lazy_property
    def probs(self) -> torch.Tensor:
        return binary_probs(self.logits)

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    def _pq(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._given == "logits":
            logits = self.logits
            return torch.sigmoid(logits), torch.sigmoid(-logits)
        p = self.probs
        return p, 1 - p

    def _log_pq(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._given == "logits":
            logits = self.logits
            return -softplus(-logits), -softplus(logits)
        p = self.probs
        return torch.log(p), torch.log1p(-p)

    def _x_log_p(self, x: torch.Tensor) -> torch.Tensor:
        if self._given == "logits":
            return -x * softplus(-self.logits)
        return torch.xlogy(x, self.probs)

    def _x_log_q(self, x: torch.Tensor) -> torch.Tensor:
        if self._given == "logits":
            return -x * softplus(self.logits)
        return torch.special.xlog1py(x, -self.probs)


class IntegerSupport:
    """A fast path for checking values on an integer support ``[low, high]`` (``_int_bounds``):
    on the CPU in eager mode, one ``aminmax`` (and, for floating values, one integrality test)
    decides the common case; anything else goes to the base class's check, which finds and
    names an offending value."""

    def _int_bounds(self) -> tuple[float, object]:
        raise NotImplementedError

    def _validate_sample(self, value) -> None:
        if self._is_own_draw(value) or self._certainly_in_support(value):
            return
        super()._validate_sample(value)

    def _certainly_in_support(self, value) -> bool:
        if not isinstance(value, torch.Tensor) or value.numel() == 0:
            return False
        if not host_reads_free(value):
            return False
        if value.shape != self._batch_shape:
            try:  # (event shape () families): the base class explains a bad shape
                torch.broadcast_shapes(value.shape, self._batch_shape)
            except RuntimeError:
                return False
        v = value.detach()
        if v.is_floating_point() and not torch.equal(v, v.trunc()):
            return False  # a fraction, or NaN
        lo, hi = (float(t) for t in torch.aminmax(v))
        low, high = self._int_bounds()
        if isinstance(high, torch.Tensor):
            high = float(high.detach().amin()) if high.numel() else math.inf
        return lo >= low and hi <= high and math.isfinite(hi)


def validate_given(dist, names=()) -> None:
    """Check the given one of ``probs``/``logits`` and the parameters ``names`` against
    ``arg_constraints`` (the lazily derived one is not computed; base-class rules otherwise)."""
    cls = type(dist)
    for key in (dist._given, *names):
        value = dist.__dict__.get(key)
        if isinstance(value, torch.Tensor):
            _validation.check(
                cls.__name__,
                key,
                cls.arg_constraints[key],
                value,
                finite=key not in cls._infinite_ok,
            )


def expand_given(dist, batch_shape, _instance=None, keys=None):
    """``expand`` for the discrete families: views of the parameter tensors ``keys`` (by default
    the given one of ``probs``/``logits``, named by ``dist._given``, and ``total_count``); lazily
    derived tensors are dropped (recomputed on demand), plain attributes shared."""
    cls = type(dist)
    new = _instance if _instance is not None else cls.__new__(cls)
    batch_shape = torch.Size(batch_shape)
    for key in keys if keys is not None else (dist._given, "total_count"):
        if key in dist.__dict__:
            value = dist.__dict__[key]
            trailing = value.shape[len(dist.batch_shape) :]  # a categorical's last dimension
            new.__dict__[key] = value.expand(batch_shape + trailing)
    for key, value in dist.__dict__.items():  # plain attributes (names, Python numbers)
        if not isinstance(value, (torch.Tensor, tuple)):
            new.__dict__.setdefault(key, value)
    Distribution.__init__(new, batch_shape, dist.event_shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new


class Bernoulli(IntegerSupport, BinaryParams, Distribution):
    """Bernoulli distribution on {0, 1} with ``probs`` or (finite) ``logits``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    rsample_kind = None
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, value = one_of(type(self).__name__, probs, logits)
        (param,) = self._broadcast(**{name: value})
        self.__dict__[name] = param
        self._given = name
        super().__init__(param.shape, validate_args=validate_args)

    def _int_bounds(self):
        return 0.0, 1.0

    # ----------------------------------------------------------------- parameters
    @property
    def _given_logits(self) -> bool:
        return self._given == "logits"

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            p = self.probs.detach()
            u = torch.empty(shape, dtype=torch.float64, device=p.device)
            return (u.uniform_(generator=generator) < p).to(p.dtype)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        if self._given_logits:
            logits = self.logits
            one = const(1.0, logits.dtype)
            return -((one - value) * softplus(logits) + value * softplus(-logits))
        p = self.probs
        return torch.xlogy(value, p) + torch.special.xlog1py(1 - value, -p)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`F(x) = 0` for :math:`x < 0`, :math:`1 - p` for :math:`0 \le x < 1`, 1 above."""
        if self._validate_args:
            self._validate_sample(value)
        q = self._complement()
        q, value = torch.broadcast_tensors(q, value)
        inside = torch.where(value >= 1, torch.ones_like(q), q)
        return torch.where(value < 0, torch.zeros_like(q), inside)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        values = torch.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1, *self._batch_shape))
        return values

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.probs

    @property
    def mode(self) -> torch.Tensor:
        """1 where ``p > ½``, 0 where ``p < ½`` and NaN at ``p = ½`` (torch's convention)."""
        p = self.probs
        mode = (p >= 0.5).to(p.dtype)
        return torch.where(p == 0.5, math.nan, mode)

    @property
    def variance(self) -> torch.Tensor:
        """:math:`p(1 - p)`, from logits as :math:`\\sigma(\\ell)\\sigma(-\\ell)`."""
        return self.probs * self._complement()

    def entropy(self) -> torch.Tensor:
        r""":math:`-p\log p - (1-p)\log(1-p)`; from logits
        :math:`\log(1 + e^{-|\ell|}) + |\ell|\,\sigma(-|\ell|)` (non-negative terms)."""
        if self._given_logits:
            a = self.logits.abs()
            return torch.log1p(torch.exp(-a)) + a * torch.sigmoid(-a)
        p = self.probs
        return -(torch.xlogy(p, p) + torch.special.xlog1py(1 - p, -p))

    # ----------------------------------------------------------------- helpers
    def _complement(self) -> torch.Tensor:
        """:math:`1 - p`, exact from logits as :math:`\\sigma(-\\ell)`."""
        if self._given_logits:
            return torch.sigmoid(-self.logits)
        return 1 - self.probs
