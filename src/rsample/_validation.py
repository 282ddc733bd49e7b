"""Argument and sample validation that never forces a device→host synchronization.

What a check does depends on where the tensor lives:

* **CPU, eager**: a fast reduction (one ``sum`` or ``aminmax``) decides whether every element is
  certainly valid; only when it is not does a precise pass locate an offending element, and a
  ``ValueError`` names the distribution, the argument, the constraint and that value. Reading a
  CPU scalar is not a device sync.
* **Accelerators (CUDA, MPS, …), eager**: by default (``"async"``) the check is enqueued with
  ``torch._assert_async``: no sync, and an invalid value surfaces as a device-side assertion at
  the next synchronization. ``set_device_validation("sync")`` gives the CPU behaviour (and its
  syncs) for debugging; ``"off"`` skips device checks.
* **Under ``torch.compile``**: the check is traced as ``torch._assert_async`` (no graph break,
  no sync); a failure raises ``RuntimeError`` with the same message.
* **Under ``torch.func`` transforms (vmap, grad)**: checks are skipped, since a batched tensor
  has no single truth value; validate outside the transform.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

__all__ = ["get_device_validation", "set_device_validation"]

_DEVICE_MODES = ("async", "sync", "off")
_device_mode = "async"


def set_device_validation(mode: str) -> None:
    """Choose how validation behaves for tensors on accelerators: ``"async"``, ``"sync"``, ``"off"``."""
    global _device_mode
    if mode not in _DEVICE_MODES:
        raise ValueError(f"set_device_validation: mode must be one of {_DEVICE_MODES}, got {mode!r}")
    _device_mode = mode


def get_device_validation() -> str:
    """The current accelerator validation mode (see :func:`set_device_validation`)."""
    return _device_mode


_is_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", lambda x: False)


def _bounds(constraint) -> tuple[float, float, bool, bool] | None:
    """(low, high, low_inclusive, high_inclusive) for scalar-bounded constraints, else None."""
    if constraint is constraints.real:
        return (-math.inf, math.inf, True, True)
    if constraint is constraints.positive:
        return (0.0, math.inf, False, True)
    if constraint is constraints.nonnegative:
        return (0.0, math.inf, True, True)
    if constraint is constraints.unit_interval:
        return (0.0, 1.0, True, True)
    low = getattr(constraint, "lower_bound", None)
    high = getattr(constraint, "upper_bound", None)
    if not all(isinstance(b, (int, float)) for b in (low, high) if b is not None):
        return None
    name = type(constraint).__name__
    if name == "_GreaterThan":
        return (float(low), math.inf, False, True)
    if name == "_GreaterThanEq":
        return (float(low), math.inf, True, True)
    if name == "_LessThan":
        return (-math.inf, float(high), True, False)
    if name == "_Interval":
        return (float(low), float(high), True, True)
    if name == "_HalfOpenInterval":
        return (float(low), float(high), True, False)
    if name == "_OpenInterval":
        return (float(low), float(high), False, False)
    return None


def _in_bounds(lo: float, hi: float, bounds, finite: bool) -> bool:
    """Whether a tensor whose min/max are (lo, hi) lies in ``bounds`` (NaN fails every test)."""
    low, high, low_incl, high_incl = bounds
    ok_low = lo >= low if low_incl else lo > low
    ok_high = hi <= high if high_incl else hi < high
    if finite:
        ok_low = ok_low and lo > -math.inf
        ok_high = ok_high and hi < math.inf
    return ok_low and ok_high


def _certainly_valid(constraint, x: torch.Tensor, finite: bool) -> bool:
    """One cheap reduction; False means "look closer", not "invalid"."""
    if x.numel() == 0:
        return True
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    bounds = _bounds(constraint)
    if bounds is not None and bounds[:2] == (-math.inf, math.inf):
        # Real line: the sum is finite iff every element is (barring overflow, which only
        # sends us to the precise path); not-NaN is enough when infinities are allowed.
        total = float(x.sum())
        return math.isfinite(total) if finite else total == total
    if bounds is not None:
        lo, hi = torch.aminmax(x)
        return _in_bounds(float(lo), float(hi), bounds, finite)
    return False


def _valid_mask(constraint, x: torch.Tensor, finite: bool) -> torch.Tensor:
    ok = constraint.check(x)
    event_dim = getattr(constraint, "event_dim", 0)
    if finite and x.is_floating_point():
        fin = torch.isfinite(x)
        if event_dim:
            fin = fin.flatten(-event_dim).all(-1)
        ok = ok & fin
    return ok


def _describe_violation(x: torch.Tensor, ok: torch.Tensor) -> str:
    """The first offending element (or event), with its index."""
    if ok.dim() == 0:
        return repr(x.item() if x.numel() == 1 else x.tolist())
    index = tuple(int(i) for i in (~ok).nonzero()[0])
    element = x[index]
    shown = element.item() if element.numel() == 1 else element.tolist()
    return f"{shown!r} at index {list(index)}"


def check(dist_name: str, arg: str, constraint, x: torch.Tensor, *, finite: bool) -> None:
    """Raise ``ValueError`` if ``x`` violates ``constraint`` (and, if ``finite``, is not finite)."""
    if _is_wrapped(x):
        return
    compiling = torch.compiler.is_compiling()
    on_host = x.device.type == "cpu"
    if compiling or (not on_host and _device_mode == "async"):
        rule = f"{constraint}{' and finite' if finite else ''}"
        message = f"{dist_name}: argument '{arg}' must satisfy {rule}"
        torch._assert_async(_valid_mask(constraint, x.detach(), finite).all(), message)
        return
    if not on_host and _device_mode == "off":
        return
    x = x.detach()
    if _certainly_valid(constraint, x, finite):
        return
    ok = _valid_mask(constraint, x, finite)
    if bool(ok.all()):
        return
    rule = f"{constraint}{' and finite' if finite else ''}"
    raise ValueError(
        f"{dist_name}: argument '{arg}' must satisfy the constraint {rule}, "
        f"but found invalid value {_describe_violation(x, ok)} "
        f"(shape {tuple(x.shape)}, dtype {x.dtype})"
    )
