r"""Multinomial distribution: counts of ``total_count`` categorical draws.

.. math:: P(x) = \frac{n!}{\prod_j x_j!} \prod_j p_j^{x_j}, \qquad \sum_j x_j = n

with a Python ``int`` ``total_count`` :math:`n` and ``probs``/``logits`` as for
:class:`~rsample.Categorical` (normalized the same way, cancellation-free). As in torch,
``log_prob`` takes the count from the value (:math:`n = \sum_j x_j`), and the support check
accepts non-negative counts summing to at most ``total_count`` (torch's ``multinomial``
constraint); rsample also requires integer counts.

**Sampling** (``generator=`` honoured): for :math:`n \le 64K` by inverse transform — ``n``
uniforms per row located by ``searchsorted`` in the cumulative probabilities (normalized by their
last entry, so that it is exactly 1 and a trailing zero-probability category is never drawn) and
counted by ``scatter_add`` — :math:`O(K + n\log K)` per row where ``torch.multinomial`` plus
counting is what torch does; above, by conditional binomials :math:`x_j \sim
\mathrm{Bin}(n - \sum_{i<j} x_i,\ p_j / \sum_{i \ge j} p_i)` (suffix sums, no cancellation).

**Log-probabilities** for :math:`n > 10^4` (float32: 64; or off the CPU) use the multinomial
analogue of Loader's saddle-point form (see :mod:`.binomial`),

.. math:: \log P(x) = \mathrm{stirlerr}(n) + \tfrac12\log(2\pi n) - \sum_{j: x_j > 0}
    \big[\mathrm{stirlerr}(x_j) + \tfrac12\log(2\pi x_j)\big] - \sum_j \mathrm{bd0}(x_j, np_j),

(:math:`\sum_j (x_j - np_j) = 0` turns the powers into deviances); otherwise the ``lgamma`` form.
**Entropy** :math:`H = -\mathrm{stirlerr}(n) - \tfrac12\log(2\pi n) + \sum_j E[\phi_j(x_j)]`,
the bracket and deviance above in expectation over the binomial marginals
:math:`x_j \sim \mathrm{Bin}(n, p_j)`, each by :func:`.poisson.lattice_sum` (torch sums
``lgamma`` over all ``n + 1`` values of each marginal and cancels ~ :math:`n\log n`); the
constant is folded into the most likely category's terms (:math:`\mathrm{stirlerr}(x) -
\mathrm{stirlerr}(n)`, :math:`\frac12\log(x/n)`), so a nearly certain outcome keeps its tiny
entropy.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch.distributions import constraints

from ... import _validation
from ...distribution import Distribution
from .binomial import binomial_log_pmf
from .categorical import CategoricalParams, complement_probs
from .poisson import _GRID, _plain_ok, bd0, lattice_sum, stirlerr

__all__ = ["Multinomial"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_INVERSION_MAX = 64  # inverse transform while n ≤ 64 K, conditional binomials above


class Multinomial(CategoricalParams, Distribution):
    """Multinomial distribution: ``total_count`` draws over the categories of the last dim."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    rsample_kind = None
    total_count: int

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        name = type(self).__name__
        if isinstance(total_count, bool) or not isinstance(total_count, numbers.Integral):
            raise ValueError(
                f"{name}: argument 'total_count' must satisfy the constraint: a Python int "
                f"(one count for the whole batch, as in torch), got {total_count!r}"
            )
        if total_count < 0:
            raise ValueError(
                f"{name}: argument 'total_count' must satisfy the constraint "
                f"nonnegative_integer, but found invalid value {total_count}"
            )
        self.total_count = int(total_count)
        self._set_categorical(probs, logits, validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    def _validate_sample(self, value: torch.Tensor) -> None:
        if self._is_own_draw(value):
            return
        super()._validate_sample(value)
        if not torch.compiler.is_compiling():
            _validation.check(
                type(self).__name__, "value", constraints.nonnegative_integer, value, finite=True
            )

    def __repr__(self) -> str:
        cat = self._categorical
        shape = tuple(cat._raw.shape)
        return f"{type(self).__name__}(total_count={self.total_count}, {cat._given}: {shape})"

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach()
        n, k = self.total_count, shape[-1]
        with torch.no_grad():
            if n <= _INVERSION_MAX * k:
                return _by_inversion(probs, shape, n, generator)
            return _by_binomials(probs, shape, n, generator)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits = self.logits
        value, logits = torch.broadcast_tensors(value, logits)
        n = value.sum(-1)
        if _plain_ok(n):
            powers = torch.where(value == 0, 0.0, value * logits).sum(-1)
            return torch.lgamma(n + 1) - torch.lgamma(value + 1).sum(-1) + powers
        return _loader_log_pmf(value, n, logits)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> torch.Tensor:
        return self.total_count * self.probs * complement_probs(self._categorical)

    @property
    def mode(self) -> torch.Tensor:
        r"""The most likely count vector (torch has none), by :func:`multinomial_mode`."""
        return multinomial_mode(self.probs, self.total_count)

    def entropy(self) -> torch.Tensor:
        n = self.total_count
        cat = self._categorical
        if n == 0:
            return torch.zeros(self._batch_shape, dtype=cat._raw.dtype, device=cat._raw.device)
        p = cat.probs
        q = complement_probs(cat)
        log_p = cat.logits
        n_t = torch.tensor(float(n), dtype=p.dtype, device=p.device)
        log_n = math.log(n)
        constant = stirlerr(n_t) + 0.5 * log_n + _HALF_LOG_2PI
        top = torch.zeros_like(p).scatter_(-1, cat._raw.argmax(-1, keepdim=True), 1.0) > 0
        log_q = torch.where(top, torch.log(q), torch.log1p(-p))  # log1p: exact for tiny p
        args = [t.unsqueeze(-1) for t in (p, q, log_p, log_q)]
        pj, _, log_pj, _ = args
        top = top.unsqueeze(-1)

        def phi(x, _lf):
            # stirlerr(x) + ½log(2πx) + bd0(x, n p_j) (x > 0; n p_j at x = 0); for the most
            # likely category minus the constant, folded in term by term (stirlerr(x) −
            # stirlerr(n), ½log(x/n)) so that a nearly certain outcome keeps its tiny entropy
            pos = x > 0
            xs = torch.where(pos, x, 1.0)
            dev = bd0(xs, n * pj, log_n + log_pj)
            inner = stirlerr(xs) + 0.5 * torch.log(xs) + _HALF_LOG_2PI + dev
            shifted = (stirlerr(xs) - stirlerr(n_t)) + 0.5 * torch.log(xs / n) + dev
            return torch.where(
                pos, torch.where(top, shifted, inner), n * pj - torch.where(top, constant, 0.0)
            )

        marginals = lattice_sum(
            lambda x: binomial_log_pmf(x, n_t, *args),
            n * p,
            (n * p * q).sqrt(),
            0.0,
            float(n),
            fn=phi,
            points=n + 1 if n + 1 < _GRID[_work(p.dtype)][0] else None,
        )
        return marginals.sum(-1)


def multinomial_mode(probs: torch.Tensor, n: int) -> torch.Tensor:
    r"""The mode of Multinomial(``n``, ``probs``) (exact; at ties, a most likely vector).

    :math:`\log P(x)` is a sum of concave terms :math:`x_j\log p_j - \log x_j!` under
    :math:`\sum_j x_j = n`, whose maximum takes the ``n`` largest marginal gains
    :math:`\log(p_j/c)` (the ``c``-th count of category ``j``): :math:`x_j = \lfloor
    p_j/\lambda \rfloor` at the ``n``-th largest ratio :math:`\lambda` — the D'Hondt
    (Jefferson) apportionment of ``n`` seats to the weights :math:`p`. Since
    :math:`\sum_j \lfloor p_j/\lambda\rfloor \in (1/\lambda - K, 1/\lambda]`,
    :math:`\lambda \in [1/(n+K), 1/n]`; it is bracketed by bisection (in float64) until each
    category has at most one ratio inside the bracket, and the counts still missing go to the
    categories with the largest next ratios :math:`p_j/(x_j + 1)`.
    """
    work = probs.detach().double()
    k = work.shape[-1]
    if n == 0:
        return torch.zeros_like(probs)
    lo = torch.full(work.shape[:-1], 1.0 / (n + k), dtype=work.dtype, device=work.device)
    hi = torch.full_like(lo, 2.0 / n)  # Σ ⌊p_j/λ⌋ ≥ n at lo, ≤ n/2 at hi
    # the bracket's relative width starts below 2K + 1 and must end below 1/(n + 1)
    for _ in range(math.ceil(math.log2((2 * k + 1) * (n + 1))) + 2):
        mid = 0.5 * (lo + hi)
        enough = torch.floor(work / mid.unsqueeze(-1)).sum(-1) >= n
        lo = torch.where(enough, mid, lo)
        hi = torch.where(enough, hi, mid)
    counts = torch.floor(work / hi.unsqueeze(-1))
    missing = n - counts.sum(-1, keepdim=True)
    order = torch.sort(work / (counts + 1), dim=-1, descending=True, stable=True)[1]
    positions = torch.arange(k, device=order.device).expand_as(order)
    rank = torch.empty_like(order).scatter_(-1, order, positions)
    return (counts + (rank < missing)).to(probs.dtype)


def _work(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _loader_log_pmf(value, n, logits) -> torch.Tensor:
    """The saddle-point form of the module docstring (``n`` = the value's total count)."""
    nz = n > 0
    ns = torch.where(nz, n, 1.0).unsqueeze(-1)
    pos = value > 0
    xs = torch.where(pos, value, 1.0)
    np_j = ns * torch.exp(logits)
    per = stirlerr(xs) + 0.5 * torch.log(xs) + _HALF_LOG_2PI + bd0(xs, np_j, torch.log(ns) + logits)
    per = torch.where(pos, per, np_j)
    ns = ns.squeeze(-1)
    out = stirlerr(ns) + 0.5 * torch.log(ns) + _HALF_LOG_2PI - per.sum(-1)
    return torch.where(nz, out, 0.0)


def _by_inversion(probs, shape, n, generator) -> torch.Tensor:
    """Counts of ``n`` inverse-transform draws per row (see the module docstring)."""
    k = shape[-1]
    counts = torch.zeros(shape, dtype=probs.dtype, device=probs.device)
    if n == 0:
        return counts
    cum = probs.cumsum(-1)
    cum = (cum / cum[..., -1:]).expand(shape).contiguous()
    u = torch.empty((*shape[:-1], n), dtype=probs.dtype, device=probs.device)
    u.uniform_(generator=generator)
    index = torch.searchsorted(cum, u, right=True).clamp_max(k - 1)
    return counts.scatter_add_(-1, index, torch.ones_like(u))


def _by_binomials(probs, shape, n, generator) -> torch.Tensor:
    """Conditional binomial draws, category by category (see the module docstring)."""
    k = shape[-1]
    probs = probs.expand(shape)
    suffix = probs.flip(-1).cumsum(-1).flip(-1)  # Σ_{i ≥ j} p_i
    left = torch.full(shape[:-1], float(n), dtype=probs.dtype, device=probs.device)
    out = []
    for j in range(k - 1):
        share = (probs[..., j] / suffix[..., j]).nan_to_num(0.0).clamp(0, 1)
        x = torch.binomial(left, share, generator=generator)
        out.append(x)
        left = left - x
    out.append(left)
    return torch.stack(out, -1)
