"""What every estimator in :mod:`rsample.gradients` shares: which distributions are accepted
(Bernoulli, Categorical, OneHotCategorical, rsample's or torch's, optionally inside an
``Independent``), drawing with a ``generator``, checks of the arguments, and the shape contract
for ``f``.

**The contract for** ``f``: it receives a batch of draws with a leading sample dimension,
``(n, *batch_shape, *event_shape)``, and returns ``(n, *batch_shape)``: one value per draw and
per independent problem of the batch, whose expectations are summed. It may instead return
``(n, *batch_shape[:m])``: then it is a *joint* function of the trailing batch dimensions it
drops (e.g. a Bernoulli of batch shape ``(N, 3)`` and an ``f`` returning ``(n, N)``: ``N``
problems over three bits each); an ``Independent`` distribution's reinterpreted dimensions are
always joint.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch
import torch.distributions as _td
import torch.nn.functional as F

from .. import _random

Objective = Callable[[torch.Tensor], torch.Tensor]


class _Problem:
    """A parsed discrete distribution: its kind, base distribution and live logits.

    Attributes:
        kind: ``"bernoulli"``, ``"categorical"`` (integer indices) or ``"one_hot"``.
        base: the distribution itself, or the base of an ``Independent``.
        logits: the base's ``logits`` (binary logits for a Bernoulli, log-probabilities up to
            a constant for the categorical kinds), connected to the graph of the parameters.
        batch_shape: the base's batch shape (reinterpreted dimensions included).
        max_keep: how many leading batch dimensions ``f``'s output may keep (the rest are
            joint: reduced by ``f``).
    """

    __slots__ = ("base", "batch_shape", "kind", "logits", "max_keep", "name")

    def __init__(self, name: str, dist) -> None:
        base, joint = dist, 0
        while _is_independent(base):
            joint += base.reinterpreted_batch_ndims
            base = base.base_dist
        kind = _kind(base)
        if kind is None:
            raise ValueError(
                f"{name}: dist must be a Bernoulli, Categorical or OneHotCategorical (rsample's "
                f"or torch.distributions', optionally inside Independent), got "
                f"{type(dist).__name__}"
            )
        self.name = name
        self.kind = kind
        self.base = base
        self.logits = base.logits
        self.batch_shape = torch.Size(base.batch_shape)
        self.max_keep = len(self.batch_shape) - joint

    @property
    def num_categories(self) -> int:
        return self.logits.shape[-1]

    def draw(self, num: int, generator: torch.Generator | None) -> torch.Tensor:
        """``num`` draws, shape ``(num, *batch_shape, *event_shape)``, as the base samples."""
        logits = self.logits.detach()
        if self.kind == "bernoulli":  # u < σ(ℓ) ⇔ logit(u) < ℓ
            return (logistic((num, *logits.shape), logits, generator) < logits).to(logits.dtype)
        index = (logits + gumbel((num, *logits.shape), logits, generator)).argmax(-1)
        return index if self.kind == "categorical" else self.one_hot(index)

    def one_hot(self, index: torch.Tensor) -> torch.Tensor:
        return F.one_hot(index, self.num_categories).to(self.logits.dtype)

    def evaluate(self, f: Objective, x: torch.Tensor) -> torch.Tensor:
        """``f(x)``, checked against the shape contract, as a floating tensor."""
        fx = f(x)
        rows = x.shape[0]
        if not isinstance(fx, torch.Tensor):
            raise ValueError(f"{self.name}: f must return a tensor, got {type(fx).__name__}")
        keep = fx.dim() - 1
        if (
            fx.dim() < 1
            or fx.shape[0] != rows
            or keep > self.max_keep
            or fx.shape[1:] != self.batch_shape[:keep]
        ):
            expected = (rows, *self.batch_shape[: self.max_keep])
            raise ValueError(
                f"{self.name}: f must return a tensor of shape (num draws, *batch_shape) = "
                f"{expected} (or keep fewer leading batch dims for a joint function of the "
                f"rest), got {tuple(fx.shape)}"
            )
        if not fx.is_floating_point():
            fx = fx.to(self.logits.dtype)
        return fx

    def per_draw(self, t: torch.Tensor, keep: int) -> torch.Tensor:
        """Sum a ``(n, *batch_shape)`` tensor over the batch dims past the first ``keep``."""
        extra = t.dim() - 1 - keep
        return t.sum(tuple(range(1 + keep, t.dim()))) if extra > 0 else t


def _is_independent(dist) -> bool:
    if isinstance(dist, _td.Independent):
        return True
    from ..distributions.wrappers.independent import Independent

    return isinstance(dist, Independent)


def _kind(dist) -> str | None:
    from ..distributions import discrete

    classes = (
        ("one_hot", _td.OneHotCategorical, "OneHotCategorical"),
        ("categorical", _td.Categorical, "Categorical"),
        ("bernoulli", _td.Bernoulli, "Bernoulli"),
    )
    for kind, torch_class, name in classes:
        own = getattr(discrete, name, None)
        if isinstance(dist, torch_class) or (own is not None and isinstance(dist, own)):
            return kind
    return None


def expand_right(t: torch.Tensor, dim: int) -> torch.Tensor:
    """``t`` viewed with trailing size-1 dims up to ``dim`` dims (for right broadcasting)."""
    return t.reshape(t.shape + (1,) * (dim - t.dim())) if t.dim() < dim else t


def check_num_samples(name: str, num_samples, minimum: int = 1, why: str = "") -> int:
    if (
        isinstance(num_samples, bool)
        or not isinstance(num_samples, numbers.Integral)
        or num_samples < minimum
    ):
        raise ValueError(
            f"{name}: num_samples must be an integer >= {minimum}{why}, got {num_samples!r}"
        )
    return int(num_samples)


def uniform(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Float64 uniforms in ``[tiny, 1)`` on ``like``'s device, whatever its dtype (logs must
    stay finite, and ``torch.rand`` can return 0). Callers transform them into noise in float64
    and cast the noise to ``like``'s dtype: float32 uniforms have 24 bits, so an event of
    probability 1e-9 decided by ``u < p`` would happen with probability 6e-8, and Gumbel noise
    would end at 16.6 (categories 21 nats below the top could never be drawn)."""
    u = _random.uniform(shape, dtype=torch.float64, device=like.device, generator=generator)
    return u.clamp_(min=torch.finfo(torch.float64).tiny)


def logit(u: torch.Tensor) -> torch.Tensor:
    """:math:`\\log u - \\log(1 - u)`: standard logistic noise from a uniform."""
    return torch.log(u) - torch.log1p(-u)


def log_exponential(u: torch.Tensor) -> torch.Tensor:
    """``log E`` for ``E = −log u ~ Exp(1)`` (so ``−log E`` is a standard Gumbel)."""
    return torch.log(-torch.log(u))


def logistic(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard logistic noise in ``like``'s dtype, from float64 uniforms (finite)."""
    return logit(uniform(shape, like, generator)).to(like.dtype)


def gumbel(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard Gumbel noise :math:`-\\log(-\\log u)` in ``like``'s dtype, from float64
    uniforms (finite)."""
    return (-log_exponential(uniform(shape, like, generator))).to(like.dtype)


def _check_generator(name: str, generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(
            f"{name}: generator must be a torch.Generator or None, got {type(generator).__name__}"
        )


# --------------------------------------------------------------------------- baselines
