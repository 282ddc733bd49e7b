"""What every wrapper of a ``base_dist`` shares: its gradient kind and generator plumbing.

A base may be an rsample distribution or a plain ``torch.distributions`` one; only the former
takes ``generator=`` (or a torch subclass whose sampler declares that keyword).
"""

from __future__ import annotations

import inspect

import torch
import torch.distributions as _td

from ...distribution import Distribution


class _KindFromBase:
    """``rsample_kind`` read from ``base_dist``; ``None`` on the class itself.

    ``Distribution.__init_subclass__`` reads ``rsample_kind`` on the class, before any base
    exists, so a plain property would not pass its check. A torch base declares no kind; its
    ``has_rsample`` is taken to mean an exact ("explicit") reparameterization.
    """

    def __get__(self, obj, owner=None) -> str | None:
        if obj is None:
            return None
        base = obj.base_dist
        if isinstance(base, Distribution):
            return base.rsample_kind
        return "explicit" if base.has_rsample else None


class WrapperDistribution(Distribution):
    """Base of distributions built around ``self.base_dist``: kind and ``has_rsample`` follow it."""

    rsample_kind = _KindFromBase()
    base_dist: _td.Distribution

    def __init_subclass__(cls, **kwargs):
        declares_kind = "rsample_kind" in cls.__dict__
        declares_has_rsample = "has_rsample" in cls.__dict__
        super().__init_subclass__(**kwargs)
        if not declares_kind and not declares_has_rsample and "has_rsample" in cls.__dict__:
            # The base class just pinned has_rsample from the class-level kind (None);
            # remove it so the property below keeps following base_dist.
            del cls.has_rsample

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample


def draw(base: _td.Distribution, method: str, sample_shape, generator) -> torch.Tensor:
    """``base.sample`` or ``base.rsample``, passing ``generator`` only where it is accepted."""
    sampler = getattr(base, method)
    if isinstance(base, Distribution):
        return sampler(sample_shape, generator=generator)
    if generator is None:
        return sampler(sample_shape)
    if "generator" not in inspect.signature(sampler).parameters:
        raise TypeError(
            f"generator= was given but the base distribution {type(base).__name__} "
            f"({type(base).__module__}) does not accept one in {method}(); use an rsample "
            "distribution as the base, or seed torch's global generator instead"
        )
    return sampler(sample_shape, generator=generator)


def draw_with_log_prob(
    base: _td.Distribution, sample_shape, generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``base.rsample_and_log_prob`` for an rsample base; ``rsample`` then ``log_prob`` else."""
    if isinstance(base, Distribution):
        return base.rsample_and_log_prob(sample_shape, generator=generator)
    x = draw(base, "rsample", sample_shape, generator)
    return x, base.log_prob(x)
