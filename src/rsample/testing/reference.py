"""Comparisons of a distribution's methods with reference values (scipy in float64)."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["assert_close"]


def assert_close(actual, expected, *, rtol: float, atol: float = 0.0, label: str = "") -> None:
    """Element-wise ``|a − e| ≤ atol + rtol·|e|``; equal infinities and NaNs count as equal.

    The failure message names the worst element, its index and both values.
    """
    a = (
        actual.detach().cpu().double().numpy()
        if isinstance(actual, torch.Tensor)
        else np.asarray(actual, float)
    )
    e = (
        expected.detach().cpu().double().numpy()
        if isinstance(expected, torch.Tensor)
        else np.asarray(expected, float)
    )
    a, e = np.broadcast_arrays(a, e)
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(a - e))
        bound = atol + rtol * np.abs(e)
        bad = ~same & ~(err <= bound)
    if bad.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.where(bad, np.nan_to_num(err / np.maximum(bound, 1e-300), nan=np.inf), -1.0)
        worst = np.unravel_index(np.argmax(excess), a.shape)
        raise AssertionError(
            f"{label}: {int(bad.sum())}/{a.size} elements differ; "
            f"worst at {tuple(map(int, worst))}: "
            f"got {a[worst]!r}, expected {e[worst]!r} (rtol={rtol:g}, atol={atol:g})"
        )
