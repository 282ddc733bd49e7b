"""Float32 problems draw from float64 noise in every discrete-gradient estimator.

Float32 uniforms have 24 bits: a Bernoulli of probability 1e-9 decided by ``u < p`` would
succeed with probability ~6e-8 (``u`` = 0 in 2^-24 of the draws), and Gumbel noise would end
at 16.6, so a category 21 nats below the top could never be drawn. The estimators draw float64
uniforms whatever the dtype, so for the same seed a float32 problem must draw exactly the
float64 problem's outcomes, also for logits so extreme that the 24-bit grid would decide them.
"""

from __future__ import annotations

import pytest
import torch

import rsample
from rsample.gradients import (
    RebarControl,
    arm,
    disarm,
    gumbel_rao,
    rebar,
    reinforce,
    straight_through_gumbel,
)

# extreme and moderate logits; exact in float32, so both dtypes describe the same problem
BINARY = [-30.0, -19.0, -3.0, 0.0, 2.5, 19.0, 30.0]
CATEGORIES = [[0.0, -19.0, -25.0, -60.0], [3.0, 3.0, -40.0, 0.0]]

ESTIMATORS = {
    "reinforce": lambda d, f, g: reinforce(d, f, 64, generator=g),
    "arm": lambda d, f, g: arm(d, f, 64, generator=g),
    "disarm": lambda d, f, g: disarm(d, f, 64, generator=g),
    "rebar": lambda d, f, g: rebar(
        d, f, 64, control=RebarControl(requires_grad=False), generator=g
    ),
    "straight_through_gumbel": lambda d, f, g: straight_through_gumbel(
        d, f, 64, temperature=0.5, generator=g
    ),
    "gumbel_rao": lambda d, f, g: gumbel_rao(d, f, 64, temperature=0.5, num_rao=3, generator=g),
}
CATEGORICAL_ESTIMATORS = ("reinforce", "rebar", "straight_through_gumbel", "gumbel_rao")


def _samples(name: str, dist_of, logits, dtype, f):
    dist = dist_of(torch.tensor(logits, dtype=dtype))
    return ESTIMATORS[name](dist, f, torch.Generator().manual_seed(5)).samples


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_bernoulli_float32_draws_equal_float64_draws(name):
    def f(b):
        return (b - 0.4).square()

    def dist_of(t):
        return rsample.Bernoulli(logits=t)

    x32 = _samples(name, dist_of, BINARY, torch.float32, f)
    x64 = _samples(name, dist_of, BINARY, torch.float64, f)
    assert x32.dtype == torch.float32
    torch.testing.assert_close(x32.double(), x64, rtol=0, atol=0)


@pytest.mark.parametrize("name", CATEGORICAL_ESTIMATORS)
def test_categorical_float32_draws_equal_float64_draws(name):
    weights = torch.tensor([0.3, -1.0, 2.0, 0.5])

    def f(x):
        return (x * weights.to(x.dtype)).sum(-1)

    def dist_of(t):
        return rsample.OneHotCategorical(logits=t)

    x32 = _samples(name, dist_of, CATEGORIES, torch.float32, f)
    x64 = _samples(name, dist_of, CATEGORIES, torch.float64, f)
    torch.testing.assert_close(x32.double(), x64, rtol=0, atol=0)
