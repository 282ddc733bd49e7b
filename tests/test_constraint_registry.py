"""rsample.constraint_registry: biject_to / transform_to land in their constraints."""

from __future__ import annotations

import pytest
import torch
import torch.distributions.transforms as tt
from torch.distributions import constraints

import rsample
from rsample import transforms as T
from rsample.constraint_registry import ConstraintRegistry, biject_to, transform_to

F64 = torch.float64

CONSTRAINTS = {
    "real": constraints.real,
    "positive": constraints.positive,
    "nonnegative": constraints.nonnegative,
    "greater_than": constraints.greater_than(2.0),
    "greater_than_tensor": constraints.greater_than(torch.tensor([-1.0, 0.0, 3.0], dtype=F64)),
    "greater_than_eq": constraints.greater_than_eq(-1.5),
    "less_than": constraints.less_than(3.0),
    "interval": constraints.interval(-2.0, 5.0),
    "interval_tensor": constraints.interval(
        torch.tensor([0.0, -1.0, 2.0], dtype=F64), torch.tensor([1.0, 4.0, 2.5], dtype=F64)
    ),
    "half_open_interval": constraints.half_open_interval(0.0, 2.0),
    "unit_interval": constraints.unit_interval,
    "independent": constraints.independent(constraints.positive, 1),
    "independent_interval": constraints.independent(constraints.interval(-1.0, 1.0), 2),
}


def _unconstrained(shape=(5, 4, 3)):
    return 5.0 * torch.randn(shape, dtype=F64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("registry", [biject_to, transform_to], ids=["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_values_satisfy_the_constraint(registry, name):
    constraint = CONSTRAINTS[name]
    t = registry(constraint)
    assert isinstance(t, T.Transform)
    assert t.codomain.event_dim == constraint.event_dim
    x = _unconstrained()
    y = t(x)
    assert constraint.check(y).all()
    torch.testing.assert_close(t.inv(y), x, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_biject_to_log_det_matches_autograd(name):
    t = biject_to(CONSTRAINTS[name])
    assert t.bijective
    x = _unconstrained((2, 3)) / 5
    flat = x.reshape(-1)
    jac = torch.autograd.functional.jacobian(lambda v: t(v.reshape(2, 3)).reshape(-1), flat)
    expected = torch.linalg.slogdet(jac).logabsdet  # every element: the sum of all log-dets
    log_det = t.log_abs_det_jacobian(x, t(x))
    torch.testing.assert_close(log_det.sum(), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(t.forward_and_log_det(x)[1].sum(), expected, rtol=1e-12, atol=1e-12)


def test_distribution_constraints():
    scale = biject_to(rsample.Normal.arg_constraints["scale"])
    assert isinstance(scale, T.ExpTransform)
    assert (transform_to(rsample.Normal.arg_constraints["scale"])(torch.zeros(3)) == 1).all()
    uniform = rsample.Uniform(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 5.0]))
    y = biject_to(uniform.support)(torch.tensor([-30.0, 30.0]))
    assert uniform.support.check(y).all()
    assert isinstance(biject_to(constraints.unit_interval), T.SigmoidTransform)
    assert biject_to(constraints.real) is T.identity_transform
    assert rsample.biject_to is biject_to and rsample.transform_to is transform_to


def test_unregistered_constraints_fall_back_to_torch():
    assert isinstance(biject_to(constraints.simplex), tt.StickBreakingTransform)
    assert isinstance(transform_to(constraints.simplex), tt.SoftmaxTransform)
    assert isinstance(transform_to(constraints.lower_cholesky), tt.LowerCholeskyTransform)
    y = biject_to(constraints.simplex)(torch.randn(4, 2))
    assert constraints.simplex.check(y).all()


def test_own_registry_register_by_class_instance_and_decorator():
    registry = ConstraintRegistry()
    with pytest.raises(NotImplementedError, match="_GreaterThan"):
        registry(constraints.positive)
    registry.register(constraints.positive, lambda c: T.SoftplusTransform())
    assert isinstance(registry(constraints.greater_than(0.0)), T.SoftplusTransform)

    @registry.register(constraints.interval)
    def _factory(constraint):
        return T.AffineTransform(constraint.lower_bound, 1.0)

    assert _factory(constraints.interval(1.0, 2.0)).loc == 1.0
    assert registry(constraints.interval(3.0, 4.0)).loc == 3.0
    with pytest.raises(TypeError, match="Constraint"):
        registry.register(int, lambda c: T.ExpTransform())
