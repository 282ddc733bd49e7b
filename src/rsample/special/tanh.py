"""Numerics of the tanh squashing used by TanhNormal and TanhTransform."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._scalars import const

__all__ = ["atanh_clamped", "clamp_open_unit", "log1m_tanh_sq"]

LOG_2 = math.log(2.0)


def clamp_open_unit(y: torch.Tensor) -> torch.Tensor:
    """Move values at or beyond ±1 to the nearest representable value inside (−1, 1).

    ``1 − eps/2`` is the largest float below 1 in every binary format (float64/32/16, bfloat16),
    so only values that are exactly ±1 (a saturated ``tanh``) or outside move; nothing inside the
    interval is distorted, unlike a fixed epsilon.
    """
    edge = 1.0 - torch.finfo(y.dtype).eps / 2
    return y.clamp(-edge, edge)


def atanh_clamped(y: torch.Tensor) -> torch.Tensor:
    """``atanh(clamp_open_unit(y))`` as ``½(log1p(y) − log1p(−y))``: finite at y = ±1."""
    y = clamp_open_unit(y)
    return 0.5 * (torch.log1p(y) - torch.log1p(-y))


def log1m_tanh_sq(u: torch.Tensor) -> torch.Tensor:
    r"""``log(1 − tanh²u) = 2(log 2 − u − softplus(−2u))``, finite for every finite ``u``.

    The direct form underflows to ``log 0`` once ``tanh u`` rounds to ±1 (``|u| ≳ 9`` in float32);
    this one is exact there (SAC, Haarnoja et al. 2018, appendix C; torch's TanhTransform). For
    ``u → −∞`` the terms ``−u`` and ``softplus(−2u) ≈ −2u`` cancel to ``u`` with an error relative
    to ``|u|``, i.e. to the result: no accuracy is lost.
    """
    v = u * const(-2.0, u.dtype)
    return torch.add(const(2 * LOG_2, u.dtype) + v, F.softplus(v), alpha=-2)
