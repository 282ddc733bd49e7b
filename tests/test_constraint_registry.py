"""rsample.constraint_registry: biject_to / transform_to land in their constraints."""

from __future__ import annotations

import pytest
import torch
import torch.distributions.constraint_registry as _torch_registry
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


class _UserConstraint(constraints.Constraint):
    """A constraint class only a user's registration (with torch's registries) knows."""

    def check(self, value):
        return value > 1


def test_unregistered_constraints_fall_back_to_torch():
    torch_biject, torch_transform = _torch_registry.biject_to, _torch_registry.transform_to
    torch_biject.register(_UserConstraint, lambda c: tt.ExpTransform())
    torch_transform.register(_UserConstraint, lambda c: tt.ExpTransform())
    try:
        assert isinstance(biject_to(_UserConstraint()), tt.ExpTransform)
        assert isinstance(transform_to(_UserConstraint()), tt.ExpTransform)
    finally:
        del torch_biject._registry[_UserConstraint], torch_transform._registry[_UserConstraint]
    with pytest.raises(NotImplementedError):
        biject_to(_UserConstraint())
    with pytest.raises(NotImplementedError):  # torch has no bijection onto Cholesky factors
        biject_to(constraints.lower_cholesky)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(biject_to, _torch_registry.biject_to), (transform_to, _torch_registry.transform_to)],
    ids=["biject_to", "transform_to"],
)
def test_every_torch_registration_has_an_rsample_one(ours, theirs):
    # No constraint torch can transform is handed to torch's registry.
    assert set(theirs._registry) <= set(ours._registry)


# ----------------------------------------------------------------- structured constraints
# (id, constraint, shape of a value in it, registries that cover it)
STRUCTURED = [
    ("simplex", constraints.simplex, (4, 5), "both"),
    ("lower_cholesky", constraints.lower_cholesky, (4, 3, 3), "transform_to"),
    ("positive_definite", constraints.positive_definite, (4, 3, 3), "transform_to"),
    ("positive_semidefinite", constraints.positive_semidefinite, (4, 3, 3), "transform_to"),
    ("corr_cholesky", constraints.corr_cholesky, (4, 4, 4), "both"),
    ("corr_cholesky_2", constraints.corr_cholesky, (3, 2, 2), "both"),
    (
        "cat",
        constraints.cat(
            [constraints.positive, constraints.interval(-1.0, 2.0), constraints.real], -1, [2, 1, 3]
        ),
        (4, 6),
        "both",
    ),
    (
        "cat_event",
        constraints.cat(
            [constraints.real_vector, constraints.independent(constraints.positive, 1)]
        ),
        (2, 3),
        "both",
    ),
    (
        "stack",
        constraints.stack([constraints.positive, constraints.unit_interval, constraints.real], -1),
        (4, 3),
        "both",
    ),
    (
        "stack_dim0",
        constraints.stack([constraints.less_than(1.0), constraints.real], 0),
        (2, 4),
        "both",
    ),
]
STRUCTURED_IDS = [c[0] for c in STRUCTURED]
_REGISTRIES = {"biject_to": biject_to, "transform_to": transform_to}


@pytest.mark.parametrize("registry_name", sorted(_REGISTRIES))
@pytest.mark.parametrize(("name", "constraint", "shape", "covered"), STRUCTURED, ids=STRUCTURED_IDS)
def test_structured_constraints(registry_name, name, constraint, shape, covered):
    registry = _REGISTRIES[registry_name]
    if covered not in ("both", registry_name):
        with pytest.raises(NotImplementedError):
            registry(constraint)
        return
    t = registry(constraint)
    assert isinstance(t, T.Transform)
    assert t.codomain.event_dim == constraint.event_dim
    x = _unconstrained(t.inverse_shape(shape))
    y = t(x)
    assert y.shape == shape == t.forward_shape(x.shape)
    assert constraint.check(y).all()
    assert constraint.check(t(x / 5)).all()
    if t.bijective:
        torch.testing.assert_close(t.inv(y), x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(t(t.inv(y)), y, rtol=1e-10, atol=1e-12)


def test_structured_registrations_match_torch_choices():
    assert isinstance(biject_to(constraints.simplex), T.StickBreakingTransform)
    assert isinstance(transform_to(constraints.simplex), T.SoftmaxTransform)
    assert isinstance(transform_to(constraints.lower_cholesky), T.LowerCholeskyTransform)
    assert isinstance(transform_to(constraints.positive_definite), T.PositiveDefiniteTransform)
    assert isinstance(transform_to(constraints.positive_semidefinite), T.PositiveDefiniteTransform)
    assert isinstance(biject_to(constraints.corr_cholesky), T.CorrCholeskyTransform)
    assert isinstance(transform_to(constraints.corr_cholesky), T.CorrCholeskyTransform)
    cat = biject_to(constraints.cat([constraints.positive, constraints.real], 1, [2, 3]))
    assert isinstance(cat, T.CatTransform) and cat.dim == 1 and cat.lengths == [2, 3]
    assert isinstance(cat.transforms[0], T.ExpTransform)
    stack = transform_to(constraints.stack([constraints.simplex, constraints.simplex], 0))
    assert isinstance(stack, T.StackTransform)
    assert all(isinstance(p, T.SoftmaxTransform) for p in stack.transforms)


def test_biject_to_simplex_log_det_matches_autograd():
    t = biject_to(constraints.simplex)
    x = _unconstrained((3, 4)) / 5
    log_det = t.forward_and_log_det(x)[1]
    for row, expected in zip(x, log_det):
        jac = torch.autograd.functional.jacobian(lambda v: t(v)[:-1], row)
        torch.testing.assert_close(
            torch.linalg.slogdet(jac).logabsdet, expected, rtol=1e-12, atol=0
        )


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
