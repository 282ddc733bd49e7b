"""Whether code may branch on tensor values.

Reading a value back to Python (``bool(t.any())``, ``t.tolist()``, boolean indexing) is free on
the CPU in eager mode: there is no device to wait for. On accelerators it is a host
synchronization, and under ``torch.compile`` or a functorch transform (``vmap``) it is a graph
break or an error. Hot paths use such reads only where :func:`host_reads_free` says so, and
otherwise take a fixed-shape path that computes the same values.
"""

from __future__ import annotations

import torch

__all__ = ["host_reads_free"]


def host_reads_free(t: torch.Tensor) -> bool:
    """``t`` is a CPU tensor, eager, outside any functorch transform."""
    if t.device.type != "cpu" or torch.compiler.is_compiling():
        return False
    return torch._C._functorch.maybe_current_level() is None
