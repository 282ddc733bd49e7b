"""A compiled step keeps working when the batch size changes (dynamo then marks the sizes
dynamic): the noise must be drawn with symbolic shapes (``rsample._random``), not through
``torch.rand(…, generator=…)``, which requires concrete sizes."""

from __future__ import annotations

import pytest
import torch

import rsample as D


def _unit(n: int, d: int) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.ones(n, d) + torch.arange(d), dim=-1)


FAMILIES = {
    "Normal": lambda n: D.Normal(torch.zeros(n), torch.ones(n)),
    "LogNormal": lambda n: D.LogNormal(torch.zeros(n), torch.ones(n)),
    "HalfNormal": lambda n: D.HalfNormal(torch.ones(n)),
    "TanhNormal": lambda n: D.TanhNormal(torch.zeros(n), torch.ones(n)),
    "Uniform": lambda n: D.Uniform(torch.zeros(n), torch.ones(n)),
    "TruncatedNormal": lambda n: D.TruncatedNormal(torch.zeros(n), torch.ones(n), -1.0, 2.0),
    "MultivariateNormal": lambda n: D.MultivariateNormal(torch.zeros(n, 3), torch.eye(3)),
    "LowRankMultivariateNormal": lambda n: D.LowRankMultivariateNormal(
        torch.zeros(n, 3), torch.ones(n, 3, 1), torch.ones(n, 3)
    ),
    "HypersphericalUniform": lambda n: D.HypersphericalUniform(4, batch_shape=(n,)),
    "VonMisesFisher": lambda n: D.VonMisesFisher(_unit(n, 4), torch.full((n,), 3.0)),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_compiled_draw_survives_a_new_batch_size(name):
    torch._dynamo.reset()
    make = FAMILIES[name]

    def step(like):
        dist = make(like.shape[0])
        x = dist.rsample((2,), generator=None)
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    for n in (3, 5, 7):
        x, lp = compiled(torch.zeros(n))
        assert x.shape[:2] == (2, n) and lp.shape == (2, n) and torch.isfinite(lp).all()
