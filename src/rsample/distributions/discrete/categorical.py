r"""Categorical distribution over :math:`\{0, \dots, K-1\}` (the last dimension of the parameter).

.. math:: P(X = j) = p_j = \frac{w_j}{\sum_i w_i} = \frac{e^{\ell_j}}{\sum_i e^{\ell_i}}

with ``probs`` :math:`w` (non-negative, normalized over the last dimension as torch does) or
``logits`` :math:`\ell` (unnormalized; ``-inf`` masks a category). The given tensor is stored as
it is and normalized lazily: ``probs``/``logits`` return the normalized values, as in torch.

**Sampling** (``generator=`` honoured) is an exponential race, with no normalization and no
softmax: :math:`\arg\max_j (\ell_j - \log E_j)` (the Gumbel-max trick, :math:`E_j = -\log U_j
\sim \mathrm{Exp}(1)`), or :math:`\arg\max_j w_j / E_j` from ``probs``, evaluated in place in
one noise buffer; ``torch.multinomial`` (torch's sampler) is several times slower. The noise has
the parameter's dtype: in float32 (24-bit uniforms, :math:`E \ge 6\cdot10^{-8}`) a category
whose probability is below ~1e-6 of the most likely one's is drawn at a rate off by a factor
of order one (below 4e-9 of it: never; measured: 116, 19 and 4 draws in 2e7 where 123, 17 and
2.3 were expected at ratios e^-12, e^-14, e^-16); float64 parameters draw float64 noise.

**Normalization without cancellation.** With :math:`m = \max_j \ell_j` attained at :math:`k`
and :math:`r = \sum_{j \ne k} e^{\ell_j - m}` (the largest term left out of the sum, not
subtracted from it), :math:`\log p_j = (\ell_j - m) - \mathrm{log1p}(r)`: the most likely
category keeps its :math:`\log p_k = -\mathrm{log1p}(r) \approx -r` (``logits - logsumexp``
rounds it to 0 when :math:`r < \epsilon`), and the entropy
:math:`H = \mathrm{log1p}(r) + \sum_j p_j (m - \ell_j)` is a sum of non-negative terms. From
``probs`` the same with :math:`e^{\ell_j - m} = w_j / \max w`.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _validation
from ..._eager import host_reads_free
from ...distribution import Distribution
from ._params import IntegerSupport, expand_given, log_or_neg_inf, one_of

__all__ = ["Categorical"]


class Categorical(IntegerSupport, Distribution):
    """Categorical distribution with ``probs`` or ``logits`` over the last dimension."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True
    rsample_kind = None

    def __init__(self, probs=None, logits=None, validate_args=None):
        name = type(self).__name__
        self._given, value = one_of(name, probs, logits)
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                f"{name}: '{self._given}' must be a tensor, got {type(value).__name__}"
            )
        if value.dim() < 1:
            raise ValueError(f"{name}: '{self._given}' must be at least one-dimensional")
        if not value.is_floating_point():
            value = value.to(torch.get_default_dtype())
        self._raw = value
        self._num_events = value.shape[-1]
        super().__init__(value.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_given(self, batch_shape, _instance, keys=("_raw",))

    def _validate_parameters(self) -> None:
        validate_raw(type(self).__name__, self._raw, self._given)

    def _int_bounds(self):
        return 0.0, float(self._num_events - 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._given}: {tuple(self._raw.shape)})"

    # ----------------------------------------------------------------- parameters
    @property
    def _param(self) -> torch.Tensor:
        return self._raw

    @property
    def param_shape(self) -> torch.Size:
        return self._raw.shape

    def _new(self, *args, **kwargs):
        return self._raw.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> torch.Tensor:
        """Normalized log-probabilities, :math:`\\log p_j` (``-inf`` where :math:`p_j = 0`)."""
        top, log1p_rest = self._norm
        return _log_ratio(self._raw, top.unsqueeze(-1), self._given) - log1p_rest.unsqueeze(-1)

    @lazy_property
    def probs(self) -> torch.Tensor:
        if self._given == "logits":
            return torch.softmax(self._raw, -1)
        return self._raw / self._raw.sum(-1, keepdim=True)

    @lazy_property
    def _norm(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(m, log1p(r))`` per row (see the module docstring): :math:`\\log p_j` is
        ``log_ratio_j − log1p(r)`` with ``log_ratio_j`` = :math:`\\ell_j - m` or
        :math:`\\log(w_j / m)`."""
        top, rest = _row_stats(self._raw, self._given)
        return top, torch.log1p(rest)

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            return race(self._raw.detach(), shape, self._given, generator)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        top, log1p_rest = self._norm
        index = value.long().unsqueeze(-1)
        index, raw = torch.broadcast_tensors(index, self._raw)
        picked = raw.gather(-1, index[..., :1]).squeeze(-1)
        return _log_ratio(picked, top, self._given) - log1p_rest

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`F(k) = \sum_{j \le k} p_j` over the category index (1 exactly at ``K − 1``)."""
        if self._validate_args:
            self._validate_sample(value)
        cum = self.probs.cumsum(-1).clamp_max(1)
        cum = torch.cat([cum[..., :-1], torch.ones_like(cum[..., -1:])], -1)
        index = value.long().clamp(0, self._num_events - 1).unsqueeze(-1)
        index, cum = torch.broadcast_tensors(index, cum)
        out = cum.gather(-1, index[..., :1]).squeeze(-1)
        return torch.where(value < 0, torch.zeros_like(out), out)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        return self._enumerate(self._num_events, torch.long, expand)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """Undefined for categories (NaN, as in torch)."""
        return torch.full(
            self._extended_shape(), math.nan, dtype=self._raw.dtype, device=self._raw.device
        )

    @property
    def variance(self) -> torch.Tensor:
        """Undefined for categories (NaN, as in torch)."""
        return self.mean

    @property
    def mode(self) -> torch.Tensor:
        """The most likely category (the first one at ties, as torch's ``argmax``)."""
        return self._raw.argmax(-1)

    def entropy(self) -> torch.Tensor:
        r""":math:`\mathrm{log1p}(r) + \sum_j p_j (m - \ell_j)`: non-negative terms only."""
        return entropy_from_raw(self._raw, self._given, self._norm)


# --------------------------------------------------------------------------- helpers
# Shared with OneHotCategorical, Multinomial and the KL module.
def validate_raw(name: str, raw: torch.Tensor, given: str) -> None:
    """Check unnormalized categorical ``probs`` or ``logits`` (see :class:`Categorical`): one
    row-wise ``amax`` and, on the CPU, one scalar read decide the common case."""
    fast = host_reads_free(raw) and raw.numel() > 0
    if given == "probs":
        # torch checks its normalized probs against the simplex: that accepts any
        # non-negative, finite row with a positive sum. The same here, without normalizing.
        _validation.check(name, "probs", constraints.nonnegative, raw, finite=True)
        top = raw.detach().amax(-1)
        if fast and float(top.amin()) > 0:
            return
        _validation.check_batch(
            name,
            "probs",
            "simplex (after normalizing each row: non-negative, finite, positive sum)",
            ~(top > 0),
            reason="a row sums to 0",
        )
        return
    top = raw.detach().amax(-1)  # NaN propagates; +inf or an all −inf row is caught too
    if fast and math.isfinite(float(top.sum())):
        return
    bad = ~((top > -math.inf) & (top < math.inf))
    _validation.check_batch(
        name,
        "logits",
        "real_vector (no NaN or +inf; −inf masks a category, not all of a row)",
        torch.where(bad, top, torch.zeros_like(top)),
        reason="the largest logit of a row is {value}",
    )


def _log_ratio(raw: torch.Tensor, top: torch.Tensor, given: str) -> torch.Tensor:
    """:math:`\\ell - m` (logits) or :math:`\\log(w/m)` (probs): the log-probability relative to
    the most likely category."""
    if given == "logits":
        return raw - top
    return log_or_neg_inf(raw / top)  # a category of probability 0: −inf, no NaN derivative


def _row_stats(raw: torch.Tensor, given: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(m, r)``: the row maximum and :math:`r = \\sum_{j \\ne k} e^{\\ell_j - m}`, the sum with
    the term of the (first) maximal category removed by writing a zero over it (exact; other
    maximal categories count 1 each)."""
    top, where = raw.max(-1, keepdim=True)
    ratio = torch.exp(raw - top) if given == "logits" else raw / top
    if torch.is_grad_enabled() and ratio.requires_grad:
        ratio = ratio.scatter(-1, where, 0.0)
    else:
        ratio.scatter_(-1, where, 0.0)
    return top.squeeze(-1), ratio.sum(-1)


def complement_probs(cat: Categorical) -> torch.Tensor:
    """:math:`1 - p_j`, with :math:`1 - p_k = r/(1 + r)` for the most likely category (exact
    where :math:`p_k` rounds to 1)."""
    probs = cat.probs
    top_complement = -torch.expm1(-cat._norm[1])  # r/(1 + r)
    where = cat._raw.argmax(-1, keepdim=True)
    return (1 - probs).scatter(-1, where, top_complement.unsqueeze(-1))


def entropy_from_raw(raw: torch.Tensor, given: str, norm) -> torch.Tensor:
    """Entropy of the categorical with unnormalized ``raw`` probs/logits and row statistics
    ``norm`` = ``(m, log1p(r))`` (see the module docstring)."""
    top, log1p_rest = norm
    top = top.unsqueeze(-1)
    if given == "logits":
        gap = (top - raw).clamp_max(torch.finfo(raw.dtype).max)  # ∞ (a masked category) → max
        weighted = torch.exp(-gap) * gap
    else:
        ratio = raw / top
        weighted = -torch.xlogy(ratio, ratio)
    return log1p_rest + weighted.sum(-1) * torch.exp(-log1p_rest)


def race(raw: torch.Tensor, shape: torch.Size, given: str, generator) -> torch.Tensor:
    """Category indices of shape ``shape`` by the exponential race (see the module docstring).

    The noise buffer is reused in place: ``u → log u → −log u → log(−log u) → ℓ − log(−log u)``
    (a ``u`` of exactly 0 gives an ``E`` of ``+∞``: that category cannot win, never NaN); from
    probs ``w / log u`` is minimized instead (``u`` floored at the smallest normal number so
    that ``log u < 0``).
    """
    u = torch.empty(shape + raw.shape[-1:], dtype=raw.dtype, device=raw.device)
    u.uniform_(generator=generator)
    inplace = not torch.compiler.is_compiling()
    if given == "logits":
        if inplace:
            u.log_().neg_().log_()
            return torch.sub(raw, u, out=u).argmax(-1)
        return (raw - torch.log(-torch.log(u))).argmax(-1)
    if inplace:
        u.clamp_min_(torch.finfo(u.dtype).tiny).log_()
        return torch.div(raw, u, out=u).argmin(-1)
    return (raw / torch.log(u.clamp_min(torch.finfo(u.dtype).tiny))).argmin(-1)


class CategoricalParams:
    """``probs``, ``logits``, the parameter tensor, construction, validation and ``expand`` of a
    family built on a Categorical ``_categorical`` (OneHotCategorical, Multinomial), whose event
    dimension is the categories."""

    _categorical: Categorical

    def _set_categorical(self, probs, logits, validate_args) -> None:
        self._categorical = Categorical(probs, logits, validate_args=False)
        cat = self._categorical
        Distribution.__init__(self, cat.batch_shape, cat.param_shape[-1:], validate_args)

    def _validate_parameters(self) -> None:
        cat = self._categorical
        validate_raw(type(self).__name__, cat._raw, cat._given)

    def expand(self, batch_shape, _instance=None):
        """Expands the wrapped categorical; plain attributes (``total_count``) are shared."""
        cls = type(self)
        new = _instance if _instance is not None else cls.__new__(cls)
        for key, value in self.__dict__.items():
            if not isinstance(value, (torch.Tensor, Distribution)):
                new.__dict__.setdefault(key, value)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, new._categorical.batch_shape, self._event_shape, False)
        new._validate_args = self._validate_args
        return new

    @property
    def _param(self) -> torch.Tensor:
        return self._categorical._param

    @property
    def param_shape(self) -> torch.Size:
        return self._categorical.param_shape

    @property
    def probs(self) -> torch.Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> torch.Tensor:
        return self._categorical.logits

    def _new(self, *args, **kwargs):
        return self._categorical._new(*args, **kwargs)
