"""Normal: a SAC-style actor step (small, overhead-bound) and one large draw (bandwidth-bound).

Floors are the same math written as raw tensor ops, with no distribution object.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.distributions as td

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
BATCH = (256, 6)
LARGE_N = 10_000_000


def _params() -> tuple[torch.Tensor, torch.Tensor]:
    loc = torch.randn(BATCH).requires_grad_()
    log_std = (0.1 * torch.randn(BATCH)).requires_grad_()
    return loc, log_std


def _step(make: Callable, loc: torch.Tensor, log_std: torch.Tensor) -> Callable[[], None]:
    """``d = make(loc, std); x = d.rsample(); lp = d.log_prob(x).sum(-1); backward``."""

    def step() -> None:
        d = make(loc, log_std.exp())
        x = d.rsample()
        lp = d.log_prob(x).sum(-1)
        (x.sum() + lp.sum()).backward()

    return step


def _step_joint(loc: torch.Tensor, log_std: torch.Tensor) -> Callable[[], None]:
    """The same step through ``rsample_and_log_prob`` (scores from the noise)."""

    def step() -> None:
        x, lp = rsample.Normal(loc, log_std.exp()).rsample_and_log_prob()
        (x.sum() + lp.sum(-1).sum()).backward()

    return step


def _step_floor(loc: torch.Tensor, log_std: torch.Tensor) -> Callable[[], None]:
    """Raw tensor ops: the work any implementation must do."""

    def step() -> None:
        std = log_std.exp()
        eps = torch.randn(BATCH)
        x = loc + eps * std
        z = (x - loc) / std
        lp = (-0.5 * z * z - std.log() - HALF_LOG_2PI).sum(-1)
        (x.sum() + lp.sum()).backward()

    return step


def sac_step() -> list[Row]:
    """Case a: batch 256×6, one thread."""
    loc, log_std = _params()
    impls = {
        "rsample": _step(rsample.Normal, loc, log_std),
        "rsample, validate_args=False": _step(
            lambda m, s: rsample.Normal(m, s, validate_args=False), loc, log_std
        ),
        "rsample.rsample_and_log_prob": _step_joint(loc, log_std),
        "torch.distributions": _step(td.Normal, loc, log_std),
        "torch.distributions, validate_args=False": _step(
            lambda m, s: td.Normal(m, s, validate_args=False), loc, log_std
        ),
        "floor (raw ops)": _step_floor(loc, log_std),
    }
    with num_threads(1):
        seconds = time_interleaved(impls)
    targets = {"rsample": 1.2, "rsample.rsample_and_log_prob": 1.0}
    return make_rows(
        "a. SAC step, Normal 256×6, fwd+bwd (1 thread)", seconds, "floor (raw ops)", targets
    )


def large_draw() -> list[Row]:
    """Case c: 10M draws from a scalar Normal, every thread."""
    loc, scale = torch.tensor(0.5), torch.tensor(2.0)
    shape = torch.Size((LARGE_N,))
    impls = {
        "rsample": lambda: rsample.Normal(loc, scale).rsample(shape),
        "torch.distributions": lambda: td.Normal(loc, scale).rsample(shape),
        "floor (torch.randn)": lambda: torch.randn(LARGE_N),
    }
    seconds = time_interleaved(impls, repeat=9, min_batch_s=0.2, warmup=1)
    name = f"c. Normal rsample of 10M, scalar params ({torch.get_num_threads()} threads)"
    return make_rows(name, seconds, "floor (torch.randn)", {"rsample": 1.15})


def run() -> list[Row]:
    """Every Normal case."""
    return sac_step() + large_draw()
