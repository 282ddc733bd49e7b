"""rsample.TransformedDistribution: scipy references, forward scoring, shapes, torch interop, KL."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
import torch.distributions as td
import torch.distributions.transforms as tt
from scipy import special, stats

import rsample
from rsample import Exponential, HalfNormal, Independent, Normal, TransformedDistribution, Uniform
from rsample import transforms as T

F64 = torch.float64
RTOL = 1e-10
MU, SIGMA = 0.3, 0.8


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _normal(loc=MU, scale=SIGMA):
    return Normal(torch.tensor(loc, dtype=F64), torch.tensor(scale, dtype=F64))


def _t(values):
    return torch.tensor(values, dtype=F64)


def _close(actual: torch.Tensor, expected, rtol=RTOL):
    np.testing.assert_allclose(actual.detach().numpy(), np.asarray(expected), rtol=rtol, atol=0)


# ----------------------------------------------------------------- scipy references
def test_normal_exp_is_lognormal():
    d = TransformedDistribution(_normal(), T.ExpTransform())
    ref = stats.lognorm(s=SIGMA, scale=math.exp(MU))
    y = np.exp(MU + SIGMA * np.array([-8.0, -3.0, -1.0, 0.0, 0.5, 3.0, 8.0]))
    _close(d.log_prob(_t(y)), ref.logpdf(y))
    _close(d.cdf(_t(y)), ref.cdf(y))
    p = np.array([1e-10, 0.01, 0.5, 0.99, 1 - 1e-6])
    _close(d.icdf(_t(p)), ref.ppf(p))


def test_normal_sigmoid_is_logit_normal():
    d = TransformedDistribution(_normal(), T.SigmoidTransform())
    y = np.array([1e-8, 1e-3, 0.2, 0.5, 0.7, 0.999, 1 - 1e-8])
    x = special.logit(y)
    # Change of variables: p(y) = φ(logit y) / (y (1 − y)).
    expected = stats.norm(MU, SIGMA).logpdf(x) - np.log(y) - np.log1p(-y)
    _close(d.log_prob(_t(y)), expected)
    _close(d.cdf(_t(y)), stats.norm(MU, SIGMA).cdf(x))


def test_normal_tanh():
    d = TransformedDistribution(_normal(), T.TanhTransform())
    y = np.array([-0.999999, -0.9, -0.3, 0.0, 0.4, 0.99, 0.9999999])
    expected = stats.norm(MU, SIGMA).logpdf(np.arctanh(y)) - np.log1p(-y) - np.log1p(y)
    _close(d.log_prob(_t(y)), expected)


def test_normal_softplus():
    d = TransformedDistribution(_normal(), T.SoftplusTransform())
    y = np.array([1e-6, 0.1, 1.0, 5.0, 40.0])
    x = y + np.log(-np.expm1(-y))
    expected = stats.norm(MU, SIGMA).logpdf(x) + np.logaddexp(0.0, -x)  # − log σ(x)
    _close(d.log_prob(_t(y)), expected)


def test_decreasing_affine_flips_the_cdf():
    a, b = 1.5, -2.0
    d = TransformedDistribution(_normal(), T.AffineTransform(a, b))
    ref = stats.norm(a + b * MU, abs(b) * SIGMA)
    y = a + b * MU + abs(b) * SIGMA * np.array([-2.0, -0.5, 0.0, 1.0, 2.0])
    _close(d.log_prob(_t(y)), ref.logpdf(y))
    _close(d.cdf(_t(y)), ref.cdf(y))
    p = np.array([0.05, 0.3, 0.5, 0.9])
    _close(d.icdf(_t(p)), ref.ppf(p))


def test_exponential_power_affine_is_weibull():
    k, lam = 1.7, 2.5
    d = TransformedDistribution(
        Exponential(torch.tensor(1.0, dtype=F64)),
        [T.PowerTransform(1 / k), T.AffineTransform(0.0, lam)],
    )
    ref = stats.weibull_min(c=k, scale=lam)
    y = np.array([1e-4, 0.3, 1.0, 2.5, 6.0])
    _close(d.log_prob(_t(y)), ref.logpdf(y))
    _close(d.cdf(_t(y)), ref.cdf(y))
    p = np.array([1e-8, 0.2, 0.5, 0.95])
    _close(d.icdf(_t(p)), ref.ppf(p))


def test_uniform_logit_affine_is_logistic():
    a, b = -1.0, 0.7
    d = TransformedDistribution(
        Uniform(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64)),
        [T.SigmoidTransform().inv, T.AffineTransform(a, b)],
    )
    ref = stats.logistic(a, b)
    y = np.array([-6.0, -1.0, 0.0, 2.0, 5.0])
    _close(d.log_prob(_t(y)), ref.logpdf(y))
    _close(d.cdf(_t(y)), ref.cdf(y))


# ----------------------------------------------------------------- forward scoring
_CHAINS = {
    "exp": lambda: (_normal(), [T.ExpTransform()]),
    "sigmoid": lambda: (_normal(), [T.SigmoidTransform()]),
    "tanh": lambda: (_normal(), [T.TanhTransform()]),
    "affine_softplus": lambda: (
        Normal(torch.zeros(2, 3, dtype=F64), 1.0),
        [T.AffineTransform(_t([0.5, -1.0, 2.0]), _t([1.0, 2.0, -0.5])), T.SoftplusTransform()],
    ),
    "event_affine_tanh": lambda: (
        Normal(torch.zeros(2, 3, dtype=F64), 1.0),
        [T.AffineTransform(0.0, _t([1.0, 2.0, 0.5]), event_dim=1), T.TanhTransform()],
    ),
    "independent_exp": lambda: (
        Normal(torch.zeros(4, 3, dtype=F64), 1.0),
        [T.IndependentTransform(T.ExpTransform(), 1)],
    ),
    "logistic": lambda: (Uniform(_t(0.0), _t(1.0)), [T.SigmoidTransform().inv]),
    "square": lambda: (HalfNormal(_t([1.0, 2.0])), [T.PowerTransform(2.0)]),
    "torch_transforms": lambda: (_normal(), [tt.ExpTransform(), tt.AffineTransform(1.0, 2.0)]),
}


@pytest.mark.parametrize("name", sorted(_CHAINS))
def test_rsample_and_log_prob_equals_log_prob_of_rsample(name):
    base, transforms = _CHAINS[name]()
    d = TransformedDistribution(base, transforms)
    y, log_p = d.rsample_and_log_prob((5,), generator=_gen(7))
    assert torch.equal(y, d.rsample((5,), generator=_gen(7)))
    assert y.shape == (5, *d.batch_shape, *d.event_shape) and log_p.shape == (5, *d.batch_shape)
    torch.testing.assert_close(log_p, d.log_prob(y), rtol=1e-9, atol=1e-9)


class _NoInverseExp(T.ExpTransform):
    def _inverse(self, y):
        raise AssertionError("inverted")


def test_rsample_and_log_prob_never_inverts():
    d = TransformedDistribution(_normal(), [_NoInverseExp(), T.AffineTransform(0.0, 2.0)])
    y, log_p = d.rsample_and_log_prob((4,), generator=_gen())
    x = torch.log(y / 2)
    torch.testing.assert_close(log_p, _normal().log_prob(x) - x - math.log(2.0))
    with pytest.raises(AssertionError, match="inverted"):
        d.log_prob(y)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_saturated_tanh_scores_finite(dtype):
    d = TransformedDistribution(Normal(torch.tensor(30.0, dtype=dtype), 1.0), T.TanhTransform())
    y, log_p = d.rsample_and_log_prob((100,), generator=_gen())
    assert (y == 1).all()  # every draw rounds to the boundary
    assert torch.isfinite(log_p).all()
    assert torch.isfinite(d.log_prob(torch.tensor([1.0, -1.0], dtype=dtype))).all()


# ----------------------------------------------------------------- shapes
def test_event_shape_from_transforms_matches_torch():
    scale = _t([1.0, 2.0, 0.5])
    ours = TransformedDistribution(
        Normal(torch.zeros(4, 3, dtype=F64), 1.0), [T.AffineTransform(0.0, scale, event_dim=1)]
    )
    ref = td.TransformedDistribution(
        td.Normal(torch.zeros(4, 3, dtype=F64), 1.0), [tt.AffineTransform(0.0, scale, event_dim=1)]
    )
    assert ours.batch_shape == ref.batch_shape == (4,)
    assert ours.event_shape == ref.event_shape == (3,)
    assert isinstance(ours.base_dist, Independent)
    y = ours.sample((5,), generator=_gen())
    assert y.shape == (5, 4, 3)
    torch.testing.assert_close(ours.log_prob(y), ref.log_prob(y), rtol=1e-13, atol=1e-13)


def test_base_is_expanded_to_the_transforms_parameters():
    d = TransformedDistribution(_normal(), [T.AffineTransform(torch.zeros(3, dtype=F64), 2.0)])
    ref = td.TransformedDistribution(
        td.Normal(_t(MU), _t(SIGMA)), [tt.AffineTransform(torch.zeros(3, dtype=F64), 2.0)]
    )
    assert d.batch_shape == ref.batch_shape == (3,)
    assert d.base_dist.batch_shape == (3,)
    assert d.sample((2,)).shape == (2, 3)


def test_expand():
    d = TransformedDistribution(Normal(torch.zeros(3, dtype=F64), 1.0), [T.ExpTransform()])
    e = d.expand((2, 3))
    assert e.batch_shape == (2, 3) and e.base_dist.batch_shape == (2, 3)
    y = e.sample(generator=_gen())
    torch.testing.assert_close(e.log_prob(y), d.log_prob(y))
    vec = TransformedDistribution(
        Normal(torch.zeros(3, dtype=F64), 1.0), [T.IndependentTransform(T.ExpTransform(), 1)]
    )
    assert vec.expand((4,)).batch_shape == (4,) and vec.expand((4,)).event_shape == (3,)
    y = vec.expand((4,)).sample(generator=_gen())
    torch.testing.assert_close(vec.expand((4,)).log_prob(y), vec.log_prob(y))


# ----------------------------------------------------------------- interop and plumbing
def test_torch_base():
    d = TransformedDistribution(td.Normal(_t(MU), _t(SIGMA)), T.ExpTransform())
    y = _t([0.5, 1.0, 3.0])
    _close(d.log_prob(y), stats.lognorm(s=SIGMA, scale=math.exp(MU)).logpdf(y.numpy()))
    x, log_p = d.rsample_and_log_prob((3,))
    torch.testing.assert_close(log_p, d.log_prob(x))
    assert d.has_rsample and d.rsample_kind == "explicit"
    with pytest.raises(TypeError, match="generator"):
        d.rsample(generator=_gen())


def test_torch_transformed_distribution_accepts_our_transforms():
    ref = td.TransformedDistribution(
        td.Normal(_t(MU), _t(SIGMA)), [T.SigmoidTransform(), T.AffineTransform(-1.0, 2.0)]
    )
    ours = TransformedDistribution(_normal(), [T.SigmoidTransform(), T.AffineTransform(-1.0, 2.0)])
    y = _t([-0.9, 0.0, 0.5])
    torch.testing.assert_close(ref.log_prob(y), ours.log_prob(y), rtol=1e-14, atol=0)
    assert ref.rsample((3,)).shape == (3,)


def test_sampling_gradients_and_generator():
    loc = _t([0.1, -0.2]).requires_grad_()
    d = TransformedDistribution(Normal(loc, 1.0), T.ExpTransform())
    assert torch.equal(d.sample((3,), generator=_gen(2)), d.sample((3,), generator=_gen(2)))
    assert not d.sample().requires_grad
    y = d.rsample(generator=_gen(4))
    (grad,) = torch.autograd.grad(y.sum(), loc)
    torch.testing.assert_close(grad, y.detach())  # d exp(loc + ε)/d loc = y


def test_gradient_kind_follows_the_base():
    assert not TransformedDistribution(td.Poisson(3.0), T.AffineTransform(0.0, 2.0)).has_rsample
    d = TransformedDistribution(_normal(), T.ExpTransform())
    assert d.has_rsample and d.rsample_kind == "explicit"


def test_support_and_validation():
    d = TransformedDistribution(_normal(), T.ExpTransform())
    assert d.support.check(_t([0.5])).all() and not d.support.check(_t([-0.5])).any()
    with pytest.raises(ValueError, match="TransformedDistribution"):
        d.log_prob(_t([-1.0]))
    with pytest.raises(ValueError, match="transforms"):
        TransformedDistribution(_normal(), "exp")


def test_cdf_icdf_round_trip_and_non_monotone():
    d = TransformedDistribution(_normal(), [T.TanhTransform(), T.AffineTransform(0.0, -3.0)])
    p = _t([0.01, 0.3, 0.5, 0.8])
    torch.testing.assert_close(d.cdf(d.icdf(p)), p, rtol=1e-12, atol=1e-14)
    with pytest.raises(NotImplementedError):
        TransformedDistribution(_normal(), T.AbsTransform()).cdf(_t([0.5]))


def test_kl_registered_in_both_registries():
    p = TransformedDistribution(td.Normal(_t([0.0, 1.0]), _t([1.0, 2.0])), T.ExpTransform())
    q = TransformedDistribution(td.Normal(_t([0.5, -1.0]), _t([2.0, 0.5])), T.ExpTransform())
    expected = td.kl_divergence(p.base_dist, q.base_dist)
    torch.testing.assert_close(rsample.kl_divergence(p, q), expected)
    torch.testing.assert_close(td.kl_divergence(p, q), expected)
    r = TransformedDistribution(td.Normal(_t([0.5, -1.0]), _t([2.0, 0.5])), T.SigmoidTransform())
    with pytest.raises(NotImplementedError):
        rsample.kl_divergence(p, r)


def test_pickle_and_deepcopy():
    d = TransformedDistribution(
        _normal(), [T.TanhTransform(cache_size=1), T.AffineTransform(1.0, 2.0)]
    )
    y = d.rsample((3,))
    for clone in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        torch.testing.assert_close(clone.log_prob(y), d.log_prob(y))
        assert clone.event_shape == d.event_shape
    assert repr(d).startswith("TransformedDistribution(Normal(")


def test_log_prob_under_vmap():
    d = TransformedDistribution(
        Normal(torch.zeros(3, dtype=F64), 1.0), [T.AffineTransform(0.5, 2.0), T.TanhTransform()]
    )
    values = torch.tanh(torch.randn(5, 3, dtype=F64, generator=_gen()))
    torch.testing.assert_close(torch.func.vmap(d.log_prob)(values), d.log_prob(values))


def test_compiles_without_graph_breaks():
    scale = _t([1.0, 2.0, 3.0])

    def score(loc, value):
        d = TransformedDistribution(
            Normal(loc, 1.0), [T.AffineTransform(0.5, scale, event_dim=1), T.TanhTransform()]
        )
        return d.log_prob(value), d.rsample_and_log_prob((4,))[1].shape

    loc, value = torch.zeros(3, dtype=F64), _t([[0.1, 0.5, -0.9]])
    log_p, shape = torch.compile(score, fullgraph=True)(loc, value)
    torch.testing.assert_close(log_p, score(loc, value)[0])
    assert shape == (4,)
