"""Checks shared by the distributions on the sphere (VonMisesFisher, PowerSpherical): shapes,
graphs and generators, expand, rsample_and_log_prob, copies, torch.compile and vmap. Each takes
the class; the family's own test module keeps what differs (references, moments, samplers)."""

from __future__ import annotations

import numpy as np
import torch

from rsample.testing import assert_close, round_trips

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def unit(d: int, seed: int) -> np.ndarray:
    """A random unit vector in R^d."""
    v = np.random.default_rng(seed).standard_normal(d)
    return v / np.linalg.norm(v)


def check_rsample_and_log_prob(cls, d: int, kappa: float, *, rtol: float, atol: float) -> None:
    """The joint call draws what ``rsample`` draws and scores it as ``log_prob`` does."""
    dist = cls(torch.tensor(unit(d, 8)), torch.tensor(kappa, dtype=F64))
    x1, lp = dist.rsample_and_log_prob((500,), generator=gen(5))
    x2 = dist.rsample((500,), generator=gen(5))
    assert torch.equal(x1, x2)
    assert_close(lp, dist.log_prob(x1.clone()), rtol=rtol, atol=atol, label=cls.__name__)


def check_shapes_graph_and_generator(cls) -> None:
    """Shapes of draws, scores and moments for a batch (4, 3) on S⁴; rsample's graph reaches
    both parameters; equal generator states give equal draws."""
    loc = torch.nn.functional.normalize(torch.randn(4, 1, 5, dtype=F64), dim=-1)
    loc.requires_grad_()
    kappa = torch.tensor([[0.5, 2.0, 30.0]], dtype=F64, requires_grad=True)
    dist = cls(loc, kappa)
    assert dist.batch_shape == (4, 3) and dist.event_shape == (5,)
    drawn = dist.sample((6, 2))
    assert drawn.shape == (6, 2, 4, 3, 5) and not drawn.requires_grad
    assert dist.log_prob(drawn).shape == (6, 2, 4, 3)
    assert dist.entropy().shape == (4, 3) and dist.mean.shape == (4, 3, 5)
    assert dist.variance.shape == (4, 3, 5)
    x = dist.rsample((7,))
    assert x.shape == (7, 4, 3, 5) and x.requires_grad
    g_loc, g_k = torch.autograd.grad((x * torch.arange(5.0, dtype=F64)).sum(), (loc, kappa))
    assert torch.isfinite(g_loc).all() and g_loc.abs().sum() > 0
    assert torch.isfinite(g_k).all() and g_k.abs().sum() > 0
    g1, g2 = gen(3), gen(3)
    assert torch.equal(dist.sample((7,), generator=g1), dist.sample((7,), generator=g2))
    assert torch.equal(dist.rsample(generator=g1), dist.rsample(generator=g2))
    assert not torch.equal(dist.sample(generator=gen(3)), dist.sample(generator=gen(4)))
    assert dist.has_rsample and cls.rsample_kind == "implicit"
    assert isinstance(dist, torch.distributions.Distribution)
    # a number broadcasts against a batch of directions
    assert cls(loc.detach(), 3.0).batch_shape == (4, 1)


def check_expand_is_a_view(cls) -> None:
    dist = cls(torch.tensor(unit(4, 1)), torch.tensor(2.5, dtype=F64))
    big = dist.expand((6, 2))
    assert big.batch_shape == (6, 2) and big.event_shape == (4,) and type(big) is cls
    assert big.loc.data_ptr() == dist.loc.data_ptr()
    x = big.sample(generator=gen(0)).clone()
    assert x.shape == (6, 2, 4)
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")


def check_round_trips(cls) -> None:
    """pickle, deepcopy and torch.save give a distribution that scores identically."""
    dist = cls(torch.tensor([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]], dtype=F64), 3.0)
    x = dist.sample((3,)).clone()
    for clone in round_trips(dist):
        assert type(clone) is cls and clone.event_shape == (3,)
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


def check_torch_compile_fullgraph(cls, d: int = 4) -> None:
    """rsample, log_prob and the backward of both in one fullgraph-compiled step."""
    torch._dynamo.reset()

    def step(loc, kappa):
        dist = cls(loc, kappa)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    loc = torch.nn.functional.normalize(torch.randn(2, d), dim=-1).requires_grad_()
    kappa = torch.tensor([0.3, 20.0], requires_grad=True)
    x, lp = compiled(loc, kappa)
    assert x.shape == (8, 2, d) and lp.shape == (8, 2) and torch.isfinite(lp).all()
    (x.sum() + lp.sum()).backward()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(kappa.grad).all()


def check_vmap_of_log_prob_and_entropy(cls) -> None:
    loc = torch.nn.functional.normalize(torch.randn(3, 4, dtype=F64), dim=-1)
    kappa = torch.tensor([0.5, 40.0, 3.0], dtype=F64)
    x = cls(loc, kappa).sample(generator=gen(2))

    def fn(m, k, v):
        dist = cls(m, k, validate_args=False)
        return dist.log_prob(v), dist.entropy()

    lp, h = torch.func.vmap(fn)(loc, kappa, x)
    dist = cls(loc, kappa)
    assert_close(lp, dist.log_prob(x), rtol=1e-15, label="vmap log_prob")
    assert_close(h, dist.entropy(), rtol=1e-15, label="vmap entropy")
