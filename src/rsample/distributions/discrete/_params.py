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
"""

from __future__ import annotations

import torch

__all__ = [
    "binary_logits",
    "binary_probs",
    "categorical_logits",
    "categorical_probs",
    "normalize_logits",
    "normalize_probs",
    "one_of",
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
