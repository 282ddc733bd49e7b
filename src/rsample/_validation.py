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
* **Under ``torch.compile``**: checks of scalar-bounded constraints (real, positive, intervals
  with number bounds, …) are traced as ``torch._assert_async`` (no graph break, no sync; a failure
  raises ``RuntimeError`` with the same message); constraints with tensor bounds (``Uniform``'s
  support) are not checked inside a compiled graph.
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
    """Choose validation for tensors on accelerators: ``"async"``, ``"sync"`` or ``"off"``."""
    global _device_mode
    if mode not in _DEVICE_MODES:
        raise ValueError(
            f"set_device_validation: mode must be one of {_DEVICE_MODES}, got {mode!r}"
        )
    _device_mode = mode


def get_device_validation() -> str:
    """The current accelerator validation mode (see :func:`set_device_validation`)."""
    return _device_mode


_is_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", lambda x: False)


def _bounds(constraint) -> tuple[float, float, bool, bool] | None:
    """(low, high, low_inclusive, high_inclusive) for scalar-bounded constraints, else None.

    ``independent(c, n)`` (e.g. ``real_vector``) has the bounds of ``c``: every element of every
    event must satisfy them, so the elementwise check is the same condition.
    """
    while isinstance(constraint, constraints.independent):
        constraint = constraint.base_constraint
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


# Bounds of torch's constraint singletons, looked up by identity (they live as long as the
# process, so their ids are stable): the per-call cost of a check is then one dict lookup.
_SINGLETON_BOUNDS = {
    id(c): _bounds(c)
    for c in (
        constraints.real,
        constraints.positive,
        constraints.nonnegative,
        constraints.unit_interval,
        constraints.real_vector,
    )
}


def _certainly_valid(constraint, x: torch.Tensor, finite: bool) -> bool:
    """One cheap reduction; False means "look closer", not "invalid"."""
    if x.numel() == 0:
        return True
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    bounds = _SINGLETON_BOUNDS.get(id(constraint))
    if bounds is None:
        bounds = _bounds(constraint)
    if bounds is not None and x.numel() == 1:  # a number: one read, no reduction kernel
        value = float(x)
        return _in_bounds(value, value, bounds, finite)
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


_SINGLETON_NAMES = {
    id(constraints.real): "real",
    id(constraints.positive): "positive",
    id(constraints.nonnegative): "nonnegative",
    id(constraints.unit_interval): "unit_interval",
    id(constraints.real_vector): "real_vector",
}


def _describe_constraint(constraint) -> str:
    """``positive (0, inf)``-style text; built from numbers only, so dynamo can fold it."""
    name = _SINGLETON_NAMES.get(id(constraint)) or type(constraint).__name__.lstrip("_")
    bounds = _bounds(constraint)
    if bounds is None:
        return name
    low, high, low_incl, high_incl = bounds
    opening = "[" if low_incl and low > -math.inf else "("
    closing = "]" if high_incl and high < math.inf else ")"
    return f"{name} {opening}{low:g}, {high:g}{closing}"


def _traceable_mask(constraint, x: torch.Tensor, finite: bool) -> torch.Tensor | None:
    """The validity mask from rsample's own arithmetic (dynamo does not trace into
    ``torch.distributions``), or None for constraints it cannot express."""
    bounds = _bounds(constraint)
    if bounds is None:
        return None
    low, high, low_incl, high_incl = bounds
    ok = (x >= low if low_incl else x > low) & (x <= high if high_incl else x < high)
    return ok & torch.isfinite(x) if finite else ok


def _message(dist_name: str, arg: str, constraint, finite: bool) -> str:
    rule = _describe_constraint(constraint) + (" and finite" if finite else "")
    return f"{dist_name}: argument '{arg}' must satisfy the constraint {rule}"


def check(dist_name: str, arg: str, constraint, x: torch.Tensor, *, finite: bool) -> None:
    """Raise ``ValueError`` if ``x`` violates ``constraint`` (and, if ``finite``, is not finite)."""
    if torch.compiler.is_compiling():
        mask = _traceable_mask(constraint, x.detach(), finite)
        if mask is not None:
            torch._assert_async(mask.all(), _message(dist_name, arg, constraint, finite))
        return
    if _is_wrapped(x):
        return
    on_host = x.is_cpu
    if on_host and _certainly_valid(constraint, x.detach(), finite):
        return  # the common case, kept short: it runs on every construction
    if not on_host and _device_mode == "async":
        mask = _valid_mask(constraint, x.detach(), finite)
        torch._assert_async(mask.all(), _message(dist_name, arg, constraint, finite))
        return
    if not on_host and _device_mode == "off":
        return
    x = x.detach()
    if not on_host and _certainly_valid(constraint, x, finite):
        return
    ok = _valid_mask(constraint, x, finite)
    if bool(ok.all()):
        return
    raise ValueError(
        f"{_message(dist_name, arg, constraint, finite)}, but found invalid value "
        f"{_describe_violation(x, ok)} (shape {tuple(x.shape)}, dtype {x.dtype})"
    )


def check_batch(dist_name: str, arg: str, rule: str, failed: torch.Tensor, *, reason: str) -> None:
    """Raise ``ValueError`` if any flag of the batch-shaped tensor ``failed`` is nonzero.

    For checks that come almost free from work a distribution does anyway (the ``info`` of a
    ``torch.linalg.cholesky_ex`` factorization, a per-matrix reduction): ``failed`` holds one flag
    per batch element and a single reduction decides. ``rule`` is plain text (so that dynamo can
    fold the message). The rules of :func:`check` apply: on CPU, eagerly, the message names the
    distribution, the argument, the rule, ``reason`` (formatted with the offending flag as
    ``{value}``) and the first offending batch index; on accelerators (``"async"``) and under
    ``torch.compile`` the check is a ``torch._assert_async``; inside ``torch.func`` transforms it
    is skipped.
    """
    message = f"{dist_name}: argument '{arg}' must satisfy the constraint {rule}"
    if torch.compiler.is_compiling():
        torch._assert_async(torch.logical_not(failed).all(), message)
        return
    if _is_wrapped(failed):
        return
    on_host = failed.device.type == "cpu"
    if not on_host and _device_mode == "async":
        torch._assert_async(torch.logical_not(failed).all(), message)
        return
    if not on_host and _device_mode == "off":
        return
    if not bool(failed.any()):
        return
    index = [int(i) for i in failed.nonzero()[0]] if failed.dim() else []
    value = failed[tuple(index)].item()
    where = f" at batch index {index}" if index else ""
    raise ValueError(f"{message}, but {reason.format(value=value)}{where}")
