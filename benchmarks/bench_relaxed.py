"""Concrete / Gumbel-softmax relaxations: rsample + log_prob, forward and backward, one thread.

Cases: RelaxedOneHotCategorical with batch 1024 × K = 100, and RelaxedBernoulli with 1M
elements, each (a) as ``x = d.rsample(); d.log_prob(x)`` and (b) through
``rsample_and_log_prob`` (scored from the noise), against torch.distributions and against the
same math written with raw tensor ops (the floor). The loss is ``(x·w).sum() + log_prob.sum()``
so that both the draw's and the density's gradients flow into ``logits`` and ``temperature``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.distributions as td
import torch.nn.functional as F

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

CAT_SHAPE = (1024, 100)
BERN_SHAPE = (1_000_000,)
F32 = torch.float32
EPS, TINY = torch.finfo(F32).eps, torch.finfo(F32).tiny


def _leaves(shape) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(shape, generator=gen).requires_grad_()
    temperature = torch.tensor(0.5, requires_grad=True)
    weights = torch.randn(shape, generator=gen)
    return logits, temperature, weights


def _step(make: Callable, logits, temperature, weights) -> Callable[[], None]:
    def step() -> None:
        d = make(temperature, logits)
        x = d.rsample()
        lp = d.log_prob(x)
        ((x * weights).sum() + lp.sum()).backward()

    return step


def _step_joint(make: Callable, logits, temperature, weights) -> Callable[[], None]:
    def step() -> None:
        x, lp = make(temperature, logits).rsample_and_log_prob()
        ((x * weights).sum() + lp.sum()).backward()

    return step


# --------------------------------------------------------------------------- floors
def _uniform(shape) -> torch.Tensor:
    return torch.rand(shape).clamp_(EPS / 4, 1 - EPS / 2)


def _concrete_noise(logits, temperature):
    e = _uniform(logits.shape).log_().neg_()
    log_e = e.log()
    return (logits - log_e) / temperature, e, log_e


def _floor_categorical(logits, temperature, weights) -> Callable[[], None]:
    k = logits.shape[-1]

    def step() -> None:
        s, _, _ = _concrete_noise(logits, temperature)
        x = torch.softmax(s, dim=-1)
        x = (x / x.sum(-1, keepdim=True)).clamp_min(TINY)
        log_x = x.clamp_min(TINY).log()
        score = logits - temperature * log_x
        lp = (
            math.lgamma(k)
            + (k - 1) * temperature.log()
            + (score.sum(-1) - k * score.logsumexp(-1))
            - log_x.sum(-1)
        )
        ((x * weights).sum() + lp.sum()).backward()

    return step


def _floor_categorical_joint(logits, temperature, weights) -> Callable[[], None]:
    k = logits.shape[-1]

    def step() -> None:
        s, e, log_e = _concrete_noise(logits, temperature)
        x = torch.softmax(s, dim=-1)
        x = (x / x.sum(-1, keepdim=True)).clamp_min(TINY)
        lp = (
            math.lgamma(k)
            + (k - 1) * temperature.log()
            + (log_e.sum(-1) - k * e.sum(-1).log())
            - torch.log_softmax(s, dim=-1).sum(-1)
        )
        ((x * weights).sum() + lp.sum()).backward()

    return step


def _binary_noise(logits, temperature):
    u = _uniform(logits.shape)
    log_u, log_v = u.log(), (-u).log1p()
    return (logits + (log_u - log_v)) / temperature, log_u + log_v


def _floor_bernoulli(logits, temperature, weights) -> Callable[[], None]:
    def step() -> None:
        y, _ = _binary_noise(logits, temperature)
        x = y.sigmoid().clamp(TINY, 1 - EPS / 2)
        xc = x.clamp(TINY, 1 - EPS / 2)
        log_x, log_1mx = xc.log(), (-xc).log1p()
        a = (temperature * (log_x - log_1mx) - logits).abs()
        lp = temperature.log() - a - 2 * F.softplus(-a) - (log_x + log_1mx)
        ((x * weights).sum() + lp.sum()).backward()

    return step


def _floor_bernoulli_joint(logits, temperature, weights) -> Callable[[], None]:
    def step() -> None:
        y, noise_lp = _binary_noise(logits, temperature)
        x = y.sigmoid().clamp(TINY, 1 - EPS / 2)
        a = y.abs()
        lp = noise_lp + (temperature.log() + a + 2 * F.softplus(-a))
        ((x * weights).sum() + lp.sum()).backward()

    return step


# --------------------------------------------------------------------------- cases
def _case(name: str, ours, theirs, floor, floor_joint, shape, torch_validates=True) -> list[Row]:
    leaves = _leaves(shape)
    impls = {
        "rsample: rsample + log_prob": _step(ours(None), *leaves),
        "rsample, validate_args=False": _step(ours(False), *leaves),
        "torch.distributions, validate_args=False": _step(theirs(False), *leaves),
        "floor (raw ops)": floor(*leaves),
    }
    if torch_validates:
        impls["torch.distributions"] = _step(theirs(None), *leaves)
    joint = {
        "rsample.rsample_and_log_prob": _step_joint(ours(None), *leaves),
        "torch.distributions (rsample + log_prob, validate_args=False)": _step(
            theirs(False), *leaves
        ),
        "floor (raw ops, scored from the noise)": floor_joint(*leaves),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=9)
        seconds_joint = time_interleaved(joint, repeat=9)
    targets = {"rsample: rsample + log_prob": 1.1}
    return make_rows(
        f"{name}, rsample + log_prob, fwd+bwd (1 thread)", seconds, "floor (raw ops)", targets
    ) + make_rows(
        f"{name}, rsample_and_log_prob, fwd+bwd (1 thread)",
        seconds_joint,
        "floor (raw ops, scored from the noise)",
        {"rsample.rsample_and_log_prob": 1.1},
    )


def _ours(cls):
    return lambda v: lambda t, logits: cls(t, logits=logits, validate_args=v)


def run() -> list[Row]:
    """Both relaxation cases."""
    return _case(
        "a. RelaxedOneHotCategorical 1024×100",
        _ours(rsample.RelaxedOneHotCategorical),
        _ours(td.RelaxedOneHotCategorical),
        _floor_categorical,
        _floor_categorical_joint,
        CAT_SHAPE,
        # torch's float32 draws, exp(s − logsumexp s), occasionally miss its own simplex check
        # (|Σx − 1| < 1e-6) at K = 100, and log_prob then raises: only validate_args=False.
        torch_validates=False,
    ) + _case(
        "b. RelaxedBernoulli 1M",
        _ours(rsample.RelaxedBernoulli),
        _ours(td.RelaxedBernoulli),
        _floor_bernoulli,
        _floor_bernoulli_joint,
        BERN_SHAPE,
    )
