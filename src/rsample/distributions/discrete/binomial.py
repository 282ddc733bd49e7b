r"""Binomial distribution.

.. math:: P(X = k) = \binom{n}{k} p^k (1-p)^{n-k}, \quad k = 0, \dots, n

with ``total_count`` :math:`n` (a non-negative integer, per batch element) and ``probs``
:math:`p` or ``logits`` :math:`\ell` (exactly one; exact conversions, see :mod:`.bernoulli`).
``sample`` is ``torch.binomial`` (honouring ``generator=``).

``log_prob`` is Loader's saddle-point form (2000, "Fast and accurate computation of binomial
probabilities"),

.. math:: \log P(k) = \mathrm{stirlerr}(n) - \mathrm{stirlerr}(k) - \mathrm{stirlerr}(n-k)
    - \mathrm{bd0}(k, np) - \mathrm{bd0}(n-k, nq) - \tfrac12\log\frac{2\pi k(n-k)}{n}

(helpers in :mod:`.poisson`), accurate to a few ulp for any :math:`n`, where the ``lgamma``
form loses ~ :math:`n\log n\cdot\epsilon` (1e-9 at :math:`n = 10^6`); on the CPU with
:math:`n \le 10^4` (float32: 64) the ``lgamma`` form (accurate to ~1e-11 there) is used. The
end points are :math:`n\log q` and :math:`n\log p`, with :math:`\log q = -\mathrm{softplus}
(\ell)` from logits.

CDF :math:`P(X \le k) = I_{1-p}(n-k, k+1)`, evaluated as ``betainc(n-k, k+1, q)`` for
:math:`q \le \frac12` and ``betaincc(k+1, n-k, p)`` above (:func:`beta_tail_q`): the
incomplete beta function always gets the smaller of :math:`p, q` as its argument (exact, with
:math:`1 - x` exact too).
Entropy by :func:`.poisson.lattice_entropy` (exact enumeration, or a trapezoid rule on the
analytic continuation for :math:`\sqrt{npq} > 39`), for any, also inhomogeneous, ``total_count``.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ...special import betainc, betaincc
from ._params import BinaryParams, IntegerSupport, widened
from .poisson import _plain_ok, bd0, lattice_entropy, stirlerr

__all__ = ["Binomial"]

_LOG_2PI = math.log(2 * math.pi)


class Binomial(IntegerSupport, BinaryParams, Distribution):
    """Binomial distribution: ``total_count`` trials with success probability ``probs``."""

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True
    rsample_kind = None
    _counts = ("total_count",)

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, validate_args, total_count=total_count)

    def _int_bounds(self):
        return 0.0, self.total_count

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            n = self.total_count.detach().expand(shape)
            return torch.binomial(n, self.probs.detach().expand(shape), generator=generator)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        if _plain_ok(n):
            log_choose = torch.lgamma(n + 1) - torch.lgamma(value + 1) - torch.lgamma(n - value + 1)
            return log_choose + self._x_log_p(value) + self._x_log_q(n - value)
        p, q = self._pq()
        log_p, log_q = self._log_pq()
        return binomial_log_pmf(value, n, p, q, log_p, log_q)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`P(X \le k) = I_{1-p}(n - k, k + 1)` (see the module docstring)."""
        if self._validate_args:
            self._validate_sample(value)
        return count_cdf(value, self.total_count, *self._pq(), bounded=True)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        """``0, …, n`` (needs one ``total_count`` for the whole batch; reads it to the host)."""
        n = self.total_count
        top = int(n.max()) if n.numel() else 0
        if n.numel() and int(n.min()) != top:
            raise NotImplementedError(
                "Binomial.enumerate_support: inhomogeneous total_count is not supported"
            )
        return self._enumerate(1 + top, self._param.dtype, expand)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> torch.Tensor:
        """:math:`\\lfloor (n+1)p \\rfloor`, at most :math:`n` (torch's choice at ties)."""
        n = self.total_count
        return ((n + 1) * self.probs).floor().clamp(max=n)

    @property
    def variance(self) -> torch.Tensor:
        p, q = self._pq()
        return self.total_count * p * q

    def entropy(self) -> torch.Tensor:
        n = self.total_count
        p, q = self._pq()
        log_p, log_q = self._log_pq()
        args = [t.unsqueeze(-1) for t in (n, p, q, log_p, log_q)]
        return lattice_entropy(
            lambda x: binomial_log_pmf(x, *args), n * p, (n * p * q).sqrt(), 0.0, n
        )


def count_cdf(value, count, p, q, *, bounded: bool) -> torch.Tensor:
    r""":math:`P(X \le k) = I_q(a, k + 1)`, :math:`k = \lfloor value \rfloor`, for a binomial
    (``bounded``: ``count`` = n, :math:`a = n - k`, 1 from :math:`k \ge n`) or a negative binomial
    (``count`` = r, :math:`a = r`; a point mass at 0 for :math:`r = 0`); 0 below 0. Evaluated in
    float64 (:func:`._params.widened`), returned in the inputs' dtype."""
    dtype = torch.promote_types(value.dtype, p.dtype)
    k, count, p, q = (widened(t) for t in torch.broadcast_tensors(value.floor(), count, p, q))
    if bounded:
        inner, a, above = (k >= 0) & (k < count), count - k, k >= count
    else:
        inner, a, above = (k >= 0) & (count > 0), count, k >= 0
    out = beta_tail_q(torch.where(inner, a, 1.0), torch.where(inner, k + 1, 1.0), p, q)
    return torch.where(inner, out, above.to(out.dtype)).to(dtype)


def beta_tail_q(a, b, p, q) -> torch.Tensor:
    r""":math:`I_q(a, b)` (``q = 1 − p``) with the smaller of :math:`p, q` as the argument of
    the incomplete beta function, so that its complement is exact too: ``betainc(a, b, q)``
    for :math:`q \le \frac12`, else ``betaincc(b, a, p)``."""
    small_q = q <= 0.5
    from_q = betainc(a, b, torch.where(small_q, q, 0.5))
    from_p = betaincc(b, a, torch.where(small_q, 0.5, p))
    return torch.where(small_q, from_q, from_p)


def binomial_log_pmf(k, n, p, q, log_p, log_q, rest=None) -> torch.Tensor:
    """Loader's log-pmf (see the module docstring) for real ``0 ≤ k ≤ n``; ``rest`` is
    ``n − k`` where the caller has it exactly (a negative binomial's count)."""
    rest = n - k if rest is None else rest
    zero = k == 0
    full = rest == 0
    edge = zero | full
    ks = torch.where(edge, 0.5, k)
    ns = torch.where(edge, 1.0, n)
    rs = torch.where(edge, 0.5, rest)
    log_n = torch.log(ns)
    general = (
        stirlerr(ns)
        - stirlerr(ks)
        - stirlerr(rs)
        - bd0(ks, ns * p, log_n + log_p)
        - bd0(rs, ns * q, log_n + log_q)
        - 0.5 * (_LOG_2PI + torch.log(ks) + torch.log(rs / ns))
    )
    ends = torch.where(zero, n * log_q, n * log_p)  # k = 0: n log q; k = n: n log p
    ends = torch.where(n == 0, 0.0, ends)  # n = 0 (k = 0 = n): certain, even where log q = −∞
    return torch.where(edge, ends, general)
