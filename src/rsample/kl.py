"""KL divergence registry: ``register_kl`` and ``kl_divergence`` with torch's names and semantics.

A registration is recorded here *and* in ``torch.distributions.kl``, so both
``rsample.kl_divergence`` and ``torch.distributions.kl_divergence`` find it. Dispatch picks the
most specific registered pair by method-resolution order, as torch does; a pair that rsample
does not know is handed to torch's registry (so torch's own distributions keep working).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.distributions.kl as _torch_kl
from torch.distributions import Distribution as _TorchDistribution

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(p, q) -> KL(p ‖ q)`` for instances of ``type_p``, ``type_q``."""
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, _TorchDistribution)):
            raise TypeError(f"register_kl: expected a Distribution subclass, got {t!r}")

    def decorator(fn: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = fn
        _dispatch.cache_clear()
        _torch_kl.register_kl(type_p, type_q)(fn)
        return fn

    return decorator


@functools.cache
def _dispatch(type_p: type, type_q: type) -> Callable | None:
    matches = [(p, q) for p, q in _KL_REGISTRY if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return None

    # The most specific pair: smallest MRO distance, left argument first (as torch orders it).
    def rank(pair):
        return (type_p.__mro__.index(pair[0]), type_q.__mro__.index(pair[1]))

    return _KL_REGISTRY[min(matches, key=rank)]


def kl_divergence(p: _TorchDistribution, q: _TorchDistribution) -> torch.Tensor:
    """``KL(p ‖ q)``, batched over the distributions' batch shape."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        return _torch_kl.kl_divergence(p, q)
    return fn(p, q)
