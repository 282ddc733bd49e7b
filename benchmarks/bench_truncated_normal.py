"""TruncatedNormal: 1M draws (rsample + backward, and sample only), one thread.

The floor is the naive inverse CDF written with raw tensor ops,
``loc + scale·ndtri(Φ(α) + u·(Φ(β) − Φ(α)))`` with torch's ``ndtr``: the cheapest correct-looking
sampler, but not tail exact (on [4, 6] in float32 it draws from a few hundred values, see
:func:`tail_comparison`). rsample adds the reflection to the lower tail, the ``erfc`` form of
Φ, the offset form beyond ~10σ (float32) / 36σ (float64) and its closed-form gradients.

torchrl's and tensordict's ``TruncatedNormal`` are timed when they can be imported from the
path in the environment variable ``RSAMPLE_BENCH_EXTRA`` (they are not dependencies: install
them with ``pip install --no-deps --target /tmp/trl torchrl tensordict pyvers cloudpickle`` and
set ``RSAMPLE_BENCH_EXTRA=/tmp/trl``); their rows are skipped otherwise.

Run ``python -m benchmarks.bench_truncated_normal`` for the tail-bias comparison as well.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable

import numpy as np
import torch

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

N = 1_000_000
LOW, HIGH = -1.0, 2.0
SAC_BATCH = (256, 6)
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _extra_classes() -> dict[str, Callable]:
    """``{name: factory(loc, scale, low, high)}`` for torchrl's and tensordict's classes."""
    path = os.environ.get("RSAMPLE_BENCH_EXTRA")
    if not path:
        return {}
    if path not in sys.path:
        sys.path.append(path)
    found: dict[str, Callable] = {}
    try:
        from torchrl.modules import TruncatedNormal as TorchRL

        def torchrl(loc, scale, low, high):
            # An Independent over the last dimension (so at least 1-d); loc used as given.
            if loc.dim() == 0:
                loc, scale = loc.reshape(1), scale.reshape(1)
            return TorchRL(loc, scale, low=low, high=high, tanh_loc=False)

        found["torchrl.modules.TruncatedNormal"] = torchrl
    except Exception as error:  # any import failure: the row is skipped
        print(f"torchrl not available: {error!r}", file=sys.stderr)
    try:
        from tensordict.nn.distributions import TruncatedNormal as TensorDict

        found["tensordict TruncatedNormal"] = TensorDict
    except Exception as error:
        print(f"tensordict not available: {error!r}", file=sys.stderr)
    return found


def naive_rsample(loc, scale, low, high, sample_shape=(), generator=None) -> torch.Tensor:
    """The floor: ``loc + scale·ndtri(Φ(α) + u(Φ(β) − Φ(α)))`` with raw tensor ops."""
    alpha, beta = (low - loc) / scale, (high - loc) / scale
    p_a, p_b = torch.special.ndtr(alpha), torch.special.ndtr(beta)
    shape = torch.Size(sample_shape) + loc.shape
    u = torch.rand(shape, dtype=loc.dtype, generator=generator)
    return loc + scale * torch.special.ndtri(p_a + u * (p_b - p_a))


def _case(name: str, loc, scale, sample_shape, grad: bool) -> list[Row]:
    """rsample (+ backward) or sample of ``sample_shape`` draws, every implementation."""
    gen = torch.Generator().manual_seed(0)

    def step(make: Callable, draw: Callable) -> Callable[[], None]:
        def run() -> None:
            x = draw(make(loc, scale, LOW, HIGH))
            if grad:
                x.sum().backward()

        return run

    if grad:
        impls = {
            "rsample": step(
                rsample.TruncatedNormal, lambda d: d.rsample(sample_shape, generator=gen)
            ),
            "naive inverse CDF (raw ops)": lambda: (
                naive_rsample(loc, scale, LOW, HIGH, sample_shape, gen).sum().backward()
            ),
        }
    else:
        impls = {
            "rsample": step(
                rsample.TruncatedNormal, lambda d: d.sample(sample_shape, generator=gen)
            ),
            "naive inverse CDF (raw ops)": lambda: naive_rsample(
                loc.detach(), scale.detach(), LOW, HIGH, sample_shape, gen
            ),
        }
    for label, make in _extra_classes().items():
        if grad:
            impls[label] = step(make, lambda d: d.rsample(sample_shape))
        else:
            impls[label] = step(make, lambda d: d.sample(sample_shape))
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=1)
    return make_rows(name, seconds, "naive inverse CDF (raw ops)", {"rsample": 1.3})


def _sac_case() -> list[Row]:
    """A policy step at batch 256×6: a draw, its log-density, backward (per-call overhead)."""
    loc = torch.randn(SAC_BATCH).requires_grad_()
    log_std = (0.1 * torch.randn(SAC_BATCH)).requires_grad_()

    def ours() -> None:
        x, lp = rsample.TruncatedNormal(loc, log_std.exp(), LOW, HIGH).rsample_and_log_prob()
        (x.sum() + lp.sum()).backward()

    def floor() -> None:
        scale = log_std.exp()
        alpha, beta = (LOW - loc) / scale, (HIGH - loc) / scale
        p_a, p_b = torch.special.ndtr(alpha), torch.special.ndtr(beta)
        u = torch.rand(SAC_BATCH)
        z = torch.special.ndtri(p_a + u * (p_b - p_a))
        lp = -0.5 * z * z - HALF_LOG_2PI - scale.log() - torch.log(p_b - p_a)
        ((loc + scale * z).sum() + lp.sum()).backward()

    impls = {"rsample (rsample_and_log_prob)": ours, "naive inverse CDF (raw ops)": floor}
    for label, make in _extra_classes().items():

        def extra(make=make) -> None:
            d = make(loc, log_std.exp(), LOW, HIGH)
            x = d.rsample()
            (x.sum() + d.log_prob(x).sum()).backward()

        impls[label] = extra
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=15, min_batch_s=0.05)
    return make_rows(
        "TruncatedNormal policy step 256×6: draw + log_prob + backward (1 thread)",
        seconds,
        "naive inverse CDF (raw ops)",
    )


def run() -> list[Row]:
    """1M draws from one distribution, and one draw from each of 1M distributions."""
    rows: list[Row] = []
    for dtype in (torch.float32, torch.float64):
        tag = "float32" if dtype == torch.float32 else "float64"
        loc = torch.tensor(0.3, dtype=dtype, requires_grad=True)
        scale = torch.tensor(1.5, dtype=dtype, requires_grad=True)
        rows += _case(
            f"TruncatedNormal [−1, 2], 1M draws, rsample + backward ({tag}, 1 thread)",
            loc,
            scale,
            (N,),
            grad=True,
        )
        rows += _case(
            f"TruncatedNormal [−1, 2], 1M draws, sample ({tag}, 1 thread)",
            loc,
            scale,
            (N,),
            grad=False,
        )
    gen = torch.Generator().manual_seed(1)
    loc = torch.randn(N, generator=gen).requires_grad_()
    scale = torch.rand(N, generator=gen).add_(0.5).requires_grad_()
    rows += _case(
        "TruncatedNormal [−1, 2], batch of 1M (per-element loc, scale), rsample + backward "
        "(float32, 1 thread)",
        loc,
        scale,
        (),
        grad=True,
    )
    rows += _case(
        "TruncatedNormal [−1, 2], batch of 1M (per-element loc, scale), sample (float32, 1 thread)",
        loc,
        scale,
        (),
        grad=False,
    )
    rows += _sac_case()
    return rows


# ---------------------------------------------------------------------------------------------
# correctness in the tail
# ---------------------------------------------------------------------------------------------


def tail_comparison(n: int = 200_000, alpha: float = 4.0, beta: float = 6.0) -> list[dict]:
    """Float32 draws of the standard normal truncated to ``[alpha, beta]``, per sampler: the
    mean error in units of the distribution's standard deviation (the Monte Carlo standard
    error is ``1/√n``), the number of distinct values, and how many are not finite or outside
    the interval. The exact moments are scipy's (double precision)."""
    from scipy import stats

    exact = stats.truncnorm(alpha, beta)
    mean, sd = float(exact.mean()), float(exact.std())
    one = torch.ones(())
    samplers = {
        "rsample": lambda: rsample.TruncatedNormal(0 * one, one, alpha * one, beta * one).sample(
            (n,), generator=torch.Generator().manual_seed(0)
        ),
        "naive inverse CDF": lambda: naive_rsample(
            0 * one, one, alpha, beta, (n,), torch.Generator().manual_seed(0)
        ),
    }
    for label, make in _extra_classes().items():
        samplers[label] = lambda make=make: make(torch.zeros(1), torch.ones(1), alpha, beta).sample(
            (n,)
        )
    out = []
    for label, draw in samplers.items():
        with torch.no_grad():
            x = draw().reshape(-1).float()
        good = torch.isfinite(x) & (x >= alpha) & (x <= beta)
        finite = x[torch.isfinite(x)].double()
        out.append(
            {
                "sampler": label,
                "mean error (σ)": (float(finite.mean()) - mean) / sd,
                "distinct values": len(np.unique(x.numpy())),
                "not finite or outside": int((~good).sum()),
                "largest finite draw": float(finite.max()),
            }
        )
    return out


if __name__ == "__main__":
    print(f"standard normal on [4, 6], 200k float32 draws (MC standard error {1 / 447.2:.4f} σ)")
    for row in tail_comparison():
        print(
            f"  {row['sampler']:<34} mean error {row['mean error (σ)']:+.4f} σ, "
            f"{row['distinct values']:>7} distinct, {row['not finite or outside']:>4} bad, "
            f"max {row['largest finite draw']:.3f}"
        )
