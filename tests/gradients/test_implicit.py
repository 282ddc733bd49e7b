"""The implicit-reparameterization engine against explicit reparameterizations.

A Weibull draw has both: ``x = λ(−log U)^{1/k}`` (explicit) and the CDF
``F(x) = 1 − exp(−(x/λ)^k)`` (implicit). Holding the same draw, both must give the same
per-draw derivative ``dx/dθ`` to rounding, in every mode of :func:`implicit_rsample`.
"""

from __future__ import annotations

import pytest
import torch
from scipy import stats

import rsample
from rsample import constraints
from rsample.gradients import implicit_rsample
from rsample.testing import check_distribution

F64 = torch.float64


def weibull_cdf(x, scale, k):
    return -torch.expm1(-((x / scale) ** k))


def weibull_log_prob(x, scale, k):
    z = x / scale
    return torch.log(k / scale) + (k - 1) * torch.log(z) - z**k


def weibull_cdf_grad(x, scale, k):
    """∂F/∂λ and ∂F/∂k in closed form."""
    z = x / scale
    survival_times_zk = torch.exp(-(z**k)) * z**k
    return -survival_times_zk * k / scale, survival_times_zk * torch.log(z)


def weibull_sample_grad(x, scale, k):
    """∂x/∂λ = x/λ and ∂x/∂k = −x·log(x/λ)/k (from the explicit form)."""
    return x / scale, -x * torch.log(x / scale) / k


MODES = {
    "cdf": {"cdf": weibull_cdf, "log_prob": weibull_log_prob},
    "cdf_grad": {"cdf_grad": weibull_cdf_grad, "log_prob": weibull_log_prob},
    "sample_grad": {"sample_grad": weibull_sample_grad},
}


def _params(shape=(3,)):
    scale = torch.tensor([0.5, 1.0, 3.0], dtype=F64).reshape(shape).requires_grad_()
    k = torch.tensor([0.3, 1.0, 4.0], dtype=F64).reshape(shape).requires_grad_()
    return scale, k


def _explicit(scale, k, uniform):
    return scale * (-torch.log(uniform)) ** (1 / k)


@pytest.mark.parametrize("mode", MODES)
def test_matches_the_explicit_gradient_draw_by_draw(mode):
    uniform = torch.rand(1000, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    weights = torch.randn(1000, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    scale, k = _params()
    (weights * _explicit(scale, k, uniform)).sum().backward()
    expected = scale.grad.clone(), k.grad.clone()
    scale.grad = k.grad = None
    with torch.no_grad():
        x = _explicit(scale, k, uniform)
    y = implicit_rsample(x, (scale, k), **MODES[mode])
    assert torch.equal(y, x)
    (weights * y).sum().backward()
    torch.testing.assert_close(scale.grad, expected[0], rtol=1e-10, atol=0)
    torch.testing.assert_close(k.grad, expected[1], rtol=1e-10, atol=0)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_are_summed_over_broadcast_dimensions(mode):
    scale = torch.tensor(2.0, dtype=F64, requires_grad=True)  # 0-dim, broadcast everywhere
    k = torch.tensor([[0.5], [1.5]], dtype=F64, requires_grad=True)  # broadcast along dim -1
    uniform = torch.rand(7, 2, 4, dtype=F64, generator=torch.Generator().manual_seed(2))
    _explicit(scale, k, uniform).sum().backward()
    expected = scale.grad.clone(), k.grad.clone()
    scale.grad = k.grad = None
    with torch.no_grad():
        x = _explicit(scale, k, uniform)
    implicit_rsample(x, (scale, k), **MODES[mode]).sum().backward()
    assert scale.grad.shape == () and k.grad.shape == (2, 1)
    torch.testing.assert_close(scale.grad, expected[0], rtol=1e-10, atol=0)
    torch.testing.assert_close(k.grad, expected[1], rtol=1e-10, atol=0)


def test_only_parameters_that_require_grad_get_one():
    scale, k = _params()
    k = k.detach()
    x = torch.ones(3, dtype=F64)
    implicit_rsample(x, (scale, k), **MODES["cdf"]).sum().backward()
    assert scale.grad is not None and k.grad is None


def test_no_graph_without_grad():
    x = torch.ones(3, dtype=F64)
    scale, k = (p.detach() for p in _params())
    assert implicit_rsample(x, (scale, k), **MODES["cdf"]) is x
    with torch.no_grad():
        assert implicit_rsample(x, _params(), **MODES["cdf"]) is x


@pytest.mark.parametrize("only_scale", [False, True], ids=["both", "one parameter"])
def test_double_backward_raises(only_scale):
    scale, k = _params()
    if only_scale:
        k = k.detach()
    y = implicit_rsample(torch.ones(3, dtype=F64), (scale, k), **MODES["cdf"])
    for loss in (y.sum(), (y**2).sum()):  # with and without a graph in the incoming gradient
        (grad,) = torch.autograd.grad(loss, scale, create_graph=True)
        with pytest.raises(RuntimeError, match="double backward through an implicit"):
            grad.sum().backward()


def test_the_output_is_not_the_input():
    x = torch.ones(3, dtype=F64)
    y = implicit_rsample(x, _params(), **MODES["cdf"])
    with torch.no_grad():
        y.mul_(2)
    assert torch.equal(x, torch.ones(3, dtype=F64))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one"),
        ({"cdf": weibull_cdf, "sample_grad": weibull_sample_grad}, "exactly one"),
        ({"cdf": weibull_cdf}, "log_prob"),
    ],
)
def test_bad_calls_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        implicit_rsample(torch.ones(3, dtype=F64), _params(), **kwargs)


class UserWeibull(rsample.Distribution):
    """The documented example: a sampler plus a CDF is all a family needs for ``rsample``."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    rsample_kind = "implicit"

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = self._broadcast(scale=scale, concentration=concentration)
        super().__init__(self.scale.shape, validate_args=validate_args)

    def rsample(self, sample_shape=torch.Size(), *, generator=None):
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():  # any sampler at all; here inversion of the CDF
            e = torch.empty(shape, dtype=self.scale.dtype).exponential_(generator=generator)
            x = self.scale * e ** (1 / self.concentration)
        return implicit_rsample(
            x, (self.scale, self.concentration), log_prob=weibull_log_prob, cdf=weibull_cdf
        )

    def log_prob(self, value):
        return weibull_log_prob(value, self.scale, self.concentration)

    def cdf(self, value):
        return weibull_cdf(value, self.scale, self.concentration)

    def icdf(self, value):
        return self.scale * (-torch.log1p(-value)) ** (1 / self.concentration)


@pytest.mark.parametrize(
    "params", [{"scale": 1.5, "concentration": 0.8}, {"scale": 0.4, "concentration": 3.0}]
)
def test_a_user_defined_distribution_passes_the_reference_checks(params):
    assert UserWeibull.has_rsample
    check_distribution(
        UserWeibull,
        params,
        lambda scale, concentration: stats.weibull_min(concentration, scale=scale),
        n_grad=40_000,
        methods=("log_prob", "cdf", "icdf"),
    )
