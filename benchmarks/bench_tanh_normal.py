"""TanhNormal: the SAC actor step with a tanh-squashed Normal policy, batch 256×6, one thread."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.distributions as td
import torch.nn.functional as F

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
LOG_2 = math.log(2.0)
BATCH = (256, 6)


def _params() -> tuple[torch.Tensor, torch.Tensor]:
    loc = torch.randn(BATCH).requires_grad_()
    log_std = (0.1 * torch.randn(BATCH)).requires_grad_()
    return loc, log_std


def _torch_tanh_normal(validate_args: bool | None) -> Callable:
    def make(loc: torch.Tensor, std: torch.Tensor) -> td.Distribution:
        base = td.Normal(loc, std, validate_args=validate_args)
        return td.TransformedDistribution(
            base, [td.TanhTransform(cache_size=1)], validate_args=validate_args
        )

    return make


def _step(make: Callable, loc: torch.Tensor, log_std: torch.Tensor) -> Callable[[], None]:
    """``d = make(loc, std); a = d.rsample(); lp = d.log_prob(a).sum(-1); backward``."""

    def step() -> None:
        d = make(loc, log_std.exp())
        a = d.rsample()
        lp = d.log_prob(a).sum(-1)
        (a.sum() + lp.sum()).backward()

    return step


def _step_joint(loc: torch.Tensor, log_std: torch.Tensor) -> Callable[[], None]:
    """The same step through ``rsample_and_log_prob`` (scores from the pre-tanh value)."""

    def step() -> None:
        a, lp = rsample.TanhNormal(loc, log_std.exp()).rsample_and_log_prob()
        (a.sum() + lp.sum(-1).sum()).backward()

    return step


def _step_floor(loc: torch.Tensor, log_std: torch.Tensor) -> Callable[[], None]:
    """Raw tensor ops: Normal log-density of ``u`` minus the stable tanh log-det."""

    def step() -> None:
        std = log_std.exp()
        eps = torch.randn(BATCH)
        u = loc + eps * std
        a = torch.tanh(u)
        z = (u - loc) / std
        normal_lp = -0.5 * z * z - std.log() - HALF_LOG_2PI
        lp = (normal_lp - 2 * (LOG_2 - u - F.softplus(-2 * u))).sum(-1)
        (a.sum() + lp.sum()).backward()

    return step


def sac_step() -> list[Row]:
    """Case b: batch 256×6, one thread."""
    loc, log_std = _params()
    impls = {
        "rsample": _step(rsample.TanhNormal, loc, log_std),
        "rsample, validate_args=False": _step(
            lambda m, s: rsample.TanhNormal(m, s, validate_args=False), loc, log_std
        ),
        "rsample.rsample_and_log_prob": _step_joint(loc, log_std),
        "torch TransformedDistribution(Normal, TanhTransform)": _step(
            _torch_tanh_normal(None), loc, log_std
        ),
        "torch TransformedDistribution, validate_args=False": _step(
            _torch_tanh_normal(False), loc, log_std
        ),
        "floor (raw ops)": _step_floor(loc, log_std),
    }
    with num_threads(1):
        seconds = time_interleaved(impls)
    targets = {"rsample": 1.3, "rsample.rsample_and_log_prob": 1.0}
    return make_rows(
        "b. SAC step, TanhNormal 256×6, fwd+bwd (1 thread)", seconds, "floor (raw ops)", targets
    )


def run() -> list[Row]:
    """Every TanhNormal case."""
    return sac_step()
