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
from torch.distributions import constraints

from ...distribution import Distribution
from ._params import BinaryParams, IntegerSupport

__all__ = ["Bernoulli"]


class Bernoulli(IntegerSupport, BinaryParams, Distribution):
    """Bernoulli distribution on {0, 1} with ``probs`` or (finite) ``logits``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    rsample_kind = None
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, validate_args)

    def _int_bounds(self):
        return 0.0, 1.0

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
        return self._x_log_p(value) + self._x_log_q(1 - value)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`F(x) = 0` for :math:`x < 0`, :math:`1 - p` for :math:`0 \le x < 1`, 1 above."""
        if self._validate_args:
            self._validate_sample(value)
        q = self._pq()[1]
        q, value = torch.broadcast_tensors(q, value)
        inside = torch.where(value >= 1, torch.ones_like(q), q)
        return torch.where(value < 0, torch.zeros_like(q), inside)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        return self._enumerate(2, self._param.dtype, expand)

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
        p, q = self._pq()
        return p * q

    def entropy(self) -> torch.Tensor:
        r""":math:`-p\log p - (1-p)\log(1-p)`; from logits
        :math:`\log(1 + e^{-|\ell|}) + |\ell|\,\sigma(-|\ell|)` (non-negative terms)."""
        if self._given == "logits":
            a = self.logits.abs()
            return torch.log1p(torch.exp(-a)) + a * torch.sigmoid(-a)
        p = self.probs
        return -(torch.xlogy(p, p) + torch.special.xlog1py(1 - p, -p))
