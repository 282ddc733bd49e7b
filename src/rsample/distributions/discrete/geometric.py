r"""Geometric distribution: the number of failures before the first success (torch's convention).

.. math:: P(X = k) = (1-p)^k\,p, \quad k = 0, 1, \dots

with ``probs`` :math:`p \in (0, 1]` or (finite) ``logits`` :math:`\ell` (exactly one; exact
conversions, see :mod:`.bernoulli`). ``sample`` inverts the survival function
:math:`P(X \ge k) = q^k`: :math:`X = \lfloor \log U / \log q \rfloor` with a float64 uniform ``U``
for every dtype (floored at the smallest normal number; float32's 24-bit uniforms would cut the
tail at :math:`e^{-16.6}`) and :math:`\log q` = ``log1p(−p)`` or :math:`-\mathrm{softplus}
(\ell)`, which stays exact for tiny :math:`p` (mean :math:`10^{12}` at :math:`p = 10^{-12}`).

Closed forms, written without cancellation: :math:`\log P(k) = k\log q + \log p`, CDF
:math:`1 - q^{k+1} = -\mathrm{expm1}((k+1)\log q)`, mean :math:`q/p` (:math:`e^{-\ell}`),
variance :math:`q/p^2`, entropy :math:`-\log p - (q/p)\log q`, from logits
:math:`\mathrm{softplus}(-\ell) + \mathrm{softplus}(\ell)\,e^{-\ell}` with
:math:`\mathrm{log1p}(t)/t`, :math:`t = e^\ell`, where :math:`\ell < 0` (no overflow).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ... import _validation
from ...distribution import Distribution
from ._params import BinaryParams, IntegerSupport, softplus

__all__ = ["Geometric"]


class Geometric(IntegerSupport, BinaryParams, Distribution):
    """Geometric distribution on {0, 1, …} with success probability ``probs`` (> 0)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer
    rsample_kind = None

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, validate_args)

    def _validate_parameters(self) -> None:
        super()._validate_parameters()
        if self._given == "probs":  # torch also requires probs > 0 (no success, no end)
            _validation.check(
                type(self).__name__, "probs", constraints.positive, self.probs, finite=True
            )

    def _int_bounds(self):
        return 0.0, math.inf

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            log_q = self._log_pq()[1].detach()
            u = torch.empty(shape, dtype=torch.float64, device=log_q.device)
            u.uniform_(generator=generator).clamp_min_(torch.finfo(u.dtype).tiny)
            draws = (torch.log(u) / log_q).floor()  # +inf where log q rounds to 0
            return draws.clamp_max_(torch.finfo(log_q.dtype).max).to(log_q.dtype)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._x_log_q(value) + self._log_pq()[0]

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        """:math:`1 - q^{\\lfloor k \\rfloor + 1}`; 0 below 0."""
        if self._validate_args:
            self._validate_sample(value)
        k = value.floor()
        out = -torch.expm1(self._x_log_q(k.clamp_min(0) + 1))
        return torch.where(k < 0, torch.zeros_like(out), out)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        if self._given == "logits":
            return torch.exp(-self.logits)
        p, q = self._pq()
        return q / p

    @property
    def mode(self) -> torch.Tensor:
        return torch.zeros_like(self._param)

    @property
    def variance(self) -> torch.Tensor:
        p, _ = self._pq()
        return self.mean / p

    def entropy(self) -> torch.Tensor:
        if self._given == "probs":
            p = self.probs
            return -torch.log(p) - torch.special.xlog1py(1 - p, -p) / p
        logits = self.logits
        neg = logits < 0
        t = torch.exp(torch.where(neg, logits, 0.0))  # e^ℓ for ℓ < 0 (may underflow to 0)
        ratio = torch.where(t > 0, torch.log1p(t) / torch.where(t > 0, t, 1.0), 1.0)
        pos = torch.exp(-logits.clamp_min(0)) * softplus(logits.clamp_min(0))
        return softplus(-logits) + torch.where(neg, ratio, pos)
