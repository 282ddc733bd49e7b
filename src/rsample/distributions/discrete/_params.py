r"""The ``probs`` / ``logits`` parameterizations shared by the discrete families and their
relaxations.

A distribution is given exactly one of the two; the other is computed on first use
(:func:`torch.distributions.utils.lazy_property`, so :meth:`Distribution.expand` drops it and
validation checks only the one given).

* **Binary** (Bernoulli, Binomial, Geometric, NegativeBinomial, RelaxedBernoulli): ``logits`` is
  :math:`\log p - \log(1 - p)` (``log1p``; exact, so ``probs`` of 0 or 1 give ∓∞ rather than
  torch's clamp to ``[eps, 1 − eps]``), and ``probs`` is :math:`\sigma(\text{logits})`.
* **Categorical** (the last dimension holds the categories): ``logits`` are normalized,
  :math:`\ell - \operatorname{logsumexp}\ell`, so that ``logits.exp()`` sums to one, and
  ``probs`` given unnormalized are divided by their sum, as torch does.

The mixins here hold what the families share beyond the formulas: :class:`BinaryParams` (the
binary families' constructor, ``expand``, validation and accurate ``p``, ``q``, ``x log p``
pieces) and :class:`IntegerSupport` (a fast support check on the integers).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions.utils import lazy_property

from ... import _validation
from ..._eager import host_reads_free
from ..._shapes import broadcast_shapes
from ...distribution import Distribution

__all__ = [
    "BinaryParams",
    "IntegerSupport",
    "binary_logits",
    "binary_probs",
    "categorical_logits",
    "categorical_probs",
    "expand_given",
    "log_or_neg_inf",
    "normalize_logits",
    "normalize_probs",
    "one_of",
    "softplus",
    "validate_given",
    "widened",
    "x_log",
]


def one_of(dist_name: str, probs, logits) -> tuple[str, object]:
    """``("probs", probs)`` or ``("logits", logits)``: whichever was given, exactly one."""
    if (probs is None) == (logits is None):
        given = "both" if probs is not None else "neither"
        raise ValueError(
            f"{dist_name}: exactly one of 'probs' or 'logits' must be given, got {given}"
        )
    return ("probs", probs) if probs is not None else ("logits", logits)


def binary_logits(probs: torch.Tensor) -> torch.Tensor:
    r""":math:`\log p - \log(1 - p)`: ``-inf`` at 0, ``inf`` at 1."""
    return torch.log(probs) - torch.log1p(-probs)


def binary_probs(logits: torch.Tensor) -> torch.Tensor:
    r""":math:`\sigma(\ell)`."""
    return torch.sigmoid(logits)


def normalize_probs(probs: torch.Tensor) -> torch.Tensor:
    """Categorical ``probs`` divided by their sum over the last dimension."""
    return probs / probs.sum(-1, keepdim=True)


def normalize_logits(logits: torch.Tensor) -> torch.Tensor:
    r"""Categorical logits shifted so that :math:`\sum_k e^{\ell_k} = 1`."""
    return logits - logits.logsumexp(-1, keepdim=True)


def categorical_logits(probs: torch.Tensor) -> torch.Tensor:
    r"""Normalized logits of (normalized) ``probs``: :math:`\log p_k` (``-inf`` where 0)."""
    return torch.log(probs)


def categorical_probs(logits: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{softmax}(\ell)` over the last dimension."""
    return torch.softmax(logits, -1)


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

    def _set_params(self, probs, logits, validate_args, **counts) -> None:
        """The constructor: exactly one of ``probs``/``logits``, broadcast with the tensor
        parameters ``counts`` (``total_count``); the batch shape is theirs."""
        name, value = one_of(type(self).__name__, probs, logits)
        *count_values, param = self._broadcast(**counts, **{name: value})
        for key, count in zip(counts, count_values):
            setattr(self, key, count)
        self.__dict__[name] = param
        self._given = name
        Distribution.__init__(self, param.shape, validate_args=validate_args)

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
        return log_or_neg_inf(p), log_or_neg_inf(p, complement=True)

    def _x_log_p(self, x: torch.Tensor) -> torch.Tensor:
        if self._given == "logits":
            return -x * softplus(-self.logits)
        return x_log(x, self.probs, torch.log, 1.0)

    def _x_log_q(self, x: torch.Tensor) -> torch.Tensor:
        if self._given == "logits":
            return -x * softplus(self.logits)
        return x_log(x, self.probs, _log_complement, 0.0)


class IntegerSupport:
    """A fast path for checking values on an integer support ``[low, high]`` (``_int_bounds``):
    on the CPU in eager mode, one ``aminmax`` (and, for floating values, one integrality test)
    decides the common case; anything else goes to the base class's check, which finds and
    names an offending value."""

    def _int_bounds(self) -> tuple[float, object]:
        raise NotImplementedError

    def _enumerate(self, count: int, dtype: torch.dtype, expand: bool) -> torch.Tensor:
        """``enumerate_support``: ``0, …, count − 1`` along a new leading dimension, viewed
        (or, with ``expand``, expanded) over the batch."""
        values = torch.arange(count, dtype=dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1, *self._batch_shape)) if expand else values

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
                broadcast_shapes(value.shape, self._batch_shape)
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


def x_log(x: torch.Tensor, p: torch.Tensor, log, neutral: float) -> torch.Tensor:
    r""":math:`x \cdot` ``log(p)`` with ``0·log 0 = 0`` *and* a zero derivative in ``p`` where
    ``x = 0``: there ``p`` is replaced by ``neutral`` (where ``log`` is finite) before the
    ``log``, so no ``0/0`` reaches the backward (``torch.xlogy``'s gives NaN for
    d log P(0)/dp at p = 0)."""
    zero = x == 0
    return torch.where(zero, 0.0, x * log(torch.where(zero, neutral, p)))


def _log_complement(p: torch.Tensor) -> torch.Tensor:
    return torch.log1p(-p)


def widened(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float64 (where the device has it): discrete CDFs are evaluated there, because
    float32 counts near 1e9 are 64 apart and the incomplete gamma/beta functions of such
    arguments lose ~1e-3 absolute in float32 (found by fuzzing: a non-monotone Poisson CDF)."""
    if t.dtype == torch.float64 or t.device.type == "mps":
        return t
    return t.double()


def log_or_neg_inf(p: torch.Tensor, complement: bool = False) -> torch.Tensor:
    """``log p`` (or ``log1p(−p)``) that is ``−inf`` at ``p = 0`` (``p = 1``) with a zero
    derivative there instead of ``±inf``: the logarithm's input is replaced before the ``log``
    where the result is ``−inf``, so an unused branch (zero upstream gradient) gives ``0``, not
    ``0·∞ = NaN``. Where ``−inf`` is used, the log-probability is ``−inf`` and its derivative
    means nothing."""
    edge = p == (1 if complement else 0)
    safe = torch.where(edge, 0.5, p)
    log = torch.log1p(-safe) if complement else torch.log(safe)
    return torch.where(edge, -math.inf, log)
