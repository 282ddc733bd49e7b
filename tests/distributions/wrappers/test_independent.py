"""rsample.Independent: shapes, scoring, moments, generator plumbing, torch interop, KL."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
import torch.distributions as td
from torch.distributions import constraints

import rsample
from rsample import Independent, Normal

F64 = torch.float64


def _params(shape=(2, 3, 4)):
    g = torch.Generator().manual_seed(1)
    loc = torch.randn(shape, dtype=F64, generator=g)
    scale = torch.rand(shape, dtype=F64, generator=g) + 0.5
    return loc, scale


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_shapes():
    loc, scale = _params()
    d = Independent(Normal(loc, scale), 2)
    assert d.batch_shape == (2,) and d.event_shape == (3, 4)
    assert d.sample((5,)).shape == d.rsample((5,)).shape == (5, 2, 3, 4)
    assert d.log_prob(d.sample((5,))).shape == (5, 2)
    assert d.entropy().shape == (2,)
    assert Independent(Normal(loc, scale), 0).batch_shape == (2, 3, 4)


def test_log_prob_entropy_and_moments_follow_the_base():
    loc, scale = _params()
    base = Normal(loc, scale)
    d = Independent(base, 2)
    x = d.sample((7,), generator=_gen())
    torch.testing.assert_close(d.log_prob(x), base.log_prob(x).sum((-1, -2)))
    torch.testing.assert_close(d.entropy(), base.entropy().sum((-1, -2)))
    for name in ("mean", "mode", "variance", "stddev"):
        torch.testing.assert_close(getattr(d, name), getattr(base, name))


def test_matches_torch_independent():
    loc, scale = _params()
    ours = Independent(Normal(loc, scale), 2)
    ref = td.Independent(td.Normal(loc, scale), 2)
    x = ref.sample((3,))
    torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.entropy(), ref.entropy(), rtol=1e-12, atol=1e-12)
    assert ours.support.event_dim == ref.support.event_dim == 2


def test_rsample_and_log_prob_equals_log_prob_of_rsample():
    loc, scale = _params()
    d = Independent(Normal(loc, scale), 1)
    x, log_p = d.rsample_and_log_prob((6,), generator=_gen(3))
    torch.testing.assert_close(x, d.rsample((6,), generator=_gen(3)), rtol=0, atol=0)
    torch.testing.assert_close(log_p, d.log_prob(x), rtol=1e-13, atol=1e-13)


def test_generator_reproducibility_and_gradients():
    loc, scale = _params()
    loc.requires_grad_()
    d = Independent(Normal(loc, scale), 1)
    assert torch.equal(d.sample((4,), generator=_gen(5)), d.sample((4,), generator=_gen(5)))
    assert not d.sample().requires_grad
    (grad,) = torch.autograd.grad(d.rsample((4,)).sum(), loc)
    torch.testing.assert_close(grad, torch.full_like(loc, 4.0))


def test_torch_base():
    loc, scale = _params()
    d = Independent(td.Normal(loc, scale), 2)
    x, log_p = d.rsample_and_log_prob((3,))
    torch.testing.assert_close(log_p, td.Normal(loc, scale).log_prob(x).sum((-1, -2)))
    assert d.sample().shape == (2, 3, 4)
    assert d.has_rsample and d.rsample_kind == "explicit"
    with pytest.raises(TypeError, match="generator"):
        d.rsample(generator=_gen())
    with pytest.raises(TypeError, match="generator"):
        d.sample(generator=_gen())


def test_gradient_kind_follows_the_base():
    bernoulli = Independent(td.Bernoulli(torch.full((3,), 0.3)), 1)
    assert not bernoulli.has_rsample and bernoulli.rsample_kind is None
    normal = Independent(Normal(torch.zeros(3), 1.0), 1)
    assert normal.has_rsample and normal.rsample_kind == "explicit"
    assert Independent.rsample_kind is None  # class level: no base yet

    class Sub(Independent):
        pass

    assert Sub(Normal(torch.zeros(3), 1.0), 1).has_rsample
    assert not Sub(td.Bernoulli(torch.full((3,), 0.3)), 1).has_rsample


def test_reinterpreted_batch_ndims_is_checked():
    base = Normal(torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        Independent(base, 2)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        Independent(base, -1)


def test_expand_shares_memory():
    d = Independent(Normal(torch.zeros(3, dtype=F64), 1.0), 1)
    e = d.expand((4,))
    assert e.batch_shape == (4,) and e.event_shape == (3,)
    assert e.base_dist.batch_shape == (4, 3)
    assert e.base_dist.loc.data_ptr() == d.base_dist.loc.data_ptr()
    x = e.sample(generator=_gen())
    torch.testing.assert_close(e.log_prob(x), d.log_prob(x))
    assert type(e) is Independent and e.reinterpreted_batch_ndims == 1


def test_support_and_validation():
    d = Independent(rsample.HalfNormal(torch.ones(3)), 1)
    assert isinstance(d.support, constraints.independent)
    assert d.support.event_dim == 1
    with pytest.raises(ValueError, match="HalfNormal"):
        d.log_prob(torch.tensor([1.0, -1.0, 2.0]))


def test_enumerate_support():
    probs = torch.full((2, 3), 0.25)
    flat = Independent(td.Bernoulli(probs), 0)
    assert flat.has_enumerate_support
    assert flat.enumerate_support().shape == (2, 2, 3)
    coupled = Independent(td.Bernoulli(probs), 1)
    assert not coupled.has_enumerate_support
    with pytest.raises(NotImplementedError):
        coupled.enumerate_support()


def test_cdf_is_not_defined():
    with pytest.raises(NotImplementedError):
        Independent(Normal(torch.zeros(3), 1.0), 1).cdf(torch.zeros(3))


def test_kl_registered_in_both_registries():
    loc, scale = _params((4, 3))
    p = Independent(td.Normal(loc, scale), 1)
    q = Independent(td.Normal(loc.flip(0), scale.flip(1)), 1)
    # KL(N(m1, s1²) ‖ N(m2, s2²)) = log(s2/s1) + (s1² + (m1 − m2)²)/(2 s2²) − 1/2
    m1, s1, m2, s2 = loc, scale, loc.flip(0), scale.flip(1)
    expected = (torch.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5).sum(-1)
    torch.testing.assert_close(rsample.kl_divergence(p, q), expected)
    torch.testing.assert_close(td.kl_divergence(p, q), expected)
    with pytest.raises(NotImplementedError):
        rsample.kl_divergence(p, Independent(td.Normal(loc, scale), 2))


def test_pickle_and_deepcopy():
    loc, scale = _params()
    d = Independent(Normal(loc, scale), 2)
    x = d.sample(generator=_gen())
    for clone in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert clone.batch_shape == d.batch_shape and clone.event_shape == d.event_shape
        torch.testing.assert_close(clone.log_prob(x), d.log_prob(x))
    assert repr(d).startswith("Independent(Normal(")


def test_log_prob_of_standard_normal_vector():
    d = Independent(Normal(torch.zeros(5, dtype=F64), 1.0), 1)
    x = torch.arange(5, dtype=F64)
    expected = -0.5 * (x**2).sum() - 2.5 * math.log(2 * math.pi)
    torch.testing.assert_close(d.log_prob(x), expected, rtol=1e-15, atol=0)
