r"""One-hot categorical distribution and its straight-through variant.

A :class:`~rsample.Categorical` draw :math:`j` written as the one-hot vector :math:`e_j` (event
shape ``(K,)``): :math:`P(X = e_j) = p_j`. Everything is delegated to the wrapped categorical
(``_categorical``, as in torch): its exponential-race sampler (the one-hot vector is written by a
``scatter`` into zeros), its cancellation-free log-probabilities and entropy. The variance
:math:`p_j(1 - p_j)` uses :math:`1 - p_k = r/(1 + r)` for the most likely category (see
:mod:`.categorical`), exact where :math:`p_k` rounds to 1.

:class:`OneHotCategoricalStraightThrough` adds the straight-through ``rsample`` of Bengio,
Léonard & Courville (2013, "Estimating or propagating gradients through stochastic neurons for
conditional computation", arXiv:1308.3432): the value of a one-hot draw with the gradient of
``probs`` — a *biased* estimator, so ``rsample_kind = "straight_through"``.
"""

from __future__ import annotations

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from .categorical import CategoricalParams, complement_probs

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategorical(CategoricalParams, Distribution):
    """One-hot categorical with ``probs`` or ``logits`` over the last dimension."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True
    rsample_kind = None

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_categorical(probs, logits, validate_args)

    def __repr__(self) -> str:
        cat = self._categorical
        return f"{type(self).__name__}({cat._given}: {tuple(cat._raw.shape)})"

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        with torch.no_grad():
            index = self._categorical.sample(sample_shape, generator=generator)
            return self._one_hot(index)

    def _one_hot(self, index: torch.Tensor) -> torch.Tensor:
        raw = self._categorical._raw
        out = torch.zeros(index.shape + raw.shape[-1:], dtype=raw.dtype, device=raw.device)
        return out.scatter_(-1, index.unsqueeze(-1), 1.0)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        n = self._event_shape[0]
        raw = self._categorical._raw
        values = torch.eye(n, dtype=raw.dtype, device=raw.device)
        values = values.view((n,) + (1,) * len(self._batch_shape) + (n,))
        if expand:
            values = values.expand((n, *self._batch_shape, n))
        return values

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self._categorical.probs

    @property
    def mode(self) -> torch.Tensor:
        """The one-hot vector of the most likely category (the first at ties)."""
        return self._one_hot(self._categorical.mode)

    @property
    def variance(self) -> torch.Tensor:
        r""":math:`p_j (1 - p_j)`, with :math:`1 - p_k = r/(1 + r)` at the most likely one."""
        return self._categorical.probs * complement_probs(self._categorical)

    def entropy(self) -> torch.Tensor:
        return self._categorical.entropy()


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """:class:`OneHotCategorical` whose ``rsample`` is the straight-through estimator
    ``sample + (probs − probs.detach())`` (biased; Bengio et al. 2013)."""

    rsample_kind = "straight_through"

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        with torch.no_grad():
            hard = self._one_hot(self._categorical.sample(sample_shape, generator=generator))
        probs = self._categorical.probs
        return hard + (probs - probs.detach())
