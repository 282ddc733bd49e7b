"""Checks shared by the relaxed Bernoulli and relaxed categorical families."""

from __future__ import annotations

import torch

from rsample.testing import round_trips


def check_round_trips(dist) -> None:
    """pickle, deepcopy and torch.save copies draw and score as the original."""
    x = dist.sample((3,), generator=torch.Generator().manual_seed(0))
    for clone in round_trips(dist):
        assert type(clone) is type(dist)
        assert torch.equal(clone.sample((3,), generator=torch.Generator().manual_seed(0)), x)
        assert torch.equal(clone.log_prob(x.clone()), dist.log_prob(x.clone()))


def check_torch_compile_fullgraph(cls, logits: torch.Tensor, lp_shape: tuple) -> None:
    """rsample, rsample_and_log_prob and log_prob in one fullgraph-compiled step, with finite
    gradients in the logits and the temperature."""
    torch._dynamo.reset()

    def step(t, logits):
        dist = cls(t, logits=logits)
        x = dist.rsample((8,))
        _, lp = dist.rsample_and_log_prob((8,))
        return x, dist.log_prob(x) + lp

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    logits = logits.clone().requires_grad_()
    t = torch.tensor(0.6, requires_grad=True)
    x, lp = compiled(t, logits)
    assert x.shape == (8, *logits.shape) and lp.shape == lp_shape
    assert torch.isfinite(lp).all()
    (x.sum() + lp.sum()).backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(t.grad).all()
